package metadata

import (
	"math"
	"strconv"
	"strings"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// FieldGeoLocations is the gap field of a geo location that cannot be read
// (Dataset.geo_locations).
const FieldGeoLocations = "geo_locations"

// ParseDegrees reads a coordinate in decimal degrees ("45.19", "-0.5",
// "5,72" with a decimal comma); ok is false for anything else, including
// infinities and NaN.
func ParseDegrees(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return 0, false
	}
	if !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// NewGeoPoint returns a point in WGS 84 decimal degrees, and whether the
// latitude is in [-90, 90] and the longitude in [-180, 180].
func NewGeoPoint(longitude, latitude float64) (*fairwayv1.GeoPoint, bool) {
	if latitude < -90 || latitude > 90 || longitude < -180 || longitude > 180 {
		return nil, false
	}
	return &fairwayv1.GeoPoint{Longitude: longitude, Latitude: latitude}, true
}

// NewGeoBox returns a bounding box in WGS 84 decimal degrees, and whether
// it is one: latitudes in [-90, 90] with south not above north, longitudes
// in [-180, 180] (west may be east of east: a box across the
// antimeridian).
func NewGeoBox(west, east, south, north float64) (*fairwayv1.GeoBox, bool) {
	if _, ok := NewGeoPoint(west, south); !ok {
		return nil, false
	}
	if _, ok := NewGeoPoint(east, north); !ok || south > north {
		return nil, false
	}
	return &fairwayv1.GeoBox{West: west, East: east, South: south, North: north}, true
}

// ClosePolygon returns the vertices of a polygon closed (the last vertex
// is the first), and whether they make one: at least three distinct
// vertices.
func ClosePolygon(pts []*fairwayv1.GeoPoint) ([]*fairwayv1.GeoPoint, bool) {
	if len(pts) == 0 {
		return nil, false
	}
	first, last := pts[0], pts[len(pts)-1]
	if len(pts) > 1 && (first.GetLatitude() != last.GetLatitude() || first.GetLongitude() != last.GetLongitude()) {
		pts = append(pts, &fairwayv1.GeoPoint{Longitude: first.GetLongitude(), Latitude: first.GetLatitude()})
	}
	return pts, len(pts) >= 4
}
