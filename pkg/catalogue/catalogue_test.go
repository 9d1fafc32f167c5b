package catalogue_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knakk/rdf"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/catalogue"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const (
	base   = "http://node.test"
	panet  = "http://purl.org/pan-science/PaNET/"
	rdfTyp = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
	dcatDS = "http://www.w3.org/ns/dcat#Dataset"
	hydra  = "http://www.w3.org/ns/hydra/core#"
)

// node is a catalogue served over a real read model of a real catalogue
// stream, written by the real publisher stage.
type node struct {
	t     *testing.T
	b     *bus.Bus
	st    *publisher.Stage
	model *readmodel.Model
	srv   *httptest.Server
}

func newNode(t *testing.T) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := testenv.Bus(t)
	log := slog.New(slog.DiscardHandler)
	st, err := publisher.New(publisher.Config{BaseURL: base}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	model, err := readmodel.Open(ctx, readmodel.Config{Dir: filepath.Join(t.TempDir(), "readmodel")}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = model.Run(ctx) }()
	h, err := catalogue.New(catalogue.Config{DCAT: st.Options(), PageSize: 10}, model, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); cancel(); <-done; model.Close() })
	return &node{t: t, b: b, st: st, model: model, srv: srv}
}

// dataset returns an enriched dataset of a facility, tagged with SAXS
// (PaNET01188), whose broader techniques include PaNET01012.
func dataset(key, facility, title string) *fairwayv1.EnrichedDataset {
	doi, _ := strings.CutPrefix(key, "doi:")
	if doi == key {
		doi = ""
	}
	return &fairwayv1.EnrichedDataset{
		Dataset: &fairwayv1.Dataset{
			Key: key, Doi: doi, Title: title, Description: "About " + title, Facility: facility, Publisher: facility,
			ContentHash: "h-" + title, AccessRights: "open", License: "CC-BY-4.0", LandingPage: "https://data.example.org/" + url.PathEscape(key),
			Provenance: &fairwayv1.Provenance{FeedId: strings.ToLower(facility) + "-feed"},
		},
		Techniques: []*fairwayv1.Technique{{
			Iri: panet + "PaNET01188", Id: "PaNET01188", Label: "small angle x-ray scattering",
			Broader: []string{panet + "PaNET01012", panet + "PaNET01000"},
		}},
		PanetVersion: "1.3.0",
	}
}

// publish writes datasets into the catalogue through the publisher stage
// and waits until the read model holds them.
func (n *node) publish(es ...*fairwayv1.EnrichedDataset) {
	n.t.Helper()
	ctx := context.Background()
	for _, e := range es {
		e.Dataset.GetProvenance()
		b, err := proto.Marshal(e)
		if err != nil {
			n.t.Fatal(err)
		}
		evs, err := n.st.Handle(ctx, &bus.Message{Payload: b})
		if err != nil {
			n.t.Fatal(err)
		}
		if err := n.b.Publish(ctx, "publisher", evs...); err != nil {
			n.t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		lag, err := n.model.Lag(ctx)
		if err == nil && lag == 0 {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("the read model lags %d behind the catalogue: %v", lag, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func withdrawn(key, facility string) *fairwayv1.EnrichedDataset {
	e := dataset(key, facility, "withdrawn "+key)
	e.Dataset.Deleted = true
	return e
}

// get asks the node for a path (or one of its own IRIs) and returns the
// answer's status, headers and body.
func (n *node) get(target string, header ...string) (int, http.Header, string) {
	n.t.Helper()
	target = strings.Replace(target, base, n.srv.URL, 1)
	if strings.HasPrefix(target, "/") {
		target = n.srv.URL + target
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatalf("GET %s: %v", target, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// graph is a parsed answer.
type graph []rdf.Triple

func parse(t *testing.T, doc string) graph {
	t.Helper()
	g, err := rdf.NewTripleDecoder(strings.NewReader(doc), rdf.Turtle).DecodeAll()
	if err != nil {
		t.Fatalf("not Turtle: %v\n%s", err, doc)
	}
	return g
}

func (g graph) objects(s, p string) []string {
	var out []string
	for _, tr := range g {
		if (s == "" || tr.Subj.String() == s) && tr.Pred.String() == p {
			out = append(out, tr.Obj.String())
		}
	}
	slices.Sort(out)
	return out
}

func (g graph) subjects(p, o string) []string {
	var out []string
	for _, tr := range g {
		if tr.Pred.String() == p && tr.Obj.String() == o {
			out = append(out, tr.Subj.String())
		}
	}
	slices.Sort(out)
	return out
}

func (g graph) one(t *testing.T, s, p string) string {
	t.Helper()
	o := g.objects(s, p)
	if len(o) != 1 {
		t.Fatalf("%s %s: %v, want one value", s, p, o)
	}
	return o[0]
}

func TestPagesWithHydra(t *testing.T) {
	n := newNode(t)
	var all []string
	for i := range 25 {
		fac := "ESRF"
		if i%5 == 0 {
			fac = "ILL"
		}
		e := dataset(fmt.Sprintf("doi:10.1/%02d", i), fac, fmt.Sprintf("Dataset %02d", i))
		n.publish(e)
		all = append(all, "https://doi.org/10.1/"+fmt.Sprintf("%02d", i))
	}
	// Page after page, from the first, following hydra:next.
	var seen []string
	next, pages := "/catalogue", 0
	for next != "" {
		code, hdr, body := n.get(next)
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/turtle") {
			t.Fatalf("GET %s: %d %s", next, code, hdr.Get("Content-Type"))
		}
		g := parse(t, body)
		pages++
		if total := g.one(t, base+"/catalogue", hydra+"totalItems"); total != "25" {
			t.Errorf("page %d: totalItems %s", pages, total)
		}
		view := g.one(t, base+"/catalogue", hydra+"view")
		if g.one(t, view, hydra+"first") != base+"/catalogue?page=1" || g.one(t, view, hydra+"last") != base+"/catalogue?page=3" {
			t.Errorf("page %d: first %v, last %v", pages, g.objects(view, hydra+"first"), g.objects(view, hydra+"last"))
		}
		if pages > 1 && !strings.Contains(view, "after=") {
			t.Errorf("page %d is not reached through a cursor: %s", pages, view)
		}
		ds := g.subjects(rdfTyp, dcatDS)
		if want := min(10, 25-len(seen)); len(ds) != want {
			t.Errorf("page %d: %d datasets, want %d", pages, len(ds), want)
		}
		if linked := g.objects(base+"/catalogue", "http://www.w3.org/ns/dcat#dataset"); !slices.Equal(linked, ds) {
			t.Errorf("page %d: the catalogue links %v, the page describes %v", pages, linked, ds)
		}
		seen = append(seen, ds...)
		next = ""
		if nx := g.objects(view, hydra+"next"); len(nx) == 1 {
			next = nx[0]
		}
		if pages > 5 {
			t.Fatal("hydra:next does not end")
		}
	}
	slices.Sort(seen)
	if pages != 3 || !slices.Equal(seen, all) {
		t.Errorf("%d pages gave %v, want %v", pages, seen, all)
	}

	// A page by number links its previous page.
	if _, _, body := n.get("/catalogue?page=2"); len(parse(t, body).objects(base+"/catalogue?page=2", hydra+"previous")) != 1 {
		t.Errorf("page 2 has no previous page:\n%s", body)
	}
	// Following hydra:next while datasets are added and withdrawn between
	// two pages: every dataset that stayed is met exactly once.
	code, _, body := n.get("/catalogue?pageSize=10")
	if code != http.StatusOK {
		t.Fatal(code)
	}
	g := parse(t, body)
	met := g.subjects(rdfTyp, dcatDS)
	nx := g.objects(g.one(t, base+"/catalogue", hydra+"view"), hydra+"next")
	n.publish(withdrawn("doi:10.1/03", "ESRF"), dataset("doi:10.1/005", "ESRF", "Added first"), dataset("doi:10.1/99", "ESRF", "Added last"))
	for len(nx) == 1 {
		_, _, body := n.get(nx[0])
		g := parse(t, body)
		met = append(met, g.subjects(rdfTyp, dcatDS)...)
		nx = g.objects(g.one(t, base+"/catalogue", hydra+"view"), hydra+"next")
	}
	counts := map[string]int{}
	for _, d := range met {
		counts[d]++
	}
	for _, d := range all {
		if counts[d] != 1 && d != "https://doi.org/10.1/03" {
			t.Errorf("%s met %d times while paging", d, counts[d])
		}
	}
	if counts["https://doi.org/10.1/99"] != 1 {
		t.Error("a dataset added after the last page read was not met")
	}
	n.publish(dataset("doi:10.1/03", "ESRF", "Dataset 03"))
	for _, key := range []string{"doi:10.1/005", "doi:10.1/99"} {
		n.publish(withdrawn(key, "ESRF"))
	}

	tests := []struct {
		query string
		want  int
		code  int
	}{
		{"facility=ill&pageSize=100", 5, 200},
		{"facility=ILL&pageSize=100", 5, 200},
		{"technique=PaNET01188&pageSize=100", 25, 200},
		{"technique=" + url.QueryEscape(panet+"PaNET01012") + "&pageSize=100", 25, 200}, // a broader technique
		{"technique=PaNET01102&pageSize=100", 0, 200},
		{"modifiedSince=2000-01-01&pageSize=100", 25, 200},
		{"modifiedSince=2999-01-01T00:00:00Z", 0, 200},
		{"page=9", 0, 200},
		{"page=101&pageSize=1000", 0, 200},
		{"page=102&pageSize=1000", 0, 400}, // deeper than numbered pages reach
		{"page=99999999999999999", 0, 400},
		{"page=2&after=x", 0, 400},
		{"after=not-a-cursor", 0, 400},
		{"page=0", 0, 400},
		{"pageSize=1001", 0, 400},
		{"pageSize=x", 0, 400},
		{"modifiedSince=yesterday", 0, 400},
		{"facility=esrf&facility=ill", 0, 400},
		// Hostile values are only values: echoed, escaped, in the page links.
		{"facility=" + url.QueryEscape("<x>\"{}|^`\\ \n\u00e9\u202e"), 0, 200},
		{"technique=" + url.QueryEscape("javascript:alert(1)<>"), 0, 200},
		{"facility=" + strings.Repeat("x", 3000), 0, 400},
	}
	for _, tt := range tests {
		code, _, body := n.get("/catalogue?" + tt.query)
		if code != tt.code {
			t.Errorf("?%s: %d, want %d: %s", tt.query, code, tt.code, body)
			continue
		}
		if code == 200 {
			if got := len(parse(t, body).subjects(rdfTyp, dcatDS)); got != tt.want {
				t.Errorf("?%s: %d datasets, want %d", tt.query, got, tt.want)
			}
		}
	}

	// A facility's catalogue pages its datasets only.
	code, _, body = n.get(base + "/catalogue/ill")
	if code != http.StatusOK {
		t.Fatalf("GET /catalogue/ill: %d %s", code, body)
	}
	g = parse(t, body)
	ill := base + "/catalogue/ill"
	if got := g.one(t, ill, hydra+"totalItems"); got != "5" || len(g.objects(ill, "http://www.w3.org/ns/dcat#dataset")) != 5 {
		t.Errorf("facility catalogue: totalItems %s, %d datasets", got, len(g.objects(ill, "http://www.w3.org/ns/dcat#dataset")))
	}
	if code, _, _ := n.get("/catalogue/nowhere"); code != http.StatusNotFound {
		t.Errorf("an unknown facility's catalogue: %d", code)
	}
	// A facility whose datasets were all withdrawn keeps its (empty)
	// catalogue: its IRI is in their records.
	n.publish(dataset("doi:10.1/gone", "GONE", "Soon withdrawn"))
	n.publish(withdrawn("doi:10.1/gone", "GONE"))
	if code, _, body := n.get("/catalogue/gone"); code != http.StatusOK || len(parse(t, body).subjects(rdfTyp, dcatDS)) != 0 {
		t.Errorf("the catalogue of a facility without live datasets: %d\n%s", code, body)
	}
}

func TestDereference(t *testing.T) {
	n := newNode(t)
	n.publish(
		dataset("doi:10.1/a", "ESRF", "With a DOI"),
		dataset("src:esrf:oai:esrf.fr:42/b c", "ESRF", "Without a DOI"),
		dataset("doi:10.1/gone", "ESRF", "Soon withdrawn"),
	)
	n.publish(withdrawn("doi:10.1/gone", "ESRF"))

	// Every IRI the node minted in its export answers.
	_, _, body := n.get("/export")
	g := parse(t, body)
	minted := map[string]bool{}
	for _, tr := range g {
		for _, term := range []rdf.Term{tr.Subj, tr.Obj} {
			if i, ok := term.(rdf.IRI); ok && strings.HasPrefix(i.String(), base+"/") {
				minted[i.String()] = true
			}
		}
	}
	if len(minted) < 4 {
		t.Fatalf("the export mints only %v", minted)
	}
	for i := range minted {
		code, _, doc := n.get(i)
		if code != http.StatusOK {
			t.Errorf("GET <%s>: %d %s", i, code, doc)
			continue
		}
		// The document describes the IRI (the fragment's document holds it).
		if len(parse(t, doc).objects(i, rdfTyp)) == 0 && !strings.Contains(i, "?") {
			t.Errorf("GET <%s> does not describe it", i)
		}
	}

	tests := []struct {
		path, accept string
		code         int
		contentType  string
		describes    string
	}{
		{"/datasets/doi:10.1/a", "", 200, "text/turtle", "https://doi.org/10.1/a"},
		{"/doi/10.1/a", "", 200, "text/turtle", "https://doi.org/10.1/a"},
		{"/doi/10.1/A", "", 200, "text/turtle", "https://doi.org/10.1/a"},
		{"/doi/doi:10.1/a", "application/n-triples", 200, "application/n-triples", "https://doi.org/10.1/a"},
		{"/datasets/" + url.PathEscape("src:esrf:oai:esrf.fr:42/b c"), "", 200, "text/turtle", base + "/datasets/" + url.PathEscape("src:esrf:oai:esrf.fr:42/b c")},
		{"/datasets/doi:10.1/gone", "", 410, "", ""},
		{"/doi/10.1/gone", "", 410, "", ""},
		{"/datasets/doi:10.1/never", "", 404, "", ""},
		{"/doi/10.1/never", "", 404, "", ""},
		{"/datasets/" + strings.Repeat("x", 5000), "", 404, "", ""},
		{"/datasets/doi:10.1/a", "application/pdf", 406, "", ""},
		{"/datasets/doi:10.1/a?format=pdf", "", 406, "", ""},
		{"/catalogue", "image/png", 406, "", ""},
		{"/export", "text/html", 406, "", ""},
		{"/datasets/doi:10.1/a", "text/html;q=0.9, application/rdf+xml", 200, "application/rdf+xml", ""},
		{"/datasets/doi:10.1/a?format=jsonld", "text/turtle", 200, "application/ld+json", ""},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.accept != "" {
			hdr = []string{"Accept", tt.accept}
		}
		code, h, doc := n.get(tt.path, hdr...)
		if code != tt.code || !strings.HasPrefix(h.Get("Content-Type"), tt.contentType) {
			t.Errorf("GET %s (Accept %q): %d %s, want %d %s", tt.path, tt.accept, code, h.Get("Content-Type"), tt.code, tt.contentType)
			continue
		}
		if tt.describes != "" && tt.contentType == "text/turtle" {
			if got := parse(t, doc).objects(tt.describes, rdfTyp); !slices.Contains(got, dcatDS) {
				t.Errorf("GET %s does not describe <%s> as a dataset", tt.path, tt.describes)
			}
		}
		if code == 406 && !strings.Contains(doc, "text/turtle") {
			t.Errorf("GET %s: 406 does not say what is offered: %s", tt.path, doc)
		}
	}
}

func TestChangesFeed(t *testing.T) {
	n := newNode(t)
	for i := range 6 {
		n.publish(dataset(fmt.Sprintf("doi:10.1/%d", i), "ESRF", fmt.Sprintf("Dataset %d", i)))
	}
	state := map[string]string{} // dataset IRI -> last change seen: updated or deleted
	read := func(target string) (next, position string) {
		t.Helper()
		code, h, body := n.get(target)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, code, body)
		}
		g := parse(t, body)
		for _, rec := range g.subjects(rdfTyp, "http://www.w3.org/ns/dcat#CatalogRecord") {
			topic := g.one(t, rec, "http://xmlns.com/foaf/0.1/primaryTopic")
			state[topic] = strings.TrimPrefix(g.one(t, rec, "http://www.w3.org/ns/adms#status"), catalogue.ChangeType)
		}
		views := g.subjects(rdfTyp, hydra+"PartialCollectionView")
		if len(views) != 1 {
			t.Fatalf("GET %s: views %v", target, views)
		}
		if nx := g.objects(views[0], hydra+"next"); len(nx) == 1 {
			next = nx[0]
		}
		return next, h.Get(catalogue.PositionHeader)
	}
	next, pos := read("/changes?since=0&pageSize=4")
	if next == "" || pos == "" || len(state) != 4 {
		t.Fatalf("first page: next %q, position %q, %d changes", next, pos, len(state))
	}
	// Between two pages, a dataset of the first page is withdrawn and one
	// changes: the following pages tell both.
	n.publish(withdrawn("doi:10.1/0", "ESRF"))
	changed := dataset("doi:10.1/1", "ESRF", "Dataset 1, retitled")
	n.publish(changed)
	for next != "" {
		if next, pos = read(next); pos == "" {
			t.Fatal("no position")
		}
	}
	want := map[string]string{}
	for i := range 6 {
		want[fmt.Sprintf("https://doi.org/10.1/%d", i)] = "updated"
	}
	want["https://doi.org/10.1/0"] = "deleted"
	if fmt.Sprint(state) != fmt.Sprint(want) {
		t.Errorf("after the changes feed: %v, want %v", state, want)
	}
	// From the last position, nothing more, and the position stays; a
	// later change comes next.
	_, hdr, body := n.get("/changes?since=" + pos)
	if got := parse(t, body).subjects(rdfTyp, "http://www.w3.org/ns/dcat#CatalogRecord"); len(got) != 0 || hdr.Get(catalogue.PositionHeader) != pos {
		t.Errorf("changes after the last position %s: %v, position %s", pos, got, hdr.Get(catalogue.PositionHeader))
	}
	// Nothing changed after a time to come: the position is where the
	// catalogue is, not its start.
	if _, hdr, _ := n.get("/changes?since=2999-01-01"); hdr.Get(catalogue.PositionHeader) != pos {
		t.Errorf("an empty page by time gives position %s, want %s", hdr.Get(catalogue.PositionHeader), pos)
	}
	// The export tells the position its content is at.
	if _, hdr, _ := n.get("/export"); hdr.Get(catalogue.PositionHeader) != pos {
		t.Errorf("the export gives position %s, want %s", hdr.Get(catalogue.PositionHeader), pos)
	}
	n.publish(dataset("doi:10.1/9", "ESRF", "Dataset 9"))
	state = map[string]string{}
	read("/changes?since=" + pos)
	if fmt.Sprint(state) != "map[https://doi.org/10.1/9:updated]" {
		t.Errorf("after the last position: %v", state)
	}
	// By time: everything changed since a moment ago.
	state = map[string]string{}
	read("/changes?since=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)) + "&pageSize=100")
	if len(state) != 7 {
		t.Errorf("changes of the last hour: %v", state)
	}
	for _, bad := range []string{"", "?since=", "?since=soon", "?since=-1"} {
		if code, _, _ := n.get("/changes" + bad); code != http.StatusBadRequest {
			t.Errorf("GET /changes%s: %d, want 400", bad, code)
		}
	}
}

// TestEverySerialisation asks for the same documents in every format and
// has tools nobody here wrote read them back: raptor for Turtle, N-Triples
// and RDF/XML, jsonld.js for JSON-LD. Each gives the same number of
// distinct triples.
func TestEverySerialisation(t *testing.T) {
	n := newNode(t)
	n.publish(dataset("doi:10.1/a", "ESRF", `Quotes " and \ backslashes, "ünïcode" & <tags>`), dataset("src:ill:x?y=(1)&z.", "ILL", "Odd key."))
	rapper := testenv.Rapper(t)
	tools := testenv.NodeTools(t)
	formats := []struct {
		name, raptor string
	}{
		{"turtle", "turtle"}, {"ntriples", "ntriples"}, {"rdfxml", "rdfxml"}, {"jsonld", ""},
	}
	for _, path := range []string{"/catalogue", "/export", "/changes?since=0", "/datasets/doi:10.1/a", "/catalogue/ill"} {
		counts := map[string]int{}
		for _, f := range formats {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			code, _, doc := n.get(path + sep + "format=" + f.name)
			if code != http.StatusOK {
				t.Fatalf("GET %s as %s: %d %s", path, f.name, code, doc)
			}
			var cmd *exec.Cmd
			if f.raptor != "" {
				cmd = exec.Command(rapper, "-q", "-i", f.raptor, "-o", "ntriples", "-", base+"/")
			} else {
				cmd = exec.Command("node", filepath.Join(tools, "jsonld-to-nquads.mjs"))
			}
			cmd.Stdin = strings.NewReader(doc)
			var out, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s of %s does not parse: %v\n%s\n%s", f.name, path, err, stderr.String(), doc)
			}
			// A graph is a set: the same triple written twice (a
			// concept shared by two datasets) counts once.
			distinct := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				distinct[line] = true
			}
			counts[f.name] = len(distinct)
		}
		if counts["turtle"] == 0 || counts["ntriples"] != counts["turtle"] || counts["rdfxml"] != counts["turtle"] || counts["jsonld"] != counts["turtle"] {
			t.Errorf("%s: triples per format %v", path, counts)
		}
	}
}

// TestQualityMetrics: the metrics the datasets' DQV measurements refer to
// are described at <base>/quality, each in its dimension.
func TestQualityMetrics(t *testing.T) {
	n := newNode(t)
	code, _, body := n.get("/quality")
	if code != http.StatusOK {
		t.Fatalf("GET /quality: %d %s", code, body)
	}
	g := parse(t, body)
	for _, m := range []string{"score", "findability", "accessibility", "interoperability", "reusability", "contextuality"} {
		iri := base + "/quality#" + m
		if types := g.objects(iri, rdfTyp); len(types) != 1 || types[0] != "http://www.w3.org/ns/dqv#Metric" {
			t.Errorf("%s: types %v", iri, types)
		}
		if m != "score" && len(g.objects(iri, "http://www.w3.org/ns/dqv#inDimension")) != 1 {
			t.Errorf("%s has no dimension", iri)
		}
	}
}
