package oaiprovider_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/datacite"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/dublincore"
	"github.com/panosc/fairway/pkg/oaiprovider"
	"github.com/panosc/fairway/pkg/rdfenc"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestVerbs asks every verb with good and bad arguments and checks the
// answer: the error code, or the verb's element and what it must hold; the
// request element echoes the arguments unless they are bad.
func TestVerbs(t *testing.T) {
	n := newNode(t, oaiprovider.Config{PageSize: 7})
	sets := n.corpus(20, 3, 5)
	id := func(i int) string { return url.QueryEscape(n.prov.Identifier(sets[i].Dataset.Key)) }
	for _, tc := range []struct {
		name, query string
		code        string
		echo        bool // the request element carries the arguments
		check       func(t *testing.T, r *oaiResponse)
	}{
		{"Identify", "verb=Identify", "", true, func(t *testing.T, r *oaiResponse) {
			i := r.Identify
			if i.RepositoryName != oaiprovider.DefaultRepositoryName || i.BaseURL != baseURL+"/oai" || i.ProtocolVersion != "2.0" ||
				i.DeletedRecord != "persistent" || i.Granularity != "YYYY-MM-DDThh:mm:ssZ" || i.EarliestDatestamp != "2026-03-01T12:00:00Z" ||
				!slices.Equal(i.AdminEmail, []string{"admin@node.example.org"}) {
				t.Errorf("identify: %+v", i)
			}
			if len(i.Description) != 1 || i.Description[0].ID == nil || i.Description[0].ID.RepositoryIdentifier != "node.example.org" ||
				i.Description[0].ID.Scheme != "oai" || i.Description[0].ID.Delimiter != ":" ||
				!strings.HasPrefix(i.Description[0].ID.SampleIdentifier, "oai:node.example.org:") {
				t.Errorf("oai-identifier description: %+v", i.Description)
			}
		}},
		{"Identify with an argument", "verb=Identify&set=x", oaiprovider.BadArgument, false, nil},
		{"no verb", "metadataPrefix=oai_dc", oaiprovider.BadVerb, false, nil},
		{"empty request", "", oaiprovider.BadVerb, false, nil},
		{"unknown verb", "verb=ListEverything", oaiprovider.BadVerb, false, nil},
		{"repeated verb", "verb=Identify&verb=Identify", oaiprovider.BadVerb, false, nil},
		{"verb in the wrong case", "verb=identify", oaiprovider.BadVerb, false, nil},
		{"ListMetadataFormats", "verb=ListMetadataFormats", "", true, func(t *testing.T, r *oaiResponse) {
			var prefixes []string
			for _, f := range r.ListMetadataFormats.Formats {
				prefixes = append(prefixes, f.Prefix)
				if f.Schema == "" || f.Namespace == "" {
					t.Errorf("format %+v", f)
				}
			}
			if want := []string{"oai_dc", "oai_datacite", "datacite", "dcat_ap"}; !slices.Equal(prefixes, want) {
				t.Errorf("formats %v, want %v", prefixes, want)
			}
		}},
		{"ListMetadataFormats of a record", "verb=ListMetadataFormats&identifier=" + id(4), "", true, func(t *testing.T, r *oaiResponse) {
			if len(r.ListMetadataFormats.Formats) != 4 {
				t.Errorf("formats %+v", r.ListMetadataFormats.Formats)
			}
		}},
		{"ListMetadataFormats of a deleted record", "verb=ListMetadataFormats&identifier=" + id(3), "", true, nil},
		{"ListMetadataFormats of an unknown record", "verb=ListMetadataFormats&identifier=oai:node.example.org:doi%3A10.9999%2Fnone", oaiprovider.IDDoesNotExist, true, nil},
		{"ListMetadataFormats of another repository's record", "verb=ListMetadataFormats&identifier=oai:elsewhere.org:x", oaiprovider.IDDoesNotExist, true, nil},
		{"ListMetadataFormats with a bad argument", "verb=ListMetadataFormats&metadataPrefix=oai_dc", oaiprovider.BadArgument, false, nil},
		{"ListSets", "verb=ListSets", "", true, func(t *testing.T, r *oaiResponse) {
			got := map[string]string{}
			for _, s := range r.ListSets.Sets {
				got[s.Spec] = s.Name
			}
			want := map[string]string{
				"openaire_data": "OpenAIRE", "facility": "Datasets by facility", "facility:esrf": "ESRF", "facility:ill": "ILL",
				"facility:max~20iv": "MAX IV", "technique": "Datasets by PaNET technique", "technique:PaNET01188": "tomography",
				"technique:PaNET01102": "x-ray diffraction", "technique:PaNET00001": "PaNET00001", "technique:PaNET01012": "PaNET01012",
			}
			if len(got) != len(want) {
				t.Errorf("sets %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("set %s: name %q, want %q", k, got[k], v)
				}
			}
		}},
		{"ListSets with a token", "verb=ListSets&resumptionToken=abc", oaiprovider.BadResumptionToken, true, nil},
		{"GetRecord", "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + id(2), "", true, func(t *testing.T, r *oaiResponse) {
			rec := r.GetRecord.Record
			if rec.Header.Identifier != n.prov.Identifier(sets[2].Dataset.Key) || rec.Header.Status != "" || rec.Header.Datestamp != "2026-03-01T12:00:02Z" {
				t.Errorf("header %+v", rec.Header)
			}
			if want := []string{"openaire_data", "facility:max~20iv", "technique:PaNET00001", "technique:PaNET01012", "technique:PaNET01188"}; !slices.Equal(rec.Header.SetSpecs, want) {
				t.Errorf("sets %v, want %v", rec.Header.SetSpecs, want)
			}
			dc, err := dublincore.Parse(rec.Metadata.Inner)
			if err != nil {
				t.Fatal(err)
			}
			got := dc.ToDataset(time.Now())
			if got.Title != "Dataset 2" || !strings.HasPrefix(got.LandingPage, "https://node.example.org/datasets/") {
				t.Errorf("oai_dc read back: %+v", got)
			}
			if !slices.Contains(dc.Subjects, "tomography") || !slices.Contains(dc.Types, "Dataset") || !slices.Contains(dc.Rights, datacite.EURepoOpen) {
				t.Errorf("oai_dc: subjects %v types %v rights %v", dc.Subjects, dc.Types, dc.Rights)
			}
		}},
		{"GetRecord oai_datacite", "verb=GetRecord&metadataPrefix=oai_datacite&identifier=" + id(1), "", true, func(t *testing.T, r *oaiResponse) {
			res, err := datacite.Parse(r.GetRecord.Record.Metadata.Inner)
			if err != nil {
				t.Fatal(err)
			}
			if res.DOI() != sets[1].Dataset.Doi || res.DatacentreSymbol != "ILL" || res.SchemaVersion != datacite.Kernel4Version {
				t.Errorf("oai_datacite: doi %q symbol %q version %q", res.DOI(), res.DatacentreSymbol, res.SchemaVersion)
			}
		}},
		{"GetRecord datacite of a dataset without DOI", "verb=GetRecord&metadataPrefix=datacite&identifier=" + id(2), "", true, func(t *testing.T, r *oaiResponse) {
			res, err := datacite.Parse(r.GetRecord.Record.Metadata.Inner)
			if err != nil {
				t.Fatal(err)
			}
			if res.IdentifierType != "URL" || !strings.HasPrefix(res.Identifier, baseURL+"/datasets/") {
				t.Errorf("identifier %q (%s)", res.Identifier, res.IdentifierType)
			}
		}},
		{"GetRecord dcat_ap", "verb=GetRecord&metadataPrefix=dcat_ap&identifier=" + id(0), "", true, func(t *testing.T, r *oaiResponse) {
			inner := r.GetRecord.Record.Metadata.Inner
			if bytes.Contains(inner, []byte("<?xml")) || !bytes.Contains(inner, []byte("rdf:RDF")) ||
				!bytes.Contains(inner, []byte(`rdf:about="https://doi.org/10.5555/esrf-0"`)) {
				t.Errorf("dcat_ap:\n%s", inner)
			}
		}},
		{"GetRecord of a deleted record", "verb=GetRecord&metadataPrefix=oai_datacite&identifier=" + id(5), "", true, func(t *testing.T, r *oaiResponse) {
			rec := r.GetRecord.Record
			if rec.Header.Status != "deleted" || rec.Metadata != nil || rec.Header.Datestamp != "2026-03-01T12:00:21Z" {
				t.Errorf("deleted record: %+v", rec)
			}
		}},
		{"GetRecord of an unknown record", "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:node.example.org:nothing", oaiprovider.IDDoesNotExist, true, nil},
		{"GetRecord of a malformed identifier", "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:node.example.org:%25zz", oaiprovider.IDDoesNotExist, true, nil},
		{"GetRecord in an unknown format", "verb=GetRecord&metadataPrefix=marc21&identifier=" + id(1), oaiprovider.CannotDisseminateFormat, true, nil},
		{"GetRecord without identifier", "verb=GetRecord&metadataPrefix=oai_dc", oaiprovider.BadArgument, false, nil},
		{"GetRecord without prefix", "verb=GetRecord&identifier=" + id(1), oaiprovider.BadArgument, false, nil},
		{"GetRecord with a repeated argument", "verb=GetRecord&metadataPrefix=oai_dc&metadataPrefix=oai_dc&identifier=" + id(1), oaiprovider.BadArgument, false, nil},
		{"ListIdentifiers", "verb=ListIdentifiers&metadataPrefix=oai_dc", "", true, func(t *testing.T, r *oaiResponse) {
			l := r.ListIdentifiers
			if len(l.Headers) != 7 || l.Token == nil || l.Token.Value == "" || l.Token.Cursor != "0" || l.Token.CompleteListSize != "20" {
				t.Errorf("first page: %d headers, token %+v", len(l.Headers), l.Token)
			}
			if l.Headers[3].Status != "" || l.Headers[0].Datestamp != "2026-03-01T12:00:00Z" {
				t.Errorf("headers %+v", l.Headers)
			}
		}},
		{"ListIdentifiers without prefix", "verb=ListIdentifiers", oaiprovider.BadArgument, false, nil},
		{"ListIdentifiers with an unknown argument", "verb=ListIdentifiers&metadataPrefix=oai_dc&foo=bar", oaiprovider.BadArgument, false, nil},
		{"ListIdentifiers with an empty argument", "verb=ListIdentifiers&metadataPrefix=oai_dc&set=", oaiprovider.BadArgument, false, nil},
		{"ListIdentifiers in an unknown format", "verb=ListIdentifiers&metadataPrefix=mods", oaiprovider.CannotDisseminateFormat, true, nil},
		{"ListRecords of a facility", "verb=ListRecords&metadataPrefix=oai_dc&set=facility:max~20iv", "", true, func(t *testing.T, r *oaiResponse) {
			if len(r.ListRecords.Records) != 6 || r.ListRecords.Token != nil { // 2, 5 (deleted), 8, 11, 14, 17
				t.Errorf("%d records, token %+v", len(r.ListRecords.Records), r.ListRecords.Token)
			}
			for _, rec := range r.ListRecords.Records {
				if (rec.Header.Status == "deleted") != (rec.Metadata == nil) {
					t.Errorf("record %+v", rec.Header)
				}
			}
		}},
		{"ListRecords of a technique and its narrower ones", "verb=ListIdentifiers&metadataPrefix=oai_dc&set=technique:PaNET01012", "", true, func(t *testing.T, r *oaiResponse) {
			if len(r.ListIdentifiers.Headers) != 7 || r.ListIdentifiers.Token.CompleteListSize != "10" {
				t.Errorf("%d headers, token %+v", len(r.ListIdentifiers.Headers), r.ListIdentifiers.Token)
			}
		}},
		{"ListRecords of the technique parent set", "verb=ListIdentifiers&metadataPrefix=oai_dc&set=technique", "", true, func(t *testing.T, r *oaiResponse) {
			if r.ListIdentifiers.Token.CompleteListSize != "20" {
				t.Errorf("token %+v", r.ListIdentifiers.Token)
			}
		}},
		{"ListRecords of openaire_data from until", "verb=ListRecords&metadataPrefix=oai_datacite&set=openaire_data&from=2026-03-01T12:00:03Z&until=2026-03-01T12:00:06Z", "", true, func(t *testing.T, r *oaiResponse) {
			var stamps []string
			for _, rec := range r.ListRecords.Records {
				stamps = append(stamps, rec.Header.Datestamp)
			}
			// 3 and 5 were deleted later: their datestamps moved.
			if want := []string{"2026-03-01T12:00:04Z", "2026-03-01T12:00:06Z"}; !slices.Equal(stamps, want) {
				t.Errorf("datestamps %v, want %v", stamps, want)
			}
		}},
		{"ListRecords from a day", "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-03-01&until=2026-03-01", "", true, func(t *testing.T, r *oaiResponse) {
			if r.ListIdentifiers.Token.CompleteListSize != "20" {
				t.Errorf("token %+v", r.ListIdentifiers.Token)
			}
		}},
		{"ListRecords after everything", "verb=ListRecords&metadataPrefix=oai_dc&from=2027-01-01", oaiprovider.NoRecordsMatch, true, nil},
		{"ListRecords of an unknown set", "verb=ListRecords&metadataPrefix=oai_dc&set=facility:nowhere", oaiprovider.NoRecordsMatch, true, nil},
		{"ListRecords of an unknown set family", "verb=ListRecords&metadataPrefix=oai_dc&set=colour:red", oaiprovider.NoRecordsMatch, true, nil},
		{"ListRecords of a malformed set", "verb=ListRecords&metadataPrefix=oai_dc&set=a%20b", oaiprovider.BadArgument, false, nil},
		{"ListRecords with a bad from", "verb=ListRecords&metadataPrefix=oai_dc&from=yesterday", oaiprovider.BadArgument, false, nil},
		{"ListRecords with a date that does not exist", "verb=ListRecords&metadataPrefix=oai_dc&from=2026-02-30", oaiprovider.BadArgument, false, nil},
		{"ListRecords finer than the granularity", "verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01T12:00:00.5Z", oaiprovider.BadArgument, false, nil},
		{"ListRecords with a local time", "verb=ListRecords&metadataPrefix=oai_dc&until=2026-03-01T12:00:00%2B01:00", oaiprovider.BadArgument, false, nil},
		{"ListRecords with from after until", "verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-02&until=2026-03-01", oaiprovider.BadArgument, false, nil},
		{"ListRecords with mixed granularities", "verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01&until=2026-03-02T00:00:00Z", oaiprovider.BadArgument, false, nil},
		{"ListRecords with a malformed token", "verb=ListRecords&resumptionToken=not-a-token", oaiprovider.BadResumptionToken, true, nil},
		{"ListRecords with a forged token", "verb=ListRecords&resumptionToken=eyJ2IjoiTGlzdFJlY29yZHMifQ.AAAAAAAAAAAAAAAAAAAAAA", oaiprovider.BadResumptionToken, true, nil},
		{"ListRecords with a token and more", "verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc", oaiprovider.BadArgument, false, nil},
		{"a query that does not parse", "verb=Identify&x=%zz", oaiprovider.BadArgument, false, nil},
		{"an argument too long", "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + strings.Repeat("a", 17000), oaiprovider.BadArgument, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, body := n.get(tc.query)
			if r.code() != tc.code {
				t.Fatalf("error %q, want %q:\n%s", r.code(), tc.code, body)
			}
			if r.Request.URL != baseURL+"/oai" {
				t.Errorf("request element %q", r.Request.URL)
			}
			if echoed := len(r.Request.Attrs) > 0 || r.Request.Verb != ""; echoed != tc.echo {
				t.Errorf("request element echoes arguments: %v, want %v:\n%s", echoed, tc.echo, body)
			}
			if tc.echo && tc.query != "" && !strings.Contains(tc.query, r.Request.Verb) {
				t.Errorf("echoed verb %q", r.Request.Verb)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// TestPost asks with POST, as the protocol allows.
func TestPost(t *testing.T) {
	n := newNode(t, oaiprovider.Config{})
	n.corpus(3)
	r, body := n.post(url.Values{"verb": {"ListIdentifiers"}, "metadataPrefix": {"oai_dc"}})
	if r.code() != "" || len(r.ListIdentifiers.Headers) != 3 || r.Request.Verb != "ListIdentifiers" {
		t.Fatalf("POST ListIdentifiers:\n%s", body)
	}
	resp, err := http.Post(n.srv.URL+"/oai", "text/plain", strings.NewReader("verb=Identify"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("POST text/plain: status %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPut, n.srv.URL+"/oai?verb=Identify", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT: status %d", resp.StatusCode)
	}
}

// harvest walks a list with resumption tokens, checking each token, and
// returns the headers and the records' metadata seen, in order; between
// pages it calls between(page number).
func harvest(t *testing.T, n *node, query string, between func(page int)) ([]oaiHeader, [][]byte) {
	t.Helper()
	var headers []oaiHeader
	var metadata [][]byte
	verb := "ListRecords"
	if strings.Contains(query, "ListIdentifiers") {
		verb = "ListIdentifiers"
	}
	cursor := 0
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("the list does not end")
		}
		r, body := n.get(query)
		if r.code() != "" {
			t.Fatalf("page %d: %s", page, body)
		}
		var tok *oaiToken
		got := 0
		if verb == "ListRecords" {
			for _, rec := range r.ListRecords.Records {
				headers = append(headers, rec.Header)
				if rec.Metadata != nil {
					metadata = append(metadata, rec.Metadata.Inner)
				} else {
					metadata = append(metadata, nil)
				}
			}
			tok, got = r.ListRecords.Token, len(r.ListRecords.Records)
		} else {
			headers = append(headers, r.ListIdentifiers.Headers...)
			tok, got = r.ListIdentifiers.Token, len(r.ListIdentifiers.Headers)
		}
		if tok == nil {
			if page > 0 {
				t.Fatalf("page %d of a list of several has no resumptionToken element", page)
			}
			return headers, metadata
		}
		if tok.Cursor != strconv.Itoa(cursor) {
			t.Errorf("page %d: cursor %s, want %d", page, tok.Cursor, cursor)
		}
		if size, err := strconv.Atoi(tok.CompleteListSize); err != nil || size < cursor+got {
			t.Errorf("page %d: completeListSize %q, below %d", page, tok.CompleteListSize, cursor+got)
		}
		cursor += got
		if tok.Value == "" {
			if tok.ExpirationDate != "" {
				t.Errorf("the last page's token expires: %+v", tok)
			}
			return headers, metadata
		}
		if exp, err := time.Parse(time.RFC3339, tok.ExpirationDate); err != nil || !exp.Equal(n.clock.Now().Truncate(time.Second).Add(time.Hour)) {
			t.Errorf("expirationDate %q", tok.ExpirationDate)
		}
		if between != nil {
			between(page)
		}
		query = "verb=" + verb + "&resumptionToken=" + url.QueryEscape(tok.Value)
	}
}

// TestResumption harvests a list in pages, and another while datasets
// change and are deleted: every dataset comes out, each at its last
// datestamp, tombstones as deleted.
func TestResumption(t *testing.T) {
	n := newNode(t, oaiprovider.Config{PageSize: 4})
	sets := n.corpus(15, 0, 7)
	headers, metadata := harvest(t, n, "verb=ListRecords&metadataPrefix=oai_datacite", nil)
	if len(headers) != 15 {
		t.Fatalf("%d records, want 15", len(headers))
	}
	for i, h := range headers {
		deleted := h.Status == "deleted"
		if deleted != (metadata[i] == nil) {
			t.Errorf("%s: deleted %v, metadata %d bytes", h.Identifier, deleted, len(metadata[i]))
		}
		if deleted != (h.Identifier == n.prov.Identifier(sets[0].Dataset.Key) || h.Identifier == n.prov.Identifier(sets[7].Dataset.Key)) {
			t.Errorf("%s: status %q", h.Identifier, h.Status)
		}
		if i > 0 && h.Datestamp < headers[i-1].Datestamp {
			t.Errorf("datestamps out of order at %d", i)
		}
	}

	// During a harvest: dataset 1 (already sent) changes, 14 (not yet sent)
	// is deleted, 15 is new.
	changed := dataset(1)
	changed.Dataset.Title = "Dataset 1, corrected"
	headers, metadata = harvest(t, n, "verb=ListRecords&metadataPrefix=oai_dc", func(page int) {
		if page == 0 {
			at := epoch.Add(time.Hour)
			n.publish(entry(t, changed, at), entry(t, tombstone(sets[14]), at.Add(time.Second)), entry(t, dataset(15), at.Add(2*time.Second)))
		}
	})
	seen := map[string][]string{}
	for _, h := range headers {
		seen[h.Identifier] = append(seen[h.Identifier], h.Status)
	}
	for i := range 16 {
		if len(seen[n.prov.Identifier(dataset(i).Dataset.Key)]) == 0 {
			t.Errorf("dataset %d missing from the harvest", i)
		}
	}
	last := headers[len(headers)-3:]
	if last[0].Identifier != n.prov.Identifier(changed.Dataset.Key) || last[1].Status != "deleted" || last[2].Identifier != n.prov.Identifier(dataset(15).Dataset.Key) {
		t.Errorf("the changes did not come last: %+v", last)
	}
	if !bytes.Contains(metadata[len(metadata)-3], []byte("Dataset 1, corrected")) {
		t.Errorf("the changed dataset came out unchanged: %s", metadata[len(metadata)-3])
	}
}

// TestTokens: a token outlives neither its expiry nor its key, and
// continues only its own verb.
func TestTokens(t *testing.T) {
	n := newNode(t, oaiprovider.Config{PageSize: 2, TokenTTL: time.Minute})
	n.corpus(5)
	r, _ := n.get("verb=ListIdentifiers&metadataPrefix=oai_dc")
	tok := url.QueryEscape(r.ListIdentifiers.Token.Value)
	other, err := oaiprovider.New(oaiprovider.Config{BaseURL: baseURL, DCAT: dcat.Options{BaseURL: baseURL}, Now: n.clock.Now}, n.model, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query string
		prov        *oaiprovider.Provider
		wait        time.Duration
		code        string
	}{
		{"valid", "verb=ListIdentifiers&resumptionToken=" + tok, n.prov, 0, ""},
		{"another verb", "verb=ListRecords&resumptionToken=" + tok, n.prov, 0, oaiprovider.BadResumptionToken},
		{"another key (a restart)", "verb=ListIdentifiers&resumptionToken=" + tok, other, 0, oaiprovider.BadResumptionToken},
		{"altered", "verb=ListIdentifiers&resumptionToken=" + strings.Replace(tok, "e", "f", 1), n.prov, 0, oaiprovider.BadResumptionToken},
		{"too long", "verb=ListIdentifiers&resumptionToken=" + strings.Repeat("a", oaiprovider.MaxTokenLength+1), n.prov, 0, oaiprovider.BadArgument},
		{"expired", "verb=ListIdentifiers&resumptionToken=" + tok, n.prov, 2 * time.Minute, oaiprovider.BadResumptionToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n.clock.Add(tc.wait)
			srv := n.srv.URL
			if tc.prov != n.prov {
				mux := http.NewServeMux()
				mux.Handle("/oai", tc.prov)
				s := httptest.NewServer(mux)
				t.Cleanup(s.Close)
				srv = s.URL
			}
			resp, err := http.Get(srv + "/oai?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			r, body := n.read(resp)
			if r.code() != tc.code {
				t.Errorf("error %q, want %q:\n%s", r.code(), tc.code, body)
			}
		})
	}
}

// TestIdentifiers: keys with every kind of byte round-trip through their
// OAI identifiers.
func TestIdentifiers(t *testing.T) {
	n := newNode(t, oaiprovider.Config{})
	keys := []string{"src:esrf:a b%20c/ü?x&y=z", "doi:10.1234/abc(1)", "src:ill:100%", "src:ill:<tag>\"'#",
		"src:esrf:" + strings.Repeat("é ", 340) + "x"} // a source identifier of 1 KiB, escaped to 3 KiB
	for i, key := range keys {
		e := dataset(i)
		e.Dataset.Key, e.Dataset.Doi = key, ""
		n.publish(entry(t, e, epoch))
		id := n.prov.Identifier(key)
		if !oaiIdentifierSyntax(id) {
			t.Errorf("%q: identifier %q breaks the oai-identifier syntax", key, id)
		}
		r, body := n.get("verb=GetRecord&metadataPrefix=oai_dc&identifier=" + url.QueryEscape(id))
		if r.code() != "" || r.GetRecord.Record.Header.Identifier != id {
			t.Errorf("%q: %s", key, body)
		}
	}
}

// oaiIdentifierSyntax checks the local part's characters.
func oaiIdentifierSyntax(id string) bool {
	rest, ok := strings.CutPrefix(id, "oai:node.example.org:")
	if !ok {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'();/?:@&=+$,%", c) >= 0) {
			return false
		}
		if c == '%' && (i+2 >= len(rest) || !strings.ContainsRune("0123456789ABCDEF", rune(rest[i+1])) || !strings.ContainsRune("0123456789ABCDEF", rune(rest[i+2]))) {
			return false
		}
	}
	return true
}

// The dcat_ap record parses as RDF/XML into the triples of the entry.
func TestDCATRecord(t *testing.T) {
	n := newNode(t, oaiprovider.Config{})
	sets := n.corpus(1)
	r, _ := n.get("verb=GetRecord&metadataPrefix=dcat_ap&identifier=" + url.QueryEscape(n.prov.Identifier(sets[0].Dataset.Key)))
	ttl := entry(t, sets[0], epoch).Turtle
	want, err := rdfenc.ParseTurtle(ttl)
	if err != nil {
		t.Fatal(err)
	}
	got := rapperCount(t, r.GetRecord.Record.Metadata.Inner)
	if got != len(want) {
		t.Errorf("rapper read %d triples from the RDF/XML, the entry has %d", got, len(want))
	}
}

// rapperCount parses an RDF/XML document with raptor and returns how many
// triples it holds.
func rapperCount(t *testing.T, doc []byte) int {
	t.Helper()
	cmd := exec.Command(testenv.Rapper(t), "-q", "-i", "rdfxml", "-o", "ntriples", "-", baseURL+"/")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rapper: %v\n%s", err, doc)
	}
	return bytes.Count(out, []byte("\n"))
}

// TestExactPages: a list that fills its last page ends there, with an
// empty token, rather than with a token to an empty page.
func TestExactPages(t *testing.T) {
	n := newNode(t, oaiprovider.Config{PageSize: 4})
	n.corpus(8)
	for _, verb := range []string{"ListIdentifiers", "ListRecords"} {
		headers, _ := harvest(t, n, "verb="+verb+"&metadataPrefix=oai_dc", nil)
		if len(headers) != 8 {
			t.Errorf("%s: %d records, want 8", verb, len(headers))
		}
	}
}

// TestBrokenEntry: a catalogue entry that holds no dataset and no DCAT-AP
// (hostile, or from a broken stage) has no metadata format; lists leave it
// out rather than fail.
func TestBrokenEntry(t *testing.T) {
	n := newNode(t, oaiprovider.Config{})
	n.corpus(2)
	n.publish(&fairwayv1.CatalogueEntry{Key: "src:x:broken", ContentHash: "broken", PublishedAt: timestamppb.New(epoch.Add(time.Minute))})
	id := url.QueryEscape(n.prov.Identifier("src:x:broken"))
	for _, tc := range []struct{ query, code string }{
		{"verb=ListMetadataFormats&identifier=" + id, oaiprovider.NoMetadataFormats},
		{"verb=GetRecord&metadataPrefix=oai_dc&identifier=" + id, oaiprovider.CannotDisseminateFormat},
		{"verb=ListRecords&metadataPrefix=oai_datacite", ""},
		{"verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01T12:01:00Z", oaiprovider.NoRecordsMatch},
	} {
		r, body := n.get(tc.query)
		if r.code() != tc.code {
			t.Errorf("%s: error %q, want %q:\n%s", tc.query, r.code(), tc.code, body)
		}
		if r.ListRecords != nil && len(r.ListRecords.Records) != 2 {
			t.Errorf("%s: %d records, want the 2 good ones", tc.query, len(r.ListRecords.Records))
		}
	}
	var many strings.Builder
	for i := range 200 {
		many.WriteString("&x" + strconv.Itoa(i) + "=1")
	}
	r, body := n.get("verb=Identify" + many.String())
	if r.code() != oaiprovider.BadArgument || len(r.Errors[0].Message) > 1000 || !strings.Contains(r.Errors[0].Message, "and 192 more") {
		t.Errorf("many bad arguments: %s", body)
	}
}

// TestPagesOfBrokenEntries lists past pages none of whose entries can be
// disseminated: the list goes on to the good records, with its token,
// instead of ending early.
func TestPagesOfBrokenEntries(t *testing.T) {
	n := newNode(t, oaiprovider.Config{PageSize: 2})
	for i := range 5 {
		key := "src:x:broken" + strconv.Itoa(i)
		n.publish(&fairwayv1.CatalogueEntry{Key: key, ContentHash: key, PublishedAt: timestamppb.New(epoch.Add(-time.Hour + time.Duration(i)*time.Second))})
	}
	n.corpus(3)
	var got int
	query := "verb=ListRecords&metadataPrefix=oai_dc"
	for pages := 0; ; pages++ {
		r, body := n.get(query)
		if r.code() != "" || r.ListRecords == nil {
			t.Fatalf("%s: %s", query, body)
		}
		for _, rec := range r.ListRecords.Records {
			if !strings.Contains(rec.Header.Identifier, "broken") {
				got++
			}
		}
		tok := r.ListRecords.Token
		if tok == nil || tok.Value == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the list does not end")
		}
		query = "verb=ListRecords&resumptionToken=" + url.QueryEscape(tok.Value)
	}
	if got != 3 {
		t.Errorf("%d good records listed, want 3", got)
	}
}

// TestResponseDateAllowsForTheRenderLag: the responseDate a harvester
// takes as its next from is the read model's horizon less the render lag,
// so that an entry rendered before it and applied after is listed next
// time.
func TestResponseDateAllowsForTheRenderLag(t *testing.T) {
	n := newNode(t, oaiprovider.Config{Now: time.Now, RenderLag: 2 * time.Minute})
	n.corpus(2)
	r, body := n.get("verb=Identify")
	got, err := time.Parse("2006-01-02T15:04:05Z", r.ResponseDate)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if late := time.Now().Add(-2 * time.Minute); got.After(late) {
		t.Errorf("responseDate %v, want at most %v (now less the render lag)", got, late)
	}
	if early := time.Now().Add(-3 * time.Minute); got.Before(early) {
		t.Errorf("responseDate %v, far before the horizon of a model that has caught up", got)
	}
}
