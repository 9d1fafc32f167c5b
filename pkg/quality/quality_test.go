package quality

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// full passes every check.
func full() *fairwayv1.EnrichedDataset {
	return &fairwayv1.EnrichedDataset{
		Dataset: &fairwayv1.Dataset{
			Key:              "doi:10.5281/zenodo.1234",
			Doi:              "10.5281/zenodo.1234",
			SourceIdentifier: "oai:esrf.fr:1234",
			Facility:         "ESRF",
			Title:            "Lysozyme serial crystallography at ID29",
			Description:      strings.Repeat("Diffraction images of lysozyme microcrystals collected at 100 K. ", 2),
			Creators: []*fairwayv1.Person{
				{Name: "Doe, Jane", Orcid: "0000-0002-1825-0097"},
				{Name: "Roe, Richard", Orcid: "https://orcid.org/0000-0002-1694-233X"},
			},
			Publisher:     "ESRF",
			Issued:        timestamppb.New(time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC)),
			Modified:      timestamppb.New(time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)),
			Distributions: []*fairwayv1.Distribution{{DownloadUrl: "https://data.esrf.fr/files/1234.h5", ByteSize: 1 << 30}},
			Subjects:      []*fairwayv1.Subject{{Value: "lysozyme"}},
			License:       "https://creativecommons.org/licenses/by/4.0/",
			AccessRights:  "open",
			LandingPage:   "https://data.esrf.fr/doi/10.5281/zenodo.1234",
			Related:       []*fairwayv1.RelatedIdentifier{{Identifier: "10.1107/S1600577525005272", Type: "DOI", Relation: "IsCitedBy"}},
		},
		Techniques: []*fairwayv1.Technique{{Iri: "http://purl.org/pan-science/PaNET/PaNET01168", Id: "PaNET01168"}},
	}
}

func edit(f func(e *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset)) *fairwayv1.EnrichedDataset {
	e := proto.Clone(full()).(*fairwayv1.EnrichedDataset)
	f(e, e.Dataset)
	return e
}

var allChecks = []string{"doi", "title", "description", "keywords", "landing-page", "access-rights", "open-access", "links",
	"panet-technique", "creator-orcid", "licence-iri", "licence", "provenance", "related-publications",
	"publication-date", "modified-date", "byte-size"}

func TestScore(t *testing.T) {
	tests := []struct {
		name   string
		in     *fairwayv1.EnrichedDataset
		score  float64
		failed []string
	}{
		{name: "nil", in: nil, score: 0, failed: allChecks},
		{name: "no dataset", in: &fairwayv1.EnrichedDataset{Techniques: full().Techniques}, score: 0, failed: allChecks},
		{name: "empty dataset", in: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{}}, score: 0.05, failed: slices.DeleteFunc(slices.Clone(allChecks), func(c string) bool { return c == "links" })},
		{name: "full", in: full(), score: 1},
		{name: "no DOI", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Doi = "" }), score: 0.9, failed: []string{"doi"}},
		{name: "short title", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Title = "  Run 7  " }), score: 0.95, failed: []string{"title"}},
		{name: "title is the DOI", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Title = "doi:10.5281/ZENODO.1234" }), score: 0.95, failed: []string{"title"}},
		{name: "short description", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Description = "Lysozyme." }), score: 0.95, failed: []string{"description"}},
		{name: "description is the title", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) {
			d.Title = strings.Repeat("Long title ", 12)
			d.Description = d.Title
		}), score: 0.95, failed: []string{"description"}},
		{name: "techniques without subjects", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Subjects = nil }), score: 1},
		{name: "neither subjects nor techniques", in: edit(func(e *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) {
			d.Subjects, e.Techniques = []*fairwayv1.Subject{{Value: "  "}}, nil
		}), score: 0.85, failed: []string{"keywords", "panet-technique"}},
		{name: "landing page not http", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.LandingPage = "ftp://data.esrf.fr/x" }), score: 0.85, failed: []string{"landing-page", "links"}},
		{name: "no landing page", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.LandingPage = "" }), score: 0.9, failed: []string{"landing-page"}},
		{name: "landing page as DOI", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.LandingPage = "doi:10.5281/zenodo.1234" }), score: 1},
		{name: "landing page http without host", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.LandingPage = "https:/data.esrf.fr/x" }), score: 0.85, failed: []string{"landing-page", "links"}},
		{name: "javascript subject IRI", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) {
			d.Subjects = append(d.Subjects, &fairwayv1.Subject{Value: "x", ValueUri: "JaVaScRiPt:alert(1)"})
		}), score: 0.95, failed: []string{"links"}},
		{name: "file related identifier", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) {
			d.Related = append(d.Related, &fairwayv1.RelatedIdentifier{Identifier: "file:///etc/passwd", Type: "URL"})
		}), score: 0.95, failed: []string{"links"}},
		{name: "embargoed", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.AccessRights = "Embargoed" }), score: 0.95, failed: []string{"open-access"}},
		{name: "access unknown", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.AccessRights = "" }), score: 0.9, failed: []string{"access-rights", "open-access"}},
		{name: "licence id", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.License = "CC-BY-4.0" }), score: 1},
		{name: "licence text", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.License = "ESRF data policy" }), score: 0.95, failed: []string{"licence-iri"}},
		{name: "no licence", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.License = "" }), score: 0.85, failed: []string{"licence-iri", "licence"}},
		{name: "a creator without ORCID", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Creators[1].Orcid = "" }), score: 0.9, failed: []string{"creator-orcid"}},
		{name: "ORCID with a wrong check digit", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Creators[0].Orcid = "0000-0002-1825-0098" }), score: 0.9, failed: []string{"creator-orcid"}},
		{name: "no creators", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Creators = nil }), score: 0.85, failed: []string{"creator-orcid", "provenance"}},
		{name: "facility but no publisher", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Publisher = "" }), score: 1},
		{name: "neither publisher nor facility", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Publisher, d.Facility = "", "" }), score: 0.95, failed: []string{"provenance"}},
		{name: "year only", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Issued, d.PublicationYear = nil, 2021 }), score: 1},
		{name: "no date", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Issued = nil }), score: 0.975, failed: []string{"publication-date"}},
		{name: "no modification date", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Modified = nil }), score: 0.9875, failed: []string{"modified-date"}},
		{name: "no size", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Distributions[0].ByteSize = 0 }), score: 0.9875, failed: []string{"byte-size"}},
		{name: "no related", in: edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) {
			d.Related = []*fairwayv1.RelatedIdentifier{{Identifier: " ", Relation: "IsCitedBy"}}
		}), score: 0.95, failed: []string{"related-publications"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			score, checks := Score(tc.in)
			if math.Abs(score-tc.score) > 1e-9 {
				t.Errorf("Score = %v, want %v", score, tc.score)
			}
			var names, failed []string
			for _, c := range checks {
				names = append(names, c.Name)
				if !c.Passed {
					failed = append(failed, c.Name)
				}
				if c.Hint == "" || c.Weight <= 0 {
					t.Errorf("check %s has no hint or weight", c.Name)
				}
			}
			if !slices.Equal(names, allChecks) {
				t.Errorf("checks = %v, want %v", names, allChecks)
			}
			if !slices.Equal(failed, tc.failed) {
				t.Errorf("failed = %v, want %v", failed, tc.failed)
			}
		})
	}
}

// TestLinksGap: javascript: links in every place the feed gives one are
// one failed check whose hint counts them and names the fields.
func TestLinksGap(t *testing.T) {
	e := edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) {
		d.LandingPage = "javascript:alert(1)"
		d.Related = append(d.Related, &fairwayv1.RelatedIdentifier{Identifier: "javascript:alert(1)", Type: "URL", Relation: "IsCitedBy"})
		d.Subjects = append(d.Subjects, &fairwayv1.Subject{Value: "x", ValueUri: "javascript:alert(1)"})
	})
	score, checks := Score(e)
	if math.Abs(score-0.85) > 1e-9 {
		t.Errorf("Score = %v, want 0.85 (landing page and links lost)", score)
	}
	i := slices.IndexFunc(checks, func(c Check) bool { return c.Name == "links" })
	if i < 0 {
		t.Fatal("no links check")
	}
	c := checks[i]
	const want = "3 links were left out of the catalogue (landing_page, subjects.value_uri, related.identifier): "
	if c.Passed || c.Principle != Accessible || !strings.HasPrefix(c.Hint, want) {
		t.Errorf("links check = %+v, want failed with hint %q…", c, want)
	}

	_, checks = Score(edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.License = "vbscript:msgbox(1)" }))
	c = checks[i]
	if c.Passed || !strings.HasPrefix(c.Hint, "1 link was left out of the catalogue (license): ") {
		t.Errorf("links check = %+v", c)
	}
	_, checks = Score(full())
	if c = checks[i]; !c.Passed || c.Hint != linksHint {
		t.Errorf("links check of the full dataset = %+v", c)
	}
}

func TestRubricWeights(t *testing.T) {
	_, checks := Score(full())
	per := map[Principle]float64{}
	total := 0.0
	for _, c := range checks {
		per[c.Principle] += c.Weight
		total += c.Weight
	}
	for p, want := range map[Principle]float64{Findable: 0.25, Accessible: 0.25, Interoperable: 0.25, Reusable: 0.20, Contextual: 0.05} {
		if math.Abs(per[p]-want) > 1e-9 {
			t.Errorf("dimension %s weighs %v, want %v", p, per[p], want)
		}
	}
	if math.Abs(total-1) > 1e-9 {
		t.Errorf("weights sum to %v", total)
	}
}

func BenchmarkScore(b *testing.B) {
	e := full()
	for b.Loop() {
		if s, _ := Score(e); s != 1 {
			b.Fatal(s)
		}
	}
}

func TestGapsAndDimensions(t *testing.T) {
	_, checks := Score(edit(func(_ *fairwayv1.EnrichedDataset, d *fairwayv1.Dataset) { d.Doi, d.Modified = "", nil }))
	gaps := Gaps(checks)
	if len(gaps) != 2 || gaps[0].GetCheck() != "doi" || gaps[0].GetDimension() != "findability" || gaps[0].GetHint() == "" ||
		gaps[1].GetCheck() != "modified-date" || gaps[1].GetDimension() != "contextuality" || gaps[1].GetWeight() != 0.0125 {
		t.Errorf("gaps = %v", gaps)
	}
	want := map[string]float64{"findability": 0.6, "accessibility": 1, "interoperability": 1, "reusability": 1, "contextuality": 0.75}
	dims := Dimensions(checks)
	if len(dims) != 5 {
		t.Fatalf("dimensions = %v", dims)
	}
	for i, d := range dims {
		if d.GetName() != Principles[i].Dimension() || math.Abs(d.GetScore()-want[d.GetName()]) > 1e-9 {
			t.Errorf("dimension %d = %v, want %s %v", i, d, Principles[i].Dimension(), want[Principles[i].Dimension()])
		}
	}
}
