package sushi

import (
	"sort"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/usage"
)

// Report is a COUNTER Release 5.1 report in its JSON form.
type Report struct {
	Header Header `json:"Report_Header"`
	Items  []Item `json:"Report_Items"`
}

// Header is the Report_Header.
type Header struct {
	ReportName      string         `json:"Report_Name"`
	ReportID        string         `json:"Report_ID"`
	Release         string         `json:"Release"`
	InstitutionName string         `json:"Institution_Name"`
	Created         string         `json:"Created"`
	CreatedBy       string         `json:"Created_By"`
	Filters         map[string]any `json:"Report_Filters"`
	Attributes      map[string]any `json:"Report_Attributes,omitempty"`
	Exceptions      []Exception    `json:"Exceptions,omitempty"`
}

// Item is one dataset of the DSR.
type Item struct {
	Item                 string                 `json:"Item"`
	ItemID               map[string]string      `json:"Item_ID"`
	Platform             string                 `json:"Platform"`
	Publisher            string                 `json:"Publisher,omitempty"`
	AttributePerformance []AttributePerformance `json:"Attribute_Performance"`
}

// AttributePerformance holds one data type and access method's counts:
// per metric type, per month ("yyyy-mm") or "Totals".
type AttributePerformance struct {
	DataType     string                       `json:"Data_Type"`
	AccessMethod string                       `json:"Access_Method"`
	Performance  map[string]map[string]uint64 `json:"Performance"`
}

// DSR builds the Dataset Report of p from counts (as
// analytics.Store.UsageCounts returns them), created at created.
func DSR(p Params, counts []analytics.UsageCount, cfg Config, created time.Time) Report {
	cfg = cfg.withDefaults()
	metrics := p.Metrics
	if len(metrics) == 0 {
		metrics = Metrics
	}
	methods := p.AccessMethods
	if len(methods) == 0 {
		methods = []string{Regular, Machine}
	}
	filters := map[string]any{
		"Begin_Date":    p.Begin.Format("2006-01-02"),
		"End_Date":      p.End.AddDate(0, 1, -1).Format("2006-01-02"),
		"Access_Method": methods,
		"Metric_Type":   metrics,
		"Data_Type":     []string{"Dataset"},
	}
	if len(p.Datasets) > 0 {
		filters["Item_ID"] = p.Datasets
	}
	if p.Facility != "" {
		filters["Facility"] = p.Facility
	}
	r := Report{
		Header: Header{
			ReportName: "Dataset Report", ReportID: "DSR", Release: Release,
			InstitutionName: cfg.Institution, Created: created.UTC().Format(time.RFC3339), CreatedBy: cfg.CreatedBy,
			Filters:    filters,
			Attributes: map[string]any{"Attributes_To_Show": []string{"Access_Method"}, "Granularity": p.Granularity},
			Exceptions: append([]Exception(nil), p.Warnings...),
		},
		Items: []Item{},
	}
	type slot struct {
		item *Item
		perf map[string]*AttributePerformance
	}
	byDataset := map[string]*slot{}
	var order []string
	for _, c := range counts {
		sl := byDataset[c.Dataset]
		if sl == nil {
			it := &Item{Item: c.Title, ItemID: itemID(c), Platform: cfg.Platform, Publisher: c.Facility}
			if it.Item == "" {
				it.Item = c.Dataset
			}
			sl = &slot{item: it, perf: map[string]*AttributePerformance{}}
			byDataset[c.Dataset] = sl
			order = append(order, c.Dataset)
		}
		method := Regular
		if c.AccessMethod == usage.Machine {
			method = Machine
		}
		ap := sl.perf[method]
		if ap == nil {
			ap = &AttributePerformance{DataType: "Dataset", AccessMethod: method, Performance: map[string]map[string]uint64{}}
			sl.perf[method] = ap
		}
		period := c.Month.Format("2006-01")
		if p.Granularity == Totals {
			period = "Totals"
		}
		values := map[string]uint64{
			TotalInvestigations: c.TotalInvestigations, UniqueInvestigations: c.UniqueInvestigations,
			TotalRequests: c.TotalRequests, UniqueRequests: c.UniqueRequests,
		}
		for _, m := range metrics {
			if values[m] == 0 {
				continue // COUNTER leaves zeros out
			}
			if ap.Performance[m] == nil {
				ap.Performance[m] = map[string]uint64{}
			}
			ap.Performance[m][period] += values[m]
		}
	}
	sort.Strings(order)
	for _, d := range order {
		sl := byDataset[d]
		for _, m := range []string{Regular, Machine} {
			if ap := sl.perf[m]; ap != nil && len(ap.Performance) > 0 {
				sl.item.AttributePerformance = append(sl.item.AttributePerformance, *ap)
			}
		}
		if len(sl.item.AttributePerformance) > 0 {
			r.Items = append(r.Items, *sl.item)
		}
	}
	if len(r.Items) == 0 {
		r.Header.Exceptions = append(r.Header.Exceptions, ErrNoUsage.With("%s to %s", p.Begin.Format("2006-01"), p.End.Format("2006-01")))
	}
	return r
}

// itemID is the Item_ID of a dataset: its DOI when it has one, and its
// key on this platform.
func itemID(c analytics.UsageCount) map[string]string {
	id := map[string]string{"Proprietary": "fairway:" + c.Dataset}
	doi := c.DOI
	if doi == "" {
		doi, _ = strings.CutPrefix(c.Dataset, "doi:")
		if doi == c.Dataset {
			doi = ""
		}
	}
	if doi != "" {
		id["DOI"] = doi
	}
	return id
}

// Status is one entry of the SUSHI status answer.
type Status struct {
	Description   string   `json:"Description"`
	ServiceActive bool     `json:"Service_Active"`
	Note          string   `json:"Note,omitempty"`
	Alerts        []string `json:"Alerts"`
}

// ReportInfo is one entry of the SUSHI reports list.
type ReportInfo struct {
	ReportName        string `json:"Report_Name"`
	ReportID          string `json:"Report_ID"`
	Release           string `json:"Release"`
	ReportDescription string `json:"Report_Description"`
	Path              string `json:"Path"`
}

// Reports lists the reports the service offers.
func Reports(cfg Config) []ReportInfo {
	cfg = cfg.withDefaults()
	return []ReportInfo{{
		ReportName: "Dataset Report", ReportID: "DSR", Release: Release, Path: cfg.Path,
		ReportDescription: "Investigations and requests of each dataset by month and access method, counted as the COUNTER Code of Practice for Research Data counts them",
	}}
}
