package enricher

import (
	"testing"

	"google.golang.org/protobuf/proto"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestHashCoversVersionsAndScore: another output version, another rubric
// version or another score gives another hash.
func TestHashCoversVersionsAndScore(t *testing.T) {
	e := &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Key: "k", ContentHash: "c"}, PanetVersion: "v1.3.0", QualityScore: 0.5}
	base := hashWith("2", "1", e)
	scored := &fairwayv1.EnrichedDataset{Dataset: e.Dataset, PanetVersion: e.PanetVersion, QualityScore: 0.55}
	for name, other := range map[string]string{
		"output": hashWith("3", "1", e),
		"rubric": hashWith("2", "2", e),
		"score":  hashWith("2", "1", scored),
	} {
		if other == base {
			t.Errorf("another %s gives the same hash", name)
		}
	}
	if hashWith("2", "1", e) != base {
		t.Error("the hash is not stable")
	}
}

// TestHashCoversOutput: a change of any part of what the enricher adds (how
// a technique was matched, its confidence, its text, its broader terms, the
// quality gaps and dimensions) gives another hash at the same versions, so
// that a matcher change made without a new OutputVersion is not skipped on
// replay; moving a character between two fields does too.
func TestHashCoversOutput(t *testing.T) {
	base := &fairwayv1.EnrichedDataset{
		Dataset:      &fairwayv1.Dataset{Key: "k", ContentHash: "c"},
		PanetVersion: "v1.3.0",
		QualityScore: 0.5,
		Techniques: []*fairwayv1.Technique{{
			Iri: "http://purl.org/pan-science/PaNET/PaNET01188", Id: "PaNET01188", Label: "small angle x-ray scattering",
			MatchedBy: "text", MatchedText: "SAXS", Confidence: 0.8, Broader: []string{"http://purl.org/pan-science/PaNET/PaNET01184"},
		}},
		QualityGaps:       []*fairwayv1.QualityGap{{Check: "licence", Dimension: "reusability", Hint: "state a licence", Weight: 20}},
		QualityDimensions: []*fairwayv1.QualityDimension{{Name: "reusability", Score: 0.4}},
	}
	h := hashWith("4", "1", base)
	tests := []struct {
		name   string
		change func(e *fairwayv1.EnrichedDataset)
	}{
		{"matched by", func(e *fairwayv1.EnrichedDataset) { e.Techniques[0].MatchedBy = "synonym" }},
		{"matched text", func(e *fairwayv1.EnrichedDataset) { e.Techniques[0].MatchedText = "saxs" }},
		{"confidence", func(e *fairwayv1.EnrichedDataset) { e.Techniques[0].Confidence = 0.75 }},
		{"label", func(e *fairwayv1.EnrichedDataset) { e.Techniques[0].Label = "SAXS" }},
		{"broader", func(e *fairwayv1.EnrichedDataset) { e.Techniques[0].Broader = nil }},
		{"another technique", func(e *fairwayv1.EnrichedDataset) {
			e.Techniques = append(e.Techniques, &fairwayv1.Technique{Iri: "http://purl.org/pan-science/PaNET/PaNET01191"})
		}},
		{"gap check", func(e *fairwayv1.EnrichedDataset) { e.QualityGaps[0].Check = "rights" }},
		{"gap dimension", func(e *fairwayv1.EnrichedDataset) { e.QualityGaps[0].Dimension = "accessibility" }},
		{"gap hint", func(e *fairwayv1.EnrichedDataset) { e.QualityGaps[0].Hint = "state a licence (SPDX)" }},
		{"gap weight", func(e *fairwayv1.EnrichedDataset) { e.QualityGaps[0].Weight = 10 }},
		{"no gaps", func(e *fairwayv1.EnrichedDataset) { e.QualityGaps = nil }},
		{"dimension name", func(e *fairwayv1.EnrichedDataset) { e.QualityDimensions[0].Name = "findability" }},
		{"dimension score", func(e *fairwayv1.EnrichedDataset) { e.QualityDimensions[0].Score = 0.6 }},
		{"no dimensions", func(e *fairwayv1.EnrichedDataset) { e.QualityDimensions = nil }},
		{"a character moved between fields", func(e *fairwayv1.EnrichedDataset) {
			e.QualityGaps[0].Check, e.QualityGaps[0].Dimension = "licencer", "eusability"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := proto.Clone(base).(*fairwayv1.EnrichedDataset)
			if hashWith("4", "1", e) != h {
				t.Fatal("a copy gives another hash")
			}
			tc.change(e)
			if hashWith("4", "1", e) == h {
				t.Errorf("the hash does not change with the %s", tc.name)
			}
		})
	}
}
