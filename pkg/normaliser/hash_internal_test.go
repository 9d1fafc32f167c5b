package normaliser

import (
	"testing"

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
