// Command statschart draws some of the Grafana dashboard's panels as SVG
// charts from a node's ClickHouse, with the same queries as fairway stats
// (analytics.Store.Stats): datasets per facility, techniques rolled up,
// datasets issued per year by facility, and the quality distribution. It
// stands in for a screenshot where Grafana cannot run.
//
//	go run ./scripts/statschart --clickhouse 127.0.0.1:9000 --clickhouse-db fairway --out docs/img
package main

import (
	"context"
	"flag"
	"fmt"
	"image/color"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/panosc/fairway/pkg/analytics"
)

// ext is the image format, the files' extension.
var ext = "svg"

func main() {
	var cfg analytics.Config
	var out, note string
	flag.StringVar(&ext, "format", "svg", "image format: svg or png")
	flag.StringVar(&cfg.Addr, "clickhouse", analytics.DefaultAddr, "ClickHouse native address")
	flag.StringVar(&cfg.Database, "clickhouse-db", analytics.DefaultDatabase, "database of the analytics tables")
	flag.StringVar(&out, "out", ".", "directory the SVG files are written to")
	flag.StringVar(&note, "note", "", "text added to every chart's title (say where the data comes from)")
	flag.Parse()
	cfg.Password = os.Getenv("FAIRWAY_CLICKHOUSE_PASSWORD")
	if ext != "svg" && ext != "png" {
		slog.Error("statschart: --format: want svg or png", "format", ext)
		os.Exit(2)
	}
	if err := run(cfg, out, note); err != nil {
		slog.Error("statschart", "err", err)
		os.Exit(1)
	}
}

func run(cfg analytics.Config, out, note string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := analytics.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	stat := func(name string, q analytics.StatsQuery) (*analytics.StatsResult, error) {
		return s.Stats(ctx, name, q)
	}
	title := func(t string) string {
		if note != "" {
			return t + " (" + note + ")"
		}
		return t
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	h, err := stat(analytics.StatHoldings, analytics.StatsQuery{})
	if err != nil {
		return err
	}
	if err := bars(filepath.Join(out, "stats-holdings."+ext), title("Live datasets per facility"), "datasets", column(h, "facility"), number(h, "datasets")); err != nil {
		return err
	}

	tq, err := stat(analytics.StatTechniques, analytics.StatsQuery{Limit: 12})
	if err != nil {
		return err
	}
	names := column(tq, "technique")
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, analytics.PaNETBase)
	}
	if err := bars(filepath.Join(out, "stats-techniques."+ext), title("Datasets per PaNET technique, rolled up"), "datasets", names, number(tq, "datasets")); err != nil {
		return err
	}

	qq, err := stat(analytics.StatQuality, analytics.StatsQuery{Limit: analytics.MaxStatsLimit})
	if err != nil {
		return err
	}
	buckets := map[string]float64{}
	for i, b := range column(qq, "bucket") {
		buckets[b] += number(qq, "datasets")[i]
	}
	keys := make([]string, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		fa, _ := strconv.ParseFloat(strings.SplitN(a, "-", 2)[0], 64)
		fb, _ := strconv.ParseFloat(strings.SplitN(b, "-", 2)[0], 64)
		return int((fa - fb) * 100)
	})
	vals := make([]float64, len(keys))
	for i, k := range keys {
		vals[i] = buckets[k]
	}
	if err := bars(filepath.Join(out, "stats-quality."+ext), title("Quality score distribution"), "datasets", keys, vals); err != nil {
		return err
	}

	tl, err := stat(analytics.StatTimeline, analytics.StatsQuery{Limit: analytics.MaxStatsLimit, Since: time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return err
	}
	return timeline(filepath.Join(out, "stats-timeline."+ext), title("Datasets issued per year, by facility"), tl)
}

// column returns the values of a result's column as text.
func column(r *analytics.StatsResult, name string) []string {
	i := slices.IndexFunc(r.Columns, func(c analytics.Column) bool { return c.Name == name })
	out := make([]string, len(r.Rows))
	for j, row := range r.Rows {
		out[j] = fmt.Sprint(row[i])
	}
	return out
}

// number returns the values of a result's numeric column.
func number(r *analytics.StatsResult, name string) []float64 {
	out := make([]float64, len(r.Rows))
	for j, v := range column(r, name) {
		out[j], _ = strconv.ParseFloat(v, 64)
	}
	return out
}

func bars(path, title, ylabel string, names []string, values []float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	b, err := plotter.NewBarChart(plotter.Values(values), vg.Points(18))
	if err != nil {
		return err
	}
	b.Color = color.RGBA{R: 60, G: 110, B: 180, A: 255}
	p.Add(b)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.6
	p.X.Tick.Label.XAlign = -1
	return p.Save(vg.Length(max(16, len(names)))*vg.Centimeter, 10*vg.Centimeter, path)
}

func timeline(path, title string, r *analytics.StatsResult) error {
	perFacility := map[string]map[int]float64{}
	months, facilities, counts := column(r, "month"), column(r, "facility"), number(r, "datasets")
	for i := range months {
		y, _ := strconv.Atoi(months[i][:4])
		if perFacility[facilities[i]] == nil {
			perFacility[facilities[i]] = map[int]float64{}
		}
		perFacility[facilities[i]][y] += counts[i]
	}
	names := make([]string, 0, len(perFacility))
	for f := range perFacility {
		names = append(names, f)
	}
	slices.Sort(names)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "year of issue"
	p.Y.Label.Text = "datasets"
	var lines []any
	for _, f := range names {
		years := make([]int, 0, len(perFacility[f]))
		for y := range perFacility[f] {
			years = append(years, y)
		}
		slices.Sort(years)
		pts := make(plotter.XYs, len(years))
		for i, y := range years {
			pts[i] = plotter.XY{X: float64(y), Y: perFacility[f][y]}
		}
		lines = append(lines, f, pts)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return err
	}
	p.Legend.Top = true
	return p.Save(18*vg.Centimeter, 10*vg.Centimeter, path)
}
