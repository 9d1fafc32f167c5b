package enricher_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/panet"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

func stage(t *testing.T) *enricher.Stage {
	t.Helper()
	ont, err := panet.Load(context.Background(), testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	return enricher.NewWithOntology(enricher.Config{}, nil, ont, slog.New(slog.DiscardHandler))
}

func TestHandle(t *testing.T) {
	st := stage(t)
	const saxs = "http://purl.org/pan-science/PaNET/PaNET01188"
	tests := []struct {
		name     string
		subjects []*fairwayv1.Subject
		deleted  bool
		want     []string
	}{
		{"iri", []*fairwayv1.Subject{{Value: "SAXS", Scheme: "PaNET", ValueUri: saxs}}, false, []string{saxs}},
		{"bare id", []*fairwayv1.Subject{{Value: "PaNET01188"}}, false, []string{saxs}},
		{"label", []*fairwayv1.Subject{{Value: "Small angle X-ray scattering"}}, false, []string{saxs}},
		{"free keywords only", []*fairwayv1.Subject{{Value: "batteries"}}, false, nil},
		{"acronym in a keyword", []*fairwayv1.Subject{{Value: "SAXS data"}}, false, []string{saxs}},
		{"tombstone", []*fairwayv1.Subject{{Value: "PaNET01188"}}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := &fairwayv1.Dataset{Key: "doi:10.1/x", Title: "A dataset", Subjects: tt.subjects, Deleted: tt.deleted, ContentHash: "h"}
			in, _ := proto.Marshal(ds)
			evs, err := st.Handle(context.Background(), &bus.Message{Key: ds.Key, Payload: in})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Stream != bus.Enriched || evs[0].Key != ds.Key || !evs[0].SkipUnchanged {
				t.Fatalf("events %+v", evs)
			}
			var e fairwayv1.EnrichedDataset
			if err := proto.Unmarshal(evs[0].Payload, &e); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tech := range e.Techniques {
				got = append(got, tech.Iri)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("techniques %v, want %v", got, tt.want)
			}
			if e.PanetVersion == "" {
				t.Error("no PaNET version recorded")
			}
			if !tt.deleted && (e.QualityScore <= 0 || e.QualityScore > 1) {
				t.Errorf("quality %v", e.QualityScore)
			}
		})
	}
}

func TestHashFollowsTechniques(t *testing.T) {
	st := stage(t)
	a := st.Enrich(&fairwayv1.Dataset{Key: "k", ContentHash: "h", Subjects: []*fairwayv1.Subject{{Value: "PaNET01188"}}})
	b := st.Enrich(&fairwayv1.Dataset{Key: "k", ContentHash: "h"})
	if enricher.Hash(a) == enricher.Hash(b) {
		t.Error("hash ignores the techniques: a new ontology would not ripple to the catalogue")
	}
	if enricher.Hash(a) != enricher.Hash(st.Enrich(&fairwayv1.Dataset{Key: "k", ContentHash: "h", Subjects: []*fairwayv1.Subject{{Value: "PaNET01188"}}})) {
		t.Error("hash is not stable")
	}
}

// TestHashFollowsQuality: a dataset whose score changes (a new rubric
// counts a gap it did not see) is emitted again.
func TestHashFollowsQuality(t *testing.T) {
	st := stage(t)
	ds := &fairwayv1.Dataset{Key: "k", ContentHash: "h", Title: "Lysozyme crystallography", LandingPage: "https://data.esrf.fr/1"}
	a := st.Enrich(ds)
	b := proto.Clone(a).(*fairwayv1.EnrichedDataset)
	b.QualityScore += 0.05
	if enricher.Hash(a) == enricher.Hash(b) {
		t.Error("hash ignores the quality score: a new rubric would not ripple to the catalogue")
	}
}

// TestEnrichCountsDroppedLinks: the score of a dataset with a javascript:
// landing page misses the landing page and links checks.
func TestEnrichCountsDroppedLinks(t *testing.T) {
	st := stage(t)
	good := st.Enrich(&fairwayv1.Dataset{Key: "k", ContentHash: "h", LandingPage: "https://data.esrf.fr/1"})
	bad := st.Enrich(&fairwayv1.Dataset{Key: "k", ContentHash: "h", LandingPage: "javascript:alert(1)"})
	if d := good.QualityScore - bad.QualityScore; d < 0.149 || d > 0.151 {
		t.Errorf("scores %v and %v, want 0.15 apart", good.QualityScore, bad.QualityScore)
	}
}

func TestGarbageIsPermanent(t *testing.T) {
	_, err := stage(t).Handle(context.Background(), &bus.Message{Payload: []byte{0xff, 0xff, 0xff}})
	if !errors.Is(err, bus.ErrPermanent) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
}

// TestNewKeepsACopyOfTheRelease: an ontology fetched from a URL is kept, a
// start whose URL cannot be fetched uses that copy, and with neither the
// error says how to give one.
func TestNewKeepsACopyOfTheRelease(t *testing.T) {
	owl, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(owl) }))
	url := srv.URL + "/PaNET.owl"
	copyPath := filepath.Join(t.TempDir(), "panet", "PaNET.owl")
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	if _, err := enricher.New(ctx, enricher.Config{PaNET: url, Copy: copyPath}, nil, quiet); err != nil {
		t.Fatalf("online start: %v", err)
	}
	if kept, err := os.ReadFile(copyPath); err != nil || !bytes.Equal(kept, owl) {
		t.Fatalf("copy not kept (err %v, %d of %d bytes)", err, len(kept), len(owl))
	}
	srv.Close()

	log, buf := testenv.CaptureLog()
	st, err := enricher.New(ctx, enricher.Config{PaNET: url, Copy: copyPath}, nil, log)
	if err != nil {
		t.Fatalf("offline start with a copy: %v", err)
	}
	if st == nil || !strings.Contains(buf.String(), "starting from the copy") {
		t.Fatalf("offline start did not warn that it used the copy: %s", buf.String())
	}

	_, err = enricher.New(ctx, enricher.Config{PaNET: url, Copy: filepath.Join(t.TempDir(), "none.owl")}, nil, quiet)
	if !errors.Is(err, enricher.ErrNoOntology) || !strings.Contains(err.Error(), "--panet") || !strings.Contains(err.Error(), "FAIRWAY_PANET") {
		t.Fatalf("offline start without a copy: %v", err)
	}
}

// TestEnrichKeepsWhatIsMissing: the dataset carries its failed checks and
// the score of each dimension.
func TestEnrichKeepsWhatIsMissing(t *testing.T) {
	e := stage(t).Enrich(&fairwayv1.Dataset{Key: "src:ESRF:1", Title: "A dataset without a DOI", Subjects: []*fairwayv1.Subject{{Value: "PaNET01188"}}})
	var gaps []string
	for _, g := range e.GetQualityGaps() {
		gaps = append(gaps, g.GetCheck())
		if g.GetHint() == "" || g.GetDimension() == "" {
			t.Errorf("gap %v without hint or dimension", g)
		}
	}
	if len(gaps) == 0 || gaps[0] != "doi" {
		t.Errorf("gaps %v, want doi first", gaps)
	}
	if len(e.GetQualityDimensions()) != 5 || e.GetQualityDimensions()[0].GetName() != "findability" {
		t.Errorf("dimensions %v", e.GetQualityDimensions())
	}
}

// Alias dictionaries extend the synonyms and change the recorded version; a
// dictionary that cannot be read stops the stage.
func TestAliases(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	aliases := testenv.SharedData(t, "panet", "esrf-ontologies", "PaNET-aliases.json")
	plain, err := enricher.New(ctx, enricher.Config{PaNET: testenv.PaNET(t)}, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	st, err := enricher.New(ctx, enricher.Config{PaNET: testenv.PaNET(t), Aliases: []string{aliases}}, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ds := &fairwayv1.Dataset{Key: "k", Title: "Beam characterisation", Subjects: []*fairwayv1.Subject{{Value: "Hard X-ray probe"}}}
	if got := plain.Enrich(ds); len(got.Techniques) != 0 {
		t.Errorf("without aliases: %v", got.Techniques)
	}
	got := st.Enrich(ds)
	if len(got.Techniques) != 1 || got.Techniques[0].Id != "PaNET01013" || got.Techniques[0].MatchedBy != panet.MatchedBySynonym {
		t.Errorf("with aliases: %v", got.Techniques)
	}
	if got.PanetVersion == plain.Enrich(ds).PanetVersion || !strings.Contains(got.PanetVersion, "+aliases:") {
		t.Errorf("version with aliases %q", got.PanetVersion)
	}
	_, err = enricher.New(ctx, enricher.Config{PaNET: testenv.PaNET(t), Aliases: []string{filepath.Join(t.TempDir(), "none.json")}}, nil, quiet)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing alias file: %v", err)
	}
	if err := (enricher.Config{Aliases: []string{""}}).Validate(); err == nil {
		t.Error("empty alias path accepted")
	}
}
