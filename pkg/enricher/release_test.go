package enricher_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/publisher"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

func TestParseRelease(t *testing.T) {
	ref, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	onlySpecifier := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:owl="http://www.w3.org/2002/07/owl#">
<owl:Class rdf:about="http://purl.org/pan-science/PaNET/PaNET2000000"/></rdf:RDF>`
	tests := []struct {
		name string
		data []byte
		err  string
	}{
		{"reference release", ref, ""},
		{"not XML", []byte("hello"), "invalid PaNET release"},
		{"no class", []byte(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>`), "no PaNET class"},
		{"only a specifier", []byte(onlySpecifier), "no technique"},
		{"too large", make([]byte, enricher.MaxReleaseSize+1), "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rel, err := enricher.ParseRelease(tt.data, "test")
			if tt.err == "" {
				if err != nil || rel.Techniques != 380 || rel.Digest != enricher.Digest(tt.data) || rel.Version != "1.3.0-48-g7011e6b" {
					t.Fatalf("ParseRelease = %+v, %v", rel, err)
				}
				return
			}
			if !errors.Is(err, enricher.ErrInvalidRelease) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ParseRelease: %v, want ErrInvalidRelease with %q", err, tt.err)
			}
		})
	}
}

// TestReleaseOfRecord checks the start rule and the swap: an explicit
// release becomes the node's, a start without one loads the node's, a new
// release stored is picked up by a running stage (which reports it), and
// a release that cannot be read leaves the stage with the one it has and
// is reported.
func TestReleaseOfRecord(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	quiet := slog.New(slog.DiscardHandler)
	v130, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	v111, err := os.ReadFile(testenv.SharedData(t, "panet", "PaNET-v1.1.1.owl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enricher.StoredRelease(ctx, b); !bus.IsNotFound(err) {
		t.Fatalf("release of an empty node: %v", err)
	}
	if _, err := enricher.New(ctx, enricher.Config{PaNET: testenv.PaNET(t)}, b, quiet); err != nil {
		t.Fatal(err)
	}
	if rel, err := enricher.StoredRelease(ctx, b); err != nil || rel.Digest != enricher.Digest(v130) || rel.Techniques != 380 {
		t.Fatalf("an explicit release is not the node's: %+v, %v", rel, err)
	}
	log, logs := testenv.CaptureLog()
	st, err := enricher.New(ctx, enricher.Config{Watch: 20 * time.Millisecond, Holder: "replica-1"}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	if st.Release().Digest != enricher.Digest(v130) {
		t.Fatalf("a start without --panet loaded %+v", st.Release())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = st.Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	if _, err := enricher.PutRelease(ctx, b, v111, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stage to use v1.1.1", func() bool { return st.Release().Digest == enricher.Digest(v111) })
	ds := &fairwayv1.Dataset{Key: "k", Title: "SAXS of lysozyme", ContentHash: "h"}
	if v := st.Enrich(ds).PanetVersion; v != "1.0.0-3-g6a0b629-dirty" {
		t.Fatalf("version recorded after the swap: %q", v)
	}
	waitFor(t, "the stage to report v1.1.1", func() bool {
		ps, err := enricher.Enrichers(ctx, b)
		return err == nil && len(ps) == 1 && ps[0].Holder == "replica-1" && ps[0].Digest == enricher.Digest(v111)
	})
	if !strings.Contains(logs.String(), "PaNET release changed") {
		t.Error("no log of the change")
	}

	// A release that cannot be read (stored by another tool, damaged) is
	// refused by the stage, which keeps tagging with v1.1.1.
	bad := []byte("<rdf:RDF broken")
	if err := b.Objects(bus.ObjectStorePaNET).PutWithMetadata(ctx, enricher.ReleaseObject, bad, "", map[string]string{"digest": enricher.Digest(bad)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stage to report the broken release", func() bool {
		ps, err := enricher.Enrichers(ctx, b)
		return err == nil && len(ps) == 1 && strings.Contains(ps[0].Error, "invalid PaNET release")
	})
	if st.Release().Digest != enricher.Digest(v111) {
		t.Fatalf("the stage dropped its release for a broken one: %+v", st.Release())
	}
	if _, err := enricher.PutRelease(ctx, b, bad, "test"); !errors.Is(err, enricher.ErrInvalidRelease) {
		t.Fatalf("PutRelease of a broken release: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReplayedOlderVersionNeverRollsBack runs a replay's output of an older
// normalised version of a dataset into a catalogue that holds a newer one
// (the replay read the older one just before the newer arrived and went
// through): the publisher drops it, and the catalogue keeps the newer.
func TestReplayedOlderVersionNeverRollsBack(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := stage(t)
	pub, err := publisher.New(publisher.Config{}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	version := func(title string, harvested int64) *bus.Message {
		ds := &fairwayv1.Dataset{Key: "doi:10.1/x", Title: title, ContentHash: title,
			Provenance: &fairwayv1.Provenance{HarvestedAt: timestamppb.New(time.Unix(harvested, 0))}}
		p, _ := proto.Marshal(ds)
		return &bus.Message{Key: ds.Key, Payload: p}
	}
	through := func(m *bus.Message) {
		t.Helper()
		evs, err := st.Handle(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pub.Handle(ctx, &bus.Message{Key: m.Key, Payload: evs[0].Payload})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, string(bus.StagePublisher), out...); err != nil {
			t.Fatal(err)
		}
	}
	through(version("SAXS of the newer version", 2000))
	through(version("SAXS of the older version", 1000)) // the replay's output, late
	m, err := b.LastEntry(ctx, bus.Catalogue, "doi:10.1/x")
	if err != nil {
		t.Fatal(err)
	}
	var e fairwayv1.CatalogueEntry
	if err := proto.Unmarshal(m.Data, &e); err != nil {
		t.Fatal(err)
	}
	if got := e.GetDataset().GetDataset().GetTitle(); got != "SAXS of the newer version" {
		t.Fatalf("catalogue rolled back to %q", got)
	}
}
