package normaliser_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const (
	mergeDataCite = `<resource xmlns="http://datacite.org/schema/kernel-4">
  <identifier identifierType="DOI">10.5072/MERGE.1</identifier>
  <creators><creator><creatorName>Doe, Jane</creatorName></creator></creators>
  <titles><title>Powder diffraction of ceria</title></titles>
  <publisher>ESRF</publisher><publicationYear>2024</publicationYear>
  <subjects><subject>SAXS</subject><subject>powder</subject></subjects>
  <relatedIdentifiers><relatedIdentifier relatedIdentifierType="DOI" relationType="IsCitedBy">10.1000/paper.1</relatedIdentifier></relatedIdentifiers>
  <rightsList><rights rightsURI="https://creativecommons.org/licenses/by/4.0/">CC-BY-4.0</rights></rightsList>
  <resourceType resourceTypeGeneral="Dataset">Dataset</resourceType>
</resource>`
	mergeSciCat = `{"pid":"20.500.12269/abc","doi":"10.5072/MERGE.1","datasetName":"ceria run 12","description":"Raw frames of run 12",
  "keywords":["saxs","ceria"],"proposalId":"P-77","instrumentId":"ID11","size":1234,"numberOfFiles":3,"dataFormat":"NeXus",
  "startTime":"2024-01-02T03:04:05Z","endTime":"2024-01-03T03:04:05Z","isPublished":true}`
	mergeDC = `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:title>Ceria, Dublin Core title</dc:title><dc:identifier>https://doi.org/10.5072/MERGE.1</dc:identifier>
  <dc:subject>Powder</dc:subject><dc:subject>diffraction</dc:subject><dc:description>DC description</dc:description>
  <dc:relation>https://doi.org/10.1000/paper.2</dc:relation></oai_dc:dc>`
)

// version normalises payload as the record id of feed (in format), the way
// the stage keeps each source's own version.
func version(t testing.TB, feed, id, format, payload string) *fairwayv1.Dataset {
	t.Helper()
	d, err := normaliser.Normalise(&fairwayv1.RawRecord{
		FeedId: feed, Facility: "ESRF", SourceIdentifier: id, MetadataFormat: format, Payload: []byte(payload),
	}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// permutations returns every order of vs.
func permutations(vs []*fairwayv1.Dataset) [][]*fairwayv1.Dataset {
	if len(vs) <= 1 {
		return [][]*fairwayv1.Dataset{slices.Clone(vs)}
	}
	var out [][]*fairwayv1.Dataset
	for i := range vs {
		rest := slices.Concat(vs[:i:i], vs[i+1:])
		for _, p := range permutations(rest) {
			out = append(out, append([]*fairwayv1.Dataset{vs[i]}, p...))
		}
	}
	return out
}

func subjectValues(d *fairwayv1.Dataset) []string {
	var out []string
	for _, s := range d.Subjects {
		out = append(out, s.Value)
	}
	return out
}

func relatedIDs(d *fairwayv1.Dataset) []string {
	var out []string
	for _, r := range d.Related {
		out = append(out, r.Identifier+" "+r.Relation)
	}
	return out
}

func sourceFeeds(d *fairwayv1.Dataset) []string {
	var out []string
	for _, s := range d.Sources {
		out = append(out, s.FeedId+"/"+s.SourceIdentifier)
	}
	return out
}

// TestMergeRule checks, without a server, which source gives which field,
// that unions have no duplicates, and that every arrival order of the
// versions merges to the same dataset with the same content hash.
func TestMergeRule(t *testing.T) {
	dc := func() *fairwayv1.Dataset { return version(t, "esrf-oai", "oai:esrf:1", "oai_datacite", mergeDataCite) }
	sc := func() *fairwayv1.Dataset { return version(t, "esrf-scicat", "20.500.12269/abc", "scicat", mergeSciCat) }
	odc := func() *fairwayv1.Dataset { return version(t, "esrf-dc", "oai:esrf:dc:1", "oai_dc", mergeDC) }
	embargoed := func() *fairwayv1.Dataset {
		d := sc()
		d.AccessRights = "embargoed"
		d.EmbargoUntil = timestamppb.New(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
		return d
	}
	tests := []struct {
		name         string
		versions     []*fairwayv1.Dataset
		title        string
		description  string
		instrument   string
		proposal     string
		creators     int
		distribution int64 // byte size of the first distribution
		access       string
		subjects     []string
		related      []string
		sources      []string
	}{
		{
			name: "DataCite and SciCat", versions: []*fairwayv1.Dataset{dc(), sc()},
			title: "Powder diffraction of ceria", description: "Raw frames of run 12", instrument: "ID11", proposal: "P-77",
			creators: 1, distribution: 1234, access: "open",
			subjects: []string{"SAXS", "powder", "ceria"},
			related:  []string{"10.1000/paper.1 IsCitedBy"},
			sources:  []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"},
		},
		{
			name: "DataCite, Dublin Core and SciCat", versions: []*fairwayv1.Dataset{dc(), sc(), odc()},
			title: "Powder diffraction of ceria", description: "DC description", instrument: "ID11", proposal: "P-77",
			creators: 1, distribution: 1234, access: "open",
			subjects: []string{"SAXS", "powder", "diffraction", "ceria"},
			related:  []string{"10.1000/paper.1 IsCitedBy", "10.1000/paper.2 "},
			sources:  []string{"esrf-oai/oai:esrf:1", "esrf-dc/oai:esrf:dc:1", "esrf-scicat/20.500.12269/abc"},
		},
		{
			name: "Dublin Core and SciCat: no DataCite", versions: []*fairwayv1.Dataset{sc(), odc()},
			title: "Ceria, Dublin Core title", description: "DC description", instrument: "ID11", proposal: "P-77",
			distribution: 1234, access: "open",
			subjects: []string{"Powder", "diffraction", "saxs", "ceria"},
			related:  []string{"10.1000/paper.2 "},
			sources:  []string{"esrf-dc/oai:esrf:dc:1", "esrf-scicat/20.500.12269/abc"},
		},
		{
			name: "the most restrictive access wins", versions: []*fairwayv1.Dataset{dc(), embargoed()},
			title: "Powder diffraction of ceria", description: "Raw frames of run 12", instrument: "ID11", proposal: "P-77",
			creators: 1, distribution: 1234, access: "embargoed",
			subjects: []string{"SAXS", "powder", "ceria"},
			related:  []string{"10.1000/paper.1 IsCitedBy"},
			sources:  []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"},
		},
		{
			name: "two feeds of one kind: feed id decides", versions: []*fairwayv1.Dataset{
				version(t, "b-feed", "oai:b:1", "oai_datacite", strings.Replace(mergeDataCite, "Powder diffraction of ceria", "Title of feed b", 1)),
				version(t, "a-feed", "oai:a:1", "oai_datacite", strings.Replace(mergeDataCite, "Powder diffraction of ceria", "Title of feed a", 1)),
			},
			title: "Title of feed a", creators: 1, access: "open",
			subjects: []string{"SAXS", "powder"},
			related:  []string{"10.1000/paper.1 IsCitedBy"},
			sources:  []string{"a-feed/oai:a:1", "b-feed/oai:b:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first *fairwayv1.Dataset
			for i, order := range permutations(tt.versions) {
				m := normaliser.Merge(order)
				if m.ContentHash == "" || m.ContentHash != normaliser.ContentHash(m) {
					t.Fatalf("order %d: content hash %q", i, m.ContentHash)
				}
				if first == nil {
					first = m
				} else if !proto.Equal(first, m) {
					t.Fatalf("order %d merges to another dataset:\n%v\nwant\n%v", i, m, first)
				}
			}
			m := first
			if m.Title != tt.title || m.Description != tt.description || m.Instrument != tt.instrument || m.ProposalId != tt.proposal {
				t.Errorf("title %q, description %q, instrument %q, proposal %q", m.Title, m.Description, m.Instrument, m.ProposalId)
			}
			if len(m.Creators) != tt.creators || m.AccessRights != tt.access {
				t.Errorf("%d creators, access %q", len(m.Creators), m.AccessRights)
			}
			var size int64
			if len(m.Distributions) > 0 {
				size = m.Distributions[0].ByteSize
			}
			if size != tt.distribution {
				t.Errorf("distribution size %d, want %d", size, tt.distribution)
			}
			if got := subjectValues(m); !slices.Equal(got, tt.subjects) {
				t.Errorf("subjects %q, want %q", got, tt.subjects)
			}
			if got := relatedIDs(m); !slices.Equal(got, tt.related) {
				t.Errorf("related %q, want %q", got, tt.related)
			}
			if got := sourceFeeds(m); !slices.Equal(got, tt.sources) {
				t.Errorf("sources %q, want %q", got, tt.sources)
			}
			if m.Deleted || m.Key != "doi:10.5072/merge.1" {
				t.Errorf("key %q, deleted %t", m.Key, m.Deleted)
			}
		})
	}
	if normaliser.Merge(nil) != nil {
		t.Error("the merge of no version is a dataset")
	}
}

// BenchmarkMerge merges a dataset's DataCite, Dublin Core and SciCat
// versions.
func BenchmarkMerge(b *testing.B) {
	vs := []*fairwayv1.Dataset{
		version(b, "esrf-oai", "oai:esrf:1", "oai_datacite", mergeDataCite),
		version(b, "esrf-scicat", "20.500.12269/abc", "scicat", mergeSciCat),
		version(b, "esrf-dc", "oai:esrf:dc:1", "oai_dc", mergeDC),
	}
	b.ReportAllocs()
	for b.Loop() {
		if normaliser.Merge(vs).ContentHash == "" {
			b.Fatal("no hash")
		}
	}
}

// TestMergeNewFields: the fields of the whole canonical dataset follow the
// rule too — bibliographic ones from DataCite, scientific ones from
// SciCat, identifiers and gaps as unions — in every arrival order.
func TestMergeNewFields(t *testing.T) {
	dc := &fairwayv1.Dataset{
		Key: "doi:10.5072/x", FeedId: "oai", SourceIdentifier: "oai:1", MetadataFormat: "oai_datacite",
		Title: "T", Titles: []*fairwayv1.LangText{{Value: "T", Lang: "en"}, {Value: "Titre", Lang: "fr", Type: "TranslatedTitle"}},
		Version: "1.0", Funding: []*fairwayv1.Funding{{FunderName: "ERC", AwardNumber: "123"}},
		Identifiers: []*fairwayv1.Identifier{{Value: "10.5072/x", Scheme: "DOI"}, {Value: "oai:1", Scheme: "OAI"}},
		Gaps:        []*fairwayv1.Gap{{Field: "collected_start", Value: "spring 2019", Reason: "not a date"}},
		FileCount:   3,
	}
	sc := &fairwayv1.Dataset{
		Key: "doi:10.5072/x", FeedId: "scicat", SourceIdentifier: "pid/1", MetadataFormat: normaliser.FormatSciCat,
		Title: "Other title", Version: "2",
		Identifiers:           []*fairwayv1.Identifier{{Value: "pid/1", Scheme: "PID"}, {Value: "10.5072/X", Scheme: "doi"}},
		PrincipalInvestigator: &fairwayv1.Person{Name: "Doe, Jane"},
		Samples:               []*fairwayv1.Sample{{Name: "lysozyme", Id: "s1"}},
		FileCount:             98, ByteSize: 1 << 30, Formats: []string{"NeXus"},
	}
	var first *fairwayv1.Dataset
	for _, order := range permutations([]*fairwayv1.Dataset{dc, sc}) {
		m := normaliser.Merge(order)
		if first == nil {
			first = m
		} else if !proto.Equal(m, first) {
			t.Fatal("the merge depends on the order")
		}
	}
	m := first
	if len(m.Titles) != 2 || m.Version != "1.0" || len(m.Funding) != 1 {
		t.Errorf("bibliographic: titles %v, version %q, funding %v", m.Titles, m.Version, m.Funding)
	}
	if m.PrincipalInvestigator.GetName() != "Doe, Jane" || len(m.Samples) != 1 || m.FileCount != 98 || m.ByteSize != 1<<30 || len(m.Formats) != 1 {
		t.Errorf("scientific: pi %v, samples %v, files %d, bytes %d, formats %v", m.PrincipalInvestigator, m.Samples, m.FileCount, m.ByteSize, m.Formats)
	}
	if len(m.Identifiers) != 3 || len(m.Gaps) != 1 {
		t.Errorf("unions: identifiers %v (the DOI once, whatever its case), gaps %v", m.Identifiers, m.Gaps)
	}
}

// TestMergeDatesPlacesLicence: typed dates, geo locations and languages
// come from the first source in the bibliographic order that gives them,
// and the licence's SPDX id with the licence it belongs to.
func TestMergeDatesPlacesLicence(t *testing.T) {
	dc := &fairwayv1.Dataset{
		Key: "doi:10.5072/x", FeedId: "oai", SourceIdentifier: "oai:1", MetadataFormat: "oai_datacite", Title: "T",
		License:   "https://example.org/terms",
		Dates:     []*fairwayv1.TypedDate{{Type: "Accepted", Value: "2020"}},
		Languages: []string{"en", "fr"},
	}
	sc := &fairwayv1.Dataset{
		Key: "doi:10.5072/x", FeedId: "scicat", SourceIdentifier: "pid/1", MetadataFormat: normaliser.FormatSciCat, Title: "T",
		License: "CC-BY-4.0", LicenseSpdx: "CC-BY-4.0",
		Dates:        []*fairwayv1.TypedDate{{Type: "Other", Value: "2021"}},
		GeoLocations: []*fairwayv1.GeoLocation{{Place: "Lund"}},
		Languages:    []string{"sv"},
	}
	for _, order := range permutations([]*fairwayv1.Dataset{dc, sc}) {
		m := normaliser.Merge(order)
		if m.License != dc.License || m.LicenseSpdx != "" {
			t.Errorf("licence %q with SPDX %q: not the licence's own", m.License, m.LicenseSpdx)
		}
		if len(m.Dates) != 1 || m.Dates[0].Type != "Accepted" || !slices.Equal(m.Languages, dc.Languages) {
			t.Errorf("dates %v, languages %v", m.Dates, m.Languages)
		}
		if len(m.GeoLocations) != 1 || m.GeoLocations[0].Place != "Lund" {
			t.Errorf("geo locations %v: the first source that gives them", m.GeoLocations)
		}
	}
}
