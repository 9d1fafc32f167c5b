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
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
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
				if len(r.Titles) != 1 || r.Titles[0].Value != tt.title || !reflect.DeepEqual(r.Creators, tt.creators) || r.Dates[0].Value != tt.date {
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
	if len(r.Descriptions) != 1 || !strings.HasPrefix(r.Descriptions[0].Value, "Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor incididunt") ||
		strings.Contains(r.Descriptions[0].Value, "\n") || !strings.HasSuffix(r.Descriptions[0].Value, "id est laborum.") || r.Descriptions[0].Lang != "eng" {
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

func TestToDatasetTexts(t *testing.T) {
	r, err := dublincore.Parse([]byte(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">
		<dc:title xml:lang="en">Powder diffraction of X</dc:title>
		<dc:title xml:lang="fr">Diffraction de poudre de X</dc:title>
		<dcterms:alternative>PD-X</dcterms:alternative>
		<dc:description xml:lang="en">Main.</dc:description>
		<dcterms:abstract xml:lang="de-DE">Zusammenfassung.</dcterms:abstract>
		<dcterms:tableOfContents>1. Data</dcterms:tableOfContents>
	</oai_dc:dc>`))
	if err != nil {
		t.Fatal(err)
	}
	d := r.ToDataset(time.Now())
	texts := func(ts []*fairwayv1.LangText) string {
		var b strings.Builder
		for _, x := range ts {
			fmt.Fprintf(&b, "%s|%s|%s;", x.Value, x.Lang, x.Type)
		}
		return b.String()
	}
	if got, want := texts(d.Titles), "Powder diffraction of X|en|;Diffraction de poudre de X|fr|;PD-X||AlternativeTitle;"; got != want {
		t.Errorf("Titles = %s, want %s", got, want)
	}
	if got, want := texts(d.Descriptions), "Main.|en|;Zusammenfassung.|de-DE|Abstract;1. Data||TableOfContents;"; got != want {
		t.Errorf("Descriptions = %s, want %s", got, want)
	}
	if d.Title != "Powder diffraction of X" || d.Description != "Main." {
		t.Errorf("title %q description %q", d.Title, d.Description)
	}
}

func TestToDatasetIdentifiers(t *testing.T) {
	tests := []struct {
		name, inner string
		want        string // value|scheme;…
	}{
		{"DOI forms, once", `<dc:identifier>https://doi.org/10.5072/ABC</dc:identifier><dc:identifier>doi:10.5072/abc</dc:identifier>`, "10.5072/abc|DOI;"},
		{"handle", `<dc:identifier>hdl:11353/10.123</dc:identifier><dc:identifier>https://hdl.handle.net/20.500.1/2</dc:identifier>`, "11353/10.123|Handle;20.500.1/2|Handle;"},
		{"URL, URN, ARK, arXiv", `<dc:identifier>https://example.org/rec/1</dc:identifier><dc:identifier>urn:nbn:de:0001-1</dc:identifier><dc:identifier>ark:/13030/tf5p30086k</dc:identifier><dc:identifier>arXiv:2101.00001</dc:identifier>`,
			"https://example.org/rec/1|URL;urn:nbn:de:0001-1|URN;ark:/13030/tf5p30086k|ARK;2101.00001|arXiv;"},
		{"prefixed schemes", `<dc:identifier>oai:esrf.fr:123</dc:identifier><dc:identifier>ISBN: 978-3-16-148410-0</dc:identifier><dc:identifier>issn:1234-5678</dc:identifier><dc:identifier>PMID:123</dc:identifier>`,
			"oai:esrf.fr:123|OAI;978-3-16-148410-0|ISBN;1234-5678|ISSN;123|PMID;"},
		{"unknown kept as given", `<dc:identifier>ESRF-ID-42</dc:identifier><dc:identifier>isbn:</dc:identifier>`, "ESRF-ID-42|;isbn:|;"},
		{"none", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dublincore.Parse(dc(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, id := range r.ToDataset(time.Now()).Identifiers {
				got += id.Value + "|" + id.Scheme + ";"
			}
			if got != tt.want {
				t.Errorf("Identifiers = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestToDatasetDatesAndGaps(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	ts := func(p interface{ AsTime() time.Time }, ok bool) time.Time {
		if !ok {
			return time.Time{}
		}
		return p.AsTime()
	}
	tests := []struct {
		name               string
		inner              string
		created, available time.Time
		collStart, collEnd time.Time
		embargo            time.Time
		gaps               string // field|value|reason;…
	}{
		{name: "created and available", inner: `<dc:date>Created: 2017-05-06</dc:date><dc:date>Available: 2018-01-02</dc:date>`, created: day(2017, 5, 6), available: day(2018, 1, 2)},
		{name: "dcterms refinements", inner: `<dcterms:created xmlns:dcterms="http://purl.org/dc/terms/">2016</dcterms:created><dcterms:available xmlns:dcterms="http://purl.org/dc/terms/">2016-02</dcterms:available>`, created: day(2016, 1, 1), available: day(2016, 2, 1)},
		{name: "collected range", inner: `<dc:date>Collected: 2019-01-01/2019-01-31</dc:date>`, collStart: day(2019, 1, 1), collEnd: day(2019, 1, 31)},
		{name: "collected one day", inner: `<dc:date>Collected: 2019-03-04</dc:date>`, collStart: day(2019, 3, 4), collEnd: day(2019, 3, 4)},
		{name: "collected open end", inner: `<dc:date>Collected: 2019-03-04/</dc:date>`, collStart: day(2019, 3, 4)},
		{name: "collected bad end", inner: `<dc:date>Collected: 2019-03-04/later</dc:date><dc:date>Collected: 2020/2021</dc:date>`, collStart: day(2019, 3, 4), gaps: "collected_end|2019-03-04/later|invalid date: expected a four-digit year;"},
		{name: "bad untyped date", inner: `<dc:date>sometime in 2019</dc:date>`, gaps: "issued|sometime in 2019|invalid date: expected a four-digit year;"},
		{name: "bad typed dates", inner: `<dc:date>Issued: soon</dc:date><dc:date>Created: 2019-02-30</dc:date><dc:date>Available: n/a</dc:date><dc:date>Updated: never</dc:date><dc:date>Accepted: yes</dc:date><dc:date>Collected: x</dc:date>`,
			gaps: "issued|soon|invalid date: expected a four-digit year;created|2019-02-30|invalid date: day out of range;available|n/a|invalid date: expected a four-digit year;modified|never|invalid date: expected a four-digit year;dates|yes|invalid date: expected a four-digit year;collected_start|x|invalid date: expected a four-digit year;"},
		{name: "embargo end in dc:date", inner: `<dc:date>info:eu-repo/date/embargoEnd/2025-02-01</dc:date>`, embargo: day(2025, 2, 1)},
		{name: "bad embargo ends", inner: `<dc:date>info:eu-repo/date/embargoEnd/tomorrow</dc:date><dc:rights>info:eu-repo/date/embargoEnd/2025-13-01</dc:rights>`,
			gaps: "embargo_until|info:eu-repo/date/embargoEnd/tomorrow|invalid date;embargo_until|info:eu-repo/date/embargoEnd/2025-13-01|invalid date;"},
		{name: "long bad date cut", inner: `<dc:date>` + strings.Repeat("z", 300) + `</dc:date>`, gaps: "issued|" + strings.Repeat("z", 256) + "|invalid date: expected a four-digit year;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dublincore.Parse(dc(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			d := r.ToDataset(now)
			for _, c := range []struct {
				name      string
				got, want time.Time
			}{
				{"created", ts(d.Created, d.Created != nil), tt.created},
				{"available", ts(d.Available, d.Available != nil), tt.available},
				{"collected start", ts(d.CollectedStart, d.CollectedStart != nil), tt.collStart},
				{"collected end", ts(d.CollectedEnd, d.CollectedEnd != nil), tt.collEnd},
				{"embargo", ts(d.EmbargoUntil, d.EmbargoUntil != nil), tt.embargo},
			} {
				if !c.got.Equal(c.want) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			got := ""
			for _, g := range d.Gaps {
				got += g.Field + "|" + g.Value + "|" + g.Reason + ";"
			}
			if got != tt.gaps {
				t.Errorf("Gaps = %s\nwant %s", got, tt.gaps)
			}
		})
	}
}

func TestToDatasetFormatsLanguageSourcesFunding(t *testing.T) {
	tests := []struct {
		name, inner string
		check       func(*fairwayv1.Dataset) bool
	}{
		{"formats without sizes, once", `<dc:format>NeXus</dc:format><dc:format>application/x-hdf5</dc:format><dc:format>3.5 GB</dc:format><dc:format>NeXus</dc:format>`,
			func(d *fairwayv1.Dataset) bool {
				return reflect.DeepEqual(d.Formats, []string{"NeXus", "application/x-hdf5"}) && d.ByteSize == 3500000000
			}},
		{"no size", `<dc:format>HDF5</dc:format>`, func(d *fairwayv1.Dataset) bool {
			return reflect.DeepEqual(d.Formats, []string{"HDF5"}) && d.ByteSize == 0
		}},
		{"ISO 639-2 language", `<dc:language>eng</dc:language><dc:language>fre</dc:language>`, func(d *fairwayv1.Dataset) bool { return d.Language == "en" }},
		{"English name of a language", `<dc:language>German</dc:language>`, func(d *fairwayv1.Dataset) bool { return d.Language == "de" }},
		{"unknown language as given", `<dc:language>Klingon</dc:language>`, func(d *fairwayv1.Dataset) bool { return d.Language == "Klingon" }},
		{"sources derived from", `<dc:source>https://doi.org/10.5072/RAW</dc:source><dc:source>Beamtime logbook</dc:source>`,
			func(d *fairwayv1.Dataset) bool {
				r := d.Related
				return len(r) == 2 && r[0].Identifier == "10.5072/raw" && r[0].Type == "DOI" && r[0].Relation == "IsDerivedFrom" &&
					r[1].Identifier == "Beamtime logbook" && r[1].Type == "" && r[1].Relation == "IsDerivedFrom"
			}},
		{"OpenAIRE grant", `<dc:relation>info:eu-repo/grantAgreement/EC/H2020/823852/EU/Photon and Neutron Open Science Cloud/PaNOSC</dc:relation><dc:relation>info:eu-repo/grantAgreement/EC/FP7/283745///ACRO</dc:relation><dc:relation>info:eu-repo/grantAgreement/</dc:relation>`,
			func(d *fairwayv1.Dataset) bool {
				f := d.Funding
				return len(f) == 2 && f[0].FunderName == "EC" && f[0].AwardNumber == "823852" && f[0].AwardTitle == "Photon and Neutron Open Science Cloud" &&
					f[1].AwardNumber == "283745" && f[1].AwardTitle == "ACRO" && len(d.Related) == 3 && d.Related[0].Relation == ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dublincore.Parse(dc(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			if d := r.ToDataset(time.Now()); !tt.check(d) {
				t.Errorf("formats %q size %d language %q related %v funding %v", d.Formats, d.ByteSize, d.Language, d.Related, d.Funding)
			}
		})
	}
}
