package harvester_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
)

// misbehaviour answers the n-th list request (ListRecords or
// ListIdentifiers, counted from 1) of a feedServer. render returns what the
// sample repository answers to a request (the request may be changed first);
// send writes a body as a normal response.
type misbehaviour func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte)

// feedServer is an OAI-PMH repository for tests: a samplefeed.Server (whose
// corpus can be swapped) that misbehaves on demand.
type feedServer struct {
	url  string
	repo atomic.Pointer[samplefeed.Server]
	// list counts the list requests served.
	list atomic.Int64
	// misbehave, when set, answers every list request.
	misbehave atomic.Pointer[misbehaviour]
	// identify, when set, rewrites Identify responses.
	identify atomic.Pointer[func([]byte) []byte]
	// getRecord, when set, answers every GetRecord request (n counts them).
	getRecord atomic.Pointer[misbehaviour]
	gets      atomic.Int64

	mu    sync.Mutex
	lists []string // raw query of each list request
	times []time.Time
}

func newFeedServer(t *testing.T, corpus samplefeed.Corpus, pageSize int) *feedServer {
	t.Helper()
	s := &feedServer{}
	s.setCorpus(t, corpus, pageSize)
	url, stop, err := samplefeed.Start(context.Background(), "127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = stop(ctx)
	})
	s.url = url
	return s
}

// setCorpus makes the repository serve another corpus.
func (s *feedServer) setCorpus(t *testing.T, corpus samplefeed.Corpus, pageSize int) {
	t.Helper()
	repo, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: pageSize, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.repo.Store(repo)
}

func (s *feedServer) setMisbehaviour(m misbehaviour) {
	if m == nil {
		s.misbehave.Store(nil)
		return
	}
	s.misbehave.Store(&m)
}

func (s *feedServer) render(r *http.Request) []byte {
	rec := httptest.NewRecorder()
	s.repo.Load().ServeHTTP(rec, r)
	return rec.Body.Bytes()
}

// listQueries returns the raw queries of the list requests served so far.
func (s *feedServer) listQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lists...)
}

func (s *feedServer) listTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("verb") {
	case "ListRecords", "ListIdentifiers":
		n := s.list.Add(1)
		s.mu.Lock()
		s.lists = append(s.lists, r.URL.RawQuery)
		s.times = append(s.times, time.Now())
		s.mu.Unlock()
		if m := s.misbehave.Load(); m != nil {
			(*m)(n, w, r, s.render)
			return
		}
		send(w, s.render(r))
	case "GetRecord":
		n := s.gets.Add(1)
		if m := s.getRecord.Load(); m != nil {
			(*m)(n, w, r, s.render)
			return
		}
		send(w, s.render(r))
	case "Identify":
		body := s.render(r)
		if f := s.identify.Load(); f != nil {
			body = (*f)(body)
		}
		send(w, body)
	default:
		send(w, s.render(r))
	}
}

// send writes body as an OAI-PMH response.
func send(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(body)
}

// oaiError renders an OAI-PMH error response.
func oaiError(code string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2025-06-01T00:00:00Z</responseDate>` +
		`<request>http://example.org/oai</request><error code="` + code + `">test says ` + code + `</error></OAI-PMH>`)
}

var (
	tokenElem  = regexp.MustCompile(`(<resumptionToken[^>]*>)([^<]*)(</resumptionToken>)`)
	emptyToken = regexp.MustCompile(`<resumptionToken[^>]*/>`)
	recordElem = regexp.MustCompile(`(?s)<record>.*?</record>`)
	cursorAttr = regexp.MustCompile(`cursor="\d+"`)
	sizeAttr   = regexp.MustCompile(`completeListSize="\d+"`)
	respDate   = regexp.MustCompile(`<responseDate>[^<]*</responseDate>`)
)

// tokenOf returns the resumption token of a page, "" when it has none.
func tokenOf(body []byte) string {
	if m := tokenElem.FindSubmatch(body); m != nil {
		return string(m[2])
	}
	return ""
}

// withToken replaces the token of a page.
func withToken(body []byte, token string) []byte {
	return tokenElem.ReplaceAll(body, []byte("${1}"+token+"${3}"))
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// fastConfig is a harvester configuration with short waits.
func fastConfig() harvester.Config {
	return harvester.Config{
		PollInterval: 50 * time.Millisecond,
		Transport: fetch.Transport{
			PageTimeout:          2 * time.Second,
			MaxRetries:           3,
			RetryInitialInterval: time.Millisecond,
			RetryMaxInterval:     10 * time.Millisecond,
			RetryAfterCap:        150 * time.Millisecond,
		},
		FailureBackoff: 10 * time.Millisecond,
	}
}

// harness is a harvester on an embedded JetStream with a feedServer.
type harness struct {
	bus    *bus.Bus
	h      *harvester.Harvester
	srv    *feedServer
	corpus samplefeed.Corpus
	feed   feeds.Feed
}

func newHarness(t *testing.T, records, pageSize int, cfg harvester.Config) *harness {
	t.Helper()
	b := testenv.Bus(t)
	corpus := samplefeed.NewCorpus(11, records)
	srv := newFeedServer(t, corpus, pageSize)
	h, err := harvester.New(cfg, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		bus: b, h: h, srv: srv, corpus: corpus,
		feed: feeds.Feed{ID: "misfit", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: srv.url, Format: "oai_datacite", Enabled: true},
	}
}

// checkpoint reads the feed's checkpoint.
func (hs *harness) checkpoint(t *testing.T) harvester.Checkpoint {
	t.Helper()
	return readCheckpoint(t, hs.bus, hs.feed.ID)
}

func readCheckpoint(t *testing.T, b *bus.Bus, feedID string) harvester.Checkpoint {
	t.Helper()
	var cp harvester.Checkpoint
	e, err := b.KV(bus.BucketCheckpoints).Get(context.Background(), feedID)
	if err != nil {
		t.Fatalf("checkpoint of %s: %v", feedID, err)
	}
	if err := json.Unmarshal(e.Value(), &cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

// live returns the number of live records of the corpus.
func (hs *harness) live() int { return hs.corpus.Size - hs.corpus.DeletedCount() }

// deadLetters returns the reasons of the dead letters in the stream.
func deadLetters(t *testing.T, b *bus.Bus) []string {
	t.Helper()
	ctx := context.Background()
	c, err := b.JetStream().OrderedConsumer(ctx, string(bus.DeadLetters), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for {
		batch, err := c.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			reasons = append(reasons, m.Headers().Get(bus.HeaderReason))
		}
		if got == 0 {
			return reasons
		}
	}
}

// assertComplete checks that the raw stream holds every record of the
// corpus exactly once.
func (hs *harness) assertComplete(t *testing.T) {
	t.Helper()
	recs, n := raw(t, hs.bus)
	if len(recs) != hs.corpus.Size || n != hs.corpus.Size {
		t.Fatalf("raw stream holds %d messages for %d records, want %d once each", n, len(recs), hs.corpus.Size)
	}
	for i := range hs.corpus.Size {
		want := hs.corpus.Record(i)
		r, ok := recs[want.Identifier]
		if !ok {
			t.Fatalf("record %s missing", want.Identifier)
		}
		if r.Deleted != want.Deleted || (!want.Deleted && !strings.Contains(string(r.Payload), want.DOI)) {
			t.Fatalf("record %s: deleted %v, payload %.80q", want.Identifier, r.Deleted, r.Payload)
		}
	}
}

func fmtQueries(qs []string) string {
	return fmt.Sprintf("%d requests:\n  %s", len(qs), strings.Join(qs, "\n  "))
}
