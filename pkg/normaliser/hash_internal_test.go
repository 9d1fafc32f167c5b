package normaliser

import (
	"testing"

	"google.golang.org/protobuf/proto"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestContentHashCoversTheMapping: the same canonical dataset made by
// another version of the mapping has another hash, so a replay after a
// change of the mapping is never dropped as unchanged.
func TestContentHashCoversTheMapping(t *testing.T) {
	d := &fairwayv1.Dataset{Key: "doi:10.5072/x", Title: "A dataset"}
	a, err := contentHashWith("1", d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := contentHashWith("2", d)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two mapping versions give one hash")
	}
	if again, _ := contentHashWith("1", d); again != a {
		t.Error("the hash is not stable")
	}
}

// TestContentHashOwnedIsContentHash: the hash Normalise takes without a
// copy is the one of ContentHash, and it leaves the dataset as it was.
func TestContentHashOwnedIsContentHash(t *testing.T) {
	d := &fairwayv1.Dataset{
		Key: "doi:10.5072/x", Title: "A dataset", ContentHash: "old",
		Provenance: &fairwayv1.Provenance{FeedId: "f", RawSha256: "ab"},
		Sources:    []*fairwayv1.Source{{Datestamp: "2024-01-01"}, {Datestamp: "2025-01-01"}},
	}
	before := proto.CloneOf(d)
	want, err := contentHash(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := contentHashOwned(d)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("contentHashOwned = %s, contentHash = %s", got, want)
	}
	if !proto.Equal(d, before) {
		t.Errorf("contentHashOwned changed the dataset: %v", d)
	}
	other := proto.CloneOf(d)
	other.Sources[0].Datestamp = "1999-01-01"
	other.Provenance = nil
	if h, _ := contentHashOwned(other); h != want {
		t.Error("the hash covers datestamps or provenance")
	}
}
