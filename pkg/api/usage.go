package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/sushi"
	"github.com/panosc/fairway/pkg/usage"
)

// Usage, reuse and the SUSHI reports:
//
//	POST /api/v1/usage                 a batch of usage events (facility token: its own datasets; operator)
//	GET  /api/v1/usage/counts          COUNTER counts per dataset, month, access method and client (?begin=&end=…)
//	GET  /api/v1/usage/reuse           the most reused datasets, from their harvested related identifiers
//	GET  /api/v1/sushi/status          the SUSHI service's status
//	GET  /api/v1/sushi/reports         the reports it offers
//	GET  /api/v1/sushi/reports/dsr     the COUNTER Dataset Report (?begin_date=&end_date=…)

// UsageReports is what the usage and SUSHI routes read;
// *analytics.Reader is the production one.
type UsageReports interface {
	UsageCounts(ctx context.Context, q analytics.UsageQuery) ([]analytics.UsageCount, error)
	// EachUsageCount hands over the counts UsageCounts would return, one
	// at a time, in the same order (the DSR is streamed from them).
	EachUsageCount(ctx context.Context, q analytics.UsageQuery, fn func(analytics.UsageCount) error) error
	Reuses(ctx context.Context, facility string, limit int) ([]analytics.Reuse, error)
	Ping(ctx context.Context) error
}

var _ UsageReports = (*analytics.Reader)(nil)

var (
	errNoIntake  error = unavailable("this node takes no usage events")
	errNoReports error = unavailable("this node has no usage reports (analytics are off)")
)

// DefaultMaxUsageEvents bounds the events of one POST /api/v1/usage.
const DefaultMaxUsageEvents = 1000

// UsageBatch is the body of POST /api/v1/usage.
type UsageBatch struct {
	Events []json.RawMessage `json:"events"`
}

// UsageRefusal says why one event of a batch was refused.
type UsageRefusal struct {
	// Index of the event in the batch, from 0.
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// UsageAnswer is the answer of POST /api/v1/usage.
type UsageAnswer struct {
	Accepted int            `json:"accepted"`
	Refused  int            `json:"refused"`
	Errors   []UsageRefusal `json:"errors,omitempty"`
}

// postUsage takes a batch of usage events: each is validated on its own,
// the bad ones are refused with their index and reason, and the others
// are published to the usage stream at once. A facility token may report
// usage of its own facility's datasets only (datasets the node holds); an
// operator's events may name any well-formed dataset. The answer is 200
// when some event was accepted (or the batch was empty), 422 when every
// one was refused, 503 when the bus did not take them (nothing is
// accepted then; sending the batch again is safe).
func (s *Server) postUsage(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.Usage == nil {
		return errNoIntake
	}
	var in UsageBatch
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Events) > s.cfg.MaxUsageEvents {
		return fmt.Errorf("%w: %d events, at most %d per batch", errBadRequest, len(in.Events), s.cfg.MaxUsageEvents)
	}
	source := "operator"
	if !p.Operator {
		source = p.Facility
	}
	owners := map[string]string{} // dataset key → owner ("" unknown)
	owner := func(ctx context.Context, key string) (string, error) {
		if o, ok := owners[key]; ok {
			return o, nil
		}
		own, err := s.bus.Owners().Get(ctx, key)
		switch {
		case bus.IsNotFound(err):
			owners[key] = ""
		case err != nil:
			return "", err
		default:
			owners[key] = own.Facility
		}
		return owners[key], nil
	}
	var (
		ans    UsageAnswer
		events []usage.Event
	)
	refuse := func(i int, reason string) {
		ans.Refused++
		ans.Errors = append(ans.Errors, UsageRefusal{Index: i, Reason: reason})
	}
	for i, raw := range in.Events {
		var ui usage.Input
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ui); err != nil {
			refuse(i, "not a usage event: "+err.Error())
			continue
		}
		ev, err := s.cfg.Usage.Event(source, ui)
		if err != nil {
			refuse(i, strings.TrimPrefix(err.Error(), usage.ErrInvalid.Error()+": "))
			continue
		}
		facility, err := owner(r.Context(), ev.Dataset)
		if err != nil {
			return err
		}
		switch {
		case !p.Operator && facility == "":
			refuse(i, fmt.Sprintf("dataset %.200s is not in this node's catalogue", ev.Dataset))
			continue
		case !p.CanManage(facility):
			refuse(i, fmt.Sprintf("dataset %.200s belongs to %s; %s may not report its usage", ev.Dataset, facility, p.String()))
			continue
		}
		ev.Facility = facility
		events = append(events, ev)
	}
	if len(events) > 0 {
		if err := usage.BusPublisher(s.bus)(r.Context(), events); err != nil {
			return unavailable("usage events not taken: " + err.Error())
		}
	}
	ans.Accepted = len(events)
	status := http.StatusOK
	if ans.Accepted == 0 && ans.Refused > 0 {
		status = http.StatusUnprocessableEntity
	}
	s.log.Info("usage events taken", "by", p, "accepted", ans.Accepted, "refused", ans.Refused)
	s.reply(w, status, ans)
	return nil
}

// UsageCountView is one row of GET /api/v1/usage/counts.
type UsageCountView struct {
	Dataset              string `json:"dataset"`
	DOI                  string `json:"doi,omitempty"`
	Title                string `json:"title,omitempty"`
	Facility             string `json:"facility,omitempty"`
	Month                string `json:"month"`
	AccessMethod         string `json:"access_method"`
	Client               string `json:"client"`
	TotalInvestigations  uint64 `json:"total_dataset_investigations"`
	UniqueInvestigations uint64 `json:"unique_dataset_investigations"`
	TotalRequests        uint64 `json:"total_dataset_requests"`
	UniqueRequests       uint64 `json:"unique_dataset_requests"`
}

// usageCounts answers the COUNTER counts per dataset and month:
// ?begin=yyyy-mm&end=yyyy-mm (months, both counted), dataset= (several,
// separated by |), access_method=regular|machine, client=human|machine|agent
// (default human and machine: agents only when asked), facility=.
func (s *Server) usageCounts(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Reports == nil {
		s.fail(w, r, errNoReports)
		return
	}
	v := r.URL.Query()
	var q analytics.UsageQuery
	var err error
	if q.Begin, err = monthParam(v.Get("begin"), "begin"); err == nil {
		q.End, err = monthParam(v.Get("end"), "end")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, d := range splitBar(v.Get("dataset")) {
		key, err := usage.DatasetKey(d)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: dataset: %w", errBadRequest, err))
			return
		}
		q.Datasets = append(q.Datasets, key)
	}
	for _, m := range splitBar(v.Get("access_method")) {
		q.AccessMethods = append(q.AccessMethods, usage.AccessMethod(strings.ToLower(m)))
	}
	for _, c := range splitBar(v.Get("client")) {
		q.Clients = append(q.Clients, usage.Client(strings.ToLower(c)))
	}
	q.Facility = v.Get("facility")
	counts, err := s.cfg.Reports.UsageCounts(r.Context(), q)
	if err != nil {
		s.fail(w, r, reportError(err))
		return
	}
	out := make([]UsageCountView, 0, len(counts))
	for _, c := range counts {
		out = append(out, UsageCountView{
			Dataset: c.Dataset, DOI: c.DOI, Title: c.Title, Facility: c.Facility, Month: c.Month.Format("2006-01"),
			AccessMethod: string(c.AccessMethod), Client: string(c.Client),
			TotalInvestigations: c.TotalInvestigations, UniqueInvestigations: c.UniqueInvestigations,
			TotalRequests: c.TotalRequests, UniqueRequests: c.UniqueRequests,
		})
	}
	s.reply(w, http.StatusOK, out)
}

// ReuseView is one row of GET /api/v1/usage/reuse.
type ReuseView struct {
	Dataset   string `json:"dataset"`
	Title     string `json:"title,omitempty"`
	Facility  string `json:"facility,omitempty"`
	Citations uint64 `json:"citations"`
}

// usageReuse answers the most reused datasets (?facility=, ?limit=, 1 to
// 1000, default 20).
func (s *Server) usageReuse(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Reports == nil {
		s.fail(w, r, errNoReports)
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, fmt.Errorf("%w: limit %.20q: want 1 to 1000", errBadRequest, v))
			return
		}
		limit = n
	}
	reuses, err := s.cfg.Reports.Reuses(r.Context(), r.URL.Query().Get("facility"), limit)
	if err != nil {
		s.fail(w, r, reportError(err))
		return
	}
	out := make([]ReuseView, 0, len(reuses))
	for _, x := range reuses {
		out = append(out, ReuseView{Dataset: x.Dataset, Title: x.Title, Facility: x.Facility, Citations: x.Citations})
	}
	s.reply(w, http.StatusOK, out)
}

// reportError classifies an error of the analytics store for fail.
func reportError(err error) error {
	switch {
	case errors.Is(err, analytics.ErrBadQuery):
		return fmt.Errorf("%w: %w", errBadRequest, err)
	case errors.Is(err, analytics.ErrUnavailable):
		return unavailable(err.Error())
	}
	return err
}

func monthParam(s, name string) (time.Time, error) {
	for _, layout := range []string{"2006-01", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s %.40q: want yyyy-mm", errBadRequest, name, s)
}

func splitBar(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sushiStatus answers the SUSHI status: active while the usage store
// answers.
func (s *Server) sushiStatus(w http.ResponseWriter, r *http.Request) {
	st := sushi.Status{Description: "COUNTER usage of the datasets of this node", ServiceActive: true, Alerts: []string{}}
	if s.cfg.Reports == nil {
		st.ServiceActive, st.Note = false, "analytics are off on this node"
	} else if err := s.cfg.Reports.Ping(r.Context()); err != nil {
		st.ServiceActive, st.Note = false, "the usage store does not answer"
	}
	s.reply(w, http.StatusOK, []sushi.Status{st})
}

func (s *Server) sushiReports(w http.ResponseWriter, r *http.Request) {
	s.reply(w, http.StatusOK, sushi.Reports(s.cfg.SUSHI))
}

// sushiDSR answers the Dataset Report; a parameter that makes the report
// impossible is answered 400 with its COUNTER exception, a store that does
// not answer 503 with exception 1000.
func (s *Server) sushiDSR(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	p, err := sushi.ParseDSR(r.URL.Query(), now, s.cfg.SUSHI)
	var exc sushi.Exception
	if errors.As(err, &exc) {
		s.reply(w, http.StatusBadRequest, exc)
		return
	}
	if s.cfg.Reports == nil {
		s.reply(w, http.StatusServiceUnavailable, sushi.ErrServiceUnavailable.With("analytics are off on this node"))
		return
	}
	// The report is written as its counts arrive, a dataset at a time,
	// so that a year of every dataset (millions of counts) never sits in
	// memory. Until the first dataset is written the answer can still be
	// an error; a store that fails later cuts the report short (the
	// client gets JSON that does not parse, never a report that looks
	// whole).
	dsr := sushi.NewDSRWriter(&lazyJSON{w: w}, p, s.cfg.SUSHI, now)
	err = s.cfg.Reports.EachUsageCount(r.Context(), p.Query(), dsr.Add)
	if err == nil {
		err = dsr.Close()
	}
	switch {
	case err == nil:
	case !dsr.Written():
		s.log.Warn("sushi: usage counts", "err", err)
		s.reply(w, http.StatusServiceUnavailable, sushi.ErrServiceUnavailable.With("the usage store does not answer"))
	default:
		s.log.Warn("sushi: report cut short", "err", err)
	}
}

// lazyJSON writes a 200 JSON answer's headers on its first write, so that
// an answer written as it is computed can still fail before that.
type lazyJSON struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyJSON) Write(b []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", "application/json")
		l.w.Header().Set("Cache-Control", "no-store")
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(b)
}
