package oaipmh

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
)

func parseSample(t *testing.T, feed, name string, maxRecord int) (*Page, []byte) {
	t.Helper()
	raw := readSample(t, feed, name)
	p, err := ParsePage(bytes.NewReader(raw), maxRecord)
	if err != nil {
		t.Fatalf("ParsePage(%s/%s): %v", feed, name, err)
	}
	return p, raw
}

func TestParsePageSickleListRecords(t *testing.T) {
	p, raw := parseSample(t, "sickle", "ListRecords.xml", 0)
	if p.Verb != VerbListRecords {
		t.Errorf("Verb = %q", p.Verb)
	}
	if want := time.Date(2013, 2, 27, 9, 10, 56, 0, time.UTC); !p.ResponseDate.Equal(want) || p.ResponseDateRaw != "2013-02-27T09:10:56Z" {
		t.Errorf("ResponseDate = %v (%q)", p.ResponseDate, p.ResponseDateRaw)
	}
	if p.Request.BaseURL != "http://test.example.com/oai" || p.Request.Params["metadataPrefix"] != "oai_dc" {
		t.Errorf("Request = %+v", p.Request)
	}
	if len(p.Records) != 2 {
		t.Fatalf("%d records, want 2", len(p.Records))
	}
	del, live := p.Records[0], p.Records[1]
	if !del.Deleted || del.Identifier != "oai:test.example.com:1585310" || del.Datestamp != "2011-07-18T16:31:00Z" || del.Metadata != nil {
		t.Errorf("deleted record = %+v", del)
	}
	if live.Deleted || live.Identifier != "oai:test.example.com:1585322" {
		t.Errorf("live record = %+v", live)
	}
	if !bytes.HasPrefix(live.Metadata, []byte("<oai_dc:dc ")) || !bytes.HasSuffix(live.Metadata, []byte("</oai_dc:dc>")) {
		t.Errorf("metadata = %q", live.Metadata)
	}
	if !bytes.Contains(raw, live.Metadata) {
		t.Error("metadata is not a verbatim slice of the response")
	}
	if p.Token == nil || p.Token.Value != "ListRecords2.xml" || p.Token.CompleteListSize != 8 || p.Token.Cursor != 0 {
		t.Errorf("Token = %+v", p.Token)
	}
	if got := live.InheritedNamespaces["xsi"]; got != "http://www.w3.org/2001/XMLSchema-instance" {
		t.Errorf("InheritedNamespaces = %v", live.InheritedNamespaces)
	}
	if got := live.InheritedNamespaces[""]; got != "http://www.openarchives.org/OAI/2.0/" {
		t.Errorf("default namespace = %q", got)
	}
}

func TestParsePageTokens(t *testing.T) {
	tests := []struct {
		feed, name string
		want       *ResumptionToken
	}{
		{"sickle", "ListRecords4.xml", nil},
		{"sickle", "ListIdentifiers.xml", &ResumptionToken{Value: "ListIdentifiers2.xml", CompleteListSize: 4, Cursor: 0}},
		{"datacite-viringo", "oai_listidentifiers.xml", &ResumptionToken{
			Value:            "metadataPrefix%3Doai_dc%26set%3DDATACITE.DATACITE%26paging_cursor%3D1%26cursor%3D1",
			CompleteListSize: 2, Cursor: -1,
		}},
		{"datacite-viringo", "oai_listsets.xml", &ResumptionToken{Value: "", CompleteListSize: 11, Cursor: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := parseSample(t, tt.feed, tt.name, 0)
			switch {
			case tt.want == nil && p.Token != nil:
				t.Errorf("Token = %+v, want nil", p.Token)
			case tt.want != nil && (p.Token == nil || *p.Token != *tt.want):
				t.Errorf("Token = %+v, want %+v", p.Token, tt.want)
			}
		})
	}
}

func TestParsePageErrors(t *testing.T) {
	tests := []struct {
		name     string
		sentinel error
		message  string
	}{
		{"badArgument.xml", ErrBadArgument, ""},
		{"badResumptionToken.xml", ErrBadResumptionToken, "This resumptionToken is invalid"},
		{"cannotDisseminateFormat.xml", ErrCannotDisseminateFormat, ""},
		{"idDoesNotExist.xml", ErrIDDoesNotExist, "oai:lcoa1.loc.gov:loc.rbc/rbpe.00000111 has the structure of a valid LOC identifier, but it maps to no known item"},
		{"noRecordsMatch.xml", ErrNoRecordsMatch, ""},
		{"noSetHierarchy.xml", ErrNoSetHierarchy, "This repository does not support sets"},
		{"undefinedError.xml", nil, ""},
	}
	all := []error{ErrBadArgument, ErrBadResumptionToken, ErrBadVerb, ErrCannotDisseminateFormat,
		ErrIDDoesNotExist, ErrNoRecordsMatch, ErrNoMetadataFormats, ErrNoSetHierarchy}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := parseSample(t, "sickle", tt.name, 0)
			err := p.Err()
			if err == nil || len(p.Errors) != 1 {
				t.Fatalf("Errors = %v", p.Errors)
			}
			if p.Errors[0].Message != tt.message {
				t.Errorf("Message = %q, want %q", p.Errors[0].Message, tt.message)
			}
			if !errors.Is(err, ErrProtocol) {
				t.Error("error does not match ErrProtocol")
			}
			for _, s := range all {
				if got, want := errors.Is(err, s), s == tt.sentinel; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, s, got, want)
				}
			}
			if tt.sentinel == nil && p.Errors[0].Code != "undefinedError" {
				t.Errorf("Code = %q", p.Errors[0].Code)
			}
		})
	}
}

func TestParsePageMalformed(t *testing.T) {
	full := string(readSample(t, "sickle", "ListRecords.xml"))
	tests := map[string]string{
		"sickle broken":   string(readSample(t, "sickle", "ListRecordsBroken.xml")),
		"empty":           "",
		"whitespace":      "  \n ",
		"html":            "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
		"truncated":       full[:len(full)/2],
		"truncated early": full[:60],
		"mismatched tags": `<OAI-PMH><ListRecords><record></ListRecords></OAI-PMH>`,
		"unclosed root":   `<OAI-PMH><responseDate>2020-01-01</responseDate>`,
		"utf-16":          "\xFF\xFE<\x00?\x00x\x00",
		"bad encoding":    `<?xml version="1.0" encoding="EBCDIC-US"?><OAI-PMH/>`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := ParsePage(strings.NewReader(doc), 0)
			if !errors.Is(err, fetch.ErrMalformedResponse) {
				t.Fatalf("ParsePage = %+v, %v; want fetch.ErrMalformedResponse", p, err)
			}
		})
	}
}

func TestParsePageReadError(t *testing.T) {
	boom := errors.New("connection reset")
	full := readSample(t, "sickle", "ListRecords.xml")
	r := io.MultiReader(bytes.NewReader(full[:500]), iotest.ErrReader(boom))
	_, err := ParsePage(r, 0)
	if !errors.Is(err, boom) || errors.Is(err, fetch.ErrMalformedResponse) {
		t.Fatalf("err = %v; want the read error, not fetch.ErrMalformedResponse", err)
	}
}

// The payload capture must not depend on how the input is chunked.
func TestParsePageChunking(t *testing.T) {
	for _, name := range []string{"ListRecords.xml", "GetRecord_utf8test.xml"} {
		raw := readSample(t, "sickle", name)
		want, err := ParsePage(bytes.NewReader(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		readers := map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(raw)),
			"half":     iotest.HalfReader(bytes.NewReader(raw)),
			"data+err": iotest.DataErrReader(bytes.NewReader(raw)),
		}
		for rn, r := range readers {
			got, err := ParsePage(r, 0)
			if err != nil {
				t.Fatalf("%s/%s: %v", name, rn, err)
			}
			if len(got.Records) != len(want.Records) {
				t.Fatalf("%s/%s: %d records, want %d", name, rn, len(got.Records), len(want.Records))
			}
			for i := range got.Records {
				if !bytes.Equal(got.Records[i].Metadata, want.Records[i].Metadata) {
					t.Errorf("%s/%s: record %d metadata differs", name, rn, i)
				}
			}
		}
	}
}

func TestParsePageUTF8(t *testing.T) {
	p, _ := parseSample(t, "sickle", "GetRecord_utf8test.xml", 0)
	if len(p.Records) != 1 || !bytes.Contains(p.Records[0].Metadata, []byte("<dc:creator>某人</dc:creator>")) {
		t.Fatalf("records = %+v", p.Records)
	}
}

func TestParsePageDataCitePayload(t *testing.T) {
	p, raw := parseSample(t, "datacite-viringo", "oai_getrecord_oaidatacite.xml", 0)
	if p.Verb != VerbGetRecord || len(p.Records) != 1 {
		t.Fatalf("page = %+v", p)
	}
	rec := p.Records[0]
	if rec.Identifier != "doi:10.5072/not-a-real-doi" || strings.Join(rec.SetSpecs, ",") != "DATACITE,DATACITE.DATACITE" {
		t.Errorf("header = %+v", rec)
	}
	if !bytes.HasPrefix(rec.Metadata, []byte(`<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"`)) ||
		!bytes.HasSuffix(rec.Metadata, []byte("</oai_datacite>")) || !bytes.Contains(raw, rec.Metadata) {
		t.Fatalf("metadata = %q", rec.Metadata)
	}
	// The payload uses xsi: declared only on the OAI-PMH root. On its own it
	// leaves the prefix unresolved; with the inherited namespaces it resolves.
	schemaLocationNS := func(doc []byte) string {
		d := xml.NewDecoder(bytes.NewReader(doc))
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("payload does not parse: %v", err)
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "resource" {
				if se.Name.Space != "http://datacite.org/schema/kernel-4" {
					t.Errorf("resource namespace = %q", se.Name.Space)
				}
				for _, a := range se.Attr {
					if a.Name.Local == "schemaLocation" {
						return a.Name.Space
					}
				}
				return ""
			}
		}
	}
	if ns := schemaLocationNS(rec.Metadata); ns != "xsi" {
		t.Errorf("bare payload: schemaLocation namespace = %q, want the unresolved prefix", ns)
	}
	full := rec.MetadataWithNamespaces()
	if ns := schemaLocationNS(full); ns != "http://www.w3.org/2001/XMLSchema-instance" {
		t.Errorf("MetadataWithNamespaces: schemaLocation namespace = %q\n%s", ns, full[:200])
	}
	if !bytes.HasPrefix(full, []byte(`<oai_datacite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schema.datacite.org/oai/oai-1.1/"`)) {
		t.Errorf("MetadataWithNamespaces start = %q", full[:120])
	}
	// The payload's own default namespace must not be overridden.
	if bytes.Contains(full, []byte(`xmlns="http://www.openarchives.org/OAI/2.0/"`)) {
		t.Error("the OAI-PMH default namespace was added although the payload declares its own")
	}
}

func TestMetadataWithNamespaces(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		want string
	}{
		{"nil", Record{}, ""},
		{"nothing inherited", Record{Metadata: []byte(`<a/>`)}, `<a/>`},
		{"all own", Record{Metadata: []byte(`<x:a xmlns:x="u"/>`), InheritedNamespaces: map[string]string{"x": "v"}}, `<x:a xmlns:x="u"/>`},
		{"self-closing", Record{Metadata: []byte(`<x:a/>`), InheritedNamespaces: map[string]string{"x": "u"}}, `<x:a xmlns:x="u"/>`},
		{"escaped", Record{Metadata: []byte(`<a>t</a>`), InheritedNamespaces: map[string]string{"": `u"&`}}, `<a xmlns="u&#34;&amp;">t</a>`},
		{"sorted", Record{Metadata: []byte("<a\n b='1'>t</a>"), InheritedNamespaces: map[string]string{"z": "2", "y": "1"}}, "<a xmlns:y=\"1\" xmlns:z=\"2\"\n b='1'>t</a>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.rec.MetadataWithNamespaces()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParsePageIdentify(t *testing.T) {
	p, _ := parseSample(t, "datacite-viringo", "oai_identify.xml", 0)
	id := p.Identify
	if id == nil {
		t.Fatal("no Identify")
	}
	want := Identify{
		RepositoryName: "DataCite", BaseURL: "https://oai.datacite.org/oai", ProtocolVersion: "2.0",
		AdminEmails: []string{"support@datacite.org"}, EarliestDatestamp: "2011-01-01T00:00:00Z",
		DeletedRecord: "persistent", Granularity: GranularitySeconds, Compression: []string{"gzip", "deflate"},
	}
	if id.RepositoryName != want.RepositoryName || id.BaseURL != want.BaseURL || id.ProtocolVersion != want.ProtocolVersion ||
		strings.Join(id.AdminEmails, ",") != strings.Join(want.AdminEmails, ",") || id.EarliestDatestamp != want.EarliestDatestamp ||
		id.DeletedRecord != want.DeletedRecord || id.Granularity != want.Granularity ||
		strings.Join(id.Compression, ",") != strings.Join(want.Compression, ",") {
		t.Errorf("Identify = %+v, want %+v", *id, want)
	}
}

func TestParsePageListSetsAndFormats(t *testing.T) {
	p, _ := parseSample(t, "sickle", "ListSets.xml", 0)
	if len(p.Sets) != 131 || p.Sets[0] != (Set{SetSpec: "bi", SetName: "All BI publications (already published)"}) {
		t.Errorf("%d sets, first %+v", len(p.Sets), p.Sets)
	}
	p, _ = parseSample(t, "datacite-viringo", "oai_listmetadataformats.xml", 0)
	if len(p.MetadataFormats) != 3 || p.MetadataFormats[1] != (MetadataFormat{
		MetadataPrefix: "oai_datacite", Schema: "http://schema.datacite.org/oai/oai-1.1/oai.xsd",
		MetadataNamespace: "http://schema.datacite.org/oai/oai-1.1/",
	}) {
		t.Errorf("formats = %+v", p.MetadataFormats)
	}
}

func TestParsePageListIdentifiers(t *testing.T) {
	p, _ := parseSample(t, "sickle", "ListIdentifiers.xml", 0)
	if len(p.Records) != 2 || p.Records[0].Deleted || !p.Records[1].Deleted || p.Records[1].Identifier != "oai:test.example.com::1585576" {
		t.Errorf("records = %+v", p.Records)
	}
}

func TestParsePageControlCharacters(t *testing.T) {
	doc := "<?xml version=\"1.0\"?>\n<OAI-PMH><responseDate>2020-01-01T00:00:00Z</responseDate>" +
		"<ListRecords><record><header><identifier>oai:x:1\x01</identifier><datestamp>2020-01-01</datestamp></header>" +
		"<metadata><dc><title>bell\x07 and vtab\x0B and nul\x00 and \xff bad utf8 and \xef\xbf\xbe</title></dc></metadata></record>" +
		"<resumptionToken>\x1Bnext</resumptionToken></ListRecords></OAI-PMH>"
	p, err := ParsePage(strings.NewReader(doc), 0)
	if err != nil {
		t.Fatalf("ParsePage: %v", err)
	}
	if len(p.Records) != 1 || p.Records[0].Identifier != "oai:x:1\uFFFD" {
		t.Fatalf("records = %+v", p.Records)
	}
	if want := "<dc><title>bell\uFFFD and vtab\uFFFD and nul\uFFFD and \uFFFD bad utf8 and \uFFFD</title></dc>"; string(p.Records[0].Metadata) != want {
		t.Errorf("metadata = %q, want %q", p.Records[0].Metadata, want)
	}
	if p.Repairs != 7 {
		t.Errorf("Repairs = %d, want 7", p.Repairs)
	}
	if p.Token == nil || p.Token.Value != "\uFFFDnext" {
		t.Errorf("token = %+v", p.Token)
	}
	// The cleaned payload must be well-formed XML.
	if err := xml.Unmarshal(p.Records[0].Metadata, new(struct{})); err != nil {
		t.Errorf("payload does not parse: %v", err)
	}
}

func TestParsePageLatin1(t *testing.T) {
	for _, label := range []string{"ISO-8859-1", "iso-8859-15", "windows-1252", "latin9"} {
		doc := "<?xml version='1.0' encoding='" + label + "'?><OAI-PMH><GetRecord><record><header><identifier>oai:x:1</identifier></header>" +
			"<metadata><dc>Jos\xe9 \x80 \xff</dc></metadata></record></GetRecord></OAI-PMH>"
		p, err := ParsePage(iotest.OneByteReader(strings.NewReader(doc)), 0)
		if err != nil {
			t.Fatalf("%s: ParsePage: %v", label, err)
		}
		if len(p.Records) != 1 || string(p.Records[0].Metadata) != "<dc>José € ÿ</dc>" {
			t.Errorf("%s: records = %+v", label, p.Records)
		}
	}
}

func TestParsePageLenient(t *testing.T) {
	// Wrong namespaces, HTML entities, a BOM, an empty resumptionToken with
	// odd attributes, status in odd case, about elements and text-only metadata.
	doc := "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" +
		`<x:OAI-PMH xmlns:x="urn:wrong"><x:responseDate>2020-05-00</x:responseDate>` +
		`<x:ListRecords><x:record><x:header status=" Deleted "><x:identifier> a </x:identifier></x:header></x:record>` +
		`<record><header><identifier>b</identifier><setSpec>s1</setSpec><setSpec>s2</setSpec></header>` +
		`<metadata xmlns:m="urn:m"><!-- c --> <m:dc>caf&eacute;&nbsp;</m:dc><second/></metadata>` +
		`<about><identifier>not-me</identifier></about></record>` +
		`<record><header><identifier>c</identifier></header><metadata>text only</metadata></record>` +
		`<resumptionToken completeListSize="many" cursor="-3" expirationDate="2030-01-01T00:00:00Z"></resumptionToken>` +
		`</x:ListRecords></x:OAI-PMH>trailing garbage`
	p, err := ParsePage(strings.NewReader(doc), 0)
	if err != nil {
		t.Fatalf("ParsePage: %v", err)
	}
	if !p.ResponseDate.Equal(time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ResponseDate = %v", p.ResponseDate)
	}
	if len(p.Records) != 3 {
		t.Fatalf("records = %+v", p.Records)
	}
	if r := p.Records[0]; !r.Deleted || r.Identifier != "a" {
		t.Errorf("record 0 = %+v", r)
	}
	r := p.Records[1]
	if r.Identifier != "b" || strings.Join(r.SetSpecs, " ") != "s1 s2" || string(r.Metadata) != "<m:dc>caf&eacute;&nbsp;</m:dc>" {
		t.Errorf("record 1 = %+v (%q)", r, r.Metadata)
	}
	if r.InheritedNamespaces["m"] != "urn:m" || r.InheritedNamespaces["x"] != "urn:wrong" {
		t.Errorf("namespaces = %v", r.InheritedNamespaces)
	}
	if r := p.Records[2]; r.Identifier != "c" || r.Metadata != nil {
		t.Errorf("record 2 = %+v", r)
	}
	tok := p.Token
	if tok == nil || tok.Value != "" || tok.CompleteListSize != -1 || tok.Cursor != -1 ||
		!tok.ExpirationDate.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("token = %+v", tok)
	}
}

func TestParsePageOversized(t *testing.T) {
	raw := readSample(t, "sickle", "ListRecords.xml")
	full, err := ParsePage(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	size := len(full.Records[1].Metadata)
	tests := []struct {
		limit         int
		records, over int
	}{
		{limit: 0, records: 2},
		{limit: size, records: 2},
		{limit: size - 1, records: 1, over: 1},
		{limit: 10, records: 1, over: 1},
	}
	for _, tt := range tests {
		p, err := ParsePage(iotest.HalfReader(bytes.NewReader(raw)), tt.limit)
		if err != nil {
			t.Fatalf("limit %d: %v", tt.limit, err)
		}
		if len(p.Records) != tt.records || len(p.Oversized) != tt.over {
			t.Errorf("limit %d: %d records, %d oversized; want %d, %d", tt.limit, len(p.Records), len(p.Oversized), tt.records, tt.over)
		}
		if tt.over == 1 {
			o := p.Oversized[0]
			if o.Identifier != "oai:test.example.com:1585322" || o.Size != int64(size) || o.Datestamp != "2011-01-10T10:19:23Z" {
				t.Errorf("oversized = %+v, want size %d", o, size)
			}
		}
		// the page goes on after the oversized record
		if p.Token == nil || p.Token.Value != "ListRecords2.xml" {
			t.Errorf("limit %d: token = %+v", tt.limit, p.Token)
		}
	}
}

// Every sample file parses (except the broken one) and every payload is a
// verbatim slice of the file.
func TestParsePageAllSamples(t *testing.T) {
	for _, feed := range []string{"sickle", "datacite-viringo"} {
		files, err := filepath.Glob(filepath.Join(sampleDir(t, feed), "*.xml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no samples in %s: %v", feed, err)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePage(bytes.NewReader(raw), 0)
			if strings.HasSuffix(f, "Broken.xml") {
				if !errors.Is(err, fetch.ErrMalformedResponse) {
					t.Errorf("%s: err = %v", f, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if p.ResponseDate.IsZero() || p.Verb == "" {
				t.Errorf("%s: ResponseDate %v, Verb %q", f, p.ResponseDate, p.Verb)
			}
			for _, r := range p.Records {
				if r.Metadata != nil && !bytes.Contains(raw, r.Metadata) {
					t.Errorf("%s: payload of %s is not verbatim", f, r.Identifier)
				}
			}
		}
	}
}

func TestParsePageRepairs(t *testing.T) {
	tests := []struct {
		name, payload, want string
		repairs             int
	}{
		{"bare ampersand", `<t>R&D & co</t>`, `<t>R&amp;D &amp; co</t>`, 2},
		{"ampersand at the end", `<t>x&</t>`, `<t>x&amp;</t>`, 1},
		{"predefined and HTML entities kept", `<t>&amp;&lt;&gt;&quot;&apos;&nbsp;&eacute;</t>`, `<t>&amp;&lt;&gt;&quot;&apos;&nbsp;&eacute;</t>`, 0},
		{"unknown entity", `<t>&foo; &b-a.r;</t>`, `<t>&amp;foo; &amp;b-a.r;</t>`, 2},
		{"not a name", `<t>&1; & ;</t>`, `<t>&amp;1; &amp; ;</t>`, 2},
		{"character references kept", `<t>&#233;&#xE9;&#x1F600;&#9;</t>`, `<t>&#233;&#xE9;&#x1F600;&#9;</t>`, 0},
		{"illegal character references", `<t>a&#x1;b&#0;c&#xFFFE;d&#99999999999;e</t>`, "<t>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe</t>", 4},
		{"malformed character references", `<t>&#; &#x; &#12 &#X41;</t>`, `<t>&amp;#; &amp;#x; &amp;#12 &amp;#X41;</t>`, 4},
		{"overlong reference", `<t>&` + strings.Repeat("a", 60) + `;</t>`, `<t>&amp;` + strings.Repeat("a", 60) + `;</t>`, 1},
		{"attribute", `<t a="x&y" b='&lt;'/>`, `<t a="x&amp;y" b='&lt;'/>`, 1},
		{"CDATA untouched", `<t><![CDATA[R&D <b>x</b> ]] ] &#x1; ]]>&</t>`, `<t><![CDATA[R&D <b>x</b> ]] ] &#x1; ]]>&amp;</t>`, 1},
		{"two CDATA sections", `<t><![CDATA[&]]>&<![CDATA[&]]></t>`, `<t><![CDATA[&]]>&amp;<![CDATA[&]]></t>`, 1},
		{"brackets outside CDATA", `<t>]]x]</t>`, `<t>]]x]</t>`, 0},
	}
	for _, tt := range tests {
		doc := `<OAI-PMH><GetRecord><record><header><identifier>i</identifier></header><metadata>` + tt.payload +
			`</metadata></record></GetRecord></OAI-PMH>`
		for rn, r := range map[string]io.Reader{
			"whole":    strings.NewReader(doc),
			"one byte": iotest.OneByteReader(strings.NewReader(doc)),
		} {
			p, err := ParsePage(r, 0)
			if err != nil {
				t.Errorf("%s (%s): %v", tt.name, rn, err)
				continue
			}
			if len(p.Records) != 1 || string(p.Records[0].Metadata) != tt.want || p.Repairs != tt.repairs {
				t.Errorf("%s (%s): metadata %q, repairs %d; want %q, %d", tt.name, rn, p.Records[0].Metadata, p.Repairs, tt.want, tt.repairs)
			}
		}
	}
	// A document that ends right after a lookahead-worthy prefix.
	for _, tail := range []string{"&", "&am", "&#x", "<![CDA", "\xe2\x82"} {
		_, err := ParsePage(strings.NewReader("<OAI-PMH>"+tail), 0)
		if !errors.Is(err, fetch.ErrMalformedResponse) {
			t.Errorf("tail %q: %v", tail, err)
		}
	}
}
