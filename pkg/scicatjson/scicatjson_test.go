package scicatjson_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/scicatjson"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSeedDatasets(t *testing.T) {
	docs := testenv.SciCatSeed(t, "Dataset.json")
	if len(docs) != 19 {
		t.Fatalf("%d seed datasets, want 19", len(docs))
	}
	for _, doc := range docs {
		ds, err := scicatjson.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(ds.SourceID(), func(t *testing.T) {
			if !strings.HasPrefix(ds.SourceID(), "PID.SAMPLE.PREFIX/") {
				t.Errorf("SourceID() = %q", ds.SourceID())
			}
			d := ds.ToDataset(now)
			if d.Title == "" || d.Doi != "" || d.LandingPage != "" {
				t.Errorf("title %q doi %q landing %q", d.Title, d.Doi, d.LandingPage)
			}
			if len(d.Creators) == 0 || d.Creators[0].Name == "" {
				t.Errorf("Creators = %v", d.Creators)
			}
			if d.Issued == nil || d.Modified == nil || d.PublicationYear < 2018 {
				t.Errorf("issued %v modified %v year %d", d.Issued, d.Modified, d.PublicationYear)
			}
			if d.AccessRights != "open" || d.EmbargoUntil != nil || d.ResourceType != "Dataset" {
				t.Errorf("access %q embargo %v type %q", d.AccessRights, d.EmbargoUntil, d.ResourceType)
			}
			var panet int
			for _, s := range d.Subjects {
				if s.Scheme == "PaNET" && strings.HasPrefix(s.ValueUri, "http://purl.org/pan-science/PaNET/PaNET0") && s.Value != "" {
					panet++
				}
			}
			if panet != 1 {
				t.Errorf("Subjects = %v, want one PaNET subject", d.Subjects)
			}
		})
	}
}

func TestSeedDESY(t *testing.T) {
	ds, err := scicatjson.Parse(testenv.SciCatSeed(t, "Dataset.json")[0])
	if err != nil {
		t.Fatal(err)
	}
	d := ds.ToDataset(now)
	if d.Title != "cheetah" || d.Instrument != "desy_instrument1" {
		t.Errorf("title %q instrument %q", d.Title, d.Instrument)
	}
	if c := d.Creators; len(c) != 1 || c[0].Name != "Oleksandr Yefanov" || c[0].Orcid != "0000-0001-8676-0091" {
		t.Errorf("Creators = %v", c)
	}
	if len(d.Contributors) != 0 {
		t.Errorf("owner who is the PI listed as contributor: %v", d.Contributors)
	}
	if !d.Issued.AsTime().Equal(time.Date(2024, 6, 29, 0, 0, 0, 0, time.UTC)) || d.PublicationYear != 2024 {
		t.Errorf("issued %v year %d (datasetlifecycle.dateOfPublishing)", d.Issued.AsTime(), d.PublicationYear)
	}
	if !d.Created.AsTime().Equal(time.Date(2020, 2, 7, 13, 46, 43, 0, time.UTC)) || !d.Available.AsTime().Equal(d.Issued.AsTime()) {
		t.Errorf("created %v available %v", d.Created.AsTime(), d.Available.AsTime())
	}
	if d.FileCount != 98 || d.ByteSize != 4000 || len(d.Samples) != 1 || d.Samples[0].Id != "sample2" {
		t.Errorf("files %d size %d samples %v", d.FileCount, d.ByteSize, d.Samples)
	}
	if pi := d.PrincipalInvestigator; pi == nil || pi.Name != "Oleksandr Yefanov" || pi.Email != "oleksandr.yefanov@desy.de" || pi.Orcid != "0000-0001-8676-0091" {
		t.Errorf("PrincipalInvestigator = %v", pi)
	}
	if id := d.Identifiers; len(id) != 1 || id[0].Value != "PID.SAMPLE.PREFIX/desy_ds1" || id[0].Scheme != "PID" {
		t.Errorf("Identifiers = %v", id)
	}
	if d.Version != "" || len(d.Gaps) != 0 {
		t.Errorf("version %q (the API version is not the dataset's) gaps %v", d.Version, d.Gaps)
	}
	if !d.Modified.AsTime().Equal(time.Date(2021, 6, 29, 16, 40, 55, 777000000, time.UTC)) {
		t.Errorf("modified %v", d.Modified.AsTime())
	}
	s := d.Subjects[0]
	if s.Value != "serial femtosecond crystallography" || s.ValueUri != "http://purl.org/pan-science/PaNET/PaNET01168" || s.SchemeUri != "http://purl.org/pan-science/PaNET/" {
		t.Errorf("Subjects[0] = %v", s)
	}
	// Before its dateOfPublishing (2024-06-29) the dataset is under embargo.
	early := ds.ToDataset(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC))
	if early.AccessRights != "embargoed" || !early.EmbargoUntil.AsTime().Equal(time.Date(2024, 6, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("before publishing: access %q until %v", early.AccessRights, early.EmbargoUntil)
	}
}

func TestSeedDerivedRelations(t *testing.T) {
	var soleil *scicatjson.Dataset
	for _, doc := range testenv.SciCatSeed(t, "Dataset.json") {
		ds, err := scicatjson.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		if ds.SourceID() == "PID.SAMPLE.PREFIX/soleil_ds1" {
			soleil = ds
		}
	}
	if soleil == nil {
		t.Fatal("soleil_ds1 not in the seed")
	}
	d := soleil.ToDataset(now)
	if len(d.Related) != 1 || d.Related[0].Identifier != "PID.SAMPLE.PREFIX/soleil_ds2" || d.Related[0].Relation != "IsDerivedFrom" {
		t.Errorf("Related = %v", d.Related)
	}
	if c := d.Creators; len(c) != 1 || c[0].Name != "Doru Constantin" || c[0].Orcid != "" {
		t.Errorf("Creators = %v", c)
	}
}

func TestSeedPublishedData(t *testing.T) {
	docs := testenv.SciCatSeed(t, "PublishedData.json")
	for _, doc := range docs {
		ds, err := scicatjson.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		d := ds.ToDataset(now)
		if !strings.HasPrefix(d.Doi, "10.9999/") || d.LandingPage != "https://doi.org/"+d.Doi || d.Title == "" || d.Publisher == "" || d.AccessRights != "open" {
			t.Errorf("%s: doi %q landing %q title %q publisher %q access %q", ds.SourceID(), d.Doi, d.LandingPage, d.Title, d.Publisher, d.AccessRights)
		}
		for _, c := range d.Creators {
			if c.Name == "al." {
				t.Errorf("%s: creator %q kept", ds.SourceID(), c.Name)
			}
		}
		var parts int
		for _, r := range d.Related {
			if r.Relation == "HasPart" {
				parts++
			}
		}
		if parts != len(ds.PIDArray) || parts == 0 {
			t.Errorf("%s: %d HasPart relations for %d pids", ds.SourceID(), parts, len(ds.PIDArray))
		}
	}
	ds, err := scicatjson.Parse(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	d := ds.ToDataset(now)
	if d.Doi != "10.9999/desy_pub1" || d.PublicationYear != 2019 || !d.Issued.AsTime().Equal(time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("doi %q year %d issued %v", d.Doi, d.PublicationYear, d.Issued.AsTime())
	}
	last := d.Related[len(d.Related)-1]
	if last.Identifier != "10.1063/1.5124387" || last.Type != "DOI" || last.Relation != "IsSupplementTo" {
		t.Errorf("publication relation = %v", last)
	}
}

// restV4 is a dataset as SciCat's v4 REST API returns it, with instruments
// included.
const restV4 = `{
  "pid": "20.500.12269/0a1b2c3d",
  "owner": "Jane Doe; Max Mustermann",
  "orcidOfOwner": "https://orcid.org/0000-0002-1825-0097; 0000-0002-1694-233X",
  "ownerEmail": "jane@example.org;max@example.org",
  "contactEmail": "jane@example.org",
  "sourceFolder": "/data/2024/ess",
  "creationTime": "2024-03-01T09:30:00.000Z",
  "updatedAt": "2024-04-01T00:00:00Z",
  "type": "raw",
  "datasetName": "  Neutron reflectometry of a lipid bilayer ",
  "description": "Runs 1-12.",
  "keywords": ["lipid", "", null, "reflectometry"],
  "license": "CC-BY-4.0",
  "isPublished": true,
  "principalInvestigators": ["Jane Doe", "pi@example.org"],
  "techniques": [
    {"pid": "http://purl.org/pan-science/PaNET/PaNET01239", "name": "neutron reflectometry"},
    {"pid": "local:tech:7", "name": "in-house method"}
  ],
  "instrumentIds": ["ess-estia"],
  "instruments": [{"pid": "ess-estia", "uniqueName": "ESTIA", "name": "ESTIA reflectometer"}],
  "proposalIds": ["2024-001"],
  "relationships": [{"pid": "20.500.12269/parent", "relationship": "IsPartOf"}],
  "usedSoftware": ["https://github.com/reflectivity/refnx"],
  "datasetlifecycle": {"dateOfPublishing": "2027-03-01T00:00:00Z", "archivable": true}
}`

func TestRESTv4(t *testing.T) {
	ds, err := scicatjson.Parse([]byte(restV4))
	if err != nil {
		t.Fatal(err)
	}
	if ds.SourceID() != "20.500.12269/0a1b2c3d" {
		t.Errorf("SourceID() = %q", ds.SourceID())
	}
	d := ds.ToDataset(now)
	if d.Doi != "" || d.Title != "Neutron reflectometry of a lipid bilayer" || d.License != "CC-BY-4.0" || d.Instrument != "ESTIA reflectometer" {
		t.Errorf("doi %q title %q license %q instrument %q", d.Doi, d.Title, d.License, d.Instrument)
	}
	if c := d.Creators; len(c) != 1 || c[0].Name != "Jane Doe" || c[0].Orcid != "0000-0002-1825-0097" {
		t.Errorf("Creators = %v (e-mail addresses must be dropped)", c)
	}
	if c := d.Contributors; len(c) != 1 || c[0].Name != "Max Mustermann" || c[0].Orcid != "0000-0002-1694-233X" || c[0].Role != scicatjson.RoleOwner {
		t.Errorf("Contributors = %v", c)
	}
	if d.AccessRights != "embargoed" || !d.EmbargoUntil.AsTime().Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("access %q until %v", d.AccessRights, d.EmbargoUntil)
	}
	s := d.Subjects
	if len(s) != 4 || s[0].Value != "lipid" || s[1].Value != "reflectometry" ||
		s[2].ValueUri != "http://purl.org/pan-science/PaNET/PaNET01239" || s[2].Value != "neutron reflectometry" ||
		s[3].Scheme != "" || s[3].Value != "in-house method" {
		t.Errorf("Subjects = %v", s)
	}
	rel := d.Related
	if len(rel) != 2 || rel[0].Relation != "IsCompiledBy" || rel[0].Type != "URL" || rel[1].Identifier != "20.500.12269/parent" || rel[1].Relation != "IsPartOf" {
		t.Errorf("Related = %v", rel)
	}
	if !d.Issued.AsTime().Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) || !d.Modified.AsTime().Equal(time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("issued %v modified %v", d.Issued.AsTime(), d.Modified.AsTime())
	}
}

func TestDatasetVariants(t *testing.T) {
	tests := []struct {
		name, doc                  string
		doi, access, instrument    string
		issued                     time.Time
		creators                   int
		firstCreator, firstSubject string
	}{
		{name: "doi field", doc: `{"pid":"p1","datasetName":"n","doi":"https://doi.org/10.5072/ABC"}`, doi: "10.5072/abc"},
		{name: "pid is a DOI", doc: `{"pid":"10.5072/XYZ","datasetName":"n"}`, doi: "10.5072/xyz"},
		{name: "unpublished", doc: `{"pid":"p1","datasetName":"n","isPublished":false}`, access: "restricted"},
		{name: "licence without flag", doc: `{"pid":"p1","datasetName":"n","license":"CC0-1.0"}`, access: "open"},
		{name: "epoch millis", doc: `{"pid":"p1","datasetName":"n","creationTime":{"$date":{"$numberLong":"1580000000000"}}}`, issued: time.UnixMilli(1580000000000).UTC()},
		{name: "number date", doc: `{"pid":"p1","datasetName":"n","creationTime":1580000000000}`, issued: time.UnixMilli(1580000000000).UTC()},
		{name: "day 00", doc: `{"pid":"p1","datasetName":"n","creationTime":"2020-05-00"}`, issued: time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)},
		{name: "unreadable date", doc: `{"pid":"p1","datasetName":"n","creationTime":"yesterday"}`},
		{name: "creation location", doc: `{"pid":"p1","datasetName":"n","creationLocation":"/PSI/SLS/TOMCAT/"}`, instrument: "TOMCAT"},
		{name: "instrumentIds", doc: `{"pid":"p1","datasetName":"n","instrumentIds":["", "bl-1"]}`, instrument: "bl-1"},
		{name: "semicolon lists", doc: `{"pid":"p1","datasetName":"n","investigator":"A One; B Two;;","owner":"A One"}`, creators: 2, firstCreator: "A One"},
		{name: "owner when no investigator", doc: `{"pid":"p1","datasetName":"n","owner":"Doe, Jane"}`, creators: 1, firstCreator: "Doe, Jane"},
		{name: "single keyword string", doc: `{"pid":"p1","datasetName":"n","keywords":"tomography"}`, firstSubject: "tomography"},
		{name: "technique without pid", doc: `{"pid":"p1","datasetName":"n","techniques":[{"name":"SAXS"}]}`, firstSubject: "SAXS"},
		{name: "title instead of name", doc: `{"_id":"x","title":"A title"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := scicatjson.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			d := ds.ToDataset(now)
			if d.Title == "" || d.Doi != tt.doi || d.AccessRights != tt.access || d.Instrument != tt.instrument {
				t.Errorf("title %q doi %q access %q instrument %q", d.Title, d.Doi, d.AccessRights, d.Instrument)
			}
			if (d.Issued == nil) != tt.issued.IsZero() || (d.Issued != nil && !d.Issued.AsTime().Equal(tt.issued)) {
				t.Errorf("issued %v, want %v", d.Issued, tt.issued)
			}
			if tt.creators > 0 && (len(d.Creators) != tt.creators || d.Creators[0].Name != tt.firstCreator) {
				t.Errorf("Creators = %v", d.Creators)
			}
			if tt.firstSubject != "" && (len(d.Subjects) == 0 || d.Subjects[0].Value != tt.firstSubject) {
				t.Errorf("Subjects = %v", d.Subjects)
			}
		})
	}
	ds, err := scicatjson.Parse([]byte(`{"pid":"p1","datasetName":"n","creationTime":"yesterday"}`))
	if err != nil {
		t.Fatal(err)
	}
	if ds.CreationTime.Raw != "yesterday" || !ds.CreationTime.IsZero() {
		t.Errorf("CreationTime = %+v", ds.CreationTime)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, doc, reason string }{
		{"empty", "", "empty payload"},
		{"not JSON", "<resource/>", "want a JSON object"},
		{"array", `[{"pid":"x"}]`, "want a JSON object"},
		{"truncated", `{"pid":"x",`, "unexpected end"},
		{"wrong type", `{"pid":"x","datasetName":42}`, "datasetName"},
		{"wrong list type", `{"pid":"x","keywords":{"a":1}}`, "keywords"},
		{"nothing to identify", `{"description":"d"}`, "no pid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := scicatjson.Parse([]byte(tt.doc))
			if ds != nil || !errors.Is(err, scicatjson.ErrMalformed) {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", ds, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want it to say %q", err, tt.reason)
			}
		})
	}
}

func TestPublicationYearSpellings(t *testing.T) {
	tests := []struct {
		doc  string
		want int32
	}{
		{`{"_id":"10.5072/x","title":"t","publicationYear":2019}`, 2019},
		{`{"_id":"10.5072/x","title":"t","publicationYear":"2019"}`, 2019},
		{`{"_id":"10.5072/x","title":"t","publicationYear":"n/a"}`, 0},
		{`{"_id":"10.5072/x","title":"t","publicationYear":null}`, 0},
	}
	for _, tt := range tests {
		ds, err := scicatjson.Parse([]byte(tt.doc))
		if err != nil {
			t.Fatalf("%s: %v", tt.doc, err)
		}
		if got := ds.ToDataset(now).PublicationYear; got != tt.want {
			t.Errorf("%s: year %d, want %d", tt.doc, got, tt.want)
		}
	}
	if _, err := scicatjson.Parse([]byte(`{"_id":"x","publicationYear":[2019]}`)); !errors.Is(err, scicatjson.ErrMalformed) || !strings.Contains(err.Error(), "publicationYear") {
		t.Errorf("array year: err = %v", err)
	}
}

func TestDatasetDCATFields(t *testing.T) {
	tests := []struct {
		name, doc     string
		contacts      string // "name <email>; …"
		start, end    string
		distribution  string // format|media|bytes|download|title
		pid, proposal string
	}{
		{name: "nothing", doc: `{"pid":"p1","datasetName":"n"}`},
		{name: "contact is the owner", doc: `{"pid":"p1","datasetName":"n","owner":"Jane Doe","ownerEmail":"jane@desy.de","contactEmail":"jane@desy.de"}`,
			contacts: "Jane Doe <jane@desy.de>"},
		{name: "contact and owner differ", doc: `{"pid":"p1","datasetName":"n","owner":"Jane Doe","ownerEmail":"jane@desy.de","contactEmail":"data@desy.de"}`,
			contacts: "data@desy.de <data@desy.de>; Jane Doe <jane@desy.de>"},
		{name: "invalid address dropped", doc: `{"pid":"p1","datasetName":"n","owner":"Hao Chu","ownerEmail":"","contactEmail":"email.com"}`},
		{name: "start and end", doc: `{"pid":"p1","datasetName":"n","type":"raw","startTime":"2021-03-01T08:00:00Z","endTime":"2021-03-02T10:00:00Z","creationTime":"2021-03-03T00:00:00Z"}`,
			start: "2021-03-01T08:00:00Z", end: "2021-03-02T10:00:00Z"},
		{name: "raw: creation time ends the collection", doc: `{"pid":"p1","datasetName":"n","type":"raw","creationTime":{"$date":"2020-02-07T13:46:43.000Z"}}`,
			end: "2020-02-07T13:46:43Z"},
		{name: "derived: no collection period", doc: `{"pid":"p1","datasetName":"n","type":"derived","creationTime":"2020-02-07T13:46:43Z"}`},
		{name: "size, files and format", doc: `{"pid":"p1","datasetName":"n","size":2000000000000.0,"numberOfFiles":98,"dataFormat":"NeXus"}`,
			distribution: "NeXus||2000000000000||98 files"},
		{name: "negative size", doc: `{"pid":"p1","datasetName":"n","size":-5}`},
		{name: "published data download link", doc: `{"_id":"10.5072/x","title":"t","sizeOfArchive":"4000","downloadLink":"https://example.org/x.zip"}`,
			distribution: "||4000|https://example.org/x.zip|"},
		{name: "download link that is no URL", doc: `{"_id":"10.5072/x","title":"t","downloadLink":"javascript:alert(1)"}`},
		{name: "local instrument id", doc: `{"pid":"p1","datasetName":"n","instrumentId":"desy_instrument1"}`},
		{name: "instrument PID", doc: `{"pid":"p1","datasetName":"n","instrumentIds":["https://w3id.org/pidinst/instrument/1"]}`, pid: "https://w3id.org/pidinst/instrument/1"},
		{name: "proposal", doc: `{"pid":"p1","datasetName":"n","proposalId":" 20190001 "}`, proposal: "20190001"},
		{name: "proposalIds", doc: `{"pid":"p1","datasetName":"n","proposalIds":["I-2021-3"]}`, proposal: "I-2021-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := scicatjson.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			d := ds.ToDataset(now)
			var cs []string
			for _, c := range d.Contacts {
				cs = append(cs, c.Name+" <"+c.Email+">")
			}
			var dist string
			for _, x := range d.Distributions {
				dist += fmt.Sprintf("%s|%s|%d|%s|%s", x.Format, x.MediaType, x.ByteSize, x.DownloadUrl, x.Title)
			}
			stamp := func(ts interface{ AsTime() time.Time }, ok bool) string {
				if !ok {
					return ""
				}
				return ts.AsTime().Format(time.RFC3339)
			}
			got := []string{strings.Join(cs, "; "), stamp(d.CollectedStart, d.CollectedStart != nil), stamp(d.CollectedEnd, d.CollectedEnd != nil), dist, d.InstrumentPid, d.ProposalId}
			want := []string{tt.contacts, tt.start, tt.end, tt.distribution, tt.pid, tt.proposal}
			if !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}
