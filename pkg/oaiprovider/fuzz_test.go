package oaiprovider_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/panosc/fairway/pkg/oaiprovider"
)

// FuzzRequest sends hostile query strings, by GET and by POST: the provider
// never panics, and answers 200 with a well-formed OAI-PMH response (or
// 503 when the read model fails).
func FuzzRequest(f *testing.F) {
	n := newNode(f, oaiprovider.Config{PageSize: 3})
	sets := n.corpus(7, 2)
	for _, s := range []string{
		"", "verb=Identify", "verb=ListRecords&metadataPrefix=oai_dc", "verb=ListRecords&metadataPrefix=dcat_ap&set=technique:PaNET01188",
		"verb=ListIdentifiers&metadataPrefix=oai_datacite&from=2026-03-01&until=2026-03-02",
		"verb=GetRecord&metadataPrefix=datacite&identifier=" + n.prov.Identifier(sets[1].Dataset.Key),
		"verb=ListRecords&resumptionToken=e30.AAAAAAAAAAAAAAAAAAAAAA", "verb=ListSets&resumptionToken=%00",
		"verb=GetRecord&identifier=oai:node.example.org:%ff%fe&metadataPrefix=oai_dc", "verb=%ff", "%zz=1",
		"verb=ListRecords&metadataPrefix=oai_dc&set=facility:~zz", "verb=ListRecords&metadataPrefix=oai_dc&from=9999-12-31T23:59:59Z",
		"verb=ListRecords&metadataPrefix=oai_dc&from=0000-01-01", strings.Repeat("verb=Identify&", 2000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var req *http.Request
			if method == http.MethodGet {
				req = httptest.NewRequest(method, "/oai", nil)
				req.URL.RawQuery = query
			} else {
				req = httptest.NewRequest(method, "/oai", strings.NewReader(query))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			w := httptest.NewRecorder()
			n.prov.ServeHTTP(w, req)
			switch w.Code {
			case http.StatusOK:
				if _, err := parseResponse(w.Body.Bytes()); err != nil {
					t.Fatalf("%s %q: %v\n%s", method, query, err, w.Body.String())
				}
			case http.StatusServiceUnavailable:
			default:
				t.Fatalf("%s %q: status %d", method, query, w.Code)
			}
		}
	})
}
