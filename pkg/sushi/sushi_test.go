package sushi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/usage"
)

var now = time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)

func TestParseDSR(t *testing.T) {
	tests := []struct {
		query string
		code  int // 0: accepted
		check func(*testing.T, Params)
	}{
		{"begin_date=2026-01-01&end_date=2026-03-31", 0, func(t *testing.T, p Params) {
			if p.Begin != time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) || p.End != time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) || p.Granularity != Month || len(p.Warnings) != 0 {
				t.Errorf("%+v", p)
			}
		}},
		{"begin_date=2026-01&end_date=2026-01", 0, nil},
		{"begin_date=2026-01&end_date=2026-06", 0, func(t *testing.T, p Params) {
			if len(p.Warnings) != 1 || p.Warnings[0].Code != 3031 {
				t.Errorf("the current month is not flagged: %+v", p.Warnings)
			}
		}},
		{"begin_date=2026-01&end_date=2026-02&item_id=10.5072/A|doi:10.5072/b&access_method=machine&metric_type=Total_Dataset_Requests&granularity=totals", 0, func(t *testing.T, p Params) {
			if len(p.Datasets) != 2 || p.Datasets[0] != "doi:10.5072/a" || p.AccessMethods[0] != Machine || p.Metrics[0] != TotalRequests || p.Granularity != Totals {
				t.Errorf("%+v", p)
			}
			if q := p.Query(); q.AccessMethods[0] != usage.Machine || len(q.Datasets) != 2 {
				t.Errorf("query %+v", q)
			}
		}},
		{"begin_date=2026-01&end_date=2026-02&customer_id=x&api_key=y&colour=blue", 0, func(t *testing.T, p Params) {
			if len(p.Warnings) != 1 || p.Warnings[0].Code != 3050 || p.Warnings[0].Data != "colour" {
				t.Errorf("warnings %+v", p.Warnings)
			}
		}},
		{"end_date=2026-02", 3070, nil},
		{"begin_date=2026-01", 3070, nil},
		{"begin_date=yesterday&end_date=2026-02", 3020, nil},
		{"begin_date=2026-13-01&end_date=2026-02", 3020, nil},
		{"begin_date=2026-03&end_date=2026-02", 3020, nil},
		{"begin_date=2026-01&end_date=2026-02&access_method=TDM", 3060, nil},
		{"begin_date=2026-01&end_date=2026-02&metric_type=Total_Item_Requests", 3060, nil},
		{"begin_date=2026-01&end_date=2026-02&item_id=nonsense", 3060, nil},
		{"begin_date=2026-01&end_date=2026-02&data_type=Book", 3060, nil},
		{"begin_date=2026-01&end_date=2026-02&granularity=Week", 3062, nil},
		{"begin_date=2026-01&end_date=2026-02&item_id=" + strings.Repeat("10.5072/x|", 101), 3060, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			p, err := ParseDSR(v, now, Config{})
			if tt.code != 0 {
				var e Exception
				if !errors.As(err, &e) || e.Code != tt.code {
					t.Fatalf("err %v, want exception %d", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestDSR(t *testing.T) {
	may, jun := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	counts := []analytics.UsageCount{
		{Dataset: "doi:10.5072/a", DOI: "10.5072/a", Title: "A", Facility: "ESRF", Month: may, AccessMethod: usage.Regular, Client: usage.Human, TotalInvestigations: 7, UniqueInvestigations: 4, TotalRequests: 1, UniqueRequests: 1},
		{Dataset: "doi:10.5072/a", DOI: "10.5072/a", Title: "A", Facility: "ESRF", Month: jun, AccessMethod: usage.Regular, Client: usage.Human, TotalInvestigations: 2, UniqueInvestigations: 2},
		{Dataset: "doi:10.5072/a", Month: may, AccessMethod: usage.Machine, Client: usage.Human, TotalInvestigations: 2, UniqueInvestigations: 1, TotalRequests: 2, UniqueRequests: 1},
		// A harvester's machine access adds to the same cell.
		{Dataset: "doi:10.5072/a", Month: may, AccessMethod: usage.Machine, Client: usage.MachineClient, TotalInvestigations: 1, UniqueInvestigations: 1},
		{Dataset: "src:esrf:42", Month: may, AccessMethod: usage.Regular, Client: usage.Human, TotalInvestigations: 1, UniqueInvestigations: 1},
	}
	p := Params{Begin: may, End: jun, Granularity: Month}
	r := DSR(p, counts, Config{Platform: "node.example.org"}, now)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Header map[string]any `json:"Report_Header"`
		Items  []struct {
			Item     string
			Item_ID  map[string]string
			Platform string
			Attrs    []struct {
				Data_Type, Access_Method string
				Performance              map[string]map[string]uint64
			} `json:"Attribute_Performance"`
		} `json:"Report_Items"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Header["Report_ID"] != "DSR" || doc.Header["Release"] != "5.1" || doc.Header["Created"] != "2026-06-15T00:00:00Z" {
		t.Errorf("header %v", doc.Header)
	}
	if f := doc.Header["Report_Filters"].(map[string]any); f["Begin_Date"] != "2026-05-01" || f["End_Date"] != "2026-06-30" {
		t.Errorf("filters %v", f)
	}
	if len(doc.Items) != 2 || doc.Items[0].Item != "A" || doc.Items[0].Item_ID["DOI"] != "10.5072/a" || doc.Items[1].Item_ID["DOI"] != "" || doc.Items[0].Platform != "node.example.org" {
		t.Fatalf("items %+v", doc.Items)
	}
	a := doc.Items[0].Attrs
	if len(a) != 2 || a[0].Access_Method != "Regular" || a[1].Access_Method != "Machine" || a[0].Data_Type != "Dataset" {
		t.Fatalf("attributes %+v", a)
	}
	if a[0].Performance[TotalInvestigations]["2026-05"] != 7 || a[0].Performance[TotalInvestigations]["2026-06"] != 2 ||
		a[0].Performance[UniqueRequests]["2026-05"] != 1 || a[0].Performance[TotalRequests]["2026-06"] != 0 {
		t.Errorf("regular %+v", a[0].Performance)
	}
	if a[1].Performance[TotalInvestigations]["2026-05"] != 3 || a[1].Performance[UniqueInvestigations]["2026-05"] != 2 {
		t.Errorf("machine %+v", a[1].Performance)
	}
	// Totals, one metric.
	p.Granularity, p.Metrics = Totals, []string{TotalInvestigations}
	r = DSR(p, counts, Config{}, now)
	if got := r.Items[0].AttributePerformance[0].Performance; len(got) != 1 || got[TotalInvestigations]["Totals"] != 9 {
		t.Errorf("totals %+v", got)
	}
	// Nothing: 3030.
	r = DSR(p, nil, Config{}, now)
	if len(r.Items) != 0 || len(r.Header.Exceptions) != 1 || r.Header.Exceptions[0].Code != 3030 {
		t.Errorf("empty report %+v", r.Header)
	}
}

// dsrCounts returns the counts of n datasets over the months of 2025, by
// dataset then month, as the store gives them: both access methods, some
// cells without any usage, one dataset without any at all.
func dsrCounts(n int) []analytics.UsageCount {
	var counts []analytics.UsageCount
	for d := range n {
		key := fmt.Sprintf("doi:10.5072/bench.%06d", d)
		for m := range 12 {
			month := time.Date(2025, time.Month(1+m), 1, 0, 0, 0, 0, time.UTC)
			c := analytics.UsageCount{Dataset: key, DOI: key[4:], Title: "Dataset " + key, Facility: "ESRF", Month: month,
				AccessMethod: usage.Regular, Client: usage.Human,
				TotalInvestigations: uint64(d%7 + m), UniqueInvestigations: uint64(d%5 + m/2), TotalRequests: uint64(d % 3), UniqueRequests: uint64(d % 2)}
			if d%10 == 3 {
				c = analytics.UsageCount{Dataset: key, Month: month, AccessMethod: usage.Regular, Client: usage.Human}
			}
			counts = append(counts, c)
			if (d+m)%2 == 0 {
				c.AccessMethod, c.Client = usage.Machine, usage.MachineClient
				counts = append(counts, c)
			}
		}
	}
	return counts
}

// TestDSRWriterWritesWhatDSRBuilds streams reports and compares them byte
// for byte with the report DSR builds, encoded as the API encodes it.
func TestDSRWriterWritesWhatDSRBuilds(t *testing.T) {
	jan, dec := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		p      Params
		counts []analytics.UsageCount
	}{
		{"months", Params{Begin: jan, End: dec, Granularity: Month}, dsrCounts(30)},
		{"totals, one metric", Params{Begin: jan, End: dec, Granularity: Totals, Metrics: []string{TotalRequests}}, dsrCounts(30)},
		{"filters and warnings", Params{Begin: jan, End: dec, Granularity: Month, Datasets: []string{"10.5072/bench.000001"}, Facility: "ESRF",
			Warnings: []Exception{ErrInvalidDates.With("a warning")}}, dsrCounts(2)},
		{"no usage at all", Params{Begin: jan, End: dec, Granularity: Month}, nil},
		{"texts to escape", Params{Begin: jan, End: dec, Granularity: Month}, []analytics.UsageCount{
			{Dataset: "src:x:\"<a>&\\", Title: "Titre <b>\"été\"</b>\n\t\u2028\x01 & \xff", Facility: "ÉLETTRA", DOI: "10.5072/\u2029", Month: jan,
				AccessMethod: usage.Machine, TotalRequests: 3, UniqueRequests: 1}}},
		{"only cells without usage", Params{Begin: jan, End: dec, Granularity: Month}, dsrCounts(30)[3*18 : 4*18]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(DSR(c.p, c.counts, Config{Platform: "node.example.org"}, now)); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			w := NewDSRWriter(&got, c.p, Config{Platform: "node.example.org"}, now)
			for _, n := range c.counts {
				if err := w.Add(n); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !w.Written() || got.String() != want.String() {
				t.Errorf("written %v; streamed\n%s\nwant\n%s", w.Written(), got.String(), want.String())
			}
		})
	}
}

// TestDSRWriterHoldsBackUntilADatasetIsComplete: nothing is written while
// the first dataset's counts arrive (the caller can still answer an
// error), and counts out of dataset order are refused.
func TestDSRWriterHoldsBackUntilADatasetIsComplete(t *testing.T) {
	counts := dsrCounts(3)
	var out bytes.Buffer
	w := NewDSRWriter(&out, Params{Begin: counts[0].Month, End: counts[0].Month, Granularity: Month}, Config{}, now)
	for _, c := range counts[:18] {
		if err := w.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if w.Written() || out.Len() != 0 {
		t.Fatalf("%d bytes written before the first dataset was complete", out.Len())
	}
	if err := w.Add(counts[18]); err != nil || !w.Written() {
		t.Fatalf("second dataset: %v, written %v", err, w.Written())
	}
	if err := w.Add(counts[0]); !errors.Is(err, ErrUnordered) {
		t.Fatalf("a count out of order: %v, want ErrUnordered", err)
	}
	if err := w.Close(); !errors.Is(err, ErrUnordered) {
		t.Fatalf("close after a refused count: %v", err)
	}
}

// BenchmarkDSR measures building and encoding a DSR of a whole year over
// 100,000 datasets (1.8 million counts), in memory (DSR, then encoded as
// the API does) and streamed (DSRWriter).
func BenchmarkDSR(b *testing.B) {
	counts := dsrCounts(100_000)
	p := Params{Begin: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), Granularity: Month}
	b.Run("in-memory", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc := json.NewEncoder(io.Discard)
			enc.SetIndent("", "  ")
			if err := enc.Encode(DSR(p, counts, Config{}, now)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(counts)), "counts")
	})
	b.Run("streamed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := NewDSRWriter(io.Discard, p, Config{}, now)
			for _, c := range counts {
				if err := w.Add(c); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(counts)), "counts")
	})
}
