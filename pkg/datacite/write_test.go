package datacite_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/datacite"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var writeNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// richDataset fills every field the writer maps.
func richDataset() (*fairwayv1.Dataset, []*fairwayv1.Technique) {
	ts := func(s string) *timestamppb.Timestamp {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return timestamppb.New(t)
	}
	ds := &fairwayv1.Dataset{
		Key: "doi:10.15151/esrf-es-1", Doi: "10.15151/esrf-es-1", SourceIdentifier: "oai:esrf.fr:1", Facility: "ESRF",
		Title: "Tomography of a <rat> lung & more", Description: "Phase contrast\n\ntomography.",
		Creators: []*fairwayv1.Person{
			{Name: "Doe, Jane", GivenName: "Jane", FamilyName: "Doe", Orcid: "0000-0002-1825-0097", Affiliation: "ESRF", AffiliationRor: "https://ror.org/02550n020"},
			{Name: "Roe, Richard", GivenName: "Richard", FamilyName: "Roe", Affiliation: "ESRF; UGA"},
		},
		Contributors: []*fairwayv1.Person{{Name: "Smith, John", GivenName: "John", FamilyName: "Smith", Role: "DataCollector"}},
		Contacts:     []*fairwayv1.Contact{{Name: "ESRF data office", Email: "data@esrf.fr"}},
		Publisher:    "ESRF", PublisherRor: "https://ror.org/02550n020", PublicationYear: 2024,
		Issued: ts("2024-03-01T00:00:00Z"), Modified: ts("2024-05-02T10:11:12Z"), EmbargoUntil: ts("2027-01-01T00:00:00Z"),
		Subjects: []*fairwayv1.Subject{
			{Value: "lung"},
			{Value: "phase contrast tomography", Scheme: "PaNET", SchemeUri: "http://purl.org/pan-science/PaNET/", ValueUri: "http://purl.org/pan-science/PaNET/PaNET01207"},
		},
		License: "https://creativecommons.org/licenses/by/4.0/", AccessRights: "embargoed",
		LandingPage: "https://data.esrf.fr/doi/10.15151/ESRF-ES-1", ResourceType: "Dataset", Language: "en",
		Related: []*fairwayv1.RelatedIdentifier{
			{Identifier: "10.1000/paper.1", Type: "DOI", Relation: "IsSupplementTo"},
			{Identifier: "https://example.org/x", Type: "URL", Relation: "whatever"},
		},
		Instrument: "ID19", InstrumentPid: "https://w3id.org/pidinst/instruments/abc", ProposalId: "MX-2451",
		Distributions:  []*fairwayv1.Distribution{{DownloadUrl: "https://data.esrf.fr/f.h5", Format: "HDF5", MediaType: "application/x-hdf5", ByteSize: 1024}},
		CollectedStart: ts("2023-01-01T08:00:00Z"), CollectedEnd: ts("2023-01-02T08:00:00Z"),
	}
	techniques := []*fairwayv1.Technique{
		{Iri: "http://purl.org/pan-science/PaNET/PaNET01207", Id: "PaNET01207", Label: "phase contrast tomography"},
		{Iri: "http://purl.org/pan-science/PaNET/PaNET01188", Id: "PaNET01188", Label: "tomography"},
	}
	return ds, techniques
}

func TestEncodeResourceGolden(t *testing.T) {
	ds, techniques := richDataset()
	for _, tc := range []struct {
		name   string
		encode func(*bytes.Buffer) error
	}{
		{"resource.xml", func(b *bytes.Buffer) error {
			return datacite.EncodeResourceWith(b, ds, techniques, datacite.WriteOptions{Now: func() time.Time { return writeNow }})
		}},
		{"oai_datacite.xml", func(b *bytes.Buffer) error {
			return datacite.EncodeOAIDataCite(b, "ESRF.DATA", ds, techniques, datacite.WriteOptions{Now: func() time.Time { return writeNow }})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.encode(&b); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, b.String())
			}
		})
	}
}

// TestEncodeResourceRoundTrip reads the writer's output back with Parse and
// ToDataset: every field the reader keeps comes back.
func TestEncodeResourceRoundTrip(t *testing.T) {
	rich, techniques := richDataset()
	minimal := &fairwayv1.Dataset{Key: "src:ill:42", SourceIdentifier: "42", Facility: "ILL", Title: "Minimal", Language: "English (UK)",
		Provenance: &fairwayv1.Provenance{HarvestedAt: timestamppb.New(time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC))}}
	open := &fairwayv1.Dataset{Key: "doi:10.5291/ill-data.1", Doi: "10.5291/ill-data.1", Title: "Open", AccessRights: "open",
		License: "https://creativecommons.org/publicdomain/zero/1.0/", Publisher: "ILL", PublicationYear: 2020,
		Creators: []*fairwayv1.Person{{Name: "Institut Laue-Langevin"}}}
	for _, tc := range []struct {
		name       string
		ds         *fairwayv1.Dataset
		techniques []*fairwayv1.Technique
		opts       datacite.WriteOptions
		check      func(t *testing.T, r *datacite.Resource, got *fairwayv1.Dataset)
	}{
		{"rich", rich, techniques, datacite.WriteOptions{}, func(t *testing.T, r *datacite.Resource, got *fairwayv1.Dataset) {
			if got.Doi != rich.Doi || got.Title != rich.Title || got.Description != rich.Description || got.Publisher != rich.Publisher ||
				got.PublicationYear != rich.PublicationYear || got.Language != rich.Language || got.ResourceType != rich.ResourceType ||
				got.License != rich.License || got.AccessRights != "embargoed" || got.Instrument != rich.Instrument {
				t.Errorf("scalar fields: got %+v", got)
			}
			for _, f := range []struct {
				name      string
				got, want *timestamppb.Timestamp
			}{{"issued", got.Issued, rich.Issued}, {"modified", got.Modified, rich.Modified}, {"embargo", got.EmbargoUntil, rich.EmbargoUntil}} {
				if !f.got.AsTime().Equal(f.want.AsTime()) {
					t.Errorf("%s: got %v, want %v", f.name, f.got.AsTime(), f.want.AsTime())
				}
			}
			if len(got.Creators) != 2 {
				t.Fatalf("creators: %v", got.Creators)
			}
			for i, c := range got.Creators {
				w := rich.Creators[i]
				if c.Name != w.Name || c.GivenName != w.GivenName || c.FamilyName != w.FamilyName || c.Orcid != w.Orcid || c.Affiliation != w.Affiliation {
					t.Errorf("creator %d: got %v, want %v", i, c, w)
				}
			}
			roles := []string{}
			for _, c := range got.Contributors {
				roles = append(roles, c.Name+"/"+c.Role)
			}
			if want := []string{"Smith, John/DataCollector", "ESRF data office/ContactPerson"}; !reflect.DeepEqual(roles, want) {
				t.Errorf("contributors: got %v, want %v", roles, want)
			}
			var uris []string
			for _, s := range got.Subjects {
				uris = append(uris, s.Value+"|"+s.ValueUri)
			}
			want := []string{"lung|", "phase contrast tomography|http://purl.org/pan-science/PaNET/PaNET01207",
				"tomography|http://purl.org/pan-science/PaNET/PaNET01188", "ID19|"}
			if !reflect.DeepEqual(uris, want) {
				t.Errorf("subjects: got %v, want %v", uris, want)
			}
			var rel []string
			for _, x := range got.Related {
				rel = append(rel, x.Identifier+"|"+x.Type+"|"+x.Relation)
			}
			wantRel := []string{"10.1000/paper.1|DOI|IsSupplementTo", "https://example.org/x|URL|References",
				"https://w3id.org/pidinst/instruments/abc|URL|IsCollectedBy"}
			if !reflect.DeepEqual(rel, wantRel) {
				t.Errorf("related: got %v, want %v", rel, wantRel)
			}
			if !reflect.DeepEqual(r.Sizes, []string{"1024 bytes"}) || !reflect.DeepEqual(r.Formats, []string{"application/x-hdf5", "HDF5"}) {
				t.Errorf("sizes %v, formats %v", r.Sizes, r.Formats)
			}
			if r.RightsList[0].URI != datacite.EURepoEmbargoed {
				t.Errorf("access right: %+v", r.RightsList)
			}
			if got.PublisherRor != rich.PublisherRor || got.Creators[0].AffiliationRor != rich.Creators[0].AffiliationRor ||
				got.InstrumentPid != rich.InstrumentPid || got.ProposalId != rich.ProposalId {
				t.Errorf("publisher ROR %q, affiliation ROR %q, instrument PID %q, proposal %q",
					got.PublisherRor, got.Creators[0].AffiliationRor, got.InstrumentPid, got.ProposalId)
			}
			if len(got.Contacts) != 1 || got.Contacts[0].Name != "ESRF data office" || got.Contacts[0].Email != "data@esrf.fr" {
				t.Errorf("contacts %v", got.Contacts)
			}
			if !got.CollectedStart.AsTime().Equal(rich.CollectedStart.AsTime()) || !got.CollectedEnd.AsTime().Equal(rich.CollectedEnd.AsTime()) {
				t.Errorf("collected %v – %v", got.CollectedStart.AsTime(), got.CollectedEnd.AsTime())
			}
			if len(got.Distributions) != 1 || got.Distributions[0].Format != "HDF5" || got.Distributions[0].MediaType != "application/x-hdf5" || got.Distributions[0].ByteSize != 1024 {
				t.Errorf("distributions %v", got.Distributions)
			}
		}},
		{"no DOI: the node's URL", minimal, nil, datacite.WriteOptions{URL: "https://node.example/datasets/src%3Aill%3A42"}, func(t *testing.T, r *datacite.Resource, got *fairwayv1.Dataset) {
			if r.Identifier != "https://node.example/datasets/src%3Aill%3A42" || r.IdentifierType != "URL" || got.Doi != "" {
				t.Errorf("identifier %q %q", r.Identifier, r.IdentifierType)
			}
			if len(r.Creators) != 1 || r.Creators[0].Name != datacite.Unavailable || r.Publisher != "ILL" {
				t.Errorf("mandatory fallbacks: creators %v publisher %q", r.Creators, r.Publisher)
			}
			if r.ResourceTypeGeneral != "Dataset" || r.Title() != "Minimal" {
				t.Errorf("type %q title %q", r.ResourceTypeGeneral, r.Title())
			}
			if r.PublicationYear != 2024 || r.Language != "" {
				t.Errorf("publication year %d (want the harvest's), language %q (not a tag: left out)", r.PublicationYear, r.Language)
			}
		}},
		{"open with an organisation as creator", open, nil, datacite.WriteOptions{}, func(t *testing.T, r *datacite.Resource, got *fairwayv1.Dataset) {
			if got.AccessRights != "open" || got.License != open.License || r.RightsList[0].URI != datacite.EURepoOpen {
				t.Errorf("rights: %+v", r.RightsList)
			}
			if len(got.Creators) != 1 || got.Creators[0].Name != "Institut Laue-Langevin" || r.Creators[0].NameType != "" {
				t.Errorf("creators: %+v", r.Creators)
			}
		}},
		{"ended embargo is open", &fairwayv1.Dataset{Doi: "10.1234/x", AccessRights: "embargoed", EmbargoUntil: timestamppb.New(writeNow.Add(-time.Hour))},
			nil, datacite.WriteOptions{Now: func() time.Time { return writeNow }}, func(t *testing.T, r *datacite.Resource, _ *fairwayv1.Dataset) {
				if r.RightsList[0].URI != datacite.EURepoOpen {
					t.Errorf("rights: %+v", r.RightsList)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, env := range []string{"resource", "oai_datacite"} {
				var b bytes.Buffer
				var err error
				if env == "resource" {
					err = datacite.EncodeResourceWith(&b, tc.ds, tc.techniques, tc.opts)
				} else {
					err = datacite.EncodeOAIDataCite(&b, "", tc.ds, tc.techniques, tc.opts)
				}
				if err != nil {
					t.Fatal(err)
				}
				r, err := datacite.Parse(b.Bytes())
				if err != nil {
					t.Fatalf("%s: %v\n%s", env, err, b.String())
				}
				if r.SchemaVersion != "4" && r.SchemaVersion != datacite.Kernel4Version {
					t.Errorf("%s: schema version %q", env, r.SchemaVersion)
				}
				tc.check(t, r, r.ToDataset(writeNow))
			}
		})
	}
}

func TestEncodeResourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ds   *fairwayv1.Dataset
	}{
		{"nil", nil},
		{"nothing to identify it by", &fairwayv1.Dataset{Key: "src:x:1", SourceIdentifier: "local-1", LandingPage: "javascript:alert(1)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := datacite.EncodeResource(&bytes.Buffer{}, tc.ds, nil)
			if !errors.Is(err, datacite.ErrNoIdentifier) {
				t.Errorf("got %v, want ErrNoIdentifier", err)
			}
		})
	}
}

// TestEncodeResourceHostileText: text XML cannot hold comes out as U+FFFD,
// and the document still parses.
func TestEncodeResourceHostileText(t *testing.T) {
	ds := &fairwayv1.Dataset{Doi: "10.1234/x", Title: "bad \x00\x1b bytes \xff and ]]> <!--", Description: "</resource>"}
	var b bytes.Buffer
	if err := datacite.EncodeResource(&b, ds, nil); err != nil {
		t.Fatal(err)
	}
	r, err := datacite.Parse(b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if !strings.Contains(r.Title(), "\uFFFD") || r.Description() != "</resource>" {
		t.Errorf("title %q description %q", r.Title(), r.Description())
	}
}
