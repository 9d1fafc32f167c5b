package sushi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
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
// analytics.Store.UsageCounts returns them), created at created. It holds
// the whole report in memory: WriteDSR writes the same report as its
// counts arrive.
func DSR(p Params, counts []analytics.UsageCount, cfg Config, created time.Time) Report {
	cfg = cfg.withDefaults()
	r := Report{Header: header(p, cfg, created), Items: []Item{}}
	byDataset := map[string]*itemBuilder{}
	var order []string
	for _, c := range counts {
		ib := byDataset[c.Dataset]
		if ib == nil {
			ib = newItem(c, cfg)
			byDataset[c.Dataset] = ib
			order = append(order, c.Dataset)
		}
		ib.add(p, c)
	}
	sort.Strings(order)
	for _, d := range order {
		if it, ok := byDataset[d].item(); ok {
			r.Items = append(r.Items, it)
		}
	}
	if len(r.Items) == 0 {
		r.Header.Exceptions = append(r.Header.Exceptions, noUsage(p))
	}
	return r
}

// header is the Report_Header of the DSR of p.
func header(p Params, cfg Config, created time.Time) Header {
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
	return Header{
		ReportName: "Dataset Report", ReportID: "DSR", Release: Release,
		InstitutionName: cfg.Institution, Created: created.UTC().Format(time.RFC3339), CreatedBy: cfg.CreatedBy,
		Filters:    filters,
		Attributes: map[string]any{"Attributes_To_Show": []string{"Access_Method"}, "Granularity": p.Granularity},
		Exceptions: append([]Exception(nil), p.Warnings...),
	}
}

// noUsage is the exception of a report of p without any usage.
func noUsage(p Params) Exception {
	return ErrNoUsage.With("%s to %s", p.Begin.Format("2006-01"), p.End.Format("2006-01"))
}

// itemBuilder gathers the counts of one dataset into its Item.
type itemBuilder struct {
	it   Item
	perf map[string]*AttributePerformance
}

func newItem(c analytics.UsageCount, cfg Config) *itemBuilder {
	it := Item{Item: c.Title, ItemID: itemID(c), Platform: cfg.Platform, Publisher: c.Facility}
	if it.Item == "" {
		it.Item = c.Dataset
	}
	return &itemBuilder{it: it, perf: map[string]*AttributePerformance{}}
}

// add counts c (of the builder's dataset) in the metrics p asks for.
func (ib *itemBuilder) add(p Params, c analytics.UsageCount) {
	metrics := p.Metrics
	if len(metrics) == 0 {
		metrics = Metrics
	}
	method := Regular
	if c.AccessMethod == usage.Machine {
		method = Machine
	}
	ap := ib.perf[method]
	if ap == nil {
		ap = &AttributePerformance{DataType: "Dataset", AccessMethod: method, Performance: map[string]map[string]uint64{}}
		ib.perf[method] = ap
	}
	period := c.Month.Format("2006-01")
	if p.Granularity == Totals {
		period = "Totals"
	}
	for _, m := range metrics {
		var v uint64
		switch m {
		case TotalInvestigations:
			v = c.TotalInvestigations
		case UniqueInvestigations:
			v = c.UniqueInvestigations
		case TotalRequests:
			v = c.TotalRequests
		case UniqueRequests:
			v = c.UniqueRequests
		}
		if v == 0 {
			continue // COUNTER leaves zeros out
		}
		if ap.Performance[m] == nil {
			ap.Performance[m] = map[string]uint64{}
		}
		ap.Performance[m][period] += v
	}
}

// item returns the dataset's Item, and false when it counted nothing.
func (ib *itemBuilder) item() (Item, bool) {
	it := ib.it
	for _, m := range []string{Regular, Machine} {
		if ap := ib.perf[m]; ap != nil && len(ap.Performance) > 0 {
			it.AttributePerformance = append(it.AttributePerformance, *ap)
		}
	}
	return it, len(it.AttributePerformance) > 0
}

// DSRWriter writes the Dataset Report of p to w as its counts arrive, one
// dataset at a time, so that a report of any size takes the memory of one
// dataset's counts: Add every count, by dataset (as
// analytics.Store.EachUsageCount gives them), then Close. The report is
// the one DSR builds from the same counts, as indented JSON. Nothing is
// written before the first dataset with usage is complete (or Close):
// until Written says so, the caller can still answer with an error.
type DSRWriter struct {
	w       io.Writer
	p       Params
	cfg     Config
	created time.Time
	cur     *itemBuilder
	curKey  string
	items   int
	written bool
	err     error
	buf     []byte
}

// NewDSRWriter returns a writer of the DSR of p to w.
func NewDSRWriter(w io.Writer, p Params, cfg Config, created time.Time) *DSRWriter {
	return &DSRWriter{w: w, p: p, cfg: cfg.withDefaults(), created: created}
}

// ErrUnordered is returned by DSRWriter.Add for a count of a dataset that
// sorts before the one before it: the counts must come by dataset.
var ErrUnordered = errors.New("sushi: usage counts not in dataset order")

// Add counts c in the report; the counts of one dataset must come
// together, datasets in ascending order.
func (d *DSRWriter) Add(c analytics.UsageCount) error {
	if d.err != nil {
		return d.err
	}
	if d.cur != nil && c.Dataset != d.curKey {
		if c.Dataset < d.curKey {
			d.err = fmt.Errorf("%w: %.80q after %.80q", ErrUnordered, c.Dataset, d.curKey)
			return d.err
		}
		if err := d.flush(); err != nil {
			return err
		}
	}
	if d.cur == nil {
		d.cur, d.curKey = newItem(c, d.cfg), c.Dataset
	}
	d.cur.add(d.p, c)
	return nil
}

// Written reports whether any of the report was written to w.
func (d *DSRWriter) Written() bool { return d.written }

// flush writes the dataset gathered so far, if it counted anything.
func (d *DSRWriter) flush() error {
	it, ok := d.cur.item()
	d.cur = nil
	if !ok {
		return nil
	}
	if !d.written {
		if err := d.start(d.header()); err != nil {
			return err
		}
	}
	sep := ",\n    "
	if d.items == 0 {
		sep = "\n    "
	}
	d.items++
	d.buf = append(d.buf[:0], sep...)
	d.buf = appendItem(d.buf, it)
	return d.write(d.buf)
}

// appendItem appends it as json.MarshalIndent(it, "    ", "  ") writes
// it (a test holds them equal), without reflection: a report holds
// hundreds of thousands of items.
func appendItem(b []byte, it Item) []byte {
	const in = "\n      "
	b = append(b, "{"+in+`"Item": `...)
	b = appendString(b, it.Item)
	b = append(b, ","+in+`"Item_ID": `...)
	if it.ItemID == nil {
		b = append(b, "null"...)
	} else {
		b = appendCounts(b, in, it.ItemID, func(b []byte, v string) []byte { return appendString(b, v) })
	}
	b = append(b, ","+in+`"Platform": `...)
	b = appendString(b, it.Platform)
	if it.Publisher != "" {
		b = append(b, ","+in+`"Publisher": `...)
		b = appendString(b, it.Publisher)
	}
	b = append(b, ","+in+`"Attribute_Performance": `...)
	switch {
	case it.AttributePerformance == nil:
		b = append(b, "null"...)
	case len(it.AttributePerformance) == 0:
		b = append(b, "[]"...)
	default:
		b = append(b, '[')
		for i, ap := range it.AttributePerformance {
			if i > 0 {
				b = append(b, ',')
			}
			const in2 = in + "    "
			b = append(b, in+"  {"+in2+`"Data_Type": `...)
			b = appendString(b, ap.DataType)
			b = append(b, ","+in2+`"Access_Method": `...)
			b = appendString(b, ap.AccessMethod)
			b = append(b, ","+in2+`"Performance": `...)
			if ap.Performance == nil {
				b = append(b, "null"...)
			} else {
				b = appendCounts(b, in2, ap.Performance, func(b []byte, v map[string]uint64) []byte {
					if v == nil {
						return append(b, "null"...)
					}
					return appendCounts(b, in2+"  ", v, func(b []byte, n uint64) []byte { return strconv.AppendUint(b, n, 10) })
				})
			}
			b = append(b, in+"  }"...)
		}
		b = append(b, in+"]"...)
	}
	return append(b, "\n    }"...)
}

// appendCounts appends map m as MarshalIndent does at indentation in:
// keys sorted, one per line, value written by value.
func appendCounts[V any](b []byte, in string, m map[string]V, value func([]byte, V) []byte) []byte {
	if len(m) == 0 {
		return append(b, "{}"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, in+"  "...)
		b = appendString(b, k)
		b = append(b, ": "...)
		b = value(b, m[k])
	}
	return append(b, in+"}"...)
}

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (d *DSRWriter) header() Header { return header(d.p, d.cfg, d.created) }

// start writes the report's header and opens its items.
func (d *DSRWriter) start(h Header) error {
	d.written = true
	b, err := json.MarshalIndent(h, "  ", "  ")
	if err != nil {
		d.err = err
		return err
	}
	return d.write([]byte("{\n  \"Report_Header\": "), b, []byte(",\n  \"Report_Items\": ["))
}

func (d *DSRWriter) write(parts ...[]byte) error {
	for _, p := range parts {
		if _, err := d.w.Write(p); err != nil {
			d.err = err
			return err
		}
	}
	return nil
}

// Close writes the last dataset and ends the report; a report without any
// usage says so in its header (exception 3030).
func (d *DSRWriter) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.cur != nil {
		if err := d.flush(); err != nil {
			return err
		}
	}
	if !d.written {
		h := d.header()
		h.Exceptions = append(h.Exceptions, noUsage(d.p))
		if err := d.start(h); err != nil {
			return err
		}
	}
	end := "\n  ]\n}\n"
	if d.items == 0 {
		end = "]\n}\n"
	}
	return d.write([]byte(end))
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
