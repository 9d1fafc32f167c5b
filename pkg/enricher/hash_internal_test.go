package enricher

import (
	"testing"

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
