package panoscapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/pkg/search"
)

// testMaxScan is the scan bound of the bulk catalogue's tests, well
// under the catalogue's size.
const testMaxScan = 50

// bulk is a catalogue of 150 datasets: 7 in 10 tagged with a narrower
// tomography, the others with SAXS; 2 in 3 at ESRF (instruments ID19 and
// BM05), the others at ILL (D20); 1 in 4 under CC0, the others CC-BY; 1 in
// 5 restricted.
func bulk() []searchtest.Dataset {
	var out []searchtest.Dataset
	for i := range 150 {
		d := searchtest.Dataset{Key: fmt.Sprintf("bulk-%03d", i), Title: fmt.Sprintf("Run %d", i),
			Facility: "ESRF", Instrument: "ID19", Licence: "CC-BY-4.0", Access: searchtest.Public, Techniques: []string{"PaNET01188"}}
		if i%10 < 7 {
			d.Techniques = []string{"PaNET01208"}
		}
		switch {
		case i%3 == 0:
			d.Facility, d.Instrument = "ILL", "D20"
		case i%3 == 1:
			d.Instrument = "BM05"
		}
		if i%4 == 0 {
			d.Licence = "CC0-1.0"
		}
		if i%5 == 0 {
			d.Access = searchtest.Restricted
		}
		out = append(out, d)
	}
	return out
}

// bulkServer serves the API over a read model of bulk with a scan bound
// of testMaxScan.
func bulkServer(t *testing.T) *httptest.Server {
	t.Helper()
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), bulk()))
	h, err := New(Config{Model: model, Techniques: search.NewTerms(m), MaxScan: testMaxScan})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// answer is one response of the API.
type answer struct {
	code      int
	header    http.Header
	list      []map[string]any
	count     float64
	truncated bool
}

func call(t *testing.T, srv *httptest.Server, path, key, value string) answer {
	t.Helper()
	u := srv.URL + Prefix + path
	if value != "" {
		u += "?" + url.Values{key: {value}}.Encode()
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	a := answer{code: res.StatusCode, header: res.Header, truncated: res.Header.Get(HeaderTruncated) != ""}
	var body any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	switch b := body.(type) {
	case []any:
		for _, o := range b {
			a.list = append(a.list, o.(map[string]any))
		}
	case map[string]any:
		if c, ok := b["count"].(float64); ok {
			a.count = c
		}
	}
	return a
}

// TestPushDown runs filters over a catalogue three times the scan bound:
// those the read model answers in full (techniques, licence) or narrows
// under the bound (an instrument, a facility) are exact; those it cannot
// narrow say they are truncated (a header on a page, 422 for a count).
func TestPushDown(t *testing.T) {
	srv := bulkServer(t)
	ds := bulk()
	tomo := func(d searchtest.Dataset) bool { return d.Techniques[0] == "PaNET01208" }
	all := func(searchtest.Dataset) bool { return true }
	count := func(keep func(searchtest.Dataset) bool) int {
		n := 0
		for _, d := range ds {
			if keep(d) {
				n++
			}
		}
		return n
	}
	// public among the first testMaxScan by key: what a truncated scan sees.
	publicSeen := 0
	for _, d := range ds[:testMaxScan] {
		if d.Access == searchtest.Public {
			publicSeen++
		}
	}
	for _, tc := range []struct {
		name, path, key, value string
		// want is the number of objects (or the count); -1 for a 422.
		want      int
		truncated bool
	}{
		{name: "count of all", path: "/datasets/count", want: count(all)},
		{name: "documents count by licence", path: "/documents/count", key: "where", value: `{"license":"CC-BY-4.0"}`,
			want: count(func(d searchtest.Dataset) bool { return d.Licence == "CC-BY-4.0" })},
		{name: "technique name takes in narrower", path: "/datasets", key: "filter",
			value: `{"limit":1000,"include":[{"relation":"techniques","scope":{"where":{"name":"tomography"}}}]}`, want: count(tomo)},
		{name: "technique inq", path: "/datasets", key: "filter",
			value: `{"limit":1000,"include":[{"relation":"techniques","scope":{"where":{"pid":{"inq":["PaNET01129","PaNET01188"]}}}}]}`, want: count(all)},
		{name: "technique and licence, skipped", path: "/datasets", key: "filter",
			value: `{"skip":10,"limit":1000,"include":[{"relation":"techniques","scope":{"where":{"pid":"PaNET01208"}}},{"relation":"documents","scope":{"where":{"license":"CC0-1.0"}}}]}`,
			want:  count(func(d searchtest.Dataset) bool { return tomo(d) && d.Licence == "CC0-1.0" }) - 10},
		{name: "documents of a technique", path: "/documents", key: "filter",
			value: `{"limit":1000,"include":[{"relation":"datasets","scope":{"include":[{"relation":"techniques","scope":{"where":{"name":"small angle scattering"}}}]}}]}`,
			want:  count(func(d searchtest.Dataset) bool { return !tomo(d) })},
		// Narrowed to 50 records by the instrument, evaluated in full.
		{name: "instrument and a where", path: "/datasets", key: "filter",
			value: `{"limit":1000,"where":{"isPublic":false},"include":[{"relation":"instrument","scope":{"where":{"name":"D20"}}}]}`,
			want:  count(func(d searchtest.Dataset) bool { return d.Instrument == "D20" && d.Access != searchtest.Public })},
		{name: "instruments of a facility", path: "/instruments", key: "filter", value: `{"where":{"facility":"ILL"}}`, want: 1},
		// Not narrowed: the first testMaxScan records only, and said so.
		{name: "where alone is truncated", path: "/datasets", key: "filter", value: `{"limit":1000,"where":{"isPublic":true}}`,
			want: publicSeen, truncated: true},
		{name: "a truncated count is refused", path: "/datasets/count", key: "where", value: `{"isPublic":true}`, want: -1},
		{name: "a full page is not truncated", path: "/datasets", key: "filter", value: `{"limit":5,"where":{"isPublic":true}}`, want: 5},
		{name: "instruments count over the bound", path: "/instruments/count", want: -1},
		// Instruments are sorted once collected: even a full page may miss
		// some of the datasets not read.
		{name: "instruments over the bound", path: "/instruments", key: "filter", value: `{"limit":1}`, want: 1, truncated: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, srv, tc.path, tc.key, tc.value)
			got := len(a.list)
			if a.list == nil {
				got = int(a.count)
			}
			switch {
			case tc.want < 0:
				if a.code != http.StatusUnprocessableEntity || !a.truncated {
					t.Fatalf("status %d (truncated %v), want 422 truncated", a.code, a.truncated)
				}
				return
			case a.code != http.StatusOK:
				t.Fatalf("status %d", a.code)
			}
			if got != tc.want || a.truncated != tc.truncated {
				t.Errorf("got %d (truncated %v), want %d (truncated %v)", got, a.truncated, tc.want, tc.truncated)
			}
			if n, _ := strconv.Atoi(a.header.Get(HeaderScanned)); n > max(testMaxScan, tc.want+10) {
				t.Errorf("%d records scanned", n)
			}
		})
	}
}

func TestPushDownQuery(t *testing.T) {
	for _, tc := range []struct {
		name, filter string
		k            kind
		technique    string
		any          int
		instrument   string
		licence      string
		exact        bool
	}{
		{name: "nothing", filter: `{}`, exact: true},
		{name: "technique", filter: `{"include":[{"relation":"techniques","scope":{"where":{"pid":"http://purl.org/pan-science/PaNET/PaNET01129"}}}]}`,
			technique: "http://purl.org/pan-science/PaNET/PaNET01129", exact: true},
		{name: "technique and another condition", filter: `{"include":[{"relation":"techniques","scope":{"where":{"pid":"http://x/1","name":"x"}}}]}`,
			technique: "http://x/1"},
		{name: "two techniques", filter: `{"include":[{"relation":"techniques","scope":{"where":{"pid":"http://x/1"}}},{"relation":"techniques","scope":{"where":{"pid":{"inq":["http://x/2","http://x/3"]}}}}]}`,
			technique: "http://x/1", any: 2, exact: true},
		{name: "a bare id is not pushed", filter: `{"include":[{"relation":"techniques","scope":{"where":{"pid":"PaNET01129"}}}]}`},
		{name: "technique in an or", filter: `{"include":[{"relation":"techniques","scope":{"where":{"or":[{"pid":"http://x/1"},{"pid":"http://x/2"}]}}}]}`},
		{name: "instrument narrows", filter: `{"include":[{"relation":"instrument","scope":{"where":{"name":"ID19"}}}]}`, instrument: "ID19"},
		{name: "licence of the document", filter: `{"include":[{"relation":"documents","scope":{"where":{"license":"CC0-1.0"}}}]}`, licence: "CC0-1.0", exact: true},
		{name: "licence as a document", k: kindDocument, filter: `{"where":{"license":"CC0-1.0"}}`, licence: "CC0-1.0", exact: true},
		{name: "a dataset where", filter: `{"where":{"creationDate":{"gt":"2024"}}}`},
		{name: "an include without a scope", filter: `{"include":["files","techniques"]}`, exact: true},
		{name: "files scope", filter: `{"include":[{"relation":"files","scope":{"where":{"text":"x"}}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			p := pushDown(&f, tc.k)
			if p.q.Technique != tc.technique || len(p.q.AnyTechnique) != tc.any || p.q.Instrument != tc.instrument ||
				p.q.Licence != tc.licence || p.exact != tc.exact {
				t.Errorf("got %+v exact %v", p.q, p.exact)
			}
		})
	}
}
