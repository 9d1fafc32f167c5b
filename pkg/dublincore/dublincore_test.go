package dublincore_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/dublincore"
)

func TestParseSamples(t *testing.T) {
	tests := []struct {
		dir, file string
		title     string
		creators  []string
		date      string
		doi       string
		landing   string
		typ       string
		year      int32
	}{
		{"sickle", "ListRecords.xml", "Sample Title", []string{"John Doe", "John Doe", "John Doe", "John Doe"}, "2010", "", "http://test.example.com/publication/1585322", "Text", 2010},
		{"sickle", "ListRecords2.xml", "Sample Title", []string{"John Doe", "John Doe", "John Doe", "John Doe"}, "2010", "", "http://test.example.com/publication/1585322", "Text", 2010},
		{"sickle", "ListRecords3.xml", "Sample Title", []string{"John Doe", "John Doe", "John Doe", "John Doe"}, "2010", "", "http://test.example.com/publication/1585322", "Text", 2010},
		{"sickle", "ListRecords4.xml", "Sample Title", []string{"John Doe", "John Doe", "John Doe", "John Doe"}, "2010", "", "http://test.example.com/publication/1585322", "Text", 2010},
		{"sickle", "GetRecord.xml", "Sample Title", []string{"John Doe", "John Doe"}, "2011", "", "http://test.example.com/publication/1996652", "Text", 2011},
		{"sickle", "GetRecord_utf8test.xml", "Sample Title", []string{"某人"}, "2011", "", "http://test.example.com/publication/1996652", "Text", 2011},
		{"datacite-viringo", "oai_getrecord_dc.xml", "This is a fake DOI with fake metadata.", []string{"Fenner, Martin", "Hallett, Richard"}, "2018", "10.5072/not-a-real-doi", "https://doi.org/10.5072/not-a-real-doi", "Text", 2018},
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.dir+"/"+tt.file, func(t *testing.T) {
			for _, p := range testenv.MetadataPayloads(t, "oai-samples", tt.dir, tt.file) {
				r, err := dublincore.Parse(p)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(r.Titles, []string{tt.title}) || !reflect.DeepEqual(r.Creators, tt.creators) || r.Dates[0].Value != tt.date {
					t.Errorf("titles %q creators %q dates %+v", r.Titles, r.Creators, r.Dates)
				}
				d := r.ToDataset(now)
				if d.Title != tt.title || d.Doi != tt.doi || d.LandingPage != tt.landing || d.ResourceType != tt.typ || d.PublicationYear != tt.year {
					t.Errorf("title %q doi %q landing %q type %q year %d", d.Title, d.Doi, d.LandingPage, d.ResourceType, d.PublicationYear)
				}
				if len(d.Creators) != len(tt.creators) {
					t.Errorf("Creators = %v", d.Creators)
				}
			}
		})
	}
}

func TestParseSickleDescriptionAndPublisher(t *testing.T) {
	r, err := dublincore.Parse(testenv.MetadataPayloads(t, "oai-samples", "sickle", "ListRecords.xml")[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Descriptions) != 1 || !strings.HasPrefix(r.Descriptions[0], "Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor incididunt") ||
		strings.Contains(r.Descriptions[0], "\n") || !strings.HasSuffix(r.Descriptions[0], "id est laborum.") {
		t.Errorf("Descriptions = %q", r.Descriptions)
	}
	if !reflect.DeepEqual(r.Publishers, []string{"Sample Publisher"}) || !reflect.DeepEqual(r.Languages, []string{"eng"}) ||
		!reflect.DeepEqual(r.Sources, []string{"Sample Source"}) {
		t.Errorf("publishers %q languages %q sources %q", r.Publishers, r.Languages, r.Sources)
	}
	if want := []string{"info:eu-repo/semantics/article", "doc-type:article", "text"}; !reflect.DeepEqual(r.Types, want) {
		t.Errorf("Types = %q", r.Types)
	}
}

func TestParseDataCiteDates(t *testing.T) {
	r, err := dublincore.Parse(testenv.MetadataPayloads(t, "oai-samples", "datacite-viringo", "oai_getrecord_dc.xml")[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []dublincore.Date{{Value: "2018"}, {Value: "2018-01-18", Type: "Issued"}, {Value: "2018-01-18", Type: "Created"}, {Value: "2018-01-18", Type: "Updated"}}
	if !reflect.DeepEqual(r.Dates, want) {
		t.Errorf("Dates = %+v", r.Dates)
	}
	d := r.ToDataset(time.Now())
	if !d.Issued.AsTime().Equal(time.Date(2018, 1, 18, 0, 0, 0, 0, time.UTC)) || !d.Modified.AsTime().Equal(time.Date(2018, 1, 18, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("issued %v modified %v", d.Issued.AsTime(), d.Modified.AsTime())
	}
	if len(d.Related) != 1 || d.Related[0].Identifier != "10.5072/related-not-a-real-doi" || d.Related[0].Type != "DOI" {
		t.Errorf("Related = %v", d.Related)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, payload string
		notDC         bool
		reason        string
	}{
		{"empty", "", false, "empty payload"},
		{"garbage", "<<<", false, "syntax error"},
		{"truncated", `<oai_dc:dc><dc:title>T`, false, "unexpected EOF"},
		{"DataCite", `<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles></resource>`, true, "root element <resource>"},
		{"metadata wrapper without dc", `<metadata><resource/></metadata>`, true, "root element <metadata>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dublincore.Parse([]byte(tt.payload))
			if r != nil || !errors.Is(err, dublincore.ErrMalformed) {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", r, err)
			}
			if errors.Is(err, dublincore.ErrNotDublinCore) != tt.notDC {
				t.Errorf("err = %v; ErrNotDublinCore want %v", err, tt.notDC)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want it to say %q", err, tt.reason)
			}
		})
	}
}

// dc wraps elements in an oai_dc record with a title.
func dc(inner string) []byte {
	return []byte(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title>` + inner + `</oai_dc:dc>`)
}

func TestToDatasetRules(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name            string
		inner           string
		doi, landing    string
		access, license string
		issued, embargo time.Time
		resourceType    string
	}{
		{name: "DOI URL", inner: `<dc:identifier>https://doi.org/10.5072/ABC</dc:identifier>`, doi: "10.5072/abc", landing: "https://doi.org/10.5072/abc"},
		{name: "doi: prefix after a URL", inner: `<dc:identifier>https://example.org/rec/1</dc:identifier><dc:identifier>doi:10.5072/ABC</dc:identifier>`, doi: "10.5072/abc", landing: "https://doi.org/10.5072/abc"},
		{name: "info:doi", inner: `<dc:identifier>info:doi/10.5072/ABC</dc:identifier>`, doi: "10.5072/abc", landing: "https://doi.org/10.5072/abc"},
		{name: "bare DOI", inner: `<dc:identifier>10.5072/ABC</dc:identifier>`, doi: "10.5072/abc", landing: "https://doi.org/10.5072/abc"},
		{name: "no DOI", inner: `<dc:identifier>oai:x:1</dc:identifier><dc:identifier>https://example.org/rec/1</dc:identifier>`, landing: "https://example.org/rec/1"},
		{name: "open access with licence", inner: `<dc:rights>info:eu-repo/semantics/openAccess</dc:rights><dc:rights>https://creativecommons.org/licenses/by/4.0/</dc:rights>`, access: "open", license: "https://creativecommons.org/licenses/by/4.0/"},
		{name: "licence URL preferred over text", inner: `<dc:rights>© ESRF 2020</dc:rights><dc:rights>http://creativecommons.org/publicdomain/zero/1.0/</dc:rights>`, access: "open", license: "http://creativecommons.org/publicdomain/zero/1.0/"},
		{name: "licence text", inner: `<dc:rights>CC-BY-4.0</dc:rights>`, access: "open", license: "CC-BY-4.0"},
		{name: "embargo end in the future", inner: `<dc:rights>info:eu-repo/semantics/embargoedAccess</dc:rights><dc:rights>info:eu-repo/date/embargoEnd/2025-01-31</dc:rights>`, access: "embargoed", embargo: day(2025, 1, 31)},
		{name: "embargo end in the past", inner: `<dc:rights>info:eu-repo/semantics/embargoedAccess</dc:rights><dc:rights>info:eu-repo/date/embargoEnd/2020-01-31</dc:rights>`, access: "open"},
		{name: "embargo end alone", inner: `<dc:rights>info:eu-repo/date/embargoEnd/2030-12-00</dc:rights>`, access: "embargoed", embargo: day(2030, 12, 1)},
		{name: "available date as embargo end", inner: `<dc:date>Available: 2024-12-01</dc:date>`, access: "embargoed", embargo: day(2024, 12, 1)},
		{name: "restricted", inner: `<dc:rights>info:eu-repo/semantics/restrictedAccess</dc:rights>`, access: "restricted"},
		{name: "closed", inner: `<dc:rights>info:eu-repo/semantics/closedAccess</dc:rights>`, access: "closed"},
		{name: "issued label wins", inner: `<dc:date>2019</dc:date><dc:date>Issued: 2019-03-00</dc:date>`, issued: day(2019, 3, 1)},
		{name: "first valid untyped date", inner: `<dc:date>unknown</dc:date><dc:date>2019-04-05T10:00:00Z</dc:date>`, issued: time.Date(2019, 4, 5, 10, 0, 0, 0, time.UTC)},
		{name: "dcterms issued", inner: `<dcterms:issued xmlns:dcterms="http://purl.org/dc/terms/">2018-02-03</dcterms:issued>`, issued: day(2018, 2, 3)},
		{name: "date range", inner: `<dc:date>2018-01-01/2018-12-31</dc:date>`, issued: day(2018, 1, 1)},
		{name: "DataCite type in any case", inner: `<dc:type>info:eu-repo/semantics/other</dc:type><dc:type>dataset</dc:type>`, resourceType: "Dataset"},
		{name: "free type", inner: `<dc:type>info:eu-repo/semantics/other</dc:type>`, resourceType: "info:eu-repo/semantics/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dublincore.Parse(dc(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			d := r.ToDataset(now)
			if d.Title != "T" || d.Doi != tt.doi || d.LandingPage != tt.landing || d.ResourceType != tt.resourceType {
				t.Errorf("title %q doi %q landing %q type %q", d.Title, d.Doi, d.LandingPage, d.ResourceType)
			}
			if d.AccessRights != tt.access || d.License != tt.license {
				t.Errorf("access %q license %q, want %q %q", d.AccessRights, d.License, tt.access, tt.license)
			}
			if (d.EmbargoUntil == nil) != tt.embargo.IsZero() || (d.EmbargoUntil != nil && !d.EmbargoUntil.AsTime().Equal(tt.embargo)) {
				t.Errorf("embargo %v, want %v", d.EmbargoUntil, tt.embargo)
			}
			if (d.Issued == nil) != tt.issued.IsZero() || (d.Issued != nil && (!d.Issued.AsTime().Equal(tt.issued) || int(d.PublicationYear) != tt.issued.Year())) {
				t.Errorf("issued %v year %d, want %v", d.Issued, d.PublicationYear, tt.issued)
			}
		})
	}
}

func TestToDatasetPeopleSubjectsRelations(t *testing.T) {
	r, err := dublincore.Parse(dc(`
		<dc:creator>Doe, Jane</dc:creator>
		<dc:creator>John Smith</dc:creator>
		<dc:creator>European Synchrotron Radiation Facility, Grenoble</dc:creator>
		<dc:contributor>Roe, Richard</dc:contributor>
		<dc:subject>PaNET01168</dc:subject>
		<dc:subject>http://purl.org/pan-science/PaNET/PaNET01102</dc:subject>
		<dc:subject>crystallography</dc:subject>
		<dc:relation>https://doi.org/10.5072/PAPER</dc:relation>
		<dc:relation>https://example.org/x</dc:relation>
		<dc:relation>see the paper</dc:relation>
		<dc:language>en</dc:language>
		<dc:publisher>ESRF</dc:publisher>
		<dc:description>First.</dc:description>
		<dc:description>Second.</dc:description>`))
	if err != nil {
		t.Fatal(err)
	}
	d := r.ToDataset(time.Now())
	c := d.Creators
	if len(c) != 3 || c[0].GivenName != "Jane" || c[0].FamilyName != "Doe" || c[0].Name != "Doe, Jane" ||
		c[1].GivenName != "" || c[1].Name != "John Smith" || c[2].FamilyName != "" {
		t.Errorf("Creators = %v", c)
	}
	if k := d.Contributors; len(k) != 1 || k[0].FamilyName != "Roe" || k[0].Role != "" {
		t.Errorf("Contributors = %v", k)
	}
	s := d.Subjects
	if len(s) != 3 || s[0].ValueUri != "http://purl.org/pan-science/PaNET/PaNET01168" || s[0].Scheme != "PaNET" || s[0].Value != "PaNET01168" ||
		s[1].ValueUri != "http://purl.org/pan-science/PaNET/PaNET01102" || s[2].ValueUri != "" || s[2].Scheme != "" {
		t.Errorf("Subjects = %v", s)
	}
	rel := d.Related
	if len(rel) != 3 || rel[0].Identifier != "10.5072/paper" || rel[0].Type != "DOI" || rel[1].Type != "URL" || rel[2].Type != "" || rel[2].Identifier != "see the paper" {
		t.Errorf("Related = %v", rel)
	}
	if d.Language != "en" || d.Publisher != "ESRF" || d.Description != "First." {
		t.Errorf("language %q publisher %q description %q", d.Language, d.Publisher, d.Description)
	}
}

func TestToDatasetDistribution(t *testing.T) {
	tests := []struct {
		name  string
		inner string
		want  string // format|media type|bytes, "" for no distribution
	}{
		{"no dc:format", `<dc:title>T</dc:title>`, ""},
		{"media type", `<dc:format>application/pdf</dc:format>`, "|application/pdf|0"},
		{"name, media type and extent", `<dc:format>NeXus</dc:format><dc:format>application/x-hdf5</dc:format><dc:format>3.5 GB</dc:format>`, "NeXus|application/x-hdf5|3500000000"},
		{"blank", `<dc:format> </dc:format>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dublincore.Parse(dc(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, x := range r.ToDataset(time.Now()).Distributions {
				got += fmt.Sprintf("%s|%s|%d", x.Format, x.MediaType, x.ByteSize)
			}
			if got != tt.want {
				t.Errorf("distribution %q, want %q", got, tt.want)
			}
		})
	}
}
