package dublincore_test

import (
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/dublincore"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestToDatasetFields checks the typed dates, geo locations, relation
// types and alternate identifiers, one table row per case.
func TestToDatasetFields(t *testing.T) {
	day := func(y int, m time.Month, d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	}
	tests := []struct {
		name  string
		inner string
		pick  func(*fairwayv1.Dataset) *fairwayv1.Dataset
		want  *fairwayv1.Dataset
	}{
		{"every date with its qualifier", `<dc:date>2020-05-06</dc:date><dc:date>Accepted: 2020-04-01</dc:date>` +
			`<dc:date>Submitted: 2020-03</dc:date><dc:date>Copyrighted: 2019</dc:date><dc:date>Valid: 2020/2030</dc:date>` +
			`<dc:date>Withdrawn: never</dc:date><dcterms:dateAccepted xmlns:dcterms="http://purl.org/dc/terms/">2020-04-02</dcterms:dateAccepted>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{Dates: d.Dates, Gaps: d.Gaps} },
			&fairwayv1.Dataset{Dates: []*fairwayv1.TypedDate{
				{Value: "2020-05-06", Time: day(2020, 5, 6)},
				{Type: "Accepted", Value: "2020-04-01", Time: day(2020, 4, 1)},
				{Type: "Submitted", Value: "2020-03", Time: day(2020, 3, 1)},
				{Type: "Copyrighted", Value: "2019", Time: day(2019, 1, 1)},
				{Type: "Valid", Value: "2020/2030", Time: day(2020, 1, 1), End: day(2030, 1, 1)},
				{Type: "Withdrawn", Value: "never"},
				{Type: "Accepted", Value: "2020-04-02", Time: day(2020, 4, 2)},
			}, Gaps: []*fairwayv1.Gap{{Field: "dates", Value: "never", Reason: "invalid date: expected a four-digit year"}}}},
		{"places among coverage and spatial", `<dc:coverage>Grenoble, France</dc:coverage><dc:coverage>2019-2020</dc:coverage>` +
			`<dc:coverage>start=2019-01-01; end=2019-12-31</dc:coverage>` +
			`<dcterms:spatial xmlns:dcterms="http://purl.org/dc/terms/">east=5.72; north=45.19; name=ESRF</dcterms:spatial>` +
			`<dcterms:spatial xmlns:dcterms="http://purl.org/dc/terms/">northlimit=46; southlimit=45; westlimit=5; eastlimit=6</dcterms:spatial>` +
			`<dcterms:temporal xmlns:dcterms="http://purl.org/dc/terms/">Spring</dcterms:temporal>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{GeoLocations: d.GeoLocations} },
			&fairwayv1.Dataset{GeoLocations: []*fairwayv1.GeoLocation{
				{Place: "ESRF", Point: &fairwayv1.GeoPoint{Longitude: 5.72, Latitude: 45.19}},
				{Box: &fairwayv1.GeoBox{West: 5, East: 6, South: 45, North: 46}},
				{Place: "Grenoble, France"},
			}}},
		{"relation types", `<dc:relation>info:eu-repo/semantics/isSupplementTo/doi/10.5072/Paper</dc:relation>` +
			`<dc:relation>info:eu-repo/semantics/references/pmid/123456</dc:relation>` +
			`<dc:relation>info:eu-repo/semantics/isPartOf/url/https://example.org/collection</dc:relation>` +
			`<dc:relation>https://doi.org/10.5072/other</dc:relation>` +
			`<dcterms:isReferencedBy xmlns:dcterms="http://purl.org/dc/terms/">https://example.org/paper</dcterms:isReferencedBy>` +
			`<dc:relation>info:eu-repo/semantics/nonsense/doi/10.5072/x</dc:relation>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{Related: d.Related} },
			&fairwayv1.Dataset{Related: []*fairwayv1.RelatedIdentifier{
				{Identifier: "10.5072/paper", Type: "DOI", Relation: "IsSupplementTo"},
				{Identifier: "123456", Type: "PMID", Relation: "References"},
				{Identifier: "https://example.org/collection", Type: "URL", Relation: "IsPartOf"},
				{Identifier: "10.5072/other", Type: "DOI"},
				{Identifier: "https://example.org/paper", Type: "URL", Relation: "IsReferencedBy"},
				{Identifier: "info:eu-repo/semantics/nonsense/doi/10.5072/x"},
			}}},
		{"alternative identifier is an identifier", `<dc:identifier>oai:example.org:7</dc:identifier><dc:identifier>isbn:978-3-16-148410-0</dc:identifier>` +
			`<dc:relation>info:eu-repo/semantics/altIdentifier/handle/20.500.1/7</dc:relation>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{Identifiers: d.Identifiers, Related: d.Related}
			},
			&fairwayv1.Dataset{Identifiers: []*fairwayv1.Identifier{
				{Value: "oai:example.org:7", Scheme: "OAI"}, {Value: "978-3-16-148410-0", Scheme: "ISBN"}, {Value: "20.500.1/7", Scheme: "Handle"},
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dublincore.Parse(dc(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.pick(r.ToDataset(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))); !proto.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}
