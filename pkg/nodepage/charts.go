package nodepage

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/golang/freetype/truetype"
	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"
	"golang.org/x/image/font"
)

// Chart is one chart of a page: a bar chart rendered as SVG on the server
// and the same numbers as a table (its text alternative).
type Chart struct {
	// Name marks the chart in the page (data-chart), for tests and styles.
	Name string
	// Title is the chart's caption; Unit names what the bars count.
	Title, Unit string
	// Bars are the chart's data, in the order drawn.
	Bars []Bar
	// SVG is the rendered chart (empty when there is nothing to draw or
	// it did not render: Err says why).
	SVG template.HTML
	// Err is why the chart has no data (its source failed); Empty says
	// the source answered with nothing to count.
	Err   string
	Empty string
	// Zero is what the chart says when every bar is zero.
	Zero string
}

// Bar is one bar of a chart.
type Bar struct {
	Label string
	Value float64
	// Href, when set, is a page of the node the bar's row links to.
	Href string
}

// Points returns how many bars the chart draws.
func (c Chart) Points() int {
	if c.SVG == "" {
		return 0
	}
	return len(c.Bars)
}

// Total returns the sum of the bars.
func (c Chart) Total() float64 {
	var t float64
	for _, b := range c.Bars {
		t += b.Value
	}
	return t
}

// Bounds of a chart's drawing, in the SVG's units: about the pixels of a
// chart's box on a wide screen (the SVG scales to its box).
const (
	chartWidth  = 680
	chartHeight = 300
	// labelRoom is the room under the bars for their labels (the chart
	// library keeps none: its labels would be cut).
	labelRoom  = 58
	maxBar     = 56
	barSpacing = 14
	fontSize   = 10
	maxLabel   = 30
	// charWidth is a little more than the width of a label's character
	// as the chart library measures its font: a line of wrapLabel's is
	// not wrapped again by the library.
	charWidth = 7
)

// barColor is the fill of the bars (one colour: the bar's height, not its
// hue, carries the number).
var barColor = drawing.Color{R: 0x2b, G: 0x6c, B: 0xb0, A: 255}

// chartText turns the characters of markup into look-alikes that are
// text: the chart library writes labels into the SVG as it is given, and
// wraps them where it likes, so escaping them (whose entities a wrap may
// cut) would not do.
var chartText = strings.NewReplacer("<", "‹", ">", "›", "&", "＆", `"`, "”", "'", "’")

// renderBars draws c's bars as SVG.
func renderBars(c *Chart) {
	if c.Err != "" || len(c.Bars) == 0 {
		return
	}
	svg, err := drawSVG(barChart(c))
	if err != nil {
		c.Err = "the chart did not render: " + err.Error()
		return
	}
	c.SVG = svg
}

// barChart is the chart library's chart of c's bars.
func barChart(c *Chart) chart.BarChart {
	maxV := 0.0
	for _, b := range c.Bars {
		maxV = math.Max(maxV, b.Value)
	}
	if maxV <= 0 {
		maxV = 1
	}
	bw := min(maxBar, (chartWidth-90)/len(c.Bars)-barSpacing)
	bars := make([]chart.Value, len(c.Bars))
	for i, b := range c.Bars {
		label := wrapLabel(chartText.Replace(shorten(b.Label, maxLabel)), (max(bw, 6)+barSpacing)/charWidth)
		bars[i] = chart.Value{Value: b.Value, Label: label,
			Style: chart.Style{FillColor: barColor, StrokeColor: barColor, StrokeWidth: 1}}
	}
	bc := chart.BarChart{
		Width: chartWidth, Height: chartHeight, BarWidth: max(bw, 6), BarSpacing: barSpacing,
		Background: chart.Style{Padding: chart.Box{Top: 12, Left: 8, Right: 8, Bottom: labelRoom}},
		XAxis:      chart.Style{FontSize: fontSize, TextWrap: chart.TextWrapWord},
		YAxis: chart.YAxis{
			Style:          chart.Style{FontSize: fontSize},
			Range:          &chart.ContinuousRange{Min: 0, Max: niceMax(maxV)},
			ValueFormatter: func(v any) string { return formatNumber(v.(float64)) },
		},
		Bars: bars,
	}
	return bc
}

// drawSVG renders bc, turning a panic of the chart library into an error:
// one odd set of numbers must not take the page down.
func drawSVG(bc chart.BarChart) (svg template.HTML, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	var buf bytes.Buffer
	if err := bc.Render(measuredSVG, &buf); err != nil {
		return "", err
	}
	out := buf.String()
	// The SVG scales with the page (its viewBox keeps the proportions) and
	// is read as an image with a name.
	out = strings.Replace(out, "<svg ", `<svg role="img" aria-hidden="true" focusable="false" preserveAspectRatio="xMinYMin meet" `, 1)
	return template.HTML(out), nil // #nosec G203 -- drawn by the chart library from escaped labels and numbers
}

// measuredSVG is the chart library's SVG renderer, measuring text with one
// font face per font, size and resolution of a chart: the library's own
// makes a face, with a glyph cache of its own, at every measure (once
// per character of every label it wraps), so that a chart of ten bars
// took about 150 ms and 190 MB (BenchmarkRenderBars). The SVG is the same.
func measuredSVG(width, height int) (chart.Renderer, error) {
	r, err := chart.SVG(width, height)
	if err != nil {
		return nil, err
	}
	return &measuring{Renderer: r, faces: map[faceKey]font.Face{}}, nil
}

// faceKey names a font face.
type faceKey struct {
	font      *truetype.Font
	size, dpi float64
}

// measuring is a renderer whose MeasureText reuses its faces. It follows
// the font and size set on it as the library's renderer does (a style
// reset keeps the font and clears the size); rotated text is measured by
// the library.
type measuring struct {
	chart.Renderer
	font    *truetype.Font
	size    float64
	rotated bool
	faces   map[faceKey]font.Face
}

func (m *measuring) ResetStyle()               { m.Renderer.ResetStyle(); m.size = 0 }
func (m *measuring) SetFont(f *truetype.Font)  { m.Renderer.SetFont(f); m.font = f }
func (m *measuring) SetFontSize(size float64)  { m.Renderer.SetFontSize(size); m.size = size }
func (m *measuring) SetTextRotation(r float64) { m.Renderer.SetTextRotation(r); m.rotated = true }
func (m *measuring) ClearTextRotation()        { m.Renderer.ClearTextRotation(); m.rotated = false }

// MeasureText measures body as the library's renderer does, with the
// face of the current font, size and resolution made once.
func (m *measuring) MeasureText(body string) chart.Box {
	if m.font == nil || m.rotated {
		return m.Renderer.MeasureText(body)
	}
	dpi := m.Renderer.GetDPI()
	k := faceKey{m.font, m.size, dpi}
	face, ok := m.faces[k]
	if !ok {
		face = truetype.NewFace(m.font, &truetype.Options{DPI: dpi, Size: m.size})
		m.faces[k] = face
	}
	d := font.Drawer{Face: face}
	return chart.Box{Right: d.MeasureString(body).Ceil(), Bottom: int(drawing.PointsToPixels(dpi, m.size))}
}

// niceMax returns a round upper bound of the axis above v.
func niceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*exp >= v*1.05 {
			return m * exp
		}
	}
	return 10 * exp
}

// formatNumber writes a count without decimals and a fraction with two.
func formatNumber(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// wrapLabel breaks s into lines of at most width characters (at least
// two), joined by newlines, for a label under its bar: a line ends after a
// space or a hyphen where it can ("related-publications" becomes
// "related-" and "publications"), and a word longer than a line is cut
// with a hyphen. The chart library's own wrapping cuts words anywhere,
// and a word it could not cut ran into the neighbouring labels.
func wrapLabel(s string, width int) string {
	width = max(width, 2)
	s = strings.TrimSpace(s)
	var words []string
	for len(s) > 0 {
		i := strings.IndexAny(s, " -")
		if i < 0 {
			words = append(words, s)
			break
		}
		words = append(words, s[:i+1])
		s = s[i+1:]
	}
	var lines []string
	line := ""
	for _, w := range words {
		if utf8.RuneCountInString(strings.TrimRight(line+w, " ")) <= width {
			line += w
			continue
		}
		if line != "" {
			lines = append(lines, strings.TrimRight(line, " "))
		}
		for utf8.RuneCountInString(strings.TrimRight(w, " ")) > width {
			r := []rune(w)
			lines = append(lines, string(r[:width-1])+"-")
			w = string(r[width-1:])
		}
		line = w
	}
	if line = strings.TrimRight(line, " "); line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// shorten cuts s to n characters, with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
