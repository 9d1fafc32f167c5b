package analytics

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestUnmarshalEntry checks that unmarshalEntry decodes what proto.Unmarshal
// decodes, the Turtle left out, wherever the Turtle is, and refuses what
// proto.Unmarshal refuses, but for a Turtle that is not valid UTF-8: the
// writer never reads that field, so it no longer refuses such an entry.
func TestUnmarshalEntry(t *testing.T) {
	full := &fairwayv1.CatalogueEntry{
		Key: "doi:10.5072/e.1", Turtle: "<a> <b> <c> .\n", ContentHash: "h",
		PublishedAt: timestamppb.New(harvested),
		Dataset: &fairwayv1.EnrichedDataset{QualityScore: 0.5, Dataset: &fairwayv1.Dataset{Key: "doi:10.5072/e.1", Title: "T"},
			Techniques: []*fairwayv1.Technique{{Iri: PaNETNamespace + "PaNET01188", Label: "saxs"}}},
	}
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	turtle := protowire.AppendString(protowire.AppendTag(nil, entryTurtle, protowire.BytesType), "<x> <y> <z> .")
	noTurtle := proto.CloneOf(full)
	noTurtle.Turtle = ""
	tombstone := &fairwayv1.CatalogueEntry{Key: "doi:10.5072/e.2", Deleted: true, ContentHash: "t"}
	for _, tc := range []struct {
		name    string
		data    []byte
		want    *fairwayv1.CatalogueEntry
		wantErr bool
	}{
		{name: "entry", data: marshal(full), want: noTurtle},
		{name: "no turtle", data: marshal(noTurtle), want: noTurtle},
		{name: "tombstone", data: marshal(tombstone), want: tombstone},
		{name: "empty", data: nil, want: &fairwayv1.CatalogueEntry{}},
		{name: "turtle first and last, twice", data: append(append(append([]byte{}, turtle...), marshal(noTurtle)...), turtle...), want: noTurtle},
		{name: "turtle of bad UTF-8, unread", data: append(marshal(noTurtle), protowire.AppendString(protowire.AppendTag(nil, entryTurtle, protowire.BytesType), "\xff\xfe")...), want: noTurtle},
		{name: "key of bad UTF-8", data: protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "\xff"), wantErr: true},
		{name: "truncated", data: marshal(full)[:10], wantErr: true},
		{name: "not protobuf", data: []byte("\xff\xff\xff\xff"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A reused message keeps nothing of the entry before.
			e := proto.CloneOf(full)
			err := unmarshalEntry(tc.data, e)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("decoded %v, want an error", e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(e, tc.want) {
				t.Fatalf("got %v, want %v", e, tc.want)
			}
		})
	}
}
