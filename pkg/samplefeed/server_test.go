package samplefeed

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/oaipmh"
)

var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newTestServer(t testing.TB, corpus Corpus, pageSize int) *Server {
	t.Helper()
	s, err := NewServer(ServerConfig{
		Corpus: corpus, PageSize: pageSize,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do sends a GET with the raw query to the handler and parses the response.
func do(t testing.TB, s http.Handler, query string) *oaipmh.Page {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://example.com/oai?"+query, nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: HTTP %d", query, rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", query, ct)
	}
	p, err := oaipmh.ParsePage(rec.Body, 0)
	if err != nil {
		t.Fatalf("%s: response does not parse: %v", query, err)
	}
	if !p.ResponseDate.Equal(fixedNow) {
		t.Errorf("%s: responseDate %v", query, p.ResponseDate)
	}
	return p
}

func errCode(p *oaipmh.Page) string {
	if len(p.Errors) == 0 {
		return ""
	}
	return p.Errors[0].Code
}

func TestServerVerbs(t *testing.T) {
	c := NewCorpus(1, 250)
	s := newTestServer(t, c, 10)
	firstPage := do(t, s, "verb=ListRecords&metadataPrefix=oai_dc")
	if firstPage.Token == nil {
		t.Fatal("no resumption token on the first page")
	}
	validToken := url.QueryEscape(firstPage.Token.Value)
	deletedID := url.QueryEscape(c.Identifier(16))
	liveID := url.QueryEscape(c.Identifier(3))

	tests := []struct {
		name, query string
		code        string // expected error code, "" for success
		check       func(t *testing.T, p *oaipmh.Page)
	}{
		{"Identify", "verb=Identify", "", func(t *testing.T, p *oaipmh.Page) {
			id := p.Identify
			if id == nil || id.Granularity != "YYYY-MM-DDThh:mm:ssZ" || id.DeletedRecord != "persistent" ||
				id.EarliestDatestamp != "2025-01-01T00:00:00Z" || id.BaseURL != "http://example.com/oai" || id.ProtocolVersion != "2.0" ||
				id.RepositoryName != DefaultRepositoryName || len(id.AdminEmails) != 1 {
				t.Errorf("Identify = %+v", id)
			}
			if p.Request.Params["verb"] != "Identify" || p.Request.BaseURL != "http://example.com/oai" {
				t.Errorf("request = %+v", p.Request)
			}
		}},
		{"Identify extra argument", "verb=Identify&set=esrf", "badArgument", nil},
		{"no verb", "metadataPrefix=oai_dc", "badVerb", nil},
		{"illegal verb", "verb=ListEverything", "badVerb", nil},
		{"repeated verb", "verb=Identify&verb=Identify", "badVerb", nil},
		{"ListMetadataFormats", "verb=ListMetadataFormats", "", func(t *testing.T, p *oaipmh.Page) {
			var prefixes []string
			for _, f := range p.MetadataFormats {
				prefixes = append(prefixes, f.MetadataPrefix)
			}
			if strings.Join(prefixes, ",") != "oai_dc,oai_datacite,datacite" || p.MetadataFormats[1].MetadataNamespace != NamespaceOAIDataCite {
				t.Errorf("formats = %+v", p.MetadataFormats)
			}
		}},
		{"ListMetadataFormats item", "verb=ListMetadataFormats&identifier=" + liveID, "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.MetadataFormats) != 3 {
				t.Errorf("formats = %+v", p.MetadataFormats)
			}
		}},
		{"ListMetadataFormats unknown item", "verb=ListMetadataFormats&identifier=oai:x:1", "idDoesNotExist", nil},
		{"ListSets", "verb=ListSets", "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.Sets) != len(Facilities) || p.Sets[0].SetSpec != "esrf" || p.Sets[0].SetName != "European Synchrotron Radiation Facility (ESRF)" {
				t.Errorf("sets = %+v", p.Sets)
			}
		}},
		{"ListSets token", "verb=ListSets&resumptionToken=x", "badResumptionToken", nil},
		{"GetRecord", "verb=GetRecord&metadataPrefix=oai_datacite&identifier=" + liveID, "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.Records) != 1 || p.Records[0].Identifier != c.Identifier(3) || p.Records[0].Deleted ||
				!bytes.HasPrefix(p.Records[0].Metadata, []byte("<oai_datacite ")) || p.Records[0].SetSpecs[0] != c.FacilityOf(3).Slug {
				t.Errorf("records = %+v", p.Records)
			}
		}},
		{"GetRecord datacite", "verb=GetRecord&metadataPrefix=datacite&identifier=" + liveID, "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.Records) != 1 || !bytes.HasPrefix(p.Records[0].Metadata, []byte("<resource ")) {
				t.Errorf("records = %+v", p.Records)
			}
		}},
		{"GetRecord deleted", "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + deletedID, "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.Records) != 1 || !p.Records[0].Deleted || p.Records[0].Metadata != nil || p.Records[0].Datestamp != "2025-01-01T00:02:40Z" {
				t.Errorf("records = %+v", p.Records)
			}
		}},
		{"GetRecord unknown format", "verb=GetRecord&metadataPrefix=marc21&identifier=" + liveID, "cannotDisseminateFormat", nil},
		{"GetRecord unknown id", "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai%3Asample.fairway%3A10.5072%2Fesrf.9999", "idDoesNotExist", nil},
		{"GetRecord missing prefix", "verb=GetRecord&identifier=" + liveID, "badArgument", nil},
		{"ListRecords first page", "verb=ListRecords&metadataPrefix=oai_dc", "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.Records) != 10 || p.Token == nil || p.Token.CompleteListSize != 250 || p.Token.Cursor != 0 || p.Token.Value == "" {
				t.Errorf("%d records, token %+v", len(p.Records), p.Token)
			}
			if p.Request.Params["metadataPrefix"] != "oai_dc" || p.Request.Params["verb"] != "ListRecords" {
				t.Errorf("request = %+v", p.Request)
			}
		}},
		{"ListRecords token", "verb=ListRecords&resumptionToken=" + validToken, "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.Records) != 10 || p.Records[0].Identifier != c.Identifier(10) || p.Token.Cursor != 10 {
				t.Errorf("records %d, first %q, token %+v", len(p.Records), p.Records[0].Identifier, p.Token)
			}
			if p.Request.Params["resumptionToken"] != firstPage.Token.Value {
				t.Errorf("request = %+v", p.Request)
			}
		}},
		{"ListRecords missing prefix", "verb=ListRecords", "badArgument", nil},
		{"ListRecords repeated argument", "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument", nil},
		{"ListRecords unknown argument", "verb=ListRecords&metadataPrefix=oai_dc&foo=1", "badArgument", nil},
		{"ListRecords token and prefix", "verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=" + validToken, "badArgument", nil},
		{"ListRecords unknown format", "verb=ListRecords&metadataPrefix=mods", "cannotDisseminateFormat", nil},
		{"ListRecords bad from", "verb=ListRecords&metadataPrefix=oai_dc&from=2025-13-01", "badArgument", nil},
		{"ListRecords bad until", "verb=ListRecords&metadataPrefix=oai_dc&until=2025-01-01T00:00:00", "badArgument", nil},
		{"ListRecords mixed granularity", "verb=ListRecords&metadataPrefix=oai_dc&from=2025-01-01&until=2025-01-02T00:00:00Z", "badArgument", nil},
		{"ListRecords from after until", "verb=ListRecords&metadataPrefix=oai_dc&from=2025-01-02&until=2025-01-01", "badArgument", nil},
		{"ListRecords before the corpus", "verb=ListRecords&metadataPrefix=oai_dc&until=2024-12-31", "noRecordsMatch", nil},
		{"ListRecords after the corpus", "verb=ListRecords&metadataPrefix=oai_dc&from=2025-01-02", "noRecordsMatch", nil},
		{"ListRecords unknown set", "verb=ListRecords&metadataPrefix=oai_dc&set=cern", "noRecordsMatch", nil},
		{"ListRecords bad token", "verb=ListRecords&resumptionToken=v1.garbage", "badResumptionToken", nil},
		{"ListRecords tampered token", "verb=ListRecords&resumptionToken=" + url.QueryEscape(tamper(firstPage.Token.Value)), "badResumptionToken", nil},
		{"ListIdentifiers", "verb=ListIdentifiers&metadataPrefix=oai_datacite&set=ill", "", func(t *testing.T, p *oaipmh.Page) {
			if len(p.Records) != 10 || p.Token.CompleteListSize != 32 || p.Records[0].Metadata != nil || p.Records[0].SetSpecs[0] != "ill" {
				t.Errorf("%d headers, token %+v", len(p.Records), p.Token)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := do(t, s, tt.query)
			if got := errCode(p); got != tt.code {
				t.Fatalf("error code %q (%v), want %q", got, p.Errors, tt.code)
			}
			if tt.code == "badVerb" || tt.code == "badArgument" {
				if len(p.Request.Params) != 0 {
					t.Errorf("request element has attributes %v", p.Request.Params)
				}
			}
			if tt.code != "" && (len(p.Records) > 0 || p.Verb != p.Request.Params["verb"]) {
				t.Errorf("error response has records or a verb element: %+v", p)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

// tamper changes the offset inside a token but keeps its old checksum.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) - 12
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestServerTokenFromOtherCorpus(t *testing.T) {
	a := newTestServer(t, NewCorpus(1, 250), 10)
	b := newTestServer(t, NewCorpus(2, 250), 10)
	p := do(t, a, "verb=ListIdentifiers&metadataPrefix=oai_dc")
	if got := errCode(do(t, b, "verb=ListIdentifiers&resumptionToken="+url.QueryEscape(p.Token.Value))); got != "badResumptionToken" {
		t.Errorf("token of another corpus: %q", got)
	}
	if got := errCode(do(t, newTestServer(t, NewCorpus(1, 250), 10), "verb=ListIdentifiers&resumptionToken="+url.QueryEscape(p.Token.Value))); got != "" {
		t.Errorf("token on a replica of the same corpus: %q", got)
	}
}

// walk follows a list through the handler and returns the record indexes.
func walk(t *testing.T, s *Server, query string) (indexes []int, deleted int, pages int) {
	t.Helper()
	c := s.Corpus()
	complete := -1
	for {
		p := do(t, s, query)
		if code := errCode(p); code == "noRecordsMatch" {
			return nil, 0, 0
		} else if code != "" {
			t.Fatalf("%s: %v", query, p.Errors)
		}
		pages++
		for _, r := range p.Records {
			i, ok := c.IndexOf(r.Identifier)
			if !ok {
				t.Fatalf("unknown identifier %q", r.Identifier)
			}
			if r.Deleted != c.Deleted(i) || (r.Deleted && r.Metadata != nil) {
				t.Errorf("record %d: deleted %v, metadata %d bytes", i, r.Deleted, len(r.Metadata))
			}
			if r.Deleted {
				deleted++
			}
			if r.Datestamp != c.Datestamp(i).Format(datestampLayout) {
				t.Errorf("record %d: datestamp %s", i, r.Datestamp)
			}
			indexes = append(indexes, i)
		}
		if p.Token == nil {
			if pages > 1 {
				t.Errorf("%s: last of %d pages has no token element", query, pages)
			}
			return
		}
		if complete >= 0 && p.Token.CompleteListSize != complete {
			t.Errorf("completeListSize changed from %d to %d", complete, p.Token.CompleteListSize)
		}
		complete = p.Token.CompleteListSize
		if p.Token.Cursor != len(indexes)-len(p.Records) {
			t.Errorf("cursor %d, want %d", p.Token.Cursor, len(indexes)-len(p.Records))
		}
		if p.Token.Value == "" {
			if complete != len(indexes) {
				t.Errorf("completeListSize %d, got %d records", complete, len(indexes))
			}
			return
		}
		query = "verb=" + p.Verb + "&resumptionToken=" + url.QueryEscape(p.Token.Value)
	}
}

func TestServerPaging(t *testing.T) {
	tests := []struct {
		name     string
		corpus   Corpus
		pageSize int
		query    string
		want     func(i int) bool // which records the list holds
	}{
		{"records, page 7", NewCorpus(4, 250), 7, "verb=ListRecords&metadataPrefix=oai_datacite", func(int) bool { return true }},
		{"identifiers, page 100", NewCorpus(4, 1000), 100, "verb=ListIdentifiers&metadataPrefix=oai_dc", func(int) bool { return true }},
		{"exact multiple", NewCorpus(4, 200), 50, "verb=ListIdentifiers&metadataPrefix=oai_dc", func(int) bool { return true }},
		{"single page", NewCorpus(4, 30), 100, "verb=ListRecords&metadataPrefix=oai_dc", func(int) bool { return true }},
		{"set", NewCorpus(4, 1000), 25, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=psi", func(i int) bool { return i%len(Facilities) == 4 }},
		{"set and dates", NewCorpus(4, 1000), 9, "verb=ListRecords&metadataPrefix=oai_dc&set=desy&from=2025-01-01T00:10:03Z&until=2025-01-01T01:00:00Z",
			func(i int) bool { return i%len(Facilities) == 7 && i >= 61 && i <= 360 }},
		{"single facility corpus", Corpus{Seed: 1, Size: 300, Facility: "soleil", DeletedEvery: 5}, 40, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=soleil", func(int) bool { return true }},
		{"no deletions", Corpus{Seed: 1, Size: 120}, 50, "verb=ListRecords&metadataPrefix=oai_dc", func(int) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.corpus, tt.pageSize)
			got, deleted, pages := walk(t, s, tt.query)
			var want []int
			wantDeleted := 0
			for i := 0; i < tt.corpus.Size; i++ {
				if tt.want(i) {
					want = append(want, i)
					if tt.corpus.Deleted(i) {
						wantDeleted++
					}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("record %d of the list is %d, want %d", k, got[k], want[k])
				}
			}
			if deleted != wantDeleted {
				t.Errorf("%d deleted, want %d", deleted, wantDeleted)
			}
			if wantPages := (len(want) + tt.pageSize - 1) / tt.pageSize; pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

func TestServerFromUntil(t *testing.T) {
	c := Corpus{Seed: 9, Size: 20000, DeletedEvery: 17, Step: 37 * time.Second}
	s := newTestServer(t, c, 100000)
	count := func(from, until time.Time) int {
		n := 0
		for i := 0; i < c.Size; i++ {
			d := c.Datestamp(i)
			if !d.Before(from) && !d.After(until) {
				n++
			}
		}
		return n
	}
	base := c.Datestamp(0)
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		from, until string
		f, u        time.Time
	}{
		{"2025-01-01T00:00:00Z", "", base, far},
		{"2025-01-01T00:00:01Z", "", base.Add(time.Second), far},
		{"2025-01-01T00:00:37Z", "2025-01-01T00:00:37Z", base.Add(37 * time.Second), base.Add(37 * time.Second)},
		{"2025-01-02", "2025-01-03", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 3, 23, 59, 59, 0, time.UTC)},
		{"", "2025-01-01", time.Time{}, time.Date(2025, 1, 1, 23, 59, 59, 0, time.UTC)},
		{"2025-01-05T12:34:56Z", "2025-01-06T01:02:03Z", time.Date(2025, 1, 5, 12, 34, 56, 0, time.UTC), time.Date(2025, 1, 6, 1, 2, 3, 0, time.UTC)},
		{"2020-01-01", "2030-01-01", time.Time{}, far},
	}
	for _, tt := range tests {
		q := "verb=ListIdentifiers&metadataPrefix=oai_dc"
		if tt.from != "" {
			q += "&from=" + tt.from
		}
		if tt.until != "" {
			q += "&until=" + tt.until
		}
		want := count(tt.f, tt.u)
		p := do(t, s, q)
		got := len(p.Records)
		if errCode(p) == "noRecordsMatch" {
			got = 0
		}
		if got != want {
			t.Errorf("from %q until %q: %d records, want %d", tt.from, tt.until, got, want)
		}
		for _, r := range p.Records {
			d, _ := oaipmh.ParseDate(r.Datestamp)
			if d.Before(tt.f) || d.After(tt.u) {
				t.Errorf("from %q until %q: datestamp %s out of range", tt.from, tt.until, r.Datestamp)
			}
		}
	}
}

func TestServerMethods(t *testing.T) {
	s := newTestServer(t, NewCorpus(1, 50), 10)
	form := url.Values{"verb": {"ListIdentifiers"}, "metadataPrefix": {"oai_dc"}}
	req := httptest.NewRequest(http.MethodPost, "http://example.com/oai", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	p, err := oaipmh.ParsePage(rec.Body, 0)
	if err != nil || len(p.Records) != 10 {
		t.Fatalf("POST: %v, %+v", err, p)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "http://example.com/oai?verb=Identify", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("PUT: HTTP %d", rec.Code)
	}
}

func TestServerConfig(t *testing.T) {
	if _, err := NewServer(ServerConfig{Corpus: Corpus{Size: -1}}); err == nil {
		t.Error("negative corpus size accepted")
	}
	if _, err := NewServer(ServerConfig{PageSize: -1}); err == nil {
		t.Error("negative page size accepted")
	}
	s, err := NewServer(ServerConfig{Corpus: NewCorpus(1, 10), BaseURL: "https://node.example/oai", RepositoryName: "R & D"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/x?verb=Identify", nil))
	p, err := oaipmh.ParsePage(rec.Body, 0)
	if err != nil || p.Identify.BaseURL != "https://node.example/oai" || p.Identify.RepositoryName != "R & D" {
		t.Errorf("Identify = %+v, %v", p, err)
	}
}

// A client that goes away mid-page must not make the handler fail or spin.
func TestServerClientGone(t *testing.T) {
	s := newTestServer(t, NewCorpus(1, 10000), 10000)
	w := &failingWriter{header: http.Header{}, after: 64 << 10}
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://example.com/oai?verb=ListRecords&metadataPrefix=oai_datacite", nil))
	if w.writes > 3 {
		t.Errorf("%d writes after the first failure", w.writes)
	}
}

type failingWriter struct {
	header http.Header
	after  int
	n      int
	writes int
}

func (w *failingWriter) Header() http.Header { return w.header }
func (w *failingWriter) WriteHeader(int)     {}
func (w *failingWriter) Write(b []byte) (int, error) {
	if w.n >= w.after {
		w.writes++
		return 0, errors.New("broken pipe")
	}
	w.n += len(b)
	return len(b), nil
}

type discardWriter struct {
	header http.Header
	n      int64
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }

// BenchmarkServerPage measures serving one ListRecords page of 100
// oai_datacite records from a corpus of a million records.
func BenchmarkServerPage(b *testing.B) {
	s := newTestServer(b, NewCorpus(1, 1_000_000), 100)
	c := s.Corpus()
	w := &discardWriter{header: http.Header{}}
	records := 0
	k := 0
	for b.Loop() {
		from := c.Datestamp((k * 7919) % (c.Size - 100)).Format(datestampLayout)
		k++
		req := httptest.NewRequest(http.MethodGet, "http://example.com/oai?verb=ListRecords&metadataPrefix=oai_datacite&from="+from, nil)
		s.ServeHTTP(w, req)
		records += 100
	}
	b.SetBytes(w.n / int64(max(k, 1)))
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func TestServerRate(t *testing.T) {
	// At 400 records a second in pages of 40, the first page leaves at
	// once and the next four wait their turn: 160 records after it take at
	// least 0.4 s. Unpaced, the same list is not held back.
	for _, tc := range []struct {
		name    string
		rate    float64
		atLeast time.Duration
	}{
		{"paced", 400, 400 * time.Millisecond},
		{"unpaced", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewServer(ServerConfig{Corpus: NewCorpus(1, 200), PageSize: 40, Rate: tc.rate,
				Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, _, pages := walk(t, s, "verb=ListRecords&metadataPrefix=oai_dc")
			took := time.Since(start)
			if pages != 5 {
				t.Fatalf("%d pages, want 5", pages)
			}
			if took < tc.atLeast {
				t.Errorf("the list took %v, want at least %v", took, tc.atLeast)
			}
		})
	}
	if _, err := NewServer(ServerConfig{Corpus: NewCorpus(1, 10), Rate: -1}); err == nil {
		t.Error("a negative rate is accepted")
	}
}
