package harvester_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// endlessFeed is an OAI-PMH repository (on loopback) whose ListRecords never
// ends: every page hands out a fresh resumption token and no
// completeListSize, with a number of records (each with a fresh identifier)
// per page, after a delay.
type endlessFeed struct {
	url     string
	records int
	delay   time.Duration
	// pages counts the list pages served.
	pages atomic.Int64
}

func newEndlessFeed(t *testing.T, records int, delay time.Duration) *endlessFeed {
	t.Helper()
	e := &endlessFeed{records: records, delay: delay}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/oai"
	return e
}

const endlessIdentify = `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2025-06-01T00:00:00Z</responseDate>` +
	`<request verb="Identify">http://endless/oai</request><Identify><repositoryName>endless</repositoryName>` +
	`<baseURL>http://endless/oai</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>a@example.org</adminEmail>` +
	`<earliestDatestamp>2000-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent</deletedRecord>` +
	`<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>`

func (e *endlessFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if r.URL.Query().Get("verb") == "Identify" {
		_, _ = w.Write([]byte(endlessIdentify))
		return
	}
	n := e.pages.Add(1)
	select {
	case <-time.After(e.delay):
	case <-r.Context().Done():
		return
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">` +
		`<responseDate>2025-06-01T00:00:00Z</responseDate><request verb="ListRecords">http://endless/oai</request><ListRecords>`)
	for i := range e.records {
		fmt.Fprintf(&b, `<record><header><identifier>oai:endless:%d-%d</identifier><datestamp>2025-01-01T00:00:00Z</datestamp></header>`+
			`<metadata><dc xmlns="http://purl.org/dc/elements/1.1/"><title>page %d record %d</title></dc></metadata></record>`, n, i, n, i)
	}
	fmt.Fprintf(&b, `<resumptionToken>fresh-%d-%d</resumptionToken></ListRecords></OAI-PMH>`, n, time.Now().UnixNano())
	_, _ = w.Write([]byte(b.String()))
}

func (e *endlessFeed) feed(id, facility string) feeds.Feed {
	return feeds.Feed{ID: id, Facility: facility, Kind: feeds.KindOAIPMH, URL: e.url, Format: "oai_dc", Enabled: true}
}

// safety bounds the tests whose runs would go on forever without the
// behaviour under test: they fail instead of hanging.
const safety = 30 * time.Second

// TestEndlessFeedIsStoppedByItsCaps harvests an endless list: the run fails
// on the cap it reached, with a reason naming it, and the next run starts
// afresh.
func TestEndlessFeedIsStoppedByItsCaps(t *testing.T) {
	tests := []struct {
		name    string
		records int // per page
		delay   time.Duration
		cfg     func(*harvester.Config)
		feed    func(*feeds.Feed)
		want    error
		reason  string
		pages   int64 // 0: not checked
	}{
		{
			name: "empty pages without completeListSize", cfg: func(c *harvester.Config) { c.MaxEmptyPages = 5 },
			want: harvester.ErrRunawayList, reason: "5 pages in a row without a record", pages: 5,
		},
		{
			name: "default empty pages", want: harvester.ErrRunawayList, reason: "50 pages in a row without a record", pages: 50,
		},
		{
			name: "harvester's page cap", records: 1, cfg: func(c *harvester.Config) { c.MaxPages = 7 },
			want: harvester.ErrRunCap, reason: "max_pages", pages: 7,
		},
		{
			name: "feed's page cap over the harvester's", records: 1, cfg: func(c *harvester.Config) { c.MaxPages = 1000 },
			feed: func(f *feeds.Feed) { f.MaxPages = 4 }, want: harvester.ErrRunCap, reason: "max_pages", pages: 4,
		},
		{
			name: "feed's byte cap", records: 2, feed: func(f *feeds.Feed) { f.MaxBytes = 5000 },
			want: harvester.ErrRunCap, reason: "max_bytes",
		},
		{
			name: "feed's duration cap", records: 1, delay: 20 * time.Millisecond,
			feed: func(f *feeds.Feed) { f.MaxDuration = feeds.Duration(300 * time.Millisecond) },
			want: harvester.ErrRunCap, reason: "max_duration",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testenv.Bus(t)
			cfg := fastConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			h, err := harvester.New(cfg, b, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			src := newEndlessFeed(t, tt.records, tt.delay)
			f := src.feed("endless", "ESS")
			if tt.feed != nil {
				tt.feed(&f)
			}
			ctx, cancel := context.WithTimeout(context.Background(), safety)
			defer cancel()
			run, err := h.Harvest(ctx, f, harvester.RunRequest{})
			if !errors.Is(err, tt.want) || ctx.Err() != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if run.Status != failed || !strings.Contains(run.Error, tt.reason) {
				t.Errorf("run %v: want a failed run naming %q", run, tt.reason)
			}
			if tt.pages > 0 && (run.Pages != tt.pages || src.pages.Load() != tt.pages) {
				t.Errorf("run took %d pages, the feed served %d; want %d", run.Pages, src.pages.Load(), tt.pages)
			}
			if cp := readCheckpoint(t, b, f.ID); cp.Current != nil || cp.Failures != 1 {
				t.Errorf("checkpoint keeps %+v after %d failures; want a fresh start next time", cp.Current, cp.Failures)
			}
		})
	}
}

// TestRunStopsWhenItsFeedChanges removes or disables a feed while the
// running harvester lists it without end: the run stops with the reason,
// and is not started again.
func TestRunStopsWhenItsFeedChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(ctx context.Context, reg *feeds.Registry) error
		want   error
		resume bool // the checkpoint keeps the run
	}{
		{
			name:   "removed",
			change: func(ctx context.Context, reg *feeds.Registry) error { return reg.Delete(ctx, "endless") },
			want:   harvester.ErrFeedRemoved,
		},
		{
			name: "disabled",
			change: func(ctx context.Context, reg *feeds.Registry) error {
				_, err := reg.Update(ctx, "endless", func(f *feeds.Feed) error { f.Enabled = false; return nil })
				return err
			},
			want: harvester.ErrFeedDisabled, resume: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testenv.Bus(t)
			cfg := fastConfig()
			cfg.MaxEmptyPages = 1 << 30
			cfg.FeedCheckInterval = 20 * time.Millisecond
			h, err := harvester.New(cfg, b, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			src := newEndlessFeed(t, 0, 5*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), safety)
			defer cancel()
			if _, err := h.Registry().Put(ctx, src.feed("endless", "ESS")); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- h.Run(ctx) }()
			waitFor(ctx, t, "the run to list a few pages", func() bool { return src.pages.Load() >= 3 })
			if err := tt.change(ctx, h.Registry()); err != nil {
				t.Fatal(err)
			}
			var last *fairwayv1.HarvestRun
			waitFor(ctx, t, "the run to stop", func() bool {
				runs, err := harvester.LastRuns(ctx, b, "endless", 5)
				if err != nil || len(runs) == 0 {
					return false
				}
				last = runs[0]
				return last.Status == failed
			})
			if !strings.Contains(last.Error, tt.want.Error()) {
				t.Errorf("run %v: want the reason %q", last, tt.want)
			}
			// Nothing runs the feed any more.
			served := src.pages.Load()
			time.Sleep(10 * cfg.PollInterval)
			if n := src.pages.Load(); n > served+1 {
				t.Errorf("the feed served %d more pages after the run stopped", n-served)
			}
			cp := readCheckpoint(t, b, "endless")
			if (cp.Current != nil) != tt.resume || cp.Failures != 0 {
				t.Errorf("checkpoint %+v, %d failures: want the run kept %v, no failure counted", cp.Current, cp.Failures, tt.resume)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestEndlessFeedsDoNotHoldEverySlot lets one facility's endless feeds take
// both harvest slots, then gives another facility work (a due feed, or an
// operator's request): it is harvested while the endless feeds go on.
func TestEndlessFeedsDoNotHoldEverySlot(t *testing.T) {
	tests := []struct {
		name      string
		requested bool
	}{
		{name: "another facility's due feed"},
		{name: "an operator's request for another facility's feed", requested: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testenv.Bus(t)
			cfg := fastConfig()
			cfg.MaxEmptyPages = 1 << 30
			h, err := harvester.New(cfg, b, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), safety)
			defer cancel()
			var endless []*endlessFeed
			for i := range 3 {
				src := newEndlessFeed(t, 0, 10*time.Millisecond)
				endless = append(endless, src)
				if _, err := h.Registry().Put(ctx, src.feed(fmt.Sprintf("ess-%d", i), "ESS")); err != nil {
					t.Fatal(err)
				}
			}
			busy := func() (n int) {
				for _, e := range endless {
					if e.pages.Load() > 0 {
						n++
					}
				}
				return n
			}
			done := make(chan error, 1)
			go func() { done <- h.Run(ctx) }()
			waitFor(ctx, t, "two endless feeds to hold both slots", func() bool { return busy() >= 2 })

			corpus := samplefeed.NewCorpus(5, 30)
			repo, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: 10, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			other := httptest.NewServer(repo)
			defer other.Close()
			f := feeds.Feed{ID: "esrf", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: other.URL, Format: "oai_datacite", Enabled: !tt.requested}
			if _, err := h.Registry().Put(ctx, f); err != nil {
				t.Fatal(err)
			}
			if tt.requested {
				if err := harvester.Request(ctx, b, "esrf", harvester.RunRequest{Full: true}); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(ctx, t, "the other facility's feed to be harvested", func() bool {
				runs, err := harvester.LastRuns(ctx, b, "esrf", 1)
				return err == nil && len(runs) == 1 && runs[0].Status == complete && runs[0].Records == 30
			})
			// The endless feeds went on meanwhile and still do.
			before := endless[0].pages.Load() + endless[1].pages.Load() + endless[2].pages.Load()
			waitFor(ctx, t, "the endless feeds to go on", func() bool {
				return endless[0].pages.Load()+endless[1].pages.Load()+endless[2].pages.Load() > before+2
			})
			if _, n := raw(t, b); n != 30 {
				t.Errorf("raw stream holds %d messages, want the other feed's 30", n)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// waitFor polls cond until it holds, or fails the test when ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
