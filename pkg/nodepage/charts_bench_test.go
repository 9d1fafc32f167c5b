package nodepage

import (
	"bytes"
	"fmt"
	"testing"

	chart "github.com/wcharczuk/go-chart/v2"
)

// BenchmarkRenderBars draws a chart of ten bars with labels of two words,
// as the page's charts mostly are.
func BenchmarkRenderBars(b *testing.B) {
	bars := make([]Bar, 10)
	for i := range bars {
		bars[i] = Bar{Label: fmt.Sprintf("neutron technique-%d", i), Value: float64(i * 7)}
	}
	for b.Loop() {
		c := Chart{Name: "b", Bars: bars}
		renderBars(&c)
		if c.SVG == "" {
			b.Fatal(c.Err)
		}
	}
}

// TestMeasuredSVGSame: the renderer that reuses its font faces draws the
// very SVG the library's own renderer draws, for charts whose labels wrap
// and whose sizes differ.
func TestMeasuredSVGSame(t *testing.T) {
	for _, n := range []int{1, 3, 10, 25} {
		bars := make([]Bar, n)
		for i := range bars {
			bars[i] = Bar{Label: fmt.Sprintf("macromolecular crystallography-%d", i), Value: float64(i*i + 1)}
		}
		c := Chart{Name: "t", Bars: bars}
		renderBars(&c)
		if c.SVG == "" {
			t.Fatalf("%d bars: %s", n, c.Err)
		}
		bc := barChart(&c)
		var own, lib bytes.Buffer
		if err := bc.Render(measuredSVG, &own); err != nil {
			t.Fatal(err)
		}
		if err := bc.Render(chart.SVG, &lib); err != nil {
			t.Fatal(err)
		}
		if own.String() != lib.String() {
			t.Errorf("%d bars: the SVGs differ:\n%.400s\n%.400s", n, own.String(), lib.String())
		}
	}
}
