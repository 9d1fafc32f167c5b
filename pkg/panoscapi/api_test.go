package panoscapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/pkg/search"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// server serves the API over a read model of the test catalogue; one
// ESRF record names its proposal, its instrument's PID and a file.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	m := searchtest.Ontology(t)
	entries := searchtest.Entries(m.Ontology(), searchtest.Catalogue)
	for _, e := range entries {
		ds := e.GetDataset().GetDataset()
		if ds.GetKey() == "esrf-1" {
			ds.ProposalId = "ES-1001"
			ds.InstrumentPid = "https://doi.org/10.5442/ESRF-ID19"
			ds.Distributions = []*fairwayv1.Distribution{{Title: "teeth_scan1.h5", DownloadUrl: "https://data.example.org/esrf-1/teeth_scan1.h5"}}
			ds.Creators[0].Orcid = "0000-0001-2345-6789"
			ds.Creators[0].Affiliation = "ESRF"
		}
	}
	model := searchtest.Model(t, entries)
	h, err := New(Config{Model: model, Techniques: search.NewTerms(m)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string, params map[string]string, into any) int {
	t.Helper()
	v := url.Values{}
	for k, p := range params {
		v.Set(k, p)
	}
	u := srv.URL + Prefix + path
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res.StatusCode
}

func pids(list []map[string]any) string {
	var out []string
	for _, o := range list {
		out = append(out, o["pid"].(string))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestDatasetExamples runs the kinds of query of the API's documentation
// (dataset-example-queries, document-example-queries, query) on the test
// catalogue.
func TestDatasetExamples(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct {
		name, path, filter, query string
		want                      string
	}{
		{name: "all live datasets", path: "/datasets",
			want: "10.15151/ESRF-ES-1001 10.15151/ESRF-ES-1002 10.3204/PUBDB-2024-01001 10.5291/ILL-DATA.5-21-1001 psi-1"},
		// Technique by name: tomography (PaNET01129) takes in the ESRF
		// datasets, tagged with narrower tomographies.
		{name: "technique name takes in narrower", path: "/datasets",
			filter: `{"include":[{"relation":"techniques","scope":{"where":{"name":"tomography"}}}]}`,
			want:   "10.15151/ESRF-ES-1001 10.15151/ESRF-ES-1002"},
		{name: "technique pid as an IRI", path: "/datasets",
			filter: `{"include":[{"relation":"techniques","scope":{"where":{"pid":"http://purl.org/pan-science/PaNET/PaNET01129"}}}]}`,
			want:   "10.15151/ESRF-ES-1001 10.15151/ESRF-ES-1002"},
		{name: "technique pid inq of ids", path: "/datasets",
			filter: `{"include":[{"relation":"techniques","scope":{"where":{"pid":{"inq":["PaNET01188","PaNET01145"]}}}}]}`,
			want:   "10.3204/PUBDB-2024-01001 10.5291/ILL-DATA.5-21-1001"},
		{name: "technique name not in PaNET matches as text", path: "/datasets",
			filter: `{"include":[{"relation":"techniques","scope":{"where":{"name":"no such technique"}}}]}`, want: ""},
		{name: "parameters with unit (the catalogue holds none)", path: "/datasets",
			filter: `{"include":[{"relation":"parameters","scope":{"where":{"and":[{"name":"photon_energy"},{"value":{"between":[880,990]}},{"unit":"eV"}]}}}]}`, want: ""},
		{name: "files matching a string", path: "/datasets",
			filter: `{"include":[{"relation":"files","scope":{"where":{"text":"teeth"}}}]}`, want: "10.15151/ESRF-ES-1001"},
		{name: "instrument by name", path: "/datasets",
			filter: `{"include":[{"relation":"instrument","scope":{"where":{"name":"ID19"}}}]}`,
			want:   "10.15151/ESRF-ES-1001 10.15151/ESRF-ES-1002"},
		{name: "where on the dataset", path: "/datasets", filter: `{"where":{"isPublic":false}}`, want: "10.15151/ESRF-ES-1002"},
		{name: "where title like", path: "/datasets", filter: `{"where":{"title":{"ilike":"%TOMOGRAPHY%"}}}`, want: "10.15151/ESRF-ES-1001"},
		{name: "query text", path: "/datasets", query: "bone", want: "10.15151/ESRF-ES-1002"},
		{name: "limit", path: "/datasets", filter: `{"limit":2}`, want: "10.15151/ESRF-ES-1001 10.3204/PUBDB-2024-01001"},
		{name: "skip", path: "/datasets", filter: `{"skip":4}`, want: "psi-1"},
		{name: "documents of type proposal", path: "/documents", filter: `{"where":{"type":"proposal"}}`, want: "10.15151/ESRF-ES-1001"},
		{name: "documents with datasets of a technique", path: "/documents",
			filter: `{"include":[{"relation":"datasets","scope":{"include":[{"relation":"techniques","scope":{"where":{"name":"small angle scattering"}}}]}}]}`,
			want:   "10.3204/PUBDB-2024-01001"},
		{name: "documents by keyword", path: "/documents", filter: `{"where":{"keywords":"bone"}}`, want: ""},
		{name: "documents with a member of an affiliation", path: "/documents",
			filter: `{"include":[{"relation":"members","scope":{"include":[{"relation":"affiliation","scope":{"where":{"name":"ESRF"}}}]}}]}`,
			want:   "10.15151/ESRF-ES-1001"},
		{name: "instruments of a facility", path: "/instruments", filter: `{"where":{"facility":"ESRF"}}`, want: "esrf/id19 https://doi.org/10.5442/ESRF-ID19"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []map[string]any
			params := map[string]string{}
			if tc.filter != "" {
				params["filter"] = tc.filter
			}
			if tc.query != "" {
				params["query"] = tc.query
			}
			if code := get(t, srv, tc.path, params, &got); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if g := pids(got); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func TestDatasetIncludes(t *testing.T) {
	srv := server(t)
	var got []map[string]any
	filter := `{"include":["instrument","files","samples",{"relation":"techniques","scope":{"where":{"name":"tomography"}}},{"relation":"documents","scope":{"include":[{"relation":"members","scope":{"include":["person","affiliation"]}}]}}]}`
	if code := get(t, srv, "/datasets", map[string]string{"filter": filter, "query": "fossil teeth"}, &got); code != 200 || len(got) != 1 {
		t.Fatalf("status %d, %d datasets", code, len(got))
	}
	d := got[0]
	if d["pid"] != "10.15151/ESRF-ES-1001" || d["score"].(float64) != 1 || d["isPublic"] != true {
		t.Errorf("dataset %v", d)
	}
	if in := d["instrument"].(map[string]any); in["name"] != "ID19" || in["facility"] != "ESRF" {
		t.Errorf("instrument %v", in)
	}
	techs := d["techniques"].([]any)
	if len(techs) != 1 || techs[0].(map[string]any)["pid"] != "http://purl.org/pan-science/PaNET/PaNET01208" {
		t.Errorf("techniques %v: want the dataset's own, narrower than tomography", techs)
	}
	docs := d["documents"].([]any)
	members := docs[0].(map[string]any)["members"].([]any)
	person := members[0].(map[string]any)["person"].(map[string]any)
	if person["fullName"] != "Tafforeau, Paul" || person["orcid"] != "0000-0001-2345-6789" {
		t.Errorf("person %v", person)
	}
	if f := d["files"].([]any); len(f) != 1 || f[0].(map[string]any)["name"] != "teeth_scan1.h5" {
		t.Errorf("files %v", f)
	}
}

func TestGetAndCount(t *testing.T) {
	srv := server(t)
	var d map[string]any
	if code := get(t, srv, "/datasets/"+url.PathEscape("10.15151/ESRF-ES-1001"), nil, &d); code != 200 || d["title"] != "Microtomography of fossil teeth" {
		t.Errorf("get by escaped DOI: %d %v", code, d)
	}
	if code := get(t, srv, "/datasets/10.15151/esrf-es-1001", nil, &d); code != 200 {
		t.Errorf("get by DOI in a path: %d %v", code, d)
	}
	if code := get(t, srv, "/documents/psi-1", nil, &d); code != 200 || d["type"] != "dataset" {
		t.Errorf("document by key: %d %v", code, d)
	}
	if code := get(t, srv, "/datasets/desy-2", nil, &d); code != 404 {
		t.Errorf("a deleted dataset: %d", code)
	}
	if code := get(t, srv, "/instruments/esrf/id19", nil, &d); code != 200 || d["name"] != "ID19" {
		t.Errorf("instrument: %d %v", code, d)
	}
	for _, tc := range []struct {
		path, where string
		want        float64
	}{
		{"/datasets/count", "", 5},
		{"/datasets/count", `{"isPublic":true}`, 4},
		{"/documents/count", `{"type":"dataset"}`, 4},
		{"/instruments/count", "", 5},
	} {
		var c map[string]float64
		params := map[string]string{}
		if tc.where != "" {
			params["where"] = tc.where
		}
		if code := get(t, srv, tc.path, params, &c); code != 200 || c["count"] != tc.want {
			t.Errorf("%s %s: %d %v, want %v", tc.path, tc.where, code, c, tc.want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct{ path, key, value, reason string }{
		{"/datasets", "filter", `{"where":`, "not JSON"},
		{"/datasets", "filter", `{"include":["nosuch"]}`, "no relation"},
		{"/documents", "filter", `{"limit":5000}`, "at most"},
		{"/datasets/count", "where", `[]`, "JSON object"},
		{"/instruments", "filter", `{"where":{"name":{"near":"x"}}}`, "unknown operator"},
		{"/datasets", "query", strings.Repeat("x", 600), "query longer"},
	} {
		var e map[string]map[string]any
		if code := get(t, srv, tc.path, map[string]string{tc.key: tc.value}, &e); code != 400 ||
			!strings.Contains(e["error"]["message"].(string), tc.reason) {
			t.Errorf("%s %s=%.40s: %d %v, want 400 with %q", tc.path, tc.key, tc.value, code, e, tc.reason)
		}
	}
}
