package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
	"github.com/panosc/fairway/pkg/usage"
)

// Analytics states of an answer.
const (
	AnalyticsOn          = "on"
	AnalyticsOff         = "off: this node runs without analytics; the counts come from the catalogue's read model only"
	analyticsUnavailable = "unavailable: "
)

// errAnalyticsOff is the tool error of reuse_stats on a node without
// analytics.
var errAnalyticsOff = errors.New("analytics are off on this node: it keeps no usage or citation counts (facility_stats and list_techniques answer from the catalogue)")

// FacilityStatsInput is the input of facility_stats.
type FacilityStatsInput struct {
	Facility string `json:"facility,omitempty" jsonschema:"facility acronym, case-insensitive; every facility when empty"`
}

// FacilityStatsQuery echoes the query facility_stats ran.
type FacilityStatsQuery struct {
	// Facility in lower case, "" for every facility.
	Facility string `json:"facility"`
}

// FacilityStatsOutput is the structured answer of facility_stats.
type FacilityStatsOutput struct {
	// Notice marks the harvested text (instrument names, licences).
	Notice string             `json:"untrusted_content_notice"`
	Query  FacilityStatsQuery `json:"query"`
	// Analytics says whether the holdings statistics are there: "on",
	// or why not.
	Analytics string `json:"analytics"`
	// TotalFacilities and TotalDatasets count what is listed.
	TotalFacilities int    `json:"total_facilities"`
	TotalDatasets   uint64 `json:"total_datasets"`
	// Facilities by name.
	Facilities []FacilityStats `json:"facilities"`
}

// FacilityStats is what the node knows of one facility's holdings.
type FacilityStats struct {
	// Facility in lower case.
	Facility string `json:"facility"`
	// Datasets counts its live datasets.
	Datasets uint64 `json:"datasets"`
	// Techniques, Instruments, AccessRights, Licences and Years count its
	// datasets per value (the most frequent first, at most 20 of each; a
	// dataset counts for each technique and every broader one).
	Techniques   []search.FacetValue `json:"techniques"`
	Instruments  []search.FacetValue `json:"instruments"`
	AccessRights []search.FacetValue `json:"access_rights"`
	Licences     []search.FacetValue `json:"licences"`
	Years        []search.FacetValue `json:"years"`
	// Quality is the FAIR quality of its datasets.
	Quality readmodel.FacilityQuality `json:"quality"`
	// Holdings are the analytics' statistics of its datasets (nil without
	// analytics).
	Holdings *Holdings `json:"holdings,omitempty"`
}

// Holdings are a facility's row of the holdings statistic.
type Holdings struct {
	Datasets      uint64  `json:"datasets"`
	Open          uint64  `json:"open"`
	WithDOI       uint64  `json:"with_doi"`
	WithTechnique uint64  `json:"with_technique"`
	MeanQuality   float64 `json:"mean_quality"`
}

func (h *handlers) facilityStats(ctx context.Context, _ *mcp.CallToolRequest, in FacilityStatsInput) (*mcp.CallToolResult, FacilityStatsOutput, error) {
	want := strings.ToLower(strings.TrimSpace(in.Facility))
	if len(want) > search.MaxValue {
		return nil, FacilityStatsOutput{}, fmt.Errorf("facility of %d bytes: at most %d", len(want), search.MaxValue)
	}
	fs, err := h.cfg.Catalogue.Facilities(ctx)
	if err != nil {
		return nil, FacilityStatsOutput{}, fmt.Errorf("the catalogue cannot be read now: %w", err)
	}
	out := FacilityStatsOutput{Notice: HarvestedNotice, Query: FacilityStatsQuery{Facility: want}, Facilities: []FacilityStats{}}
	var names []string
	for _, f := range fs {
		names = append(names, f.Value)
		if want != "" && !strings.EqualFold(f.Value, want) {
			continue
		}
		st, err := h.facility(ctx, f)
		if err != nil {
			return nil, FacilityStatsOutput{}, err
		}
		out.Facilities = append(out.Facilities, st)
		out.TotalDatasets += st.Datasets
	}
	if want != "" && len(out.Facilities) == 0 {
		return nil, FacilityStatsOutput{}, fmt.Errorf("facility %.80q has no datasets in this node; the facilities are: %s", want, strings.Join(names, ", "))
	}
	out.TotalFacilities = len(out.Facilities)
	out.Analytics = AnalyticsOff
	if h.cfg.Analytics != nil {
		out.Analytics = AnalyticsOn
		holdings, err := h.holdings(ctx, want)
		if err != nil {
			out.Analytics = analyticsUnavailable + err.Error()
		}
		for i := range out.Facilities {
			out.Facilities[i].Holdings = holdings[strings.ToLower(out.Facilities[i].Facility)]
		}
	}
	return nil, out, nil
}

// facility returns the read model's figures of one facility.
func (h *handlers) facility(ctx context.Context, f readmodel.Count) (FacilityStats, error) {
	res, err := h.cfg.Search.Search(ctx, search.Request{Facility: f.Value, Limit: 1})
	if err != nil {
		return FacilityStats{}, fmt.Errorf("facility %s: %w", f.Value, err)
	}
	q, err := h.cfg.Catalogue.FacilityQuality(ctx, f.Value)
	if err != nil && !errors.Is(err, readmodel.ErrNotFound) {
		return FacilityStats{}, fmt.Errorf("facility %s: quality: %w", f.Value, err)
	}
	return FacilityStats{
		Facility: f.Value, Datasets: res.Total, Techniques: nonNil(res.Facets.Technique), Instruments: nonNil(res.Facets.Instrument),
		AccessRights: nonNil(res.Facets.Access), Licences: nonNil(res.Facets.Licence), Years: nonNil(res.Facets.Year), Quality: q,
	}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// holdings returns the holdings statistic per facility (lower case).
func (h *handlers) holdings(ctx context.Context, facility string) (map[string]*Holdings, error) {
	res, err := h.cfg.Analytics.Stats(ctx, analytics.StatHoldings, analytics.StatsQuery{Facility: facility, Limit: analytics.MaxStatsLimit})
	if err != nil {
		return nil, err
	}
	out := map[string]*Holdings{}
	for _, row := range res.Rows {
		r := rowOf(res, row)
		out[strings.ToLower(r.str("facility"))] = &Holdings{
			Datasets: r.uint("datasets"), Open: r.uint("open"), WithDOI: r.uint("with_doi"),
			WithTechnique: r.uint("with_technique"), MeanQuality: r.float("mean_quality"),
		}
	}
	return out, nil
}

// statsRow reads one row of a statistic by column name.
type statsRow map[string]any

func rowOf(res *analytics.StatsResult, row []any) statsRow {
	r := statsRow{}
	for i, c := range res.Columns {
		if i < len(row) {
			r[c.Name] = row[i]
		}
	}
	return r
}

func (r statsRow) str(name string) string {
	s, _ := r[name].(string)
	return s
}

func (r statsRow) uint(name string) uint64 {
	switch v := r[name].(type) {
	case int64:
		return uint64(max(v, 0))
	case uint64:
		return v
	case int:
		return uint64(max(v, 0))
	case float64:
		return uint64(max(v, 0))
	}
	return 0
}

func (r statsRow) float(name string) float64 {
	switch v := r[name].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return 0
}

// ReuseInput is the input of reuse_stats.
type ReuseInput struct {
	Dataset  string `json:"dataset,omitempty" jsonschema:"one dataset: its DOI or its key in this node"`
	Facility string `json:"facility,omitempty" jsonschema:"one facility's datasets (acronym, case-insensitive); the whole node when neither dataset nor facility is given"`
	From     string `json:"from,omitempty" jsonschema:"first month counted: 2026-01, a day in it or RFC 3339; default eleven months before until"`
	Until    string `json:"until,omitempty" jsonschema:"last month counted: 2026-12, a day in it or RFC 3339; default this month"`
	Limit    int    `json:"limit,omitempty" jsonschema:"how many of the most reused datasets to list, 1 to 100, default 20"`
}

// ReuseQuery echoes the query reuse_stats ran.
type ReuseQuery struct {
	// Dataset key (and DOI) of one dataset, or the facility, or neither
	// for the whole node.
	Dataset  string `json:"dataset,omitempty"`
	DOI      string `json:"doi,omitempty"`
	Facility string `json:"facility,omitempty"`
	// From and Until are the first and last months counted (YYYY-MM).
	From  string `json:"from"`
	Until string `json:"until"`
	Limit int    `json:"limit"`
}

// ReuseTotals are the counts of everything the query selects. COUNTER's
// unique counts are per month: the totals add them up over the months.
type ReuseTotals struct {
	// Investigations, Requests and their unique counts of people and
	// machines (COUNTER's metrics).
	Investigations       uint64 `json:"total_investigations"`
	UniqueInvestigations uint64 `json:"unique_investigations"`
	Requests             uint64 `json:"total_requests"`
	UniqueRequests       uint64 `json:"unique_requests"`
	// AgentInvestigations and AgentRequests count AI agents, apart.
	AgentInvestigations uint64 `json:"agent_investigations"`
	AgentRequests       uint64 `json:"agent_requests"`
	// Citations sums, over the datasets, the distinct works that cite or
	// reuse each (from their related identifiers; a work citing two
	// datasets counts twice; citations carry no month).
	Citations uint64 `json:"citations"`
	// Datasets counts the datasets listed.
	Datasets int `json:"datasets_listed"`
}

// ReuseRow is one dataset's reuse.
type ReuseRow struct {
	Dataset              string `json:"dataset"`
	DOI                  string `json:"doi,omitempty"`
	Facility             string `json:"facility,omitempty"`
	Title                string `json:"title,omitempty"`
	Investigations       uint64 `json:"total_investigations"`
	UniqueInvestigations uint64 `json:"unique_investigations"`
	Requests             uint64 `json:"total_requests"`
	UniqueRequests       uint64 `json:"unique_requests"`
	Citations            uint64 `json:"citations"`
	// Reuse is investigations plus citations, the order of the list.
	Reuse uint64 `json:"reuse"`
}

// ReuseOutput is the structured answer of reuse_stats.
type ReuseOutput struct {
	// Notice marks the harvested text (titles).
	Notice string      `json:"untrusted_content_notice"`
	Query  ReuseQuery  `json:"query"`
	Totals ReuseTotals `json:"totals"`
	// Datasets are the most reused (people and machines; agents left
	// out), the most first.
	Datasets []ReuseRow `json:"datasets"`
}

func (h *handlers) reuseStats(ctx context.Context, _ *mcp.CallToolRequest, in ReuseInput) (*mcp.CallToolResult, ReuseOutput, error) {
	if h.cfg.Analytics == nil {
		return nil, ReuseOutput{}, errAnalyticsOff
	}
	q := ReuseQuery{Facility: strings.ToLower(strings.TrimSpace(in.Facility)), Limit: in.Limit}
	switch {
	case q.Limit == 0:
		q.Limit = 20
	case q.Limit < 1 || q.Limit > 100:
		return nil, ReuseOutput{}, fmt.Errorf("limit %d: want 1 to 100", in.Limit)
	}
	if in.Dataset != "" && q.Facility != "" {
		return nil, ReuseOutput{}, errors.New("give a dataset or a facility, not both")
	}
	if len(q.Facility) > search.MaxValue {
		return nil, ReuseOutput{}, fmt.Errorf("facility of %d bytes: at most %d", len(q.Facility), search.MaxValue)
	}
	begin, end, err := period(in.From, in.Until, h.cfg.Now())
	if err != nil {
		return nil, ReuseOutput{}, err
	}
	q.From, q.Until = begin.Format("2006-01"), end.Format("2006-01")
	if q.Facility != "" {
		if err := h.knownFacility(ctx, q.Facility); err != nil {
			return nil, ReuseOutput{}, err
		}
	}
	var rec readmodel.Record
	if in.Dataset != "" {
		if rec, _, err = h.find(ctx, in.Dataset, ""); err != nil {
			return nil, ReuseOutput{}, err
		}
		q.Dataset, q.DOI = rec.Key, rec.DOI
	}
	out := ReuseOutput{Notice: HarvestedNotice, Query: q, Datasets: []ReuseRow{}}
	uq := analytics.UsageQuery{Begin: begin, End: end, Facility: q.Facility, Clients: []usage.Client{usage.Human, usage.MachineClient, usage.Agent}}
	if q.Dataset != "" {
		uq.Datasets = []string{q.Dataset}
	}
	row := ReuseRow{Dataset: q.Dataset, DOI: q.DOI, Facility: rec.Facility}
	err = h.cfg.Analytics.EachUsageCount(ctx, uq, func(c analytics.UsageCount) error {
		t := &out.Totals
		if c.Client == usage.Agent {
			t.AgentInvestigations += c.TotalInvestigations
			t.AgentRequests += c.TotalRequests
			return nil
		}
		t.Investigations += c.TotalInvestigations
		t.UniqueInvestigations += c.UniqueInvestigations
		t.Requests += c.TotalRequests
		t.UniqueRequests += c.UniqueRequests
		return nil
	})
	if err != nil {
		return nil, ReuseOutput{}, fmt.Errorf("reuse_stats: usage counts: %w", err)
	}
	if q.Dataset != "" {
		// One dataset: its citations are its record's.
		out.Totals.Citations = uint64(links(rec.Entry.GetDataset().GetDataset()).Citations)
		row.Title = rec.Entry.GetDataset().GetDataset().GetTitle()
		row.Investigations, row.UniqueInvestigations = out.Totals.Investigations, out.Totals.UniqueInvestigations
		row.Requests, row.UniqueRequests = out.Totals.Requests, out.Totals.UniqueRequests
		row.Citations = out.Totals.Citations
		row.Reuse = row.Investigations + row.Citations
		out.Datasets = append(out.Datasets, row)
		out.Totals.Datasets = 1
		return nil, out, nil
	}
	// Summed by ClickHouse: every cited dataset counts, and none is read.
	if out.Totals.Citations, err = h.cfg.Analytics.Citations(ctx, q.Facility); err != nil {
		return nil, ReuseOutput{}, fmt.Errorf("reuse_stats: citations: %w", err)
	}
	// The statistic bounds months by an exclusive end: the month after.
	res, err := h.cfg.Analytics.Stats(ctx, analytics.StatReuse, analytics.StatsQuery{Facility: q.Facility, Since: begin, Until: end.AddDate(0, 1, 0), Limit: q.Limit})
	if err != nil {
		return nil, ReuseOutput{}, fmt.Errorf("reuse_stats: %w", err)
	}
	for _, raw := range res.Rows {
		r := rowOf(res, raw)
		out.Datasets = append(out.Datasets, ReuseRow{
			Dataset: r.str("dataset"), DOI: r.str("doi"), Facility: r.str("facility"), Title: r.str("title"),
			Investigations: r.uint("investigations"), UniqueInvestigations: r.uint("unique_investigations"),
			Requests: r.uint("requests"), UniqueRequests: r.uint("unique_requests"), Citations: r.uint("citations"), Reuse: r.uint("reuse"),
		})
	}
	out.Totals.Datasets = len(out.Datasets)
	return nil, out, nil
}

// knownFacility returns an error naming the node's facilities when
// facility has no live datasets in it.
func (h *handlers) knownFacility(ctx context.Context, facility string) error {
	fs, err := h.cfg.Catalogue.Facilities(ctx)
	if err != nil {
		return fmt.Errorf("the catalogue cannot be read now: %w", err)
	}
	var names []string
	for _, f := range fs {
		if strings.EqualFold(f.Value, facility) {
			return nil
		}
		names = append(names, f.Value)
	}
	return fmt.Errorf("facility %.80q has no datasets in this node; the facilities are: %s", facility, strings.Join(names, ", "))
}

// period returns the first days of the first and last months of from and
// until (a month, a day or RFC 3339, from 1970 to 2105): by default the
// twelve months up to now's.
func period(from, until string, now time.Time) (time.Time, time.Time, error) {
	month := func(s, name string) (time.Time, error) {
		for _, layout := range []string{"2006-01", time.DateOnly, time.RFC3339} {
			if t, err := time.Parse(layout, s); err == nil {
				t = t.UTC()
				if t.Year() < 1970 || t.Year() > 2105 {
					// The months usage can be held in.
					return time.Time{}, fmt.Errorf("%s %.40q: want a month from 1970 to 2105", name, s)
				}
				return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC), nil
			}
		}
		return time.Time{}, fmt.Errorf("%s %.40q: want a month (2026-05), a day (2026-05-01) or RFC 3339", name, s)
	}
	now = now.UTC()
	end := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var err error
	if until != "" {
		if end, err = month(until, "until"); err != nil {
			return end, end, err
		}
	}
	begin := end.AddDate(0, -11, 0)
	if from != "" {
		if begin, err = month(from, "from"); err != nil {
			return begin, end, err
		}
	}
	if begin.After(end) {
		return begin, end, fmt.Errorf("from %s is after until %s", begin.Format("2006-01"), end.Format("2006-01"))
	}
	return begin, end, nil
}
