package readmodel

import (
	"math"
	"strings"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// addSearch fills what search needs of e into d: the instrument (its name
// and PID as a filter, its name as a facet and as text), the licence (its SPDX id when the
// normaliser recognised one), the quality score, and the text searched
// (d's title, description, keywords and creators, the instrument and the
// samples' names), and the values the facets count (addFacetValues).
func (d *document) addSearch(e *fairwayv1.CatalogueEntry) {
	ds := e.GetDataset().GetDataset()
	d.Text = append(d.Text, d.Title, d.Description)
	d.Text = append(d.Text, d.Keywords...)
	d.Text = append(d.Text, d.Creators...)
	var instrument string // the name alone, for the facet
	if name := strings.TrimSpace(ds.GetInstrument()); name != "" {
		d.Instrument = append(d.Instrument, instrumentTerm(name))
		instrument = instrumentTerm(name)
		d.Text = append(d.Text, bound(name, maxTitle))
	}
	if pid := instrumentTerm(ds.GetInstrumentPid()); pid != "" {
		d.Instrument = append(d.Instrument, pid)
	}
	d.Licence = LicenceOf(ds)
	if s := e.GetDataset().GetQualityScore(); !math.IsNaN(s) && s > 0 {
		d.Quality = min(s, 1)
	}
	for _, s := range ds.GetSamples() {
		if n := strings.TrimSpace(s.GetName()); n != "" && len(d.Text) < 3*maxValues {
			d.Text = append(d.Text, bound(n, maxTitle))
		}
	}
	d.addFacetValues(instrument)
}

// instrumentTerm returns an instrument's name or PID as the index holds
// it and a filter looks for it: trimmed, cut to maxTitle bytes, in lower
// case.
func instrumentTerm(s string) string {
	return strings.ToLower(bound(strings.TrimSpace(s), maxTitle))
}

// LicenceOf returns the licence of ds as search filters, counts and shows
// it: its SPDX id when the normaliser recognised one, else the licence as
// given (trimmed, bounded), "" when it has none.
func LicenceOf(ds *fairwayv1.Dataset) string {
	if id := strings.TrimSpace(ds.GetLicenseSpdx()); id != "" {
		return bound(id, maxTitle)
	}
	return bound(strings.TrimSpace(ds.GetLicense()), maxTitle)
}
