package publisher

import (
	"testing"
	"time"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestEntryHashCoversTheMappingAndTheEnrichment: a change of the DCAT
// mapping, of the score, or of a technique's broader terms changes the
// entry's hash, so that a replay re-renders what changed.
func TestEntryHashCoversTheMappingAndTheEnrichment(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(score float64, broader ...string) *fairwayv1.EnrichedDataset {
		return &fairwayv1.EnrichedDataset{
			Dataset: &fairwayv1.Dataset{Key: "k", ContentHash: "c"}, PanetVersion: "v", QualityScore: score,
			Techniques: []*fairwayv1.Technique{{Iri: "http://purl.org/pan-science/PaNET/PaNET01168", Broader: broader}},
		}
	}
	base := entryHashWith("4", mk(0.5), now)
	for name, other := range map[string]string{
		"mapping": entryHashWith("5", mk(0.5), now),
		"score":   entryHashWith("4", mk(0.6), now),
		"broader": entryHashWith("4", mk(0.5, "http://purl.org/pan-science/PaNET/PaNET01012"), now),
	} {
		if other == base {
			t.Errorf("another %s gives the same hash", name)
		}
	}
	if entryHashWith("4", mk(0.5), now) != base {
		t.Error("the hash is not stable")
	}
}
