package readmodel

import (
	"slices"
	"strconv"
	"strings"
)

// The facets read the doc values of every match, and the index keeps doc
// values in compressed chunks of 1024 documents per field: a search of
// thousands of matches spread over the catalogue decompresses nearly every
// chunk of every field it counts, and reads each chunk's header of 1024
// entries. So the facets count one field, document.Facet, of short
// values: each facet's values begin with its code (facetCodes), one facet
// request counts them all, and facets splits them by code; a PaNET or
// access-rights IRI is kept without its long common prefix (facetTerm),
// the issued date as its year and the quality score as its band's number (a
// numeric or date field keeps sixteen prefix-coded terms per value). The
// fields filtered and sorted by keep no doc values they do not need.

// facetPrefixes are the common beginnings facetTerm leaves out, sorted,
// none the beginning of another.
var facetPrefixes = []string{
	"http://publications.europa.eu/resource/authority/access-right/",
	"http://purl.org/pan-science/PaNET/PaNET",
}

// facetTerm returns v as a facet's doc value keeps it: a class byte, then
// v without the prefix it has (class 'b' for facetPrefixes[0], 'd' for the
// next) or v whole (class 'a' before the first prefix's values, 'c'
// between, 'e' after). Values with one prefix are contiguous in byte
// order, so the terms sort as the values do.
func facetTerm(v string) string {
	class := byte('a')
	for _, p := range facetPrefixes {
		switch {
		case strings.HasPrefix(v, p):
			return string(class+1) + v[len(p):]
		case v < p:
			return string(class) + v
		}
		class += 2
	}
	return string(class) + v
}

// facetValue returns the value of a facetTerm.
func facetValue(t string) string {
	if t == "" {
		return ""
	}
	class, rest := t[0], t[1:]
	if i := int(class - 'a'); i%2 == 1 && i/2 < len(facetPrefixes) {
		return facetPrefixes[i/2] + rest
	}
	return rest
}

// qualityBand returns the name of the band of qualityBands q lies in.
func qualityBand(q float64) string {
	for i, b := range qualityBands {
		if q >= b.min && (q < b.max || i == len(qualityBands)-1) {
			return b.name
		}
	}
	return qualityBands[0].name
}

// facetDocTerm returns the term of the facet field of one value of a
// facet: the facet's code, then the value (as facetTerm makes it for the
// facets of facetTerms).
func facetDocTerm(facet, v string) string {
	switch {
	case facetTerms[facet] && v != "":
		v = facetTerm(v)
	case facet == FacetQuality:
		// The band's number.
		v = strconv.Itoa(slices.IndexFunc(qualityBands, func(b band) bool { return b.name == v }))
	}
	return string(facetCodes[facet]) + v
}

// facetDocValue returns the value of a facet's term (a facetDocTerm of it).
func facetDocValue(facet, t string) string {
	t = t[min(1, len(t)):]
	switch {
	case facetTerms[facet]:
		return facetValue(t)
	case facet == FacetQuality:
		if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(qualityBands) {
			return qualityBands[i].name
		}
	}
	return t
}

// addFacetValues fills d.Facet from d's other fields and the instrument's
// name: one value of each facet but the techniques, one per technique. A
// missing value is an empty one, as a keyword field holds it.
func (d *document) addFacetValues(instrument string) {
	d.Facet = make([]string, 0, 6+len(d.Technique))
	for _, t := range d.Technique {
		d.Facet = append(d.Facet, facetDocTerm(FacetTechnique, t))
	}
	d.Facet = append(d.Facet,
		facetDocTerm(FacetFacility, d.Facility), facetDocTerm(FacetInstrument, instrument),
		facetDocTerm(FacetAccess, d.AccessRights), facetDocTerm(FacetLicence, d.Licence),
		facetDocTerm(FacetYear, strconv.Itoa(d.Issued.UTC().Year())), facetDocTerm(FacetQuality, qualityBand(d.Quality)))
}
