package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/usage"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestOwnPagesCountAsInvestigations serves a catalogue of one dataset with
// the node's usage recorder and asks for the dataset as a person, a script,
// a robot and an OAI-PMH harvester would, and for what the node does not
// hold: each successful answer is one investigation on the usage stream
// (the robot's flagged, the script's machine access), with a session key
// that holds neither the address nor the user agent; failures count
// nothing.
func TestOwnPagesCountAsInvestigations(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	log := slog.New(slog.DiscardHandler)
	p, err := publisher.New(publisher.Config{BaseURL: "http://fairway.test:8080"}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	model, err := readmodel.Open(ctx, readmodel.Config{Dir: filepath.Join(t.TempDir(), "readmodel")}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = model.Run(ctx) }()
	defer func() { cancel(); <-done; model.Close() }()

	ds := &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{
		Key: "doi:10.5072/u.1", Doi: "10.5072/u.1", Title: "Used", Facility: "ESRF", Publisher: "ESRF", ContentHash: "h",
		Provenance: &fairwayv1.Provenance{FeedId: "esrf"},
	}}
	payload, err := proto.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := p.Handle(ctx, &bus.Message{Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "publisher", evs...); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if lag, err := model.Lag(ctx); err == nil && lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the read model does not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}

	dir := t.TempDir()
	use, err := newUsage(ctx, Config{DataDir: dir, NoAnalytics: true}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = use.recorder.Run(ctx) }()
	h, err := catalogueHandler(Config{BaseURL: "http://fairway.test:8080", DataDir: dir}, model, p.Options(), use.recorder, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct {
		method, target, ua string
		status             int
	}{
		{"GET", "/datasets/doi:10.5072/u.1", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", 200},
		{"GET", "/doi/10.5072/u.1?format=jsonld", "python-requests/2.32", 200},
		{"GET", "/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:fairway.test:doi:10.5072/u.1", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", 200},
		{"GET", "/datasets/doi:10.5072/u.1", "Mozilla/5.0 (compatible; bingbot/2.0)", 200},
		{"GET", "/datasets/doi:10.5072/none", "Mozilla/5.0 Firefox/128.0", 404},
		{"GET", "/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:fairway.test:doi:10.5072/none", "Mozilla/5.0 Firefox/128.0", 200},
		{"GET", "/datasets/doi:10.5072/u.1?format=nonsense", "Mozilla/5.0 Firefox/128.0", 406},
		{"HEAD", "/datasets/doi:10.5072/u.1", "Mozilla/5.0 Firefox/128.0", 200},
		{"GET", "/catalogue", "Mozilla/5.0 Firefox/128.0", 200},
	} {
		r := httptest.NewRequest(req.method, req.target, nil)
		r.RemoteAddr = "192.0.2.77:4321"
		r.Header.Set("User-Agent", req.ua)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != req.status {
			t.Fatalf("%s %s: %d, want %d: %s", req.method, req.target, w.Code, req.status, w.Body)
		}
	}
	var events []usage.Event
	for deadline := time.Now().Add(10 * time.Second); ; {
		msgs := testenv.Messages(t, b, bus.Usage)
		if len(msgs) >= 4 || time.Now().After(deadline) {
			events = events[:0]
			for _, m := range msgs {
				var e usage.Event
				if err := json.Unmarshal(m.Data(), &e); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(m.Data()), "192.0.2.77") || strings.Contains(string(m.Data()), "Firefox") {
					t.Errorf("the address or user agent reached the bus: %s", m.Data())
				}
				events = append(events, e)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // nothing more comes
	if n := len(testenv.Messages(t, b, bus.Usage)); n != 4 {
		t.Fatalf("%d usage events, want 4: %+v", n, events)
	}
	bySource := map[string]usage.Event{}
	robots := 0
	for _, e := range events {
		if e.Kind != usage.Investigation || e.Dataset != "doi:10.5072/u.1" || !strings.EqualFold(e.Facility, "ESRF") || e.Status != 200 {
			t.Errorf("event %+v", e)
		}
		if err := e.Validate(time.Now()); err != nil {
			t.Errorf("the writer refuses %+v: %v", e, err)
		}
		if e.Robot {
			robots++
			continue
		}
		bySource[e.Source] = e
	}
	if robots != 1 || len(bySource) != 3 {
		t.Fatalf("robots %d, sources %v", robots, bySource)
	}
	if bySource["node:dataset"].AccessMethod != usage.Regular || bySource["node:doi"].AccessMethod != usage.Machine || bySource["node:oai"].AccessMethod != usage.Regular {
		t.Errorf("access methods %+v", bySource)
	}
	// One person within the hour: one session for the page and the OAI
	// record; the script is another.
	if bySource["node:dataset"].Session != bySource["node:oai"].Session || bySource["node:dataset"].Session == bySource["node:doi"].Session {
		t.Errorf("sessions %+v", bySource)
	}
	if use.recorder.Dropped() != 0 {
		t.Errorf("%d dropped", use.recorder.Dropped())
	}
}

// TestUsageSecretSharedByReplicas starts the usage parts of two replicas
// with data directories of their own on one bus: both key their session
// hashes with the bus's secret, so that one client is one session whichever
// replica it reaches; a secret file in a data directory takes precedence,
// is offered to the bus (shared when the bus has none) and reported when it
// differs from the shared one.
func TestUsageSecretSharedByReplicas(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	log := slog.New(slog.DiscardHandler)
	a, err := usageSecret(ctx, t.TempDir(), b, log)
	if err != nil {
		t.Fatal(err)
	}
	other, err := usageSecret(ctx, t.TempDir(), b, log)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, other) {
		t.Fatal("two replicas of one node hash sessions with different secrets")
	}
	dir := t.TempDir()
	own := bytes.Repeat([]byte{7}, 32)
	if err := os.WriteFile(filepath.Join(dir, usage.SecretFile), []byte(hex.EncodeToString(own)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	if got, err := usageSecret(ctx, dir, b, slog.New(slog.NewTextHandler(logs, nil))); err != nil || !bytes.Equal(got, own) {
		t.Fatalf("the data directory's secret is not used: %v", err)
	}
	if !strings.Contains(logs.String(), "not the one the other replicas share") {
		t.Errorf("a secret file unlike the shared one is not reported: %s", logs)
	}

	// On a bus without a secret yet, the file's is offered and shared.
	fresh := testenv.Bus(t)
	if got, err := usageSecret(ctx, dir, fresh, log); err != nil || !bytes.Equal(got, own) {
		t.Fatalf("first replica, with a file: %v", err)
	}
	if got, err := usageSecret(ctx, t.TempDir(), fresh, log); err != nil || !bytes.Equal(got, own) {
		t.Fatalf("a replica without a file does not share the file's secret: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, usage.SecretFile), []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := usageSecret(ctx, dir, b, log); err == nil {
		t.Fatal("a broken secret file is ignored")
	}
}
