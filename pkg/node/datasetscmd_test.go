package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/quality"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestDatasetsCLI: the owner of a dataset is shown, and only an operator
// transfers it to another facility.
func TestDatasetsCLI(t *testing.T) {
	b := testenv.Bus(t)
	log := slog.New(slog.DiscardHandler)
	s := startTestAPI(t, b, log)
	if _, err := b.Owners().Claim(context.Background(), "doi:10.5072/esrf.1", "ESRF", "esrf-oai"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAIRWAY_SERVER", s.URL)
	t.Setenv("FAIRWAY_TOKEN_FILE", "")

	steps := []struct {
		name, token string
		args        []string
		err         string
		want        []string
	}{
		{"owner by DOI URL", "", []string{"datasets", "owner", "https://doi.org/10.5072/ESRF.1"}, "", []string{`"facility": "ESRF"`, `"feed": "esrf-oai"`}},
		{"owner of an unknown key", "", []string{"datasets", "owner", "doi:10.5072/none"}, "no facility owns", nil},
		{"not a key", "", []string{"datasets", "owner", "hello"}, "neither a DOI nor a dataset key", nil},
		{"a facility may not transfer", cliILLToken, []string{"datasets", "transfer", "doi:10.5072/esrf.1", "--to", "ILL"}, "only an operator", nil},
		{"transfer without --to", cliOperatorToken, []string{"datasets", "transfer", "doi:10.5072/esrf.1"}, "--to", nil},
		{"operator transfers", cliOperatorToken, []string{"datasets", "transfer", "doi:10.5072/esrf.1", "--to", "ILL"}, "", []string{`"facility": "ILL"`, `"previous": "ESRF"`}},
		{"new owner", "", []string{"datasets", "owner", "10.5072/esrf.1"}, "", []string{`"facility": "ILL"`}},
		{"transfer of a key nobody owns", cliOperatorToken, []string{"datasets", "transfer", "src:ESRF:oai:x", "--to", "ILL"}, "no facility owns this dataset: src:esrf:oai:x", nil},
		{"forced transfer of a key nobody owns", cliOperatorToken, []string{"datasets", "transfer", "src:ESRF:oai:x", "--to", "ILL", "--force"}, "", []string{`"key": "src:esrf:oai:x"`, `"facility": "ILL"`}},
		{"transfer to a facility name with a colon", cliOperatorToken, []string{"datasets", "transfer", "src:esrf:oai:x", "--to", "ILL:x"}, "facility", nil},
	}
	for _, st := range steps {
		t.Setenv("FAIRWAY_TOKEN", st.token)
		out, err := runCLI(t, st.args...)
		if st.err != "" {
			if err == nil || !strings.Contains(err.Error(), st.err) {
				t.Errorf("%s: err = %v, want one saying %q", st.name, err, st.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %s:\n%s", st.name, w, out)
			}
		}
	}
}

// TestDatasetsQualityCLI: `fairway datasets quality` shows each
// facility's quality from a real node's catalogue and read model, as a
// table and as JSON, and one facility with --facility.
func TestDatasetsQualityCLI(t *testing.T) {
	b := testenv.Bus(t)
	n := startPublisherNode(t, b)
	p, model, srv := n.publisher, n.model, n.srv
	ctx := context.Background()

	// Two ESRF datasets, one of them with a DOI and ORCID iDs, and one
	// ILL dataset, scored by the rubric and published by the publisher.
	var scores []float64
	for i, d := range []*fairwayv1.Dataset{
		{Key: "doi:10.5072/q.1", Doi: "10.5072/q.1", Facility: "ESRF", Title: "Scattering of micelles in water", License: "CC-BY-4.0",
			Creators: []*fairwayv1.Person{{Name: "Curie, Marie", Orcid: "0000-0002-1825-0097"}}},
		{Key: "src:esrf:q2", Facility: "ESRF", Title: "Scattering of proteins in water"},
		{Key: "src:ill:q3", Facility: "ILL", Title: "Neutron data"},
	} {
		d.ContentHash = fmt.Sprintf("h%d", i)
		d.Provenance = &fairwayv1.Provenance{FeedId: strings.ToLower(d.Facility) + "-feed"}
		e := &fairwayv1.EnrichedDataset{Dataset: d}
		score, checks := quality.Score(e)
		e.QualityScore, e.QualityGaps, e.QualityDimensions = score, quality.Gaps(checks), quality.Dimensions(checks)
		scores = append(scores, score)
		payload, err := proto.Marshal(e)
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
	}
	seq, err := b.LastSequence(ctx, bus.Catalogue)
	if err != nil {
		t.Fatal(err)
	}
	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if err := model.WaitFor(wait, seq); err != nil {
		t.Fatal(err)
	}

	t.Setenv("FAIRWAY_SERVER", srv.URL)
	t.Setenv("FAIRWAY_TOKEN_FILE", "")
	t.Setenv("FAIRWAY_TOKEN", "")
	out, err := runCLI(t, "datasets", "quality")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "FACILITY") || !strings.Contains(lines[0], "FINDABILITY") {
		t.Fatalf("table:\n%s", out)
	}
	esrfMean := fmt.Sprintf("%.4f", math.Round((scores[0]+scores[1])/2*1e4)/1e4)
	if f := strings.Fields(lines[1]); f[0] != "esrf" || f[1] != "2" || f[2] != esrfMean || !strings.Contains(lines[1], "access-rights (2)") {
		t.Errorf("esrf row %q, want 2 datasets, mean %s and access-rights failed by both", lines[1], esrfMean)
	}
	if f := strings.Fields(lines[2]); f[0] != "ill" || f[1] != "1" || f[2] != fmt.Sprintf("%.4f", scores[2]) {
		t.Errorf("ill row %q, want mean %.4f", lines[2], scores[2])
	}

	out, err = runCLI(t, "datasets", "quality", "--facility", "ILL", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var one readmodel.FacilityQuality
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if one.Facility != "ill" || one.Datasets != 1 || one.MeanScore != scores[2] || len(one.Distribution) != readmodel.QualityBuckets || len(one.Gaps) == 0 {
		t.Errorf("ILL as JSON: %+v", one)
	}
	out, err = runCLI(t, "datasets", "quality", "--json")
	if err != nil || !strings.Contains(out, `"facilities"`) || !strings.Contains(out, `"facility": "esrf"`) {
		t.Errorf("all as JSON: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "datasets", "quality", "--facility", "PSI"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown facility: %v, want a 404", err)
	}
}
