package harvester_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/oaipmh"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const (
	complete = fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE
	failed   = fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED
)

// outcome is what a test sees of the runs of a case.
type outcome struct {
	runs []*fairwayv1.HarvestRun
	errs []error
}

func (o outcome) last() (*fairwayv1.HarvestRun, error) {
	return o.runs[len(o.runs)-1], o.errs[len(o.errs)-1]
}

// TestMisbehavingFeeds harvests a repository that breaks the protocol or the
// network in one way per case, and checks what the run reports and that
// nothing is lost: 60 records (3 of them deleted) on 6 pages of 10.
func TestMisbehavingFeeds(t *testing.T) {
	type state struct {
		mu     sync.Mutex
		tokens map[int64]string
		saved  []byte
		hits   atomic.Int64
	}
	tests := []struct {
		name string
		cfg  func(*harvester.Config)
		// misbehave builds the repository's behaviour; st is the case's
		// own scratch state.
		misbehave func(st *state) misbehaviour
		// runs is the number of harvests (default 1).
		runs  int
		check func(t *testing.T, hs *harness, o outcome, st *state)
	}{
		{
			name: "slow pages, one slower than the page timeout",
			cfg:  func(c *harvester.Config) { c.PageTimeout = 300 * time.Millisecond },
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					time.Sleep(20 * time.Millisecond)
					if n == 2 {
						time.Sleep(600 * time.Millisecond)
					}
					send(w, render(r))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if q := hs.srv.listQueries(); len(q) != 7 || q[1] != q[2] {
					t.Errorf("want the timed-out page asked again: %s", fmtQueries(q))
				}
			},
		},
		{
			name: "503 with Retry-After",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					if n == 2 {
						w.Header().Set("Retry-After", "1")
						http.Error(w, "maintenance", http.StatusServiceUnavailable)
						return
					}
					send(w, render(r))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				times := hs.srv.listTimes()
				if len(times) != 7 {
					t.Fatalf("%d list requests, want 7", len(times))
				}
				// Retry-After: 1 is capped at 150ms by the configuration; the
				// backoff alone would wait about 1ms.
				if gap := times[2].Sub(times[1]); gap < 140*time.Millisecond {
					t.Errorf("retried %v after a 503 with Retry-After", gap)
				}
			},
		},
		{
			name: "429 twice, with Retry-After as a date",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					if n == 3 || n == 4 {
						w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
						http.Error(w, "slow down", http.StatusTooManyRequests)
						return
					}
					send(w, render(r))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if times := hs.srv.listTimes(); len(times) != 8 || times[4].Sub(times[2]) < 280*time.Millisecond {
					t.Errorf("want 8 requests, two waits of the capped Retry-After; got %d", len(times))
				}
			},
		},
		{
			name: "expired token (badResumptionToken) restarts the window",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					if n == 3 {
						send(w, oaiError(oaipmh.CodeBadResumptionToken))
						return
					}
					send(w, render(r))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run := assertRun(t, o, complete, 80) // 2 pages, then all 6 again
				hs.assertComplete(t)
				q := hs.srv.listQueries()
				if len(q) != 9 || q[3] != q[0] {
					t.Errorf("want a restart from the first page: %s", fmtQueries(q))
				}
				if cp := hs.checkpoint(t); cp.LastComplete == nil || cp.LastComplete.Restarts != 1 || run.Error != "" {
					t.Errorf("checkpoint %+v, run error %q", cp.LastComplete, run.Error)
				}
			},
		},
		{
			name: "token always rejected: restarts are bounded",
			cfg:  func(c *harvester.Config) { c.MaxRestarts = 2 },
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					if r.URL.Query().Get("resumptionToken") != "" {
						send(w, oaiError(oaipmh.CodeBadResumptionToken))
						return
					}
					send(w, render(r))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run, err := assertFailed(t, o, oaipmh.ErrBadResumptionToken)
				if !strings.Contains(run.Error, "2 restarts") {
					t.Errorf("error %q does not say the run restarted twice", run.Error)
				}
				if q := hs.srv.listQueries(); len(q) != 6 {
					t.Errorf("want 3 passes of 2 requests: %s", fmtQueries(q))
				}
				if cp := hs.checkpoint(t); cp.Current != nil || cp.Failures != 1 {
					t.Errorf("a rejected token must not be resumed: %+v", cp)
				}
				if recs, n := raw(t, hs.bus); len(recs) != 10 || n != 10 {
					t.Errorf("raw stream holds %d messages for %d records, want the first page once (%v)", n, len(recs), err)
				}
			},
		},
		{
			name: "looping tokens",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					st.mu.Lock()
					defer st.mu.Unlock()
					if st.tokens == nil {
						st.tokens = map[int64]string{}
					}
					st.tokens[n] = tokenOf(body)
					if n == 3 {
						body = withToken(body, st.tokens[1]) // back to page 2
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run, _ := assertFailed(t, o, oaipmh.ErrTokenLoop)
				if q := hs.srv.listQueries(); len(q) != 3 {
					t.Errorf("the harvester spun: %s", fmtQueries(q))
				}
				if recs, n := raw(t, hs.bus); len(recs) != 30 || n != 30 || run.Records != 30 {
					t.Errorf("raw stream holds %d messages for %d records, run %d; want the 3 pages once", n, len(recs), run.Records)
				}
				if cp := hs.checkpoint(t); cp.Current != nil {
					t.Errorf("a looping list must not be resumed: %+v", cp.Current)
				}
			},
		},
		{
			name: "a page that is not XML fails the run; the next run resumes",
			runs: 2,
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					if n == 3 {
						send(w, []byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
						return
					}
					send(w, render(r))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				first := o.runs[0]
				q := hs.srv.listQueries()
				if first.Status != failed || !errors.Is(o.errs[0], fetch.ErrMalformedResponse) ||
					!strings.Contains(first.Error, hs.srv.url+"?"+q[2]) || first.Records != 20 {
					t.Fatalf("first run %v (%v): want a failure naming the URL after 2 pages", first, o.errs[0])
				}
				if len(q) != 7 || q[3] != q[2] {
					t.Errorf("want the second run to resume at the broken page: %s", fmtQueries(q))
				}
				second := o.runs[1]
				if second.Status != complete || second.RunId != first.RunId || second.Records != 60 {
					t.Errorf("second run %v: want the first run completed", second)
				}
				hs.assertComplete(t)
				if cp := hs.checkpoint(t); cp.Failures != 0 || cp.Current != nil {
					t.Errorf("checkpoint %+v after completion", cp)
				}
			},
		},
		{
			name: "connection cut mid-page",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					if n != 2 {
						send(w, body)
						return
					}
					conn, buf, err := http.NewResponseController(w).Hijack()
					if err != nil {
						panic(err)
					}
					fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n", len(body))
					_, _ = buf.Write(body[:len(body)/2])
					_ = buf.Flush()
					_ = conn.Close()
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if q := hs.srv.listQueries(); len(q) != 7 || q[1] != q[2] {
					t.Errorf("want the cut page asked again: %s", fmtQueries(q))
				}
			},
		},
		{
			name: "duplicate records across pages",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					st.mu.Lock()
					defer st.mu.Unlock()
					switch n {
					case 1:
						all := recordElem.FindAll(body, -1)
						st.saved = all[len(all)-1]
					case 2:
						body = bytes.Replace(body, []byte("<ListRecords>\n"), append([]byte("<ListRecords>\n"), st.saved...), 1)
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 61) // written twice, stored once
				hs.assertComplete(t)
			},
		},
		{
			name: "last page without a token element",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					if emptyToken.Match(body) {
						st.hits.Add(1)
						body = emptyToken.ReplaceAll(body, nil)
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, st *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if st.hits.Load() != 1 {
					t.Errorf("the last page's token was removed %d times", st.hits.Load())
				}
			},
		},
		{
			name: "missing namespace",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, bytes.Replace(render(r), []byte(` xmlns="http://www.openarchives.org/OAI/2.0/"`), nil, 1))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
			},
		},
		{
			name: "wrong namespace",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, bytes.ReplaceAll(render(r), []byte(`http://www.openarchives.org/OAI/2.0/`), []byte(`http://www.openarchives.org/OAI/1.1/OAI_ListRecords`)))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
			},
		},
		{
			name: "control characters",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, bytes.ReplaceAll(render(r), []byte(`<title xml:lang="en">`), []byte("<title xml:lang=\"en\">\x01\x0b")))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				recs, _ := raw(t, hs.bus)
				r := recs[hs.corpus.Record(0).Identifier]
				if !bytes.Contains(r.Payload, []byte("<title xml:lang=\"en\">\uFFFD\uFFFD")) {
					t.Errorf("control characters not replaced: %.400q", r.Payload)
				}
			},
		},
		{
			name: "lenient responseDate: day 00, no zone",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, respDate.ReplaceAll(render(r), []byte("<responseDate>2025-06-00 12:00:00</responseDate>")))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run := assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if got := run.ResponseDate.AsTime(); !got.Equal(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) {
					t.Errorf("responseDate %v", got)
				}
			},
		},
		{
			name: "cursors that do not advance",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, cursorAttr.ReplaceAll(render(r), []byte(`cursor="0"`)))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
			},
		},
		{
			name: "URL-encoded tokens",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					if tok := r.URL.Query().Get("resumptionToken"); tok != "" {
						// The token must come back exactly as handed out.
						dec, err := url.QueryUnescape(tok)
						orig, ok := strings.CutPrefix(dec, "t=")
						orig, ok2 := strings.CutSuffix(orig, "&x")
						if err != nil || !ok || !ok2 {
							send(w, oaiError(oaipmh.CodeBadResumptionToken))
							return
						}
						r = r.Clone(r.Context())
						r.URL.RawQuery = url.Values{"verb": {"ListRecords"}, "resumptionToken": {orig}}.Encode()
					}
					body := render(r)
					if tok := tokenOf(body); tok != "" {
						body = withToken(body, url.QueryEscape("t="+tok+"&x"))
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if q := hs.srv.listQueries(); len(q) != 6 {
					t.Errorf("want 6 pages without a restart: %s", fmtQueries(q))
				}
			},
		},
		{
			name: "truncated list",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, sizeAttr.ReplaceAll(render(r), []byte(`completeListSize="65"`)))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run := assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if !strings.Contains(run.Error, "truncated") || !strings.Contains(run.Error, "65") || !strings.Contains(run.Error, "60") {
					t.Errorf("run error %q: want the truncation with both counts", run.Error)
				}
			},
		},
		{
			name: "gzip",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
						st.hits.Add(1)
						w.Header().Set("Content-Encoding", "gzip")
						body = gzipped(body)
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, st *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				if st.hits.Load() != 6 {
					t.Errorf("%d pages compressed, want 6", st.hits.Load())
				}
			},
		},
		{
			name: "record over the size limit",
			cfg:  func(c *harvester.Config) { c.MaxRecordBytes = 16 << 10 },
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					if n == 2 {
						pad := "<!--" + strings.Repeat("x", 20<<10) + "-->"
						body = bytes.Replace(body, []byte("</oai_datacite>"), []byte(pad+"</oai_datacite>"), 1)
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run := assertRun(t, o, complete, 59)
				if run.Rejected != 1 {
					t.Errorf("rejected %d, want 1", run.Rejected)
				}
				big := hs.corpus.Record(10).Identifier
				recs, n := raw(t, hs.bus)
				if _, ok := recs[big]; ok || len(recs) != 59 || n != 59 {
					t.Errorf("raw stream holds %d messages for %d records; want every record but %s", n, len(recs), big)
				}
				dl := deadLetters(t, hs.bus)
				if len(dl) != 1 || !strings.Contains(dl[0], big) || !strings.Contains(dl[0], "misfit") || !strings.Contains(dl[0], hs.srv.url) {
					t.Errorf("dead letters %q: want one naming the record, the feed and the URL", dl)
				}
			},
		},
		{
			name: "record without identifier",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					if n == 2 {
						body = bytes.Replace(body, []byte("<ListRecords>\n"),
							[]byte("<ListRecords>\n<record><header status=\"deleted\"><datestamp>2025-01-01</datestamp></header></record>\n"), 1)
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run := assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				dl := deadLetters(t, hs.bus)
				if run.Rejected != 1 || len(dl) != 1 || !strings.Contains(dl[0], "without an identifier") {
					t.Errorf("rejected %d, dead letters %q", run.Rejected, dl)
				}
				if cp := hs.checkpoint(t); cp.LastComplete.Listed != 61 {
					t.Errorf("listed %d, want 61", cp.LastComplete.Listed)
				}
			},
		},
		{
			name: "a resumption token of megabytes fails the run, not resumed",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					if n == 2 {
						body = withToken(body, strings.Repeat("z", 3<<20))
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				run, _ := assertFailed(t, o, oaipmh.ErrTokenTooLarge)
				if !strings.Contains(run.Error, "MaxTokenBytes") || len(run.Error) > 2<<10 {
					t.Errorf("run error %.300q (%d bytes): want the cap named, the token not quoted", run.Error, len(run.Error))
				}
				// The page with the token is not written: its records come
				// again with the next run, which starts afresh.
				cp := hs.checkpoint(t)
				if q := hs.srv.listQueries(); len(q) != 2 || run.Records != 10 || cp.Current != nil || cp.Failures != 1 {
					t.Errorf("%d list requests, %d records, checkpoint %+v", len(q), run.Records, cp)
				}
			},
		},
		{
			name: "a token over the harvester's MaxTokenBytes",
			cfg:  func(c *harvester.Config) { c.MaxTokenBytes = 8 },
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, render(r))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertFailed(t, o, oaipmh.ErrTokenTooLarge)
				if q := hs.srv.listQueries(); len(q) != 1 {
					t.Errorf("%d list requests, want 1", len(q))
				}
			},
		},
		{
			name: "long tokens: what the records quote of the URLs is clipped",
			misbehave: func(st *state) misbehaviour {
				pad := strings.Repeat("p", 6<<10) // under the token cap
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					if tok := r.URL.Query().Get("resumptionToken"); tok != "" {
						r = r.Clone(r.Context())
						q := r.URL.Query()
						q.Set("resumptionToken", strings.TrimSuffix(tok, pad))
						r.URL.RawQuery = q.Encode()
					}
					body := render(r)
					if tok := tokenOf(body); tok != "" {
						body = withToken(body, tok+pad)
					}
					send(w, body)
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertRun(t, o, complete, 60)
				hs.assertComplete(t)
				recs, _ := raw(t, hs.bus)
				clipped := 0
				for id, r := range recs {
					u := r.GetProvenance().GetRequestUrl()
					if len(u) > oaipmh.MaxShownURLBytes+64 {
						t.Fatalf("record %s quotes a URL of %d bytes", id, len(u))
					}
					if strings.Contains(u, " bytes, sha256 ") {
						clipped++
					}
				}
				if clipped != 50 { // every page but the first
					t.Errorf("%d records quote a clipped URL, want 50", clipped)
				}
			},
		},
		{
			name: "tokens that never end",
			misbehave: func(st *state) misbehaviour {
				return func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					r = r.Clone(r.Context())
					r.URL.RawQuery = url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"oai_datacite"}}.Encode()
					send(w, withToken(render(r), fmt.Sprintf("fresh-%d", n)))
				}
			},
			check: func(t *testing.T, hs *harness, o outcome, _ *state) {
				assertFailed(t, o, harvester.ErrRunawayList)
				if q := hs.srv.listQueries(); len(q) > 14 {
					t.Errorf("the harvester went on for %d pages", len(q))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			hs := newHarness(t, 60, 10, cfg)
			st := &state{}
			hs.srv.setMisbehaviour(tt.misbehave(st))
			runs := max(tt.runs, 1)
			var o outcome
			for range runs {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				run, err := hs.h.Harvest(ctx, hs.feed, harvester.RunRequest{})
				cancel()
				if run == nil {
					t.Fatalf("no run report (err %v)", err)
				}
				o.runs, o.errs = append(o.runs, run), append(o.errs, err)
			}
			tt.check(t, hs, o, st)
		})
	}
}

// assertRun checks the last run's status and records.
func assertRun(t *testing.T, o outcome, status fairwayv1.HarvestStatus, records int64) *fairwayv1.HarvestRun {
	t.Helper()
	run, err := o.last()
	if run.Status != status || run.Records != records {
		t.Fatalf("run %v (err %v): want %v with %d records", run, err, status, records)
	}
	if status == complete && err != nil {
		t.Fatalf("complete run returned %v", err)
	}
	return run
}

// assertFailed checks that the last run failed with the sentinel, and that
// the report says why.
func assertFailed(t *testing.T, o outcome, sentinel error) (*fairwayv1.HarvestRun, error) {
	t.Helper()
	run, err := o.last()
	if run.Status != failed || !errors.Is(err, sentinel) || run.Error == "" || !strings.Contains(run.Error, err.Error()[len("harvester: feed misfit: "):]) {
		t.Fatalf("run %v, err %v: want a failure with %v, reported", run, err, sentinel)
	}
	return run, err
}
