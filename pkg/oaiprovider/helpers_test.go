package oaiprovider_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/oaiprovider"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const (
	panetNS = "http://purl.org/pan-science/PaNET/"
	baseURL = "https://node.example.org"
)

// epoch is the publication time of the first entry of a corpus; entry i is
// published i seconds later, so that datestamps order the corpus.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// techniques used by the corpus: tomography under imaging, and diffraction.
var (
	tomography  = &fairwayv1.Technique{Iri: panetNS + "PaNET01188", Id: "PaNET01188", Label: "tomography", Broader: []string{panetNS + "PaNET00001", panetNS + "PaNET01012"}}
	diffraction = &fairwayv1.Technique{Iri: panetNS + "PaNET01102", Id: "PaNET01102", Label: "x-ray diffraction", Broader: []string{panetNS + "PaNET00001"}}
)

// dataset returns dataset i of a corpus: facilities alternate between ESRF,
// ILL and MAX IV; every third has no DOI; even ones are tomography, odd
// ones diffraction.
func dataset(i int) *fairwayv1.EnrichedDataset {
	facility := []string{"ESRF", "ILL", "MAX IV"}[i%3]
	ds := &fairwayv1.Dataset{
		Facility: facility, FeedId: strings.ToLower(strings.ReplaceAll(facility, " ", "")) + "-oai",
		SourceIdentifier: fmt.Sprintf("oai:%s:%d", strings.ToLower(facility), i),
		Title:            fmt.Sprintf("Dataset %d", i), Description: fmt.Sprintf("Measurement number %d.", i),
		Creators:  []*fairwayv1.Person{{Name: "Doe, Jane", GivenName: "Jane", FamilyName: "Doe", Orcid: "0000-0002-1825-0097", Affiliation: facility}},
		Publisher: facility, PublicationYear: 2025, Issued: timestamppb.New(time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)),
		License: "https://creativecommons.org/licenses/by/4.0/", AccessRights: "open", ResourceType: "Dataset",
		Subjects: []*fairwayv1.Subject{{Value: "sample " + fmt.Sprint(i)}},
	}
	if i%3 == 2 {
		ds.Key = "src:" + strings.ToLower(facility) + ":" + ds.SourceIdentifier
		ds.LandingPage = fmt.Sprintf("https://data.example.org/%d", i)
	} else {
		ds.Doi = fmt.Sprintf("10.5555/%s-%d", strings.ToLower(strings.ReplaceAll(facility, " ", "")), i)
		ds.Key = "doi:" + ds.Doi
	}
	t := diffraction
	if i%2 == 0 {
		t = tomography
	}
	return &fairwayv1.EnrichedDataset{Dataset: ds, Techniques: []*fairwayv1.Technique{t}}
}

// entry returns the catalogue entry of e published at at, as the publisher
// makes it (Turtle for a live one, none for a tombstone).
func entry(t testing.TB, e *fairwayv1.EnrichedDataset, at time.Time) *fairwayv1.CatalogueEntry {
	t.Helper()
	ds := e.GetDataset()
	ce := &fairwayv1.CatalogueEntry{
		Key: ds.Key, Deleted: ds.Deleted, Dataset: e, PublishedAt: timestamppb.New(at),
		ContentHash: fmt.Sprintf("%x-%d-%t", ds.Key, at.UnixNano(), ds.Deleted),
	}
	if !ds.Deleted {
		ttl, err := dcat.DatasetTurtle(e, dcat.Options{BaseURL: baseURL})
		if err != nil {
			t.Fatal(err)
		}
		ce.Turtle = ttl
	}
	return ce
}

// tombstone returns the deletion of e.
func tombstone(e *fairwayv1.EnrichedDataset) *fairwayv1.EnrichedDataset {
	ds := proto.Clone(e.Dataset).(*fairwayv1.Dataset)
	ds.Deleted = true
	return &fairwayv1.EnrichedDataset{Dataset: ds, Techniques: e.Techniques}
}

// node is a read model fed through an embedded JetStream, and the
// provider over it behind an HTTP server.
type node struct {
	t     testing.TB
	bus   *bus.Bus
	model *readmodel.Model
	prov  *oaiprovider.Provider
	srv   *httptest.Server
	clock *clock
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newNode starts a bus, a read model and a provider with page size
// pageSize (the config's other fields as cfg gives them).
func newNode(t testing.TB, cfg oaiprovider.Config) *node {
	t.Helper()
	b := testenv.Bus(t)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := readmodel.Open(ctx, readmodel.Config{Dir: t.TempDir(), RetryDelay: 100 * time.Millisecond}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("read model: %v", err)
		}
		_ = m.Close()
	})
	clk := &clock{t: epoch.Add(24 * time.Hour)}
	if cfg.BaseURL == "" {
		cfg.BaseURL = baseURL
	}
	cfg.DCAT = dcat.Options{BaseURL: cfg.BaseURL}
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	p, err := oaiprovider.New(cfg, m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/oai", p)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &node{t: t, bus: b, model: m, prov: p, srv: srv, clock: clk}
}

// publish writes entries into the catalogue as the publisher does and
// waits until the read model applied them.
func (n *node) publish(entries ...*fairwayv1.CatalogueEntry) {
	n.t.Helper()
	ctx := context.Background()
	events := make([]bus.Event, 0, len(entries))
	for _, e := range entries {
		p, err := proto.Marshal(e)
		if err != nil {
			n.t.Fatal(err)
		}
		events = append(events, bus.Event{Stream: bus.Catalogue, Key: e.Key, Hash: e.ContentHash, Payload: p})
	}
	if err := n.bus.PublishBatch(ctx, string(bus.StagePublisher), events); err != nil {
		n.t.Fatal(err)
	}
	seq, err := n.bus.LastSequence(ctx, bus.Catalogue)
	if err != nil {
		n.t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := n.model.WaitFor(wctx, seq); err != nil {
		n.t.Fatalf("read model at %d, want %d: %v", n.model.Position(), seq, err)
	}
}

// corpus publishes datasets 0..live-1 and then deletes those listed, and
// returns the datasets.
func (n *node) corpus(live int, deleted ...int) []*fairwayv1.EnrichedDataset {
	n.t.Helper()
	var sets []*fairwayv1.EnrichedDataset
	var entries []*fairwayv1.CatalogueEntry
	for i := range live {
		e := dataset(i)
		sets = append(sets, e)
		entries = append(entries, entry(n.t, e, epoch.Add(time.Duration(i)*time.Second)))
	}
	n.publish(entries...)
	entries = entries[:0]
	for j, i := range deleted {
		entries = append(entries, entry(n.t, tombstone(sets[i]), epoch.Add(time.Duration(live+j)*time.Second)))
	}
	if len(entries) > 0 {
		n.publish(entries...)
	}
	return sets
}

// get asks the provider with the query given (a raw query string) and
// returns the parsed response and the body.
func (n *node) get(query string) (*oaiResponse, string) {
	n.t.Helper()
	resp, err := http.Get(n.srv.URL + "/oai?" + query)
	if err != nil {
		n.t.Fatal(err)
	}
	return n.read(resp)
}

// post asks with a form body.
func (n *node) post(form url.Values) (*oaiResponse, string) {
	n.t.Helper()
	resp, err := http.PostForm(n.srv.URL+"/oai", form)
	if err != nil {
		n.t.Fatal(err)
	}
	return n.read(resp)
}

func (n *node) read(resp *http.Response) (*oaiResponse, string) {
	n.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		n.t.Errorf("content type %q", ct)
	}
	r, err := parseResponse(body)
	if err != nil {
		n.t.Fatalf("%v\n%s", err, body)
	}
	return r, string(body)
}

// The response, as a harvester reads it (encoding/xml, namespaces checked).

type oaiResponse struct {
	XMLName      xml.Name `xml:"http://www.openarchives.org/OAI/2.0/ OAI-PMH"`
	ResponseDate string   `xml:"responseDate"`
	Request      struct {
		Verb            string     `xml:"verb,attr"`
		Identifier      string     `xml:"identifier,attr"`
		MetadataPrefix  string     `xml:"metadataPrefix,attr"`
		From            string     `xml:"from,attr"`
		Until           string     `xml:"until,attr"`
		Set             string     `xml:"set,attr"`
		ResumptionToken string     `xml:"resumptionToken,attr"`
		Attrs           []xml.Attr `xml:",any,attr"`
		URL             string     `xml:",chardata"`
	} `xml:"request"`
	Errors []struct {
		Code    string `xml:"code,attr"`
		Message string `xml:",chardata"`
	} `xml:"error"`
	Identify *struct {
		RepositoryName    string   `xml:"repositoryName"`
		BaseURL           string   `xml:"baseURL"`
		ProtocolVersion   string   `xml:"protocolVersion"`
		AdminEmail        []string `xml:"adminEmail"`
		EarliestDatestamp string   `xml:"earliestDatestamp"`
		DeletedRecord     string   `xml:"deletedRecord"`
		Granularity       string   `xml:"granularity"`
		Description       []struct {
			ID *struct {
				Scheme               string `xml:"scheme"`
				RepositoryIdentifier string `xml:"repositoryIdentifier"`
				Delimiter            string `xml:"delimiter"`
				SampleIdentifier     string `xml:"sampleIdentifier"`
			} `xml:"http://www.openarchives.org/OAI/2.0/oai-identifier oai-identifier"`
		} `xml:"description"`
	} `xml:"Identify"`
	ListMetadataFormats *struct {
		Formats []struct {
			Prefix    string `xml:"metadataPrefix"`
			Schema    string `xml:"schema"`
			Namespace string `xml:"metadataNamespace"`
		} `xml:"metadataFormat"`
	} `xml:"ListMetadataFormats"`
	ListSets *struct {
		Sets []struct {
			Spec string `xml:"setSpec"`
			Name string `xml:"setName"`
		} `xml:"set"`
	} `xml:"ListSets"`
	GetRecord *struct {
		Record oaiRecord `xml:"record"`
	} `xml:"GetRecord"`
	ListIdentifiers *struct {
		Headers []oaiHeader `xml:"header"`
		Token   *oaiToken   `xml:"resumptionToken"`
	} `xml:"ListIdentifiers"`
	ListRecords *struct {
		Records []oaiRecord `xml:"record"`
		Token   *oaiToken   `xml:"resumptionToken"`
	} `xml:"ListRecords"`
}

type oaiHeader struct {
	Status     string   `xml:"status,attr"`
	Identifier string   `xml:"identifier"`
	Datestamp  string   `xml:"datestamp"`
	SetSpecs   []string `xml:"setSpec"`
}

type oaiRecord struct {
	Header   oaiHeader `xml:"header"`
	Metadata *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"metadata"`
}

type oaiToken struct {
	Value            string `xml:",chardata"`
	ExpirationDate   string `xml:"expirationDate,attr"`
	CompleteListSize string `xml:"completeListSize,attr"`
	Cursor           string `xml:"cursor,attr"`
}

func parseResponse(body []byte) (*oaiResponse, error) {
	var r oaiResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", r.ResponseDate); err != nil {
		return nil, fmt.Errorf("responseDate: %w", err)
	}
	if r.Request.URL == "" {
		return nil, fmt.Errorf("no request element")
	}
	bodies := 0
	for _, present := range []bool{r.Identify != nil, r.ListMetadataFormats != nil, r.ListSets != nil, r.GetRecord != nil, r.ListIdentifiers != nil, r.ListRecords != nil} {
		if present {
			bodies++
		}
	}
	if (len(r.Errors) == 0) == (bodies == 0) || bodies > 1 {
		return nil, fmt.Errorf("want either errors or one verb element: %d errors, %d verb elements", len(r.Errors), bodies)
	}
	return &r, nil
}

// code returns the error code of a response, "" when it has none.
func (r *oaiResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[0].Code
}
