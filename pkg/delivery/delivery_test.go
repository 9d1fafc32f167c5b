package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/delivery"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/urlguard"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// corpus returns n live datasets of the sample corpus, normalised, with
// their PaNET techniques.
func corpus(t testing.TB, n int) []*fairwayv1.EnrichedDataset {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := samplefeed.NewCorpus(3, n*2)
	var out []*fairwayv1.EnrichedDataset
	for i := 0; i < c.Size && len(out) < n; i++ {
		r := c.Record(i)
		if r.Deleted {
			continue
		}
		d, err := normaliser.Normalise(&fairwayv1.RawRecord{
			FeedId: "feed", Facility: r.Facility.Acronym, SourceKind: "oai-pmh", SourceIdentifier: r.Identifier,
			MetadataFormat: "oai_datacite", Payload: r.OAIDataCiteXML(),
		}, now)
		if err != nil {
			t.Fatalf("%s: %v", r.Identifier, err)
		}
		e := &fairwayv1.EnrichedDataset{Dataset: d, PanetVersion: "test"}
		for _, tc := range r.Techniques {
			e.Techniques = append(e.Techniques, &fairwayv1.Technique{
				Iri: "http://purl.org/pan-science/PaNET/" + tc.ID, Id: tc.ID, Label: tc.Label, MatchedBy: "label",
			})
		}
		out = append(out, e)
	}
	return out
}

// fixture is a node's bus with a catalogue and a delivery manager.
type fixture struct {
	t      *testing.T
	b      *bus.Bus
	reg    *destinations.Registry
	stage  *publisher.Stage
	log    *testenv.Buffer
	logger *slog.Logger
	round  atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := newBareFixture(t)
	f.runManager("test")
	return f
}

// newBareFixture is newFixture without a manager running.
func newBareFixture(t *testing.T) *fixture {
	t.Helper()
	b := testenv.Bus(t)
	log, buf := testenv.CaptureLog()
	stage, err := publisher.New(publisher.Config{}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, b: b, reg: destinations.NewRegistry(b.State(bus.BucketDestinations)), stage: stage, log: buf, logger: log}
}

// runManager runs a delivery manager named holder until the test ends or
// the returned function is called.
func (f *fixture) runManager(holder string) (stop func()) {
	f.t.Helper()
	m, err := delivery.New(delivery.Config{
		Holder: holder, Policy: urlguard.Policy{AllowPrivate: true}, Poll: 50 * time.Millisecond,
		RetryInitial: 20 * time.Millisecond, RetryMax: 300 * time.Millisecond, SweepEvery: 100 * time.Millisecond, FlushEvery: 20 * time.Millisecond,
	}, f.b, f.logger)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				f.t.Errorf("manager %s: %v", holder, err)
			}
		})
	}
	f.t.Cleanup(stop)
	return stop
}

// publish writes e into the live catalogue as the publisher does (a
// new origin each time, so that the same content is a new message).
func (f *fixture) publish(es ...*fairwayv1.EnrichedDataset) {
	f.t.Helper()
	for _, e := range es {
		entry, err := f.stage.Entry(e)
		if err != nil {
			f.t.Fatal(err)
		}
		b, err := proto.Marshal(entry)
		if err != nil {
			f.t.Fatal(err)
		}
		origin := fmt.Sprintf("test%d", f.round.Add(1))
		ev := bus.Event{Stream: bus.Catalogue, Key: entry.Key, Hash: entry.ContentHash, Payload: b}
		if err := f.b.Publish(context.Background(), origin, ev); err != nil {
			f.t.Fatal(err)
		}
	}
}

// tombstone returns the withdrawal of e.
func tombstone(e *fairwayv1.EnrichedDataset) *fairwayv1.EnrichedDataset {
	c := proto.Clone(e).(*fairwayv1.EnrichedDataset)
	c.Dataset.Deleted = true
	return c
}

// retitled returns e with another title: a change.
func retitled(e *fairwayv1.EnrichedDataset, title string) *fairwayv1.EnrichedDataset {
	c := proto.Clone(e).(*fairwayv1.EnrichedDataset)
	c.Dataset.Title = title
	c.Dataset.ContentHash += "+" + title // as the normaliser's hash of a changed record
	return c
}

func (f *fixture) status(id string) destinations.Status {
	f.t.Helper()
	d, err := f.reg.Get(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := delivery.NewStatusReader(f.b).Status(context.Background(), d)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// settled waits until the delivery to id has handled every catalogue entry.
func (f *fixture) settled(id string) destinations.Status {
	f.t.Helper()
	var st destinations.Status
	waitFor(f.t, id+" in step", func() bool {
		st = f.status(id)
		if !st.Running || st.Pending != 0 || st.Position != st.CatalogueLast {
			return false
		}
		time.Sleep(100 * time.Millisecond) // the counters of the last pushes are stored
		return f.status(id) == st
	})
	return st
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestPiveauStaysInStepThroughChangesDeletionsAndOutages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	hub := piveautest.Start(piveautest.Config{APIKey: "hub-key", Catalogues: []string{"panosc"}})
	t.Cleanup(hub.Close)
	ds := corpus(t, 40)

	// One dataset withdrawn before the destination was registered: the
	// hub holds one under its key that the node never sent there.
	foreign := ds[39]
	f.publish(foreign, tombstone(foreign))
	hub.Seed("panosc", foreign.Dataset.Key, []byte("<x> a <y> ."))
	f.publish(ds[:30]...)

	d := destinations.Destination{ID: "eosc", Kind: destinations.KindPiveau, URL: hub.URL, Catalogue: "panosc",
		APIKey: feeds.Secret("hub-key"), Enabled: true}
	if _, err := f.reg.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	st := f.settled("eosc")
	if st.Held != 30 || st.Pushed != 30 {
		t.Fatalf("after the first pass: %+v", st)
	}
	for _, e := range ds[:30] {
		if n := hub.Writes("panosc", e.Dataset.Key); n != 1 {
			t.Errorf("%s written %d times", e.Dataset.Key, n)
		}
	}

	// The hub goes down; meanwhile 10 datasets are new, 5 change and 5
	// are withdrawn.
	hub.Down()
	f.publish(ds[30:39]...)
	for _, e := range ds[:5] {
		f.publish(retitled(e, "Changed "+e.Dataset.Title))
	}
	for _, e := range ds[5:10] {
		f.publish(tombstone(e))
	}
	waitFor(t, "the outage in the status", func() bool {
		st := f.status("eosc")
		return st.LastError != "" && st.Pending > 0 && !st.OldestPending.IsZero()
	})
	if err := hub.Up(); err != nil {
		t.Fatal(err)
	}
	st = f.settled("eosc")
	got := hub.Datasets("panosc")
	if len(got) != 30+9-5+1 || st.Held != 34 {
		t.Errorf("hub holds %d datasets (want 35 with the foreign one), status held %d", len(got), st.Held)
	}
	if _, ok := got[foreign.Dataset.Key]; !ok {
		t.Error("the dataset the node never sent was deleted")
	}
	for i, e := range ds[:39] {
		want := 1
		switch {
		case i < 5:
			want = 2
		case i < 10:
			if _, ok := got[e.Dataset.Key]; ok {
				t.Errorf("%s withdrawn but still there", e.Dataset.Key)
			}
		}
		if n := hub.Writes("panosc", e.Dataset.Key); n != want {
			t.Errorf("%s written %d times, want %d", e.Dataset.Key, n, want)
		}
		if i < 5 && !strings.Contains(string(got[e.Dataset.Key]), "Changed ") {
			t.Errorf("%s: the change did not arrive", e.Dataset.Key)
		}
	}
	if st.LastError != "" || !st.OldestPending.IsZero() {
		t.Errorf("last error %q, oldest pending %v stay after the hub came back", st.LastError, st.OldestPending)
	}

	// The same content again is not pushed again.
	f.publish(ds[20])
	f.settled("eosc")
	if n := hub.Writes("panosc", ds[20].Dataset.Key); n != 1 {
		t.Errorf("an unchanged dataset was pushed again (%d writes)", n)
	}

	// 429 with Retry-After, then a refusal that is for good.
	hub.Throttle(2, "1")
	f.publish(retitled(ds[21], "Throttled"))
	hub.Refuse(ds[22].Dataset.Key, "Invalid DCAT-AP: missing dct:title")
	f.publish(retitled(ds[22], "Refused"))
	st = f.settled("eosc")
	if !strings.Contains(string(hub.Datasets("panosc")[ds[21].Dataset.Key]), "Throttled") {
		t.Error("the throttled push did not arrive")
	}
	if st.Failed != 1 || st.DeadLetters != 1 {
		t.Errorf("after a refusal: failed %d, dead letters %d", st.Failed, st.DeadLetters)
	}
	dls, err := f.b.DeadLetters(ctx, delivery.StageOf("eosc"), 0)
	if err != nil || len(dls) != 1 || dls[0].Key != ds[22].Dataset.Key || !strings.Contains(dls[0].Reason, "missing dct:title") {
		t.Fatalf("dead letters %+v, %v: want the refused dataset with the hub's answer", dls, err)
	}

	// A replay of everything pushes every dataset the hub holds once more.
	before := hub.Count(piveautest.RoutePutDataset)
	if _, err := f.reg.Update(ctx, "eosc", func(d *destinations.Destination) error {
		d.Replay = &destinations.Replay{ID: "r1", All: true, Requested: time.Now()}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay", func() bool { return f.status("eosc").Replay == "r1" })
	st = f.settled("eosc")
	if n := hub.Count(piveautest.RoutePutDataset) - before; n != 34 {
		t.Errorf("a replay of everything made %d pushes, want 34 (the refused one is refused again)", n)
	}

	// Selecting one facility withdraws the others' datasets.
	facility := ds[0].Dataset.Facility
	if _, err := f.reg.Update(ctx, "eosc", func(d *destinations.Destination) error {
		d.Facilities = []string{strings.ToLower(facility)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other facilities' datasets withdrawn", func() bool { return f.status("eosc").Held < 34 })
	st = f.settled("eosc")
	for key := range hub.Datasets("panosc") {
		if key == foreign.Dataset.Key {
			continue
		}
		var fac string
		for _, e := range ds {
			if e.Dataset.Key == key {
				fac = e.Dataset.Facility
			}
		}
		if fac != facility {
			t.Errorf("%s of %s stays at a destination that selects %s", key, fac, facility)
		}
	}
	if int(st.Held) != len(hub.Datasets("panosc"))-1 {
		t.Errorf("held %d, hub %d (one foreign)", st.Held, len(hub.Datasets("panosc")))
	}

	// Pointed at another hub: every dataset it selects is pushed there.
	other := piveautest.Start(piveautest.Config{APIKey: "hub-key", Catalogues: []string{"panosc"}})
	t.Cleanup(other.Close)
	held := st.Held
	if _, err := f.reg.Update(ctx, "eosc", func(d *destinations.Destination) error { d.URL = other.URL; return nil }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the datasets at the new hub", func() bool { return int64(other.Len("panosc")) == held })
	if st := f.settled("eosc"); st.Held != held || st.Pushed != held {
		t.Errorf("after moving to another hub: held %d, pushed %d, want %d and %d", st.Held, st.Pushed, held, held)
	}

	// Removed: its consumer and ledger go, what it holds stays.
	if err := f.reg.Delete(ctx, "eosc"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sweep", func() bool {
		st, err := f.b.DeliveryState(ctx, bus.Catalogue, bus.DeliveryName("eosc"))
		return err == nil && !st.Exists
	})
	if strings.Contains(f.log.String(), "hub-key") {
		t.Error("the API key reached the log")
	}

	// Registered again at once, before anything was swept: the new
	// registration starts from nothing and gets every dataset.
	third := piveautest.Start(piveautest.Config{APIKey: "hub-key", Catalogues: []string{"panosc"}})
	t.Cleanup(third.Close)
	d.URL = third.URL
	if _, err := f.reg.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Delete(ctx, "eosc"); err != nil {
		t.Fatal(err)
	}
	d.URL = other.URL // the hub the removed registration had filled
	if _, err := f.reg.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	st = f.settled("eosc")
	if st.Held != 34 || st.Pushed != 34 {
		t.Errorf("registered again: held %d, pushed %d, want 34 each (it selects every facility again)", st.Held, st.Pushed)
	}
}

func TestSciCatReceivesEachDatasetOnceAndUnpublishesWithdrawals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	srv := scicattest.Start(scicattest.Config{Users: map[string]string{"fairway": "s3cret"}, TokenTTL: time.Hour})
	t.Cleanup(srv.Close)
	ds := corpus(t, 20)
	f.publish(ds...)
	d := destinations.Destination{ID: "daphne", Kind: destinations.KindSciCat, URL: srv.URL, Username: "fairway",
		Password: feeds.Secret("s3cret"), OwnerGroup: "daphne", InFlight: 4, Enabled: true}
	if _, err := f.reg.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	st := f.settled("daphne")
	if st.Held != 20 || srv.Counts()[scicattest.RouteCreate] != 20 {
		t.Fatalf("status %+v, creates %d", st, srv.Counts()[scicattest.RouteCreate])
	}
	// The token expires: one login again, and the change arrives.
	srv.ExpireTokens()
	f.publish(retitled(ds[0], "Changed title"), tombstone(ds[1]))
	st = f.settled("daphne")
	pid := func(e *fairwayv1.EnrichedDataset) string { return e.Dataset.Doi }
	if got := srv.Dataset(pid(ds[0])); got["datasetName"] != "Changed title" {
		t.Errorf("changed dataset: %v", got["datasetName"])
	}
	if got := srv.Dataset(pid(ds[1])); got["isPublished"] != false {
		t.Errorf("withdrawn dataset: isPublished %v, want false (unpublish is SciCat's default)", got["isPublished"])
	}
	// 20 creates; for the change, a 409 that becomes a PATCH; one request
	// meets the expired token (a 401) and one login follows. The change
	// and the withdrawal go out side by side, so the 401 falls on the
	// change's create (22 creates) or on the withdrawal (21).
	if c := srv.Counts(); (c[scicattest.RouteCreate] != 21 && c[scicattest.RouteCreate] != 22) || c[scicattest.RouteLogin] != 2 || len(srv.Datasets()) != 20 {
		t.Errorf("creates %d, logins %d, datasets %d; want 21 or 22, 2, 20", c[scicattest.RouteCreate], c[scicattest.RouteLogin], len(srv.Datasets()))
	}
	if st.Held != 19 || st.Deleted != 1 {
		t.Errorf("status %+v", st)
	}
	if strings.Contains(f.log.String(), "s3cret") {
		t.Error("the password reached the log")
	}
}

func TestDisabledDestinationLagsAndCatchesUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	hub := piveautest.Start(piveautest.Config{APIKey: "k", Catalogues: []string{"c"}})
	t.Cleanup(hub.Close)
	ds := corpus(t, 10)
	d := destinations.Destination{ID: "eosc", Kind: destinations.KindPiveau, URL: hub.URL, Catalogue: "c", APIKey: "k"}
	if _, err := f.reg.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	f.publish(ds...)
	time.Sleep(300 * time.Millisecond)
	if st := f.status("eosc"); st.Running || st.Pending != 10 || st.OldestPending.IsZero() || len(hub.Datasets("c")) != 0 {
		t.Fatalf("a disabled destination: %+v, hub %d", st, len(hub.Datasets("c")))
	}
	if _, err := f.reg.Update(ctx, "eosc", func(d *destinations.Destination) error { d.Enabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	f.settled("eosc")
	if n := len(hub.Datasets("c")); n != 10 {
		t.Errorf("hub holds %d, want 10", n)
	}
}

// TestOneProcessAtATimeDelivers: two managers share a destination; one
// delivers, and when it stops, the other takes over where it stopped.
func TestOneProcessAtATimeDelivers(t *testing.T) {
	f := newBareFixture(t)
	ctx := context.Background()
	stops := map[string]func(){"a": f.runManager("a"), "b": f.runManager("b")}
	hub := piveautest.Start(piveautest.Config{APIKey: "k", Catalogues: []string{"c"}})
	t.Cleanup(hub.Close)
	ds := corpus(t, 30)
	f.publish(ds[:20]...)
	if _, err := f.reg.Create(ctx, destinations.Destination{ID: "eosc", Kind: destinations.KindPiveau, URL: hub.URL,
		Catalogue: "c", APIKey: "k", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	first := f.settled("eosc").Holder
	other := map[string]string{"a": "b", "b": "a"}[first]
	if other == "" {
		t.Fatalf("holder %q", first)
	}
	stops[first]()
	f.publish(ds[20:]...)
	waitFor(t, "the other manager holding it", func() bool { return f.status("eosc").Holder == other })
	if st := f.settled("eosc"); st.Held != 30 || st.Pushed != 30 {
		t.Errorf("after the takeover: held %d, pushed %d, want 30 each", st.Held, st.Pushed)
	}
	for _, e := range ds {
		if n := hub.Writes("c", e.Dataset.Key); n != 1 {
			t.Errorf("%s written %d times", e.Dataset.Key, n)
		}
	}
}

// deliveryReports returns the delivery outcomes on the ops stream, per
// destination and outcome.
func deliveryReports(t *testing.T, b *bus.Bus) map[string]int {
	t.Helper()
	str, err := b.JetStream().Stream(context.Background(), string(bus.Ops))
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := str.GetMsg(context.Background(), seq)
		if err != nil {
			continue
		}
		if raw.Header.Get(bus.HeaderEvent) != bus.EventDelivery {
			continue
		}
		var ev fairwayv1.DeliveryEvent
		if err := proto.Unmarshal(testenv.Payload(t, raw), &ev); err != nil {
			t.Fatalf("delivery report %d: %v", seq, err)
		}
		if ev.Key == "" || ev.CatalogueSeq == 0 || ev.Attempts < 1 || ev.At == nil {
			t.Errorf("delivery report %d incomplete: %v", seq, &ev)
		}
		out[ev.Destination+" "+ev.Outcome]++
	}
	return out
}

func TestEveryPushOutcomeIsReportedOnTheOpsStream(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	srv := scicattest.Start(scicattest.Config{Users: map[string]string{"fairway": "s3cret"}, TokenTTL: time.Hour})
	t.Cleanup(srv.Close)
	ds := corpus(t, 5)
	f.publish(ds...)
	d := destinations.Destination{ID: "daphne", Kind: destinations.KindSciCat, URL: srv.URL, Username: "fairway",
		Password: feeds.Secret("s3cret"), OwnerGroup: "daphne", InFlight: 2, Enabled: true}
	if _, err := f.reg.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	f.settled("daphne")
	f.publish(tombstone(ds[0]))
	f.settled("daphne")
	waitFor(t, "delivery reports", func() bool {
		r := deliveryReports(t, f.b)
		return r["daphne pushed"] == 5 && r["daphne withdrawn"] == 1
	})
	if r := deliveryReports(t, f.b); len(r) != 2 {
		t.Fatalf("reports %v, want 5 pushed and 1 withdrawn only", r)
	}
}
