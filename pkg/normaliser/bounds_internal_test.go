package normaliser

import (
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestBound: whatever a record repeats, the dataset stays small, and what
// was cut is said in the gaps.
func TestBound(t *testing.T) {
	long := strings.Repeat("é", 3<<20) // 6 MiB, two bytes a rune
	d := &fairwayv1.Dataset{Title: "T", Description: long}
	for i := range 100000 {
		d.Titles = append(d.Titles, &fairwayv1.LangText{Value: long[:1000]})
		d.Identifiers = append(d.Identifiers, &fairwayv1.Identifier{Value: "id" + strconv.Itoa(i), Scheme: "URL"})
		d.Formats = append(d.Formats, "HDF5")
		d.Gaps = append(d.Gaps, &fairwayv1.Gap{Field: "issued", Value: "soon", Reason: "not a date"})
		d.Gaps = append(d.Gaps, &fairwayv1.Gap{Field: "created", Value: strconv.Itoa(i), Reason: "not a date"})
	}
	d.Descriptions = []*fairwayv1.LangText{{Value: long}}
	bound(d)
	b, err := proto.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1<<20 {
		t.Errorf("bounded dataset of %d bytes", len(b))
	}
	if len(d.Description) > MaxTextBytes || !strings.HasPrefix(long, d.Description) || !strings.HasSuffix(d.Description, "é") {
		t.Errorf("description of %d bytes, not cut on a character", len(d.Description))
	}
	if len(d.Titles) != MaxListLen || len(d.Identifiers) != MaxListLen || len(d.Formats) != MaxListLen {
		t.Errorf("lists %d %d %d, want %d", len(d.Titles), len(d.Identifiers), len(d.Formats), MaxListLen)
	}
	if len(d.Gaps) != MaxGaps {
		t.Fatalf("%d gaps, want %d", len(d.Gaps), MaxGaps)
	}
	issued := 0
	for _, g := range d.Gaps {
		if g.Field == "issued" {
			issued++
		}
	}
	if issued != 1 {
		t.Errorf("the repeated gap is kept %d times", issued)
	}
	if last := d.Gaps[len(d.Gaps)-1]; last.Field != "gaps" || !strings.HasSuffix(last.Value, " more") {
		t.Errorf("last gap %v, want the count of those left out", last)
	}

	small := &fairwayv1.Dataset{Title: "T", Gaps: []*fairwayv1.Gap{{Field: "issued", Value: "x", Reason: "r"}}}
	bound(small)
	if len(small.Gaps) != 1 || small.Title != "T" {
		t.Errorf("a small dataset changed: %v", small)
	}
}

// TestBoundNewLists: dates, geo locations (with their polygons and
// places) and languages are bounded like the other lists.
func TestBoundNewLists(t *testing.T) {
	d := &fairwayv1.Dataset{Title: "T"}
	var poly []*fairwayv1.GeoPoint
	for i := range MaxPolygonPoints + 1 {
		poly = append(poly, &fairwayv1.GeoPoint{Longitude: float64(i % 180), Latitude: 1})
	}
	for i := range 1000 {
		d.Dates = append(d.Dates, &fairwayv1.TypedDate{Type: "Other", Value: strconv.Itoa(i)})
		d.GeoLocations = append(d.GeoLocations, &fairwayv1.GeoLocation{Place: strings.Repeat("p", MaxTextBytes+1), Polygon: poly})
		d.Languages = append(d.Languages, "en"+strconv.Itoa(i))
	}
	d.Languages[0] = strings.Repeat("x", 1000)
	bound(d)
	if len(d.Dates) != MaxListLen || len(d.GeoLocations) != MaxListLen || len(d.Languages) != MaxListLen-1 {
		t.Errorf("lists %d %d %d, want %d", len(d.Dates), len(d.GeoLocations), len(d.Languages), MaxListLen)
	}
	for _, g := range d.GeoLocations {
		if len(g.Place) > MaxTextBytes || g.Polygon != nil {
			t.Fatalf("geo location of a %d-byte place and %d points kept", len(g.Place), len(g.Polygon))
		}
	}
	fields := map[string]bool{}
	for _, g := range d.Gaps {
		fields[g.Field] = true
	}
	for _, f := range []string{"dates", "geo_locations", "languages"} {
		if !fields[f] {
			t.Errorf("no gap says %s was cut: %v", f, d.Gaps)
		}
	}
}
