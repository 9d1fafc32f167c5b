package scicatjson_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/scicatjson"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// show renders a value for comparison, proto messages (alone or in a
// slice or array) as text.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if m, ok := v.(proto.Message); ok {
		if rv.IsNil() {
			return "<nil>"
		}
		return "{" + prototext.MarshalOptions{}.Format(m) + "}"
	}
	if rv.IsValid() && (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && rv.Type().Elem() != reflect.TypeFor[byte]() {
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = show(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("%#v", v)
}

func equal(a, b any) bool { return show(a) == show(b) }

// TestCanonicalFields checks each field of the canonical dataset's
// extended part as one document or another fills it.
func TestCanonicalFields(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		name, doc string
		check     func(*fairwayv1.Dataset) any
		want      any
	}{
		{name: "titles: datasetName only", doc: `{"pid":"p","datasetName":" n "}`,
			check: func(d *fairwayv1.Dataset) any { return d.Titles },
			want:  []*fairwayv1.LangText{{Value: "n"}}},
		{name: "titles: datasetName and title", doc: `{"pid":"p","datasetName":"n","title":"t"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Titles },
			want:  []*fairwayv1.LangText{{Value: "n"}, {Value: "t", Type: "AlternativeTitle"}}},
		{name: "titles: title only is the main one", doc: `{"_id":"10.5072/x","title":"t"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Titles },
			want:  []*fairwayv1.LangText{{Value: "t"}}},
		{name: "descriptions: all three, duplicates merged", doc: `{"pid":"p","datasetName":"n","description":"d","abstract":"a","dataDescription":"d"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Descriptions },
			want:  []*fairwayv1.LangText{{Value: "d"}, {Value: "a", Type: "Abstract"}}},
		{name: "descriptions: published data", doc: `{"_id":"10.5072/x","title":"t","abstract":"a","dataDescription":"how to reuse"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Descriptions },
			want:  []*fairwayv1.LangText{{Value: "a", Type: "Abstract"}, {Value: "how to reuse", Type: "Other"}}},
		{name: "identifiers: pid", doc: `{"pid":"20.500.12269/abc","_id":"ignored","datasetName":"n"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Identifiers },
			want:  []*fairwayv1.Identifier{{Value: "20.500.12269/abc", Scheme: "PID"}}},
		{name: "identifiers: doi and pid", doc: `{"pid":"p1","doi":"https://doi.org/10.5072/ABC","datasetName":"n"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Identifiers },
			want:  []*fairwayv1.Identifier{{Value: "10.5072/abc", Scheme: "DOI"}, {Value: "p1", Scheme: "PID"}}},
		{name: "identifiers: pid that is the DOI", doc: `{"pid":"10.5072/XYZ","datasetName":"n"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Identifiers },
			want:  []*fairwayv1.Identifier{{Value: "10.5072/xyz", Scheme: "DOI"}}},
		{name: "identifiers: published data", doc: `{"_id":"10.9999/desy_pub1","title":"t"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Identifiers },
			want:  []*fairwayv1.Identifier{{Value: "10.9999/desy_pub1", Scheme: "DOI"}}},
		{name: "principal investigator: v3 with owner's e-mail and ORCID", doc: `{"pid":"p","datasetName":"n","principalInvestigator":"Jane Doe","owner":"Max Muster;Jane Doe","ownerEmail":"max@example.org;jane@example.org","orcidOfOwner":"0000-0002-1694-233X;0000-0002-1825-0097"}`,
			check: func(d *fairwayv1.Dataset) any { return d.PrincipalInvestigator },
			want:  &fairwayv1.Person{Name: "Jane Doe", Email: "jane@example.org", Orcid: "0000-0002-1825-0097"}},
		{name: "principal investigator: name and e-mail in the field", doc: `{"pid":"p","datasetName":"n","principalInvestigator":"Jane Doe; pi@example.org"}`,
			check: func(d *fairwayv1.Dataset) any { return d.PrincipalInvestigator },
			want:  &fairwayv1.Person{Name: "Jane Doe", Email: "pi@example.org"}},
		{name: "principal investigator: angle brackets", doc: `{"pid":"p","datasetName":"n","principalInvestigator":"Jane Doe <pi@example.org>"}`,
			check: func(d *fairwayv1.Dataset) any { return d.PrincipalInvestigator },
			want:  &fairwayv1.Person{Name: "Jane Doe", Email: "pi@example.org"}},
		{name: "principal investigator: e-mail only", doc: `{"pid":"p","datasetName":"n","principalInvestigator":"pi@example.org"}`,
			check: func(d *fairwayv1.Dataset) any { return d.PrincipalInvestigator },
			want:  &fairwayv1.Person{Name: "pi@example.org", Email: "pi@example.org"}},
		{name: "principal investigator: v4 list, first one", doc: `{"pid":"p","datasetName":"n","principalInvestigators":["Jane Doe","John Roe"]}`,
			check: func(d *fairwayv1.Dataset) any { return d.PrincipalInvestigator },
			want:  &fairwayv1.Person{Name: "Jane Doe"}},
		{name: "principal investigator: none (investigator is not one)", doc: `{"pid":"p","datasetName":"n","investigator":"Jane Doe"}`,
			check: func(d *fairwayv1.Dataset) any { return d.PrincipalInvestigator },
			want:  (*fairwayv1.Person)(nil)},
		{name: "samples: v3 and v4", doc: `{"pid":"p","datasetName":"n","sampleId":"s1","sampleIds":["s1"," s2 ",""]}`,
			check: func(d *fairwayv1.Dataset) any { return d.Samples },
			want:  []*fairwayv1.Sample{{Id: "s1"}, {Id: "s2"}}},
		{name: "created", doc: `{"pid":"p","datasetName":"n","creationTime":"2020-02-07T13:46:43Z"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Created.AsTime() },
			want:  time.Date(2020, 2, 7, 13, 46, 43, 0, time.UTC)},
		{name: "issued and available: dateOfPublishing", doc: `{"pid":"p","datasetName":"n","creationTime":"2020-02-07","datasetlifecycle":{"dateOfPublishing":{"$date":"2023-01-29T00:00:00.000Z"}}}`,
			check: func(d *fairwayv1.Dataset) any { return [2]time.Time{d.Issued.AsTime(), d.Available.AsTime()} },
			want:  [2]time.Time{time.Date(2023, 1, 29, 0, 0, 0, 0, time.UTC), time.Date(2023, 1, 29, 0, 0, 0, 0, time.UTC)}},
		{name: "issued: creationTime without dateOfPublishing", doc: `{"pid":"p","datasetName":"n","creationTime":"2020-02-07"}`,
			check: func(d *fairwayv1.Dataset) any { return [2]any{d.Issued.AsTime(), d.Available == nil} },
			want:  [2]any{time.Date(2020, 2, 7, 0, 0, 0, 0, time.UTC), true}},
		{name: "collected: start and end", doc: `{"pid":"p","datasetName":"n","type":"raw","startTime":"2024-01-01T08:00:00Z","endTime":"2024-01-02T08:00:00Z"}`,
			check: func(d *fairwayv1.Dataset) any {
				return [2]time.Time{d.CollectedStart.AsTime(), d.CollectedEnd.AsTime()}
			},
			want: [2]time.Time{time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC), time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC)}},
		{name: "collected: end only, no start invented", doc: `{"pid":"p","datasetName":"n","type":"raw","endTime":"2024-01-02"}`,
			check: func(d *fairwayv1.Dataset) any { return d.CollectedStart == nil && d.CollectedEnd != nil },
			want:  true},
		{name: "size and files", doc: `{"pid":"p","datasetName":"n","size":2e12,"numberOfFiles":"7","dataFormat":"NeXus"}`,
			check: func(d *fairwayv1.Dataset) any { return [3]any{d.ByteSize, d.FileCount, d.Formats} },
			want:  [3]any{int64(2e12), int64(7), []string{"NeXus"}}},
		{name: "size of archive", doc: `{"_id":"10.5072/x","title":"t","sizeOfArchive":1234,"numberOfFiles":3}`,
			check: func(d *fairwayv1.Dataset) any { return [2]int64{d.ByteSize, d.FileCount} },
			want:  [2]int64{1234, 3}},
		{name: "version: the dataset's version field is the API's", doc: `{"pid":"p","datasetName":"n","version":"3.1.0"}`,
			check: func(d *fairwayv1.Dataset) any { return d.Version },
			want:  ""},
		{name: "v4 published data: metadata object", doc: `{"doi":"10.5072/pub","title":"t","abstract":"a","datasetPids":["p1","p2"],
			"metadata":{"creators":[{"name":"Doe, Jane"},{"givenName":"John","familyName":"Roe"},"Ann Smith",7],"publisher":{"name":"ESS"},
			"publicationYear":"2025","resourceType":"Dataset","dataDescription":"how to reuse","version":"2","sizeOfArchive":10,"numberOfFiles":2,
			"downloadLink":"https://example.org/d.zip"}}`,
			check: func(d *fairwayv1.Dataset) any {
				names := []string{}
				for _, c := range d.Creators {
					names = append(names, c.Name)
				}
				rel := []string{}
				for _, r := range d.Related {
					rel = append(rel, r.Identifier+" "+r.Relation)
				}
				return [8]any{names, d.Publisher, d.PublicationYear, d.Version, d.ByteSize, d.FileCount, rel, len(d.Descriptions)}
			},
			want: [8]any{[]string{"Doe, Jane", "John Roe", "Ann Smith"}, "ESS", int32(2025), "2", int64(10), int64(2), []string{"p1 HasPart", "p2 HasPart"}, 2}},
		{name: "v4 published data: metadata of the wrong type is ignored", doc: `{"doi":"10.5072/pub","title":"t","metadata":[1,2]}`,
			check: func(d *fairwayv1.Dataset) any { return d.Doi },
			want:  "10.5072/pub"},
		{name: "gaps: bad dates kept as text", doc: `{"pid":"p","datasetName":"n","creationTime":"yesterday","startTime":"soon","endTime":{"$date":true},"updatedAt":"2024-13-01","registeredTime":"x","datasetlifecycle":{"dateOfPublishing":"` + long + `"}}`,
			check: func(d *fairwayv1.Dataset) any { return d.Gaps },
			want: []*fairwayv1.Gap{
				{Field: "created", Value: "yesterday", Reason: "invalid date: expected a four-digit year"},
				{Field: "collected_start", Value: "soon", Reason: "invalid date: expected a four-digit year"},
				{Field: "collected_end", Value: `{"$date":true}`, Reason: "invalid date"},
				{Field: "modified", Value: "2024-13-01", Reason: "invalid date: month out of range"},
				{Field: "issued", Value: "x", Reason: "invalid date: expected a four-digit year"},
				{Field: "available", Value: strings.Repeat("é", 128), Reason: "invalid date: expected a four-digit year"},
			}},
		{name: "gaps: bad date leaves the field empty", doc: `{"pid":"p","datasetName":"n","creationTime":"yesterday"}`,
			check: func(d *fairwayv1.Dataset) any { return [3]bool{d.Created == nil, d.Issued == nil, len(d.Gaps) == 1} },
			want:  [3]bool{true, true, true}},
		{name: "affiliation of v3 published data's creators", doc: `{"_id":"10.5072/x","title":"n","creator":["Jane Doe","John Roe"],"affiliation":"ESRF"}`,
			check: func(d *fairwayv1.Dataset) any { return []string{d.Creators[0].Affiliation, d.Creators[1].Affiliation} },
			want:  []string{"ESRF", "ESRF"}},
		{name: "affiliations of v4 published data's metadata creators", doc: `{"doi":"10.5072/x","title":"n","metadata":{"creators":[` +
			`{"name":"Jane Doe","affiliation":[{"name":"ESS","affiliationIdentifier":"https://ror.org/01wv9cn34"},{"name":"Lund University"}]},` +
			`{"name":"John Roe","affiliation":"PSI"},{"name":"Ann Poe"}]}}`,
			check: func(d *fairwayv1.Dataset) any {
				var out []string
				for _, p := range d.Creators {
					out = append(out, p.Affiliation+"|"+p.AffiliationRor)
				}
				return out
			},
			want: []string{"ESS; Lund University|https://ror.org/01wv9cn34", "PSI|", "|"}},
		{name: "languages of v4 published data's metadata", doc: `{"doi":"10.5072/x","title":"n","metadata":{"language":["English","de"]}}`,
			check: func(d *fairwayv1.Dataset) any { return []any{d.Language, d.Languages} },
			want:  []any{"en", []string{"en", "de"}}},
		{name: "no language without metadata", doc: `{"pid":"p","datasetName":"n"}`,
			check: func(d *fairwayv1.Dataset) any { return []any{d.Language, len(d.Languages)} },
			want:  []any{"", 0}},
		{name: "funding of v4 published data's metadata", doc: `{"doi":"10.5072/x","title":"n","metadata":{"fundingReferences":[` +
			`{"funderName":"European Commission","funderIdentifier":"10.13039/501100000780","funderIdentifierType":"Crossref Funder ID","awardNumber":"823852","awardTitle":"PaNOSC"},` +
			`{"funderName":"SNSF","funderIdentifier":"https://ror.org/00yjd3n13","funderIdentifierType":"ROR"}, 7]}}`,
			check: func(d *fairwayv1.Dataset) any { return d.Funding },
			want: []*fairwayv1.Funding{
				{FunderName: "European Commission", FunderId: "https://doi.org/10.13039/501100000780", FunderIdType: "Crossref Funder ID", AwardNumber: "823852", AwardTitle: "PaNOSC"},
				{FunderName: "SNSF", FunderId: "https://ror.org/00yjd3n13", FunderIdType: "ROR"},
			}},
		{name: "gaps: none for good or missing dates", doc: `{"pid":"p","datasetName":"n","creationTime":"2020-01-01","endTime":null,"startTime":""}`,
			check: func(d *fairwayv1.Dataset) any { return len(d.Gaps) },
			want:  0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := scicatjson.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			got := tt.check(ds.ToDataset(now))
			if !equal(got, tt.want) {
				t.Errorf("got  %s\nwant %s", show(got), show(tt.want))
			}
		})
	}
}
