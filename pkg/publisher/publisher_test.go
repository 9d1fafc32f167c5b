package publisher_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/knakk/rdf"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/publisher"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

func enriched(key, title string, deleted bool) *fairwayv1.EnrichedDataset {
	return &fairwayv1.EnrichedDataset{
		Dataset: &fairwayv1.Dataset{
			Key: key, Doi: strings.TrimPrefix(key, "doi:"), Title: title, Description: "About " + title,
			Facility: "ESRF", Publisher: "ESRF", Deleted: deleted, ContentHash: "h-" + title,
		},
		Techniques:   []*fairwayv1.Technique{{Iri: "http://purl.org/pan-science/PaNET/PaNET01188", Id: "PaNET01188", Label: "small angle x-ray scattering"}},
		PanetVersion: "1.3.0",
	}
}

func newStage(t *testing.T, b *bus.Bus) *publisher.Stage {
	t.Helper()
	st, err := publisher.New(publisher.Config{BaseURL: "http://node.test"}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestHandle(t *testing.T) {
	st := newStage(t, nil)
	tests := []struct {
		name    string
		in      []byte
		tomb    bool
		wantErr error
	}{
		{"live", mustMarshal(t, enriched("doi:10.1/a", "Powder diffraction", false)), false, nil},
		{"tombstone", mustMarshal(t, enriched("doi:10.1/b", "Gone", true)), true, nil},
		{"garbage", []byte{0xff, 0xff}, false, bus.ErrPermanent},
		{"no key", mustMarshal(t, &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Title: "x"}}), false, bus.ErrPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := st.Handle(context.Background(), &bus.Message{Payload: tt.in})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(evs) != 1 || evs[0].Stream != bus.Catalogue {
				t.Fatalf("events %+v, err %v", evs, err)
			}
			var e fairwayv1.CatalogueEntry
			if err := proto.Unmarshal(evs[0].Payload, &e); err != nil {
				t.Fatal(err)
			}
			if e.Deleted != tt.tomb || (e.Turtle == "") != tt.tomb {
				t.Fatalf("entry deleted=%v turtle=%q", e.Deleted, e.Turtle)
			}
			if !tt.tomb {
				if _, err := rdf.NewTripleDecoder(strings.NewReader(e.Turtle), rdf.Turtle).DecodeAll(); err != nil {
					t.Fatalf("entry Turtle does not parse: %v", err)
				}
			}
		})
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOlderVersionDoesNotRollBack publishes a dataset harvested at t2, then
// handles the version harvested at t1 < t2 (a reordered or replayed
// message): the catalogue keeps t2's.
func TestOlderVersionDoesNotRollBack(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := newStage(t, b)
	at := func(title string, sec int64) *fairwayv1.EnrichedDataset {
		e := enriched("doi:10.1/x", title, false)
		e.Dataset.Provenance = &fairwayv1.Provenance{HarvestedAt: timestamppb.New(time.Unix(sec, 0))}
		return e
	}
	evs, err := st.Handle(ctx, &bus.Message{Payload: mustMarshal(t, at("New title", 2000))})
	if err != nil || len(evs) != 1 {
		t.Fatalf("newer version: %v %v", evs, err)
	}
	if err := b.Publish(ctx, "publisher", evs...); err != nil {
		t.Fatal(err)
	}
	if evs, err := st.Handle(ctx, &bus.Message{Payload: mustMarshal(t, at("Old title", 1000))}); err != nil || len(evs) != 0 {
		t.Fatalf("older version produced %v, %v; want nothing", evs, err)
	}
	if evs, err := st.Handle(ctx, &bus.Message{Payload: mustMarshal(t, at("Newest title", 3000))}); err != nil || len(evs) != 1 {
		t.Fatalf("newest version produced %v, %v; want its entry", evs, err)
	}
}

// TestLiftEmbargoes renders an embargoed dataset while its embargo runs,
// moves the clock past its end, and checks that the catalogue is rendered
// again, public, once.
func TestLiftEmbargoes(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := publisher.New(publisher.Config{BaseURL: "http://node.test", Now: func() time.Time { return now }}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := enriched("doi:10.1/emb", "Embargoed", false)
	e.Dataset.EmbargoUntil = timestamppb.New(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	e.Dataset.AccessRights = "embargoed"
	evs, err := st.Handle(ctx, &bus.Message{Payload: mustMarshal(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "publisher", evs...); err != nil {
		t.Fatal(err)
	}
	turtle := func() string {
		m, err := b.LastEntry(ctx, bus.Catalogue, "doi:10.1/emb")
		if err != nil {
			t.Fatal(err)
		}
		var entry fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &entry); err != nil {
			t.Fatal(err)
		}
		return entry.Turtle
	}
	const public = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
	if strings.Contains(turtle(), public) {
		t.Fatal("an embargoed dataset is public")
	}
	if n, err := st.LiftEmbargoes(ctx); err != nil || n != 0 {
		t.Fatalf("lifted %d (%v) while the embargo runs", n, err)
	}
	now = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	if n, err := st.LiftEmbargoes(ctx); err != nil || n != 1 {
		t.Fatalf("lifted %d (%v) after the embargo; want 1", n, err)
	}
	if !strings.Contains(turtle(), public) {
		t.Fatal("the dataset is not public after its embargo")
	}
	if n, err := st.LiftEmbargoes(ctx); err != nil || n != 0 {
		t.Fatalf("lifted %d (%v) again; want 0", n, err)
	}
}

// TestConcurrentVersionsDoNotRollBack handles two versions of a dataset
// before either is stored (two workers): whichever is stored second was
// checked against an entry that is gone, so the catalogue refuses it.
func TestConcurrentVersionsDoNotRollBack(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := newStage(t, b)
	at := func(title string, sec int64) *fairwayv1.EnrichedDataset {
		e := enriched("doi:10.1/y", title, false)
		e.Dataset.Provenance = &fairwayv1.Provenance{HarvestedAt: timestamppb.New(time.Unix(sec, 0))}
		return e
	}
	older, err := st.Handle(ctx, &bus.Message{Payload: mustMarshal(t, at("Old", 1000))})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := st.Handle(ctx, &bus.Message{Payload: mustMarshal(t, at("New", 2000))})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "publisher", newer...); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "publisher", older...); !errors.Is(err, bus.ErrTransient) {
		t.Fatalf("the older version was stored over the newer one (err %v)", err)
	}
	m, err := b.LastEntry(ctx, bus.Catalogue, "doi:10.1/y")
	if err != nil {
		t.Fatal(err)
	}
	var e fairwayv1.CatalogueEntry
	if err := proto.Unmarshal(m.Data, &e); err != nil || e.Dataset.Dataset.Title != "New" {
		t.Fatalf("catalogue holds %q (%v), want New", e.GetDataset().GetDataset().GetTitle(), err)
	}
	// Handled again (the redelivery after the refusal), the older version
	// is now seen as stale.
	if evs, err := st.Handle(ctx, &bus.Message{Payload: mustMarshal(t, at("Old", 1000))}); err != nil || len(evs) != 0 {
		t.Fatalf("redelivered older version produced %v, %v", evs, err)
	}
}
