// Package quality scores how FAIR a dataset's metadata is.
//
// The score is a weighted rubric of seventeen checks in five dimensions,
// after the data.europa.eu metadata quality assessment (findability,
// accessibility, interoperability, reusability, contextuality), the first
// three weighing a quarter of the score each, reusability a fifth and
// contextuality a twentieth:
//
//	F  doi                   0.10    the dataset has a DOI (a persistent identifier)
//	F  title                 0.05    a title of at least 10 characters that is not just an identifier
//	F  description           0.05    a description of at least 100 characters that is not the title
//	F  keywords              0.05    at least one subject (keyword) or PaNET technique
//	A  landing-page          0.10    a landing page the catalogue can publish (dcat.PublishableIRI)
//	A  access-rights         0.05    access rights stated as open, embargoed, restricted or closed
//	A  open-access           0.05    access rights open
//	A  links                 0.05    no value given as an IRI is left out of the catalogue (dcat.DroppedIRIs)
//	I  panet-technique       0.10    at least one PaNET technique tagged
//	I  creator-orcid         0.10    every creator (at least one) has a valid ORCID iD (check digit included)
//	I  licence-iri           0.05    the licence is an IRI or a licence id that maps to one (CC-BY-4.0)
//	R  licence               0.10    a licence is stated
//	R  provenance            0.05    creators and a publisher (or facility) are named
//	R  related-publications  0.05    at least one related identifier (publication, other dataset)
//	C  publication-date      0.025   an issue date or a publication year
//	C  modified-date         0.0125  the date of the last change
//	C  byte-size             0.0125  the size in bytes of at least one distribution
//
// The links check fails when the dataset gives a landing page, subject IRI,
// related identifier, licence or ORCID iD as an IRI that the catalogue
// does not publish (a javascript: or file: link, an http URL without a
// host, one with spaces): its hint says how many were left out and where.
//
// Score is the sum of the weights of the passed checks, in [0, 1], rounded
// to four decimals. It reads the dataset only (no clock, no network), so the
// same content always gets the same score.
package quality

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// RubricVersion names the version of the rubric below. The enricher's and
// the publisher's content hashes cover it, so that after a change of the
// rubric a replay reaches every dataset, even one whose score stays.
const RubricVersion = "2"

// Principle is a quality dimension: one of the FAIR principles ("F", "A",
// "I", "R") or contextuality ("C").
type Principle string

// The dimensions.
const (
	Findable      Principle = "F"
	Accessible    Principle = "A"
	Interoperable Principle = "I"
	Reusable      Principle = "R"
	Contextual    Principle = "C"
)

// Principles lists the dimensions in rubric order.
var Principles = []Principle{Findable, Accessible, Interoperable, Reusable, Contextual}

// Dimension names the dimension as the metadata quality assessment does:
// findability, accessibility, interoperability, reusability,
// contextuality.
func (p Principle) Dimension() string {
	switch p {
	case Findable:
		return "findability"
	case Accessible:
		return "accessibility"
	case Interoperable:
		return "interoperability"
	case Reusable:
		return "reusability"
	case Contextual:
		return "contextuality"
	}
	return string(p)
}

// Check is the outcome of one rubric check.
type Check struct {
	// Name identifies the check (see the package documentation).
	Name string
	// Principle is the FAIR principle the check belongs to.
	Principle Principle
	// Passed tells whether the dataset passed.
	Passed bool
	// Weight is the share of the score the check is worth.
	Weight float64
	// Hint says what the metadata needs to pass, for facilities fixing it.
	Hint string
}

// Thresholds of the title and description checks, in characters.
const (
	MinTitleLength       = 10
	MinDescriptionLength = 100
)

type rule struct {
	name      string
	principle Principle
	weight    float64
	hint      string
	pass      func(e *fairwayv1.EnrichedDataset) bool
	// explain, when set, replaces pass: it also says what failed, in place
	// of the hint.
	explain func(e *fairwayv1.EnrichedDataset) (bool, string)
}

var rubric = []rule{
	{name: "doi", principle: Findable, weight: 0.10, hint: "register a DOI for the dataset", pass: func(e *fairwayv1.EnrichedDataset) bool {
		return strings.TrimSpace(e.GetDataset().GetDoi()) != ""
	}},
	{name: "title", principle: Findable, weight: 0.05, hint: "give a title of at least 10 characters that says what the data is", pass: goodTitle},
	{name: "description", principle: Findable, weight: 0.05, hint: "describe the dataset in at least 100 characters, beyond its title", pass: func(e *fairwayv1.EnrichedDataset) bool {
		d := e.GetDataset()
		desc := strings.TrimSpace(d.GetDescription())
		return utf8.RuneCountInString(desc) >= MinDescriptionLength && !strings.EqualFold(desc, strings.TrimSpace(d.GetTitle()))
	}},
	{name: "keywords", principle: Findable, weight: 0.05, hint: "add subjects (keywords) or PaNET techniques", pass: func(e *fairwayv1.EnrichedDataset) bool {
		if len(e.GetTechniques()) > 0 {
			return true
		}
		for _, s := range e.GetDataset().GetSubjects() {
			if strings.TrimSpace(s.GetValue()) != "" || strings.TrimSpace(s.GetValueUri()) != "" {
				return true
			}
		}
		return false
	}},
	{name: "landing-page", principle: Accessible, weight: 0.10, hint: "give an http(s) landing page", pass: func(e *fairwayv1.EnrichedDataset) bool {
		_, ok := dcat.PublishableIRI(e.GetDataset().GetLandingPage())
		return ok
	}},
	{name: "access-rights", principle: Accessible, weight: 0.05, hint: "state the access rights (open, embargoed, restricted or closed)", pass: func(e *fairwayv1.EnrichedDataset) bool {
		switch accessRights(e) {
		case metadata.AccessOpen, metadata.AccessEmbargoed, metadata.AccessRestricted, metadata.AccessClosed:
			return true
		}
		return false
	}},
	{name: "open-access", principle: Accessible, weight: 0.05, hint: "make the data openly accessible", pass: func(e *fairwayv1.EnrichedDataset) bool {
		return accessRights(e) == metadata.AccessOpen
	}},
	{name: "links", principle: Accessible, weight: 0.05, hint: linksHint, explain: links},
	{name: "panet-technique", principle: Interoperable, weight: 0.10, hint: "name the experimental technique with a PaNET IRI, id or label", pass: func(e *fairwayv1.EnrichedDataset) bool {
		return len(e.GetTechniques()) > 0
	}},
	{name: "creator-orcid", principle: Interoperable, weight: 0.10, hint: "give every creator's ORCID iD", pass: func(e *fairwayv1.EnrichedDataset) bool {
		cs := e.GetDataset().GetCreators()
		for _, c := range cs {
			if !metadata.ValidORCID(c.GetOrcid()) {
				return false
			}
		}
		return len(cs) > 0
	}},
	{name: "licence-iri", principle: Interoperable, weight: 0.05, hint: "give the licence as an IRI or an SPDX id (https://creativecommons.org/licenses/by/4.0/, CC-BY-4.0)", pass: func(e *fairwayv1.EnrichedDataset) bool {
		_, ok := dcat.LicenseIRI(e.GetDataset().GetLicense())
		return ok
	}},
	{name: "licence", principle: Reusable, weight: 0.10, hint: "state a licence", pass: func(e *fairwayv1.EnrichedDataset) bool {
		return strings.TrimSpace(e.GetDataset().GetLicense()) != ""
	}},
	{name: "provenance", principle: Reusable, weight: 0.05, hint: "name the creators and the publisher", pass: func(e *fairwayv1.EnrichedDataset) bool {
		d := e.GetDataset()
		named := false
		for _, c := range d.GetCreators() {
			if strings.TrimSpace(c.GetName()+c.GetGivenName()+c.GetFamilyName()) != "" {
				named = true
				break
			}
		}
		return named && strings.TrimSpace(d.GetPublisher()+d.GetFacility()) != ""
	}},
	{name: "related-publications", principle: Reusable, weight: 0.05, hint: "link the publications that use the data (related identifiers)", pass: func(e *fairwayv1.EnrichedDataset) bool {
		for _, r := range e.GetDataset().GetRelated() {
			if strings.TrimSpace(r.GetIdentifier()) != "" {
				return true
			}
		}
		return false
	}},
	{name: "publication-date", principle: Contextual, weight: 0.025, hint: "give the publication date or year", pass: func(e *fairwayv1.EnrichedDataset) bool {
		d := e.GetDataset()
		return (d.GetIssued() != nil && d.GetIssued().IsValid()) || d.GetPublicationYear() > 0
	}},
	{name: "modified-date", principle: Contextual, weight: 0.0125, hint: "give the date of the last change", pass: func(e *fairwayv1.EnrichedDataset) bool {
		m := e.GetDataset().GetModified()
		return m != nil && m.IsValid()
	}},
	{name: "byte-size", principle: Contextual, weight: 0.0125, hint: "give the size in bytes of the data files", pass: func(e *fairwayv1.EnrichedDataset) bool {
		for _, d := range e.GetDataset().GetDistributions() {
			if d.GetByteSize() > 0 {
				return true
			}
		}
		return false
	}},
}

// Score rates an enriched dataset against the rubric and returns the score
// in [0, 1] with every check, in rubric order. A nil dataset fails every
// check.
func Score(e *fairwayv1.EnrichedDataset) (float64, []Check) {
	checks := make([]Check, len(rubric))
	var total, passed float64
	for i, r := range rubric {
		ok, hint := false, r.hint
		switch {
		case e.GetDataset() == nil:
		case r.explain != nil:
			var why string
			if ok, why = r.explain(e); !ok && why != "" {
				hint = why
			}
		default:
			ok = r.pass(e)
		}
		checks[i] = Check{Name: r.name, Principle: r.principle, Passed: ok, Weight: r.weight, Hint: hint}
		total += r.weight
		if ok {
			passed += r.weight
		}
	}
	return math.Round(passed/total*1e4) / 1e4, checks
}

// Gaps returns the checks that failed, as the dataset keeps them.
func Gaps(checks []Check) []*fairwayv1.QualityGap {
	var out []*fairwayv1.QualityGap
	for _, c := range checks {
		if !c.Passed {
			out = append(out, &fairwayv1.QualityGap{Check: c.Name, Dimension: c.Principle.Dimension(), Hint: c.Hint, Weight: c.Weight})
		}
	}
	return out
}

// Dimensions returns the score of each dimension (the share of its weight
// passed, rounded to four decimals), in rubric order.
func Dimensions(checks []Check) []*fairwayv1.QualityDimension {
	out := make([]*fairwayv1.QualityDimension, 0, len(Principles))
	for _, p := range Principles {
		var total, passed float64
		for _, c := range checks {
			if c.Principle == p {
				total += c.Weight
				if c.Passed {
					passed += c.Weight
				}
			}
		}
		if total > 0 {
			out = append(out, &fairwayv1.QualityDimension{Name: p.Dimension(), Score: math.Round(passed/total*1e4) / 1e4})
		}
	}
	return out
}

const linksHint = "give every link (landing page, subject IRIs, related identifiers, licence, ORCID iD) as an http(s) IRI with a host, or as a doi:, hdl: or urn: identifier"

// links fails when the catalogue leaves out values given as IRIs, saying
// how many and where.
func links(e *fairwayv1.EnrichedDataset) (bool, string) {
	dropped := dcat.DroppedIRIs(e)
	if len(dropped) == 0 {
		return true, ""
	}
	var fields []string
	for _, d := range dropped {
		if !slices.Contains(fields, d.Field) {
			fields = append(fields, d.Field)
		}
	}
	noun := "links were"
	if len(dropped) == 1 {
		noun = "link was"
	}
	return false, fmt.Sprintf("%d %s left out of the catalogue (%s): %s", len(dropped), noun, strings.Join(fields, ", "), linksHint)
}

func accessRights(e *fairwayv1.EnrichedDataset) string {
	return strings.ToLower(strings.TrimSpace(e.GetDataset().GetAccessRights()))
}

func goodTitle(e *fairwayv1.EnrichedDataset) bool {
	d := e.GetDataset()
	t := strings.TrimSpace(d.GetTitle())
	if utf8.RuneCountInString(t) < MinTitleLength {
		return false
	}
	for _, id := range []string{d.GetDoi(), d.GetSourceIdentifier(), d.GetKey()} {
		if id = strings.TrimSpace(id); id != "" && (strings.EqualFold(t, id) || strings.EqualFold(t, "doi:"+id)) {
			return false
		}
	}
	return true
}
