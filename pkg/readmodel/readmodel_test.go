package readmodel_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

var (
	day1 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	day2 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	day3 = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
)

// corpus is the catalogue of the query tests, in publishing order.
func corpus() []ds {
	return []ds{
		{key: "10.5072/esrf-1", doi: "10.5072/ESRF-1", facility: "ESRF", feed: "esrf-oai", title: "Powder diffraction of lysozyme", access: "open",
			techniques: []*fairwayv1.Technique{technique("PaNET01188", "PaNET01012", "PaNET00001")}, at: day2},
		{key: "ill/42", facility: "ILL", feed: "ill-oai", title: "Neutron spectroscopy of water", access: "embargoed",
			techniques: []*fairwayv1.Technique{technique("PaNET01012", "PaNET00001")}, at: day1},
		{key: "10.5072/esrf-2", doi: "10.5072/esrf-2", facility: "esrf", feed: "esrf-scicat", title: "Tomography of a fossil", access: "open", at: day3},
		{key: "psi/7", facility: "PSI", feed: "psi-oai", title: "Muon spin rotation", access: "open", at: day2},
		{key: "psi/8", facility: "PSI", feed: "psi-oai", deleted: true, at: day3},
	}
}

func TestQueries(t *testing.T) {
	b := testenv.Bus(t)
	var entries []*fairwayv1.CatalogueEntry
	for _, d := range corpus() {
		entries = append(entries, entry(d))
	}
	seq := publish(t, b, entries...)
	m := start(t, b, t.TempDir(), "node")
	caughtUp(t, m.Model, seq)
	ctx := context.Background()

	tests := []struct {
		name  string
		q     readmodel.Query
		want  []string
		total uint64
	}{
		{"everything live, by key", readmodel.Query{}, []string{"10.5072/esrf-1", "10.5072/esrf-2", "ill/42", "psi/7"}, 4},
		{"with deleted", readmodel.Query{Deleted: readmodel.WithDeleted}, []string{"10.5072/esrf-1", "10.5072/esrf-2", "ill/42", "psi/7", "psi/8"}, 5},
		{"deleted only", readmodel.Query{Deleted: readmodel.DeletedOnly}, []string{"psi/8"}, 1},
		{"facility any case", readmodel.Query{Facility: "Esrf"}, []string{"10.5072/esrf-1", "10.5072/esrf-2"}, 2},
		{"feed", readmodel.Query{Feed: "esrf-scicat"}, []string{"10.5072/esrf-2"}, 1},
		{"access rights", readmodel.Query{AccessRights: "embargoed"}, []string{"ill/42"}, 1},
		{"technique IRI", readmodel.Query{Technique: panet + "PaNET01188"}, []string{"10.5072/esrf-1"}, 1},
		{"technique bare id", readmodel.Query{Technique: "PaNET01188"}, []string{"10.5072/esrf-1"}, 1},
		{"broader technique finds narrower", readmodel.Query{Technique: "PaNET01012"}, []string{"10.5072/esrf-1", "ill/42"}, 2},
		{"broader technique by IRI", readmodel.Query{Technique: panet + "PaNET01012"}, []string{"10.5072/esrf-1", "ill/42"}, 2},
		{"bare id in lower case", readmodel.Query{Technique: "panet01012"}, []string{"10.5072/esrf-1", "ill/42"}, 2},
		{"unknown technique", readmodel.Query{Technique: "PaNET99999"}, []string{}, 0},
		{"any of techniques", readmodel.Query{AnyTechnique: []string{"PaNET01188", "PaNET99999"}}, []string{"10.5072/esrf-1"}, 1},
		{"any of techniques, narrower", readmodel.Query{AnyTechnique: []string{panet + "PaNET01012", "PaNET01188"}}, []string{"10.5072/esrf-1", "ill/42"}, 2},
		{"any of techniques and a technique", readmodel.Query{Technique: "PaNET01012", AnyTechnique: []string{"PaNET01188"}}, []string{"10.5072/esrf-1"}, 1},
		{"any of blank techniques", readmodel.Query{AnyTechnique: []string{" "}}, []string{}, 0},
		{"from", readmodel.Query{From: day2}, []string{"10.5072/esrf-1", "10.5072/esrf-2", "psi/7"}, 3},
		{"until", readmodel.Query{Until: day2}, []string{"10.5072/esrf-1", "ill/42", "psi/7"}, 3},
		{"from until one day", readmodel.Query{From: day2, Until: day2}, []string{"10.5072/esrf-1", "psi/7"}, 2},
		{"far bounds", readmodel.Query{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, []string{"10.5072/esrf-1", "10.5072/esrf-2", "ill/42", "psi/7"}, 4},
		{"after seq", readmodel.Query{AfterSeq: 3, Deleted: readmodel.WithDeleted, Order: readmodel.BySeq}, []string{"psi/7", "psi/8"}, 2},
		{"by seq", readmodel.Query{Order: readmodel.BySeq}, []string{"10.5072/esrf-1", "ill/42", "10.5072/esrf-2", "psi/7"}, 4},
		{"by datestamp then key", readmodel.Query{Order: readmodel.ByDatestamp}, []string{"ill/42", "10.5072/esrf-1", "psi/7", "10.5072/esrf-2"}, 4},
		{"text", readmodel.Query{Text: "diffraction"}, []string{"10.5072/esrf-1"}, 1},
		{"text stemmed", readmodel.Query{Text: "fossils"}, []string{"10.5072/esrf-2"}, 1},
		{"text all words", readmodel.Query{Text: "neutron water"}, []string{"ill/42"}, 1},
		{"text and facility", readmodel.Query{Text: "tomography", Facility: "ILL"}, []string{}, 0},
		{"offset and limit", readmodel.Query{Offset: 1, Limit: 2}, []string{"10.5072/esrf-2", "ill/42"}, 4},
		{"offset past the end", readmodel.Query{Offset: 10}, []string{}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := m.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(page.Records); !slices.Equal(got, tc.want) || page.Total != tc.total {
				t.Errorf("got %q (total %d), want %q (total %d)", got, page.Total, tc.want, tc.total)
			}
			for _, r := range page.Records {
				if r.Entry == nil || r.Entry.Key != r.Key {
					t.Errorf("%s: entry %v", r.Key, r.Entry)
				}
			}
		})
	}

	t.Run("record fields", func(t *testing.T) {
		r, err := m.Get(ctx, "10.5072/esrf-1")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{panet + "PaNET00001", panet + "PaNET01012", panet + "PaNET01188"}
		if r.Facility != "esrf" || r.Feed != "esrf-oai" || r.DOI != "10.5072/ESRF-1" || !r.Datestamp.Equal(day2) ||
			r.Seq != 1 || r.Deleted || !slices.Equal(r.Techniques, want) || r.Entry.GetDataset().GetDataset().GetTitle() == "" {
			t.Errorf("record %+v", r)
		}
	})
	t.Run("get tombstone and missing", func(t *testing.T) {
		r, err := m.Get(ctx, "psi/8")
		if err != nil || !r.Deleted {
			t.Errorf("tombstone: %+v, %v", r, err)
		}
		if _, err := m.Get(ctx, "nope"); !errors.Is(err, readmodel.ErrNotFound) {
			t.Errorf("missing key: %v", err)
		}
	})
	t.Run("by DOI", func(t *testing.T) {
		for _, doi := range []string{"10.5072/esrf-1", "10.5072/ESRF-1", " 10.5072/Esrf-2 "} {
			if r, err := m.ByDOI(ctx, doi); err != nil || r.Entry == nil {
				t.Errorf("%q: %+v, %v", doi, r, err)
			}
		}
		if _, err := m.ByDOI(ctx, "10.5072/none"); !errors.Is(err, readmodel.ErrNotFound) {
			t.Errorf("unknown DOI: %v", err)
		}
	})
	t.Run("next only when more", func(t *testing.T) {
		for _, tc := range []struct {
			q    readmodel.Query
			more bool
		}{
			{readmodel.Query{Limit: 3}, true}, {readmodel.Query{Limit: 4}, false}, {readmodel.Query{Limit: 5}, false},
			{readmodel.Query{Limit: 2, Offset: 2}, false}, {readmodel.Query{Limit: 1, Offset: 2}, true},
		} {
			page, err := m.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if (page.Next != "") != tc.more {
				t.Errorf("%+v: next %q", tc.q, page.Next)
			}
			if tc.more {
				next, err := m.Search(ctx, readmodel.Query{Limit: 4, After: page.Next})
				if err != nil || len(next.Records) != 4-tc.q.Offset-tc.q.Limit || next.Next != "" {
					t.Errorf("%+v: the page after %q, next %q, %v", tc.q, keys(next.Records), next.Next, err)
				}
			}
		}
	})
	t.Run("keys only", func(t *testing.T) {
		page, err := m.Search(ctx, readmodel.Query{KeysOnly: true, Limit: 1})
		if err != nil || len(page.Records) != 1 || page.Records[0].Entry != nil || page.Records[0].Seq == 0 {
			t.Errorf("%+v, %v", page, err)
		}
	})
	t.Run("facets", func(t *testing.T) {
		f, err := m.Facilities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []readmodel.Count{{Value: "esrf", Count: 2}, {Value: "ill", Count: 1}, {Value: "psi", Count: 1}}; !slices.Equal(f, want) {
			t.Errorf("facilities %v, want %v", f, want)
		}
		tq, err := m.Techniques(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []readmodel.Count{{Value: panet + "PaNET00001", Count: 2}, {Value: panet + "PaNET01012", Count: 2}, {Value: panet + "PaNET01188", Count: 1}}
		if !slices.Equal(tq, want) {
			t.Errorf("techniques %v, want %v", tq, want)
		}
	})
	t.Run("earliest", func(t *testing.T) {
		e, err := m.Earliest(ctx)
		if err != nil || !e.Equal(day1) {
			t.Errorf("earliest %v, %v", e, err)
		}
	})
	t.Run("lag", func(t *testing.T) {
		if lag, err := m.Lag(ctx); err != nil || lag != 0 {
			t.Errorf("lag %d, %v", lag, err)
		}
	})
	t.Run("bad queries", func(t *testing.T) {
		for _, q := range []readmodel.Query{
			{Limit: -1}, {Limit: readmodel.MaxLimit + 1}, {Offset: readmodel.MaxOffset + 1}, {After: "!!!"},
			{After: "AQA"}, {Order: 7}, {Deleted: 9}, {From: day2, Until: day1},
			{AnyTechnique: make([]string, readmodel.MaxAnyTechniques+1)}, {AnyTechnique: []string{strings.Repeat("x", 5000)}},
		} {
			if _, err := m.Search(ctx, q); !errors.Is(err, readmodel.ErrBadQuery) {
				t.Errorf("%+v: %v, want ErrBadQuery", q, err)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  readmodel.Config
		ok   bool
	}{
		{"defaults", readmodel.Config{Dir: "x"}, true},
		{"no folder", readmodel.Config{}, false},
		{"negative batch", readmodel.Config{Dir: "x", BatchSize: -1}, false},
		{"huge batch", readmodel.Config{Dir: "x", BatchSize: 10001}, false},
		{"negative inactive", readmodel.Config{Dir: "x", Inactive: -time.Second}, false},
		{"negative retry", readmodel.Config{Dir: "x", RetryDelay: -time.Second}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestWaitFor(t *testing.T) {
	b := testenv.Bus(t)
	m := start(t, b, t.TempDir(), "node")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := m.WaitFor(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a sequence never written: %v", err)
	}
	seq := publish(t, b, entry(ds{key: "a"}))
	caughtUp(t, m.Model, seq)
	if err := m.WaitFor(context.Background(), seq-1); err != nil {
		t.Errorf("waiting for a sequence passed: %v", err)
	}
}

// TestHorizon: a model that has caught up holds everything up to now; one
// that lags holds everything up to the stream time of the last entry it
// applied, which is before what it has not applied yet; one that lags and
// applied nothing since it opened cannot say.
func TestHorizon(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	m := start(t, b, t.TempDir(), "node")
	seq := publish(t, b, entry(ds{key: "a"}))
	caughtUp(t, m.Model, seq)
	before := time.Now()
	if h, err := m.Horizon(ctx); err != nil || h.Before(before) {
		t.Fatalf("caught up: horizon %v, %v; want now", h, err)
	}
	m.stop()
	time.Sleep(20 * time.Millisecond)
	stored := time.Now()
	publish(t, b, entry(ds{key: "b"}))
	if h, err := m.Horizon(ctx); err != nil || !h.Before(stored) {
		t.Errorf("lagging: horizon %v, %v; want before %v, when b was stored", h, err, stored)
	}
	fresh, err := readmodel.Open(ctx, readmodel.Config{Dir: t.TempDir(), Replica: "fresh"}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.Horizon(ctx); !errors.Is(err, readmodel.ErrHorizonUnknown) {
		t.Errorf("lagging, nothing applied: %v", err)
	}
}
