package normaliser

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/metadata"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Bounds of the canonical dataset, applied to what every reader makes, so
// that a hostile or bloated record stays far below the bus's message size
// (8 MiB) whatever it repeats. What is cut is said in a gap.
const (
	// MaxTextBytes bounds each title and description (the main ones and
	// every one of Titles and Descriptions).
	MaxTextBytes = 64 << 10
	// MaxListLen bounds each of the lists the readers fill from repeated
	// elements: titles, descriptions, identifiers, funding, samples,
	// formats, dates, geo locations and languages.
	MaxListLen = 64
	// MaxPolygonPoints bounds the vertices of a geo location's polygon: a
	// longer one is left out (a shorter one would be another shape).
	MaxPolygonPoints = 256
	// MaxGaps bounds the gaps of one dataset, after duplicates are
	// removed; the last says how many more there were.
	MaxGaps = 64
)

// bound applies the bounds to d, in place, and removes duplicate gaps.
func bound(d *fairwayv1.Dataset) {
	var cut []*fairwayv1.Gap
	text := func(field string, s string) string {
		if len(s) <= MaxTextBytes {
			return s
		}
		cut = append(cut, metadata.NewGap(field, s, fmt.Sprintf("cut at %d bytes (of %d)", MaxTextBytes, len(s))))
		n := MaxTextBytes
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return s[:n]
	}
	d.Title = text("title", d.Title)
	d.Description = text("description", d.Description)
	for _, t := range d.Titles {
		t.Value = text("titles", t.Value)
	}
	for _, t := range d.Descriptions {
		t.Value = text("descriptions", t.Value)
	}
	list := func(field string, n int) int {
		if n <= MaxListLen {
			return n
		}
		cut = append(cut, metadata.NewGap(field, strconv.Itoa(n)+" values", fmt.Sprintf("only the first %d kept", MaxListLen)))
		return MaxListLen
	}
	d.Titles = d.Titles[:list("titles", len(d.Titles))]
	d.Descriptions = d.Descriptions[:list("descriptions", len(d.Descriptions))]
	d.Identifiers = d.Identifiers[:list("identifiers", len(d.Identifiers))]
	d.Funding = d.Funding[:list("funding", len(d.Funding))]
	d.Samples = d.Samples[:list("samples", len(d.Samples))]
	d.Formats = d.Formats[:list("formats", len(d.Formats))]
	d.Dates = d.Dates[:list("dates", len(d.Dates))]
	d.GeoLocations = d.GeoLocations[:list("geo_locations", len(d.GeoLocations))]
	d.Languages = d.Languages[:list("languages", len(d.Languages))]
	for _, g := range d.GeoLocations {
		g.Place = text("geo_locations", g.Place)
		if n := len(g.Polygon); n > MaxPolygonPoints {
			cut = append(cut, metadata.NewGap("geo_locations", strconv.Itoa(n)+" points", fmt.Sprintf("polygon of more than %d points left out", MaxPolygonPoints)))
			g.Polygon = nil
		}
	}
	for _, l := range d.Languages {
		if len(l) > metadata.MaxGapValue {
			cut = append(cut, metadata.NewGap("languages", l, "not a language"))
		}
	}
	d.Languages = slices.DeleteFunc(d.Languages, func(l string) bool { return len(l) > metadata.MaxGapValue })

	seen := map[string]bool{}
	var gaps []*fairwayv1.Gap
	more := 0
	for _, g := range append(d.Gaps, cut...) {
		id := gapID(g)
		if seen[id] {
			continue
		}
		seen[id] = true
		if len(gaps) == MaxGaps-1 {
			more++
			continue
		}
		gaps = append(gaps, g)
	}
	if more > 0 {
		gaps = append(gaps, &fairwayv1.Gap{Field: "gaps", Value: strconv.Itoa(more) + " more", Reason: fmt.Sprintf("only the first %d gaps kept", MaxGaps-1)})
	}
	d.Gaps = gaps
}
