package catalogue_test

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/panosc/fairway/pkg/catalogue"
	"github.com/panosc/fairway/pkg/quality"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// scoredDataset is dataset() scored by the rubric, as the enricher
// scores it.
func scoredDataset(key, facility, title string, edit func(*fairwayv1.Dataset)) *fairwayv1.EnrichedDataset {
	e := dataset(key, facility, title)
	if edit != nil {
		edit(e.Dataset)
	}
	score, checks := quality.Score(e)
	e.QualityScore, e.QualityGaps, e.QualityDimensions = score, quality.Gaps(checks), quality.Dimensions(checks)
	return e
}

// TestFacilitiesQuality: GET /quality/facilities and
// /quality/facilities/{facility} answer each facility's datasets counted,
// mean score, distribution, dimensions and most common gaps, from the read
// model, and follow updates and withdrawals.
func TestFacilitiesQuality(t *testing.T) {
	n := newNode(t)
	noLicence := func(d *fairwayv1.Dataset) { d.License = "" }
	es := []*fairwayv1.EnrichedDataset{
		scoredDataset("doi:10.5072/q1", "ESRF", "Scattering of micelles in water", nil),
		scoredDataset("doi:10.5072/q2", "ESRF", "Scattering of proteins in water", noLicence),
		scoredDataset("src:ill:q3", "ILL", "Neutron data without a licence", noLicence),
	}
	n.publish(es...)

	code, hdr, body := n.get("/quality/facilities")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /quality/facilities: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	var rep catalogue.QualityReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Facilities) != 2 || rep.Facilities[0].Facility != "esrf" || rep.Facilities[1].Facility != "ill" {
		t.Fatalf("facilities: %+v", rep.Facilities)
	}
	esrf := rep.Facilities[0]
	mean := math.Round((es[0].QualityScore+es[1].QualityScore)/2*1e4) / 1e4
	if esrf.Datasets != 2 || esrf.MeanScore != mean {
		t.Errorf("esrf: %d datasets, mean %v; want 2, %v", esrf.Datasets, esrf.MeanScore, mean)
	}
	var inBuckets uint64
	for _, b := range esrf.Distribution {
		inBuckets += b.Datasets
	}
	if len(esrf.Distribution) != readmodel.QualityBuckets || inBuckets != 2 {
		t.Errorf("esrf distribution %+v", esrf.Distribution)
	}
	if len(esrf.Dimensions) != len(quality.Principles) || esrf.Dimensions[0].Name != "findability" {
		t.Errorf("esrf dimensions %+v", esrf.Dimensions)
	}
	// Both lack what dataset() lacks (ORCID iDs, related publications…),
	// one a licence too.
	gaps := map[string]uint64{}
	for _, g := range esrf.Gaps {
		gaps[g.Check] = g.Datasets
	}
	if gaps["creator-orcid"] != 2 || gaps["licence"] != 1 || esrf.Gaps[0].Datasets != 2 {
		t.Errorf("esrf gaps %+v", esrf.Gaps)
	}

	code, _, body = n.get("/quality/facilities/ILL")
	if code != http.StatusOK {
		t.Fatalf("GET /quality/facilities/ILL: %d %s", code, body)
	}
	var ill readmodel.FacilityQuality
	if err := json.Unmarshal([]byte(body), &ill); err != nil {
		t.Fatal(err)
	}
	if ill.Facility != "ill" || ill.Datasets != 1 || ill.MeanScore != es[2].QualityScore {
		t.Errorf("ill: %+v, want the score %v", ill, es[2].QualityScore)
	}
	if code, _, _ := n.get("/quality/facilities/PSI"); code != http.StatusNotFound {
		t.Errorf("GET /quality/facilities/PSI: %d, want 404", code)
	}

	// ILL's dataset is withdrawn: ILL is no longer listed, ESRF unchanged.
	n.publish(withdrawn("src:ill:q3", "ILL"))
	if code, _, _ := n.get("/quality/facilities/ill"); code != http.StatusNotFound {
		t.Errorf("GET /quality/facilities/ill after the withdrawal: %d, want 404", code)
	}
	_, _, body = n.get("/quality/facilities")
	var after catalogue.QualityReport
	if err := json.Unmarshal([]byte(body), &after); err != nil {
		t.Fatal(err)
	}
	if len(after.Facilities) != 1 || after.Facilities[0].MeanScore != esrf.MeanScore {
		t.Errorf("after the withdrawal: %+v", after.Facilities)
	}
}
