// Package sushi renders the node's usage as COUNTER Release 5.1 reports,
// as the SUSHI API serves them: the Dataset Report (DSR) of the COUNTER
// Code of Practice for Research Data — per dataset, its Total and Unique
// Dataset Investigations and Requests by month and access method — with
// the parsing of the report's parameters and the COUNTER exceptions for
// those that are wrong, and the status and report list of the service.
// It knows nothing of HTTP routing or ClickHouse: it turns parameters
// into an analytics.UsageQuery and counts into a report.
package sushi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/usage"
)

// Release is the COUNTER release of the reports.
const Release = "5.1"

// The metric types of the DSR, as the Code of Practice spells them.
const (
	TotalInvestigations  = "Total_Dataset_Investigations"
	UniqueInvestigations = "Unique_Dataset_Investigations"
	TotalRequests        = "Total_Dataset_Requests"
	UniqueRequests       = "Unique_Dataset_Requests"
)

// Metrics lists the DSR's metric types in report order.
var Metrics = []string{TotalInvestigations, UniqueInvestigations, TotalRequests, UniqueRequests}

// The access methods as COUNTER spells them.
const (
	Regular = "Regular"
	Machine = "Machine"
)

// The granularities.
const (
	Month  = "Month"
	Totals = "Totals"
)

// Exception is a COUNTER exception: a problem with a request, or a note on
// what the report holds.
type Exception struct {
	Code    int    `json:"Code"`
	Message string `json:"Message"`
	// Data says what the exception is about.
	Data string `json:"Data,omitempty"`
}

// The COUNTER exceptions this service raises.
var (
	ErrServiceUnavailable   = Exception{Code: 1000, Message: "Service Not Available"}
	ErrReportNotSupported   = Exception{Code: 3000, Message: "Report Not Supported"}
	ErrInvalidDates         = Exception{Code: 3020, Message: "Invalid Date Arguments"}
	ErrNoUsage              = Exception{Code: 3030, Message: "No Usage Available for Requested Dates"}
	ErrUsageNotReady        = Exception{Code: 3031, Message: "Usage Not Ready for Requested Dates"}
	ErrUnknownParameter     = Exception{Code: 3050, Message: "Parameter Not Recognized in this Context"}
	ErrInvalidFilter        = Exception{Code: 3060, Message: "Invalid ReportFilter Value"}
	ErrInvalidAttribute     = Exception{Code: 3062, Message: "Invalid ReportAttribute Value"}
	ErrRequiredFilterAbsent = Exception{Code: 3070, Message: "Required ReportFilter Missing"}
)

// With returns e with data.
func (e Exception) With(format string, args ...any) Exception {
	e.Data = fmt.Sprintf(format, args...)
	if len(e.Data) > 512 {
		e.Data = e.Data[:512]
	}
	return e
}

// Error implements error.
func (e Exception) Error() string {
	if e.Data == "" {
		return fmt.Sprintf("COUNTER exception %d: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("COUNTER exception %d: %s: %s", e.Code, e.Message, e.Data)
}

// Config describes the service in the reports.
type Config struct {
	// Platform names the platform the usage is of. Default "Fairway".
	Platform string
	// CreatedBy names who made the report. Default "Fairway".
	CreatedBy string
	// Institution is the Institution_Name of the report header (the
	// customer: everyone, for the node's open usage). Default "The World".
	Institution string
	// Path is where the DSR is served. Default "/api/v1/sushi/reports/dsr".
	Path string
	// MaxDatasets bounds the datasets one request may filter on.
	// Default 100.
	MaxDatasets int
}

func (c Config) withDefaults() Config {
	if c.Platform == "" {
		c.Platform = "Fairway"
	}
	if c.CreatedBy == "" {
		c.CreatedBy = "Fairway"
	}
	if c.Institution == "" {
		c.Institution = "The World"
	}
	if c.Path == "" {
		c.Path = "/api/v1/sushi/reports/dsr"
	}
	if c.MaxDatasets == 0 {
		c.MaxDatasets = 100
	}
	return c
}

// Params are the parameters of a DSR request.
type Params struct {
	// Begin and End are the first days of the first and last months.
	Begin, End time.Time
	// Datasets filters on dataset keys.
	Datasets []string
	// AccessMethods filters on access methods (COUNTER spelling); empty:
	// both.
	AccessMethods []string
	// Metrics filters on metric types; empty: all four.
	Metrics []string
	// Granularity is Month or Totals.
	Granularity string
	// Facility (an extension) filters on the datasets' facility.
	Facility string
	// Warnings are exceptions that do not stop the report (a parameter
	// not recognised, months not ready yet).
	Warnings []Exception
}

// known are the parameters a DSR request may carry that change nothing
// here (the usage is the node's, open to everyone).
var ignored = []string{"customer_id", "requestor_id", "api_key", "platform", "platform_id", "attributes_to_show", "include_parent_details", "include_component_details"}

// ParseDSR reads the parameters of a DSR request. A parameter that makes
// the request impossible gives its exception as the error; what is only
// odd is a warning in Params.Warnings. now decides which months are over.
func ParseDSR(v url.Values, now time.Time, cfg Config) (Params, error) {
	cfg = cfg.withDefaults()
	var p Params
	for name := range v {
		switch name {
		case "begin_date", "end_date", "item_id", "dataset", "access_method", "metric_type", "granularity", "data_type", "facility":
		default:
			if !slices.Contains(ignored, name) {
				p.Warnings = append(p.Warnings, ErrUnknownParameter.With("%.64s", name))
			}
		}
	}
	begin, err := date(v.Get("begin_date"), "begin_date", false)
	if err != nil {
		return p, err
	}
	end, err := date(v.Get("end_date"), "end_date", true)
	if err != nil {
		return p, err
	}
	if end.Before(begin) {
		return p, ErrInvalidDates.With("end_date %s is before begin_date %s", v.Get("end_date"), v.Get("begin_date"))
	}
	p.Begin, p.End = begin, end
	if current := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC); !end.Before(current) {
		p.Warnings = append(p.Warnings, ErrUsageNotReady.With("%s is not over: its counts are those so far", current.Format("2006-01")))
	}
	for _, name := range []string{"item_id", "dataset"} {
		for _, d := range split(v.Get(name)) {
			key, err := usage.DatasetKey(d)
			if err != nil {
				return p, ErrInvalidFilter.With("%s: %.200s", name, d)
			}
			p.Datasets = append(p.Datasets, key)
		}
	}
	if len(p.Datasets) > cfg.MaxDatasets {
		return p, ErrInvalidFilter.With("item_id: %d datasets, at most %d", len(p.Datasets), cfg.MaxDatasets)
	}
	for _, m := range split(v.Get("access_method")) {
		switch {
		case strings.EqualFold(m, Regular):
			p.AccessMethods = append(p.AccessMethods, Regular)
		case strings.EqualFold(m, Machine):
			p.AccessMethods = append(p.AccessMethods, Machine)
		default:
			return p, ErrInvalidFilter.With("access_method: %.64s (Regular or Machine)", m)
		}
	}
	for _, m := range split(v.Get("metric_type")) {
		i := slices.IndexFunc(Metrics, func(x string) bool { return strings.EqualFold(x, m) })
		if i < 0 {
			return p, ErrInvalidFilter.With("metric_type: %.64s", m)
		}
		p.Metrics = append(p.Metrics, Metrics[i])
	}
	for _, t := range split(v.Get("data_type")) {
		if !strings.EqualFold(t, "Dataset") {
			return p, ErrInvalidFilter.With("data_type: %.64s (this node reports Dataset only)", t)
		}
	}
	switch g := v.Get("granularity"); {
	case g == "" || strings.EqualFold(g, Month):
		p.Granularity = Month
	case strings.EqualFold(g, Totals):
		p.Granularity = Totals
	default:
		return p, ErrInvalidAttribute.With("granularity: %.64s (Month or Totals)", g)
	}
	p.Facility = strings.TrimSpace(v.Get("facility"))
	if len(p.Facility) > 128 {
		return p, ErrInvalidFilter.With("facility: longer than 128 bytes")
	}
	return p, nil
}

// split splits a COUNTER list value (values separated by |).
func split(s string) []string {
	var out []string
	for _, part := range strings.Split(s, "|") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// date reads a COUNTER date, yyyy-mm-dd or yyyy-mm, as the first day of its
// month; end dates name their month too (the report counts whole months).
func date(s, name string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, ErrRequiredFilterAbsent.With("%s", name)
	}
	var t time.Time
	var err error
	if len(s) == len("2006-01") {
		t, err = time.Parse("2006-01", s)
	} else {
		t, err = time.Parse("2006-01-02", s)
	}
	if err != nil || t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, ErrInvalidDates.With("%s: %.40q (yyyy-mm-dd or yyyy-mm)", name, s)
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC), nil
}

// Query returns the analytics query of p: regular and machine access of
// people and machines (AI agents are counted apart, outside the DSR).
func (p Params) Query() analytics.UsageQuery {
	q := analytics.UsageQuery{Begin: p.Begin, End: p.End, Datasets: p.Datasets, Facility: p.Facility}
	for _, m := range p.AccessMethods {
		q.AccessMethods = append(q.AccessMethods, usage.AccessMethod(strings.ToLower(m)))
	}
	return q
}
