package testenv

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// FuzzBudget is how long a reader's fuzzers give one payload, parsing and
// mapping included.
const FuzzBudget = 2 * time.Second

// MaxMappedBytes bounds the encoded size of the dataset a payload maps to:
// an entity or a reference that expands reaches it, honest repetition
// does not.
func MaxMappedBytes(payload []byte) int { return 8*len(payload) + 64<<10 }

// CheckMapped fails t unless mapping (a reader's ToDataset of a parsed
// payload) makes a dataset that encodes, is at most MaxMappedBytes of the
// payload, comes out the same a second time, and all of it, since start,
// took at most FuzzBudget.
func CheckMapped(t testing.TB, payload []byte, start time.Time, mapping func() *fairwayv1.Dataset) {
	t.Helper()
	d := mapping()
	if d == nil {
		t.Fatal("ToDataset returned nil")
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(d)
	if err != nil {
		t.Fatalf("the mapped dataset cannot be encoded: %v", err)
	}
	if n := len(b); n > MaxMappedBytes(payload) {
		t.Fatalf("a payload of %d bytes maps to a dataset of %d bytes", len(payload), n)
	}
	if again, _ := (proto.MarshalOptions{Deterministic: true}).Marshal(mapping()); string(again) != string(b) {
		t.Fatal("ToDataset is not deterministic")
	}
	if took := time.Since(start); took > FuzzBudget {
		t.Fatalf("a payload of %d bytes took %v", len(payload), took)
	}
}
