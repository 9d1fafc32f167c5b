package normaliser_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// FuzzMerge checks Merge's contract on any set of versions (an encoded
// SourceVersions): it never panics, leaves its input as it was, gives the
// same dataset under any permutation of the versions (nil ones ignored),
// and a dataset that lists every version's source with its own content
// hash.
func FuzzMerge(f *testing.F) {
	dc := version(f, "esrf-oai", "oai:esrf:1", "oai_datacite", mergeDataCite)
	sc := version(f, "esrf-scicat", "20.500.12269/abc", "scicat", mergeSciCat)
	odc := version(f, "esrf-dc", "oai:esrf:dc:1", "oai_dc", mergeDC)
	// Two versions of one source, which differ (the stage never keeps
	// both, but Merge must not depend on their order either).
	twin := proto.CloneOf(dc)
	twin.Title, twin.ContentHash = "twin", "twin"
	// Equal harvest times, other formats, access rights to rank.
	at := timestamppb.New(time.Unix(1_700_000_000, 0))
	p1, p2 := proto.CloneOf(sc), proto.CloneOf(odc)
	p1.Provenance = &fairwayv1.Provenance{FeedId: "a", HarvestedAt: at}
	p2.Provenance = &fairwayv1.Provenance{FeedId: "b", HarvestedAt: at}
	p1.AccessRights, p2.AccessRights = "restricted", "bogus"
	odd := &fairwayv1.Dataset{MetadataFormat: " DataCite ", AccessRights: "closed", Sources: []*fairwayv1.Source{{}, {}}}
	seeds := [][]*fairwayv1.Dataset{
		nil,
		{{}},
		{dc},
		{dc, sc, odc},
		{dc, twin},
		{dc, twin, sc},
		{p1, p2},
		{odd, {}, p1},
	}
	for i, vs := range seeds {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&fairwayv1.SourceVersions{Versions: vs})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint64(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var in fairwayv1.SourceVersions
		if err := proto.Unmarshal(data, &in); err != nil {
			return
		}
		versions := in.Versions
		before := proto.CloneOf(&in)
		m := normaliser.Merge(versions)
		if !proto.Equal(&in, before) {
			t.Fatal("Merge changed its input")
		}
		if len(versions) == 0 {
			if m != nil {
				t.Fatalf("Merge of nothing is %v", m)
			}
			return
		}
		if m == nil {
			t.Fatal("Merge of versions is nil")
		}
		if len(m.Sources) != len(versions) {
			t.Fatalf("%d sources for %d versions", len(m.Sources), len(versions))
		}
		if m.ContentHash == "" || m.ContentHash != normaliser.ContentHash(m) {
			t.Fatalf("content hash %q, ContentHash %q", m.ContentHash, normaliser.ContentHash(m))
		}
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		orders := [][]*fairwayv1.Dataset{slices.Clone(versions), slices.Clone(versions), slices.Clone(versions)}
		slices.Reverse(orders[0])
		rng.Shuffle(len(orders[1]), func(i, j int) { orders[1][i], orders[1][j] = orders[1][j], orders[1][i] })
		// Nil versions are ignored.
		orders[2] = slices.Insert(orders[2], rng.IntN(len(orders[2])+1), nil)
		for i, o := range orders {
			if got := normaliser.Merge(o); !proto.Equal(got, m) {
				t.Fatalf("order %d merges to another dataset:\n%v\nwant\n%v", i, got, m)
			}
		}
		if got := normaliser.Merge([]*fairwayv1.Dataset{nil}); got != nil {
			t.Fatalf("Merge of a nil version is %v", got)
		}
	})
}
