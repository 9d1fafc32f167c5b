package readmodel

import (
	"testing"

	"github.com/blevesearch/bleve/v2"
)

// TestHitSeq checks that the catalogue sequence read back from a hit's
// sort values, which reads check records against, is the one indexed, in
// every order and both directions.
func TestHitSeq(t *testing.T) {
	idx, err := bleve.New(t.TempDir()+"/i.bleve", indexMapping())
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	want := map[string]uint64{"a": 1, "b": 70000, "c": 1 << 40}
	for k, seq := range want {
		if err := idx.Index(k, document{Key: k, Seq: float64(seq)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []Order{ByKey, BySeq, ByDatestamp} {
		fields, err := sortFields(o)
		if err != nil {
			t.Fatal(err)
		}
		req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 10, 0, false)
		req.SortBy(fields)
		res, err := idx.Search(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != len(want) {
			t.Fatalf("order %d: %d hits", o, len(res.Hits))
		}
		for _, h := range res.Hits {
			if got, ok := hitSeq(h, seqAt(o)); !ok || got != want[h.ID] {
				t.Errorf("order %d, %s: sequence %d %v, want %d", o, h.ID, got, ok, want[h.ID])
			}
		}
	}
}
