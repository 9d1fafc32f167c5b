package nodepage

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// Bounds of the home page's charts.
const (
	maxTechniqueBars = 10
	maxGapBars       = 10
	maxYears         = 30
	// maxMonthsSpan is the longest span of issue dates the timeline
	// shows per month (per year beyond).
	maxMonthsSpan = 2 * 366 * 24 * time.Hour
)

// homeData is what the home page shows.
type homeData struct {
	page
	// Datasets is the number of live datasets (CatalogueErr: why not known).
	Datasets     uint64
	CatalogueErr string
	Facilities   Chart
	Techniques   Chart
	Quality      Chart
	Gaps         Chart
	// MeanQuality over every live dataset.
	MeanQuality float64
	// FacilityCount is the number of facilities with live datasets, from
	// the quality source (the facility chart shows at most its facet's
	// size); 0 when that source did not answer.
	FacilityCount int

	// Operations: nil Status when the node has no status source.
	HasStatus    bool
	StatusErr    string
	Lag          Chart
	DeadLetters  Chart
	Feeds        []feedView
	Destinations []destinationView
	// AnalyticsState as api.NodeStatus says it.
	AnalyticsState string

	// Over time: AnalyticsOff when the node runs without analytics.
	AnalyticsOff bool
	Timeline     Chart
	Reuse        Chart
}

// feedView is a feed's row.
type feedView struct {
	ID, Facility string
	Enabled      bool
	// State is "complete", "failed", "running" or "never".
	State    string
	Started  string
	Records  int64
	Rejected int64
	Error    string
}

// destinationView is a destination's row: how far behind it is, and
// whether its last push failed. Its URL and error text stay in the
// operators' API (/api/v1/status).
type destinationView struct {
	ID, Kind      string
	Enabled       bool
	Running       bool
	Held, Pending uint64
	Failing       bool
	LastDelivery  string
	DeadLetters   int
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	now := h.cfg.Now()
	if h.cached == nil || h.cfg.CacheFor < 0 || now.Sub(h.built) >= h.cfg.CacheFor {
		// Built apart from the request: one that goes away does not
		// leave the next ones an aborted page.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*h.cfg.Timeout)
		d := h.buildHome(ctx)
		cancel()
		h.cached, h.built = &d, now
	}
	d := *h.cached
	h.mu.Unlock()
	w.Header().Set("Cache-Control", "no-cache")
	h.render(w, http.StatusOK, "home.html", d)
}

// buildHome reads every source of the page at /, concurrently, each
// bounded by the source timeout, and draws the charts.
func (h *Handler) buildHome(ctx context.Context) homeData {
	d := homeData{page: page{Node: h.cfg.Title, Now: h.cfg.Now().UTC()}}
	d.Facilities = Chart{Name: "facilities", Title: "Datasets per facility", Unit: "datasets", Empty: "The catalogue holds no dataset yet."}
	d.Techniques = Chart{Name: "techniques", Title: "Datasets per technique (PaNET, as tagged)", Unit: "datasets", Empty: "No dataset is tagged with a technique yet."}
	d.Quality = Chart{Name: "quality", Title: "Quality scores (FAIR rubric)", Unit: "datasets", Empty: "No dataset is scored yet."}
	d.Gaps = Chart{Name: "gaps", Title: "Most common gaps", Unit: "datasets lacking it", Empty: "No dataset fails a check."}
	d.Lag = Chart{Name: "lag", Title: "Messages waiting, per consumer", Unit: "messages", Zero: "Nothing waits: every consumer is up to date."}
	d.DeadLetters = Chart{Name: "deadletters", Title: "Dead letters, per stage", Unit: "dead letters", Empty: "No dead letters."}
	d.Timeline = Chart{Name: "timeline", Title: "Datasets issued", Unit: "datasets", Empty: "No dataset has a date of issue."}
	d.Reuse = Chart{Name: "reuse", Title: fmt.Sprintf("Reuse over the last %d months (COUNTER investigations)", h.cfg.Months), Unit: "investigations",
		Zero: "No use of the datasets recorded in these months yet."}

	var wg sync.WaitGroup
	wg.Go(func() { h.catalogueCharts(ctx, &d) })
	wg.Go(func() { h.qualityCharts(ctx, &d) })
	if h.cfg.Status != nil {
		d.HasStatus = true
		wg.Go(func() { h.statusParts(ctx, &d) })
	}
	if h.cfg.Analytics == nil {
		d.AnalyticsOff = true
	} else {
		wg.Go(func() { h.timeline(ctx, &d) })
		wg.Go(func() { h.reuse(ctx, &d) })
	}
	wg.Wait()
	for _, c := range []*Chart{&d.Facilities, &d.Techniques, &d.Quality, &d.Gaps, &d.Lag, &d.DeadLetters, &d.Timeline, &d.Reuse} {
		renderBars(c)
	}
	return d
}

// catalogueCharts counts the live catalogue by facility and technique
// (the facets of a search for everything).
func (h *Handler) catalogueCharts(ctx context.Context, d *homeData) {
	var res search.Result
	if msg := h.call(ctx, "catalogue", func(ctx context.Context) (err error) {
		res, err = h.cfg.Search.Search(ctx, search.Request{Limit: 1})
		return err
	}); msg != "" {
		d.CatalogueErr, d.Facilities.Err, d.Techniques.Err = msg, msg, msg
		return
	}
	d.Datasets = res.Total
	for _, f := range res.Facets.Facility {
		d.Facilities.Bars = append(d.Facilities.Bars, Bar{Label: strings.ToUpper(f.Value), Value: float64(f.Count), Href: "/search?facility=" + url.QueryEscape(f.Value)})
	}
	if h.cfg.Analytics != nil && h.directTechniques(ctx, d) {
		return
	}
	// Without analytics: the facet, which counts a dataset for its
	// techniques and every broader one.
	d.Techniques.Title = "Datasets per technique (PaNET, broader techniques included)"
	for _, t := range res.Facets.Technique {
		if len(d.Techniques.Bars) == maxTechniqueBars {
			break
		}
		d.Techniques.Bars = append(d.Techniques.Bars, Bar{Label: cmp.Or(t.Label, t.Value), Value: float64(t.Count), Href: "/search?technique=" + url.QueryEscape(t.Value)})
	}
}

// directTechniques counts the datasets tagged with each technique itself
// (the analytics' techniques statistic, column direct), the most tagged
// first, and reports whether it could.
func (h *Handler) directTechniques(ctx context.Context, d *homeData) bool {
	var res *analytics.StatsResult
	if msg := h.call(ctx, "analytics", func(ctx context.Context) (err error) {
		res, err = h.cfg.Analytics.Stats(ctx, analytics.StatTechniques, analytics.StatsQuery{Limit: analytics.MaxStatsLimit})
		return err
	}); msg != "" {
		return false
	}
	iri, label, direct := column(res, "technique"), column(res, "label"), column(res, "direct")
	if iri < 0 || label < 0 || direct < 0 {
		return false
	}
	var bars []Bar
	for _, row := range res.Rows {
		n := toFloat(row[direct])
		if n <= 0 {
			continue
		}
		id, _ := row[iri].(string)
		l, _ := row[label].(string)
		bars = append(bars, Bar{Label: cmp.Or(l, id), Value: n, Href: "/search?technique=" + url.QueryEscape(id)})
	}
	slices.SortStableFunc(bars, func(a, b Bar) int { return cmp.Compare(b.Value, a.Value) })
	d.Techniques.Bars = bars[:min(len(bars), maxTechniqueBars)]
	return true
}

// qualityCharts sums the quality of every facility: the distribution of
// scores in tenths, and the checks most datasets fail.
func (h *Handler) qualityCharts(ctx context.Context, d *homeData) {
	var fqs []readmodel.FacilityQuality
	if msg := h.call(ctx, "quality", func(ctx context.Context) (err error) {
		fqs, err = h.cfg.Catalogue.Quality(ctx)
		return err
	}); msg != "" {
		d.Quality.Err, d.Gaps.Err = msg, msg
		return
	}
	buckets := make([]float64, 10)
	gaps := map[string]uint64{}
	var n uint64
	var sum float64
	for _, q := range fqs {
		n += q.Datasets
		sum += q.MeanScore * float64(q.Datasets)
		for _, b := range q.Distribution {
			i := min(max(int(b.From*10+0.5), 0), 9)
			buckets[i] += float64(b.Datasets)
		}
		for _, g := range q.Gaps {
			gaps[g.Check] += g.Datasets
		}
		if q.Datasets > 0 {
			d.FacilityCount++
		}
	}
	if n == 0 {
		return
	}
	d.MeanQuality = sum / float64(n)
	for i, v := range buckets {
		d.Quality.Bars = append(d.Quality.Bars, Bar{Label: fmt.Sprintf("%.1f–%.1f", float64(i)/10, float64(i+1)/10), Value: v})
	}
	checks := make([]string, 0, len(gaps))
	for c := range gaps {
		checks = append(checks, c)
	}
	slices.SortFunc(checks, func(a, b string) int {
		return cmp.Or(cmp.Compare(gaps[b], gaps[a]), strings.Compare(a, b))
	})
	for _, c := range checks[:min(len(checks), maxGapBars)] {
		d.Gaps.Bars = append(d.Gaps.Bars, Bar{Label: c, Value: float64(gaps[c])})
	}
}

// statusParts reads the pipeline's status: lag per consumer, dead letters
// per stage, feeds and destinations.
func (h *Handler) statusParts(ctx context.Context, d *homeData) {
	var st api.NodeStatus
	if msg := h.call(ctx, "status", func(ctx context.Context) (err error) {
		st, err = h.cfg.Status.Status(ctx)
		return err
	}); msg != "" {
		d.StatusErr, d.Lag.Err, d.DeadLetters.Err = msg, msg, msg
		return
	}
	d.AnalyticsState = st.AnalyticsState
	for _, s := range st.Stages {
		d.Lag.Bars = append(d.Lag.Bars, Bar{Label: s.Stage, Value: float64(s.Lag)})
	}
	d.Lag.Bars = append(d.Lag.Bars, Bar{Label: "read model", Value: float64(st.ReadModelLag)})
	if st.AnalyticsState != api.AnalyticsAbsent {
		d.Lag.Bars = append(d.Lag.Bars, Bar{Label: "analytics", Value: float64(st.AnalyticsLag)})
	}
	for _, ds := range st.Destinations {
		d.Lag.Bars = append(d.Lag.Bars, Bar{Label: "to " + ds.ID, Value: float64(ds.Pending)})
		d.Destinations = append(d.Destinations, destinationView{
			ID: ds.ID, Kind: ds.Kind, Enabled: ds.Enabled, Running: ds.Running, Held: uint64(max(ds.Held, 0)), Pending: ds.Pending,
			Failing: ds.LastError != "", LastDelivery: when(ds.LastDelivery), DeadLetters: ds.DeadLetters,
		})
	}
	stages := make([]string, 0, len(st.DeadLetters))
	for s := range st.DeadLetters {
		stages = append(stages, s)
	}
	slices.Sort(stages)
	for _, s := range stages {
		d.DeadLetters.Bars = append(d.DeadLetters.Bars, Bar{Label: s, Value: float64(st.DeadLetters[s])})
	}
	for _, f := range st.Feeds {
		v := feedView{ID: f.ID, Facility: f.Facility, Enabled: f.Enabled, State: "never"}
		if run := f.LastRun; run != nil {
			v.State, v.Started, v.Records, v.Rejected, v.Error = run.Status, when(run.StartedAt), run.Records, run.Rejected, publicError(run.Error)
		}
		d.Feeds = append(d.Feeds, v)
	}
}

// publicError is a harvest error as the public page shows it: every URL
// in it cut to its scheme, host and path (a feed's URL may carry a key in
// its query or credentials in its user part; the operators' API,
// /api/v1/status, has the whole text), and at most maxErrorText
// characters.
func publicError(msg string) string {
	msg = urlInText.ReplaceAllStringFunc(msg, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "(a URL)"
		}
		out := u.Scheme + "://" + u.Host + u.EscapedPath()
		if u.RawQuery != "" || u.Fragment != "" {
			out += "?…"
		}
		return out
	})
	return shorten(msg, maxErrorText)
}

// urlInText finds URLs in an error's text.
var urlInText = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>]+`)

// maxErrorText bounds a feed's error on the page.
const maxErrorText = 300

// timeline counts the live datasets issued in the last maxYears years (by
// the calendar: the statistic is asked for those alone) by date of issue:
// per month, empty months included, when their months span at most two
// years, else per year up to the latest (empty years included).
func (h *Handler) timeline(ctx context.Context, d *homeData) {
	var res *analytics.StatsResult
	if msg := h.call(ctx, "analytics", func(ctx context.Context) (err error) {
		// Only the years the chart can show: the statistic's rows are
		// (month, facility) pairs, oldest first, and a limit of them.
		since := time.Date(h.cfg.Now().UTC().Year()-maxYears, 1, 1, 0, 0, 0, 0, time.UTC)
		res, err = h.cfg.Analytics.Stats(ctx, analytics.StatTimeline, analytics.StatsQuery{Since: since, Limit: analytics.MaxStatsLimit})
		return err
	}); msg != "" {
		d.Timeline.Err = msg
		return
	}
	month, datasets := column(res, "month"), column(res, "datasets")
	if month < 0 || datasets < 0 {
		d.Timeline.Err = "analytics: the timeline has no month or datasets column"
		return
	}
	months := map[string]float64{}
	first, last := "", ""
	for _, row := range res.Rows {
		s, _ := row[month].(string)
		if len(s) < 7 || s < "1971" {
			continue // no date of issue
		}
		m := s[:7]
		months[m] += toFloat(row[datasets])
		if first == "" || m < first {
			first = m
		}
		last = max(last, m)
	}
	if len(months) == 0 {
		return
	}
	start, err1 := time.Parse("2006-01", first)
	end, err2 := time.Parse("2006-01", last)
	if err1 != nil || err2 != nil {
		d.Timeline.Err = "analytics: the timeline's months do not read"
		return
	}
	if end.Sub(start) <= maxMonthsSpan {
		// A few years at most: per month, empty months included.
		d.Timeline.Title += ", per month"
		for m := start; !m.After(end); m = m.AddDate(0, 1, 0) {
			k := m.Format("2006-01")
			d.Timeline.Bars = append(d.Timeline.Bars, Bar{Label: k, Value: months[k]})
		}
		return
	}
	d.Timeline.Title += ", per year"
	years := map[int]float64{}
	for m, n := range months {
		y, _ := strconv.Atoi(m[:4])
		years[y] += n
	}
	firstY := max(start.Year(), end.Year()-maxYears+1)
	for y := firstY; y <= end.Year(); y++ {
		d.Timeline.Bars = append(d.Timeline.Bars, Bar{Label: strconv.Itoa(y), Value: years[y]})
	}
}

// reuse counts the investigations of the catalogue's datasets per month
// (COUNTER: requests count as investigations too), humans and machines.
func (h *Handler) reuse(ctx context.Context, d *homeData) {
	now := h.cfg.Now().UTC()
	end := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	begin := end.AddDate(0, -(h.cfg.Months - 1), 0)
	var counts []analytics.MonthUsage
	if msg := h.call(ctx, "analytics", func(ctx context.Context) (err error) {
		counts, err = h.cfg.Analytics.UsageByMonth(ctx, analytics.UsageQuery{Begin: begin, End: end})
		return err
	}); msg != "" {
		d.Reuse.Err = msg
		return
	}
	by := map[string]float64{}
	for _, c := range counts {
		by[c.Month.UTC().Format("2006-01")] += float64(c.TotalInvestigations)
	}
	for m := begin; !m.After(end); m = m.AddDate(0, 1, 0) {
		k := m.Format("2006-01")
		d.Reuse.Bars = append(d.Reuse.Bars, Bar{Label: k, Value: by[k]})
	}
}

// column returns the index of the column name of res, or -1.
func column(res *analytics.StatsResult, name string) int {
	if res == nil {
		return -1
	}
	return slices.IndexFunc(res.Columns, func(c analytics.Column) bool { return c.Name == name })
}

// toFloat reads a statistic's number.
func toFloat(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	case uint64:
		return float64(n)
	case int:
		return float64(n)
	}
	return 0
}
