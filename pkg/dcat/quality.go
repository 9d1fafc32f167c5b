package dcat

import (
	"strconv"
	"strings"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// QualityMetric returns the IRI of the node's quality metric name: "score"
// (the whole rubric) or a dimension (findability, accessibility,
// interoperability, reusability, contextuality): <BaseURL>/quality#<name>.
func QualityMetric(o Options, name string) string {
	return strings.TrimRight(o.BaseURL, "/") + "/quality#" + name
}

// quality adds the dataset's quality in the W3C Data Quality Vocabulary:
// a dqv:QualityMeasurement of the score and one of each dimension
// (dqv:isMeasurementOf the node's metric, dqv:value an xsd:decimal), and a
// dqv:QualityAnnotation for each check the dataset failed, whose body says
// what the metadata lacks. A dataset the enricher scored before it kept
// its dimensions gets nothing: its score alone says too little.
func (g *graph) quality(e *fairwayv1.EnrichedDataset, o Options) {
	dims := e.GetQualityDimensions()
	if len(dims) == 0 {
		return
	}
	measure := func(metric string, v float64) {
		iri, err := rdf.NewIRI(QualityMetric(o, metric))
		if err != nil {
			return
		}
		m := g.blank("quality")
		g.add(dqvHasQualityMeasurement, m)
		g.node(m, rdfType, dqvQualityMeasurement)
		g.node(m, dqvIsMeasurementOf, iri)
		g.node(m, dqvValue, rdf.NewTypedLiteral(strconv.FormatFloat(v, 'f', -1, 64), xsdDecimal))
	}
	measure("score", e.GetQualityScore())
	for _, d := range dims {
		if name := d.GetName(); metricName(name) {
			measure(name, d.GetScore())
		}
	}
	for _, gap := range e.GetQualityGaps() {
		hint := validUTF8(gap.GetHint())
		if strings.TrimSpace(hint) == "" {
			continue
		}
		a, body := g.blank("gap"), g.blank("gapbody")
		g.add(dqvHasQualityAnnotation, a)
		g.node(a, rdfType, dqvQualityAnnotation)
		g.node(a, oaMotivatedBy, dqvQualityAssessment)
		g.node(a, oaHasTarget, g.subject)
		g.node(a, oaHasBody, body)
		g.node(body, rdfType, oaTextualBody)
		g.node(body, rdfValue, mustLiteral(validUTF8(gap.GetCheck())+": "+hint))
	}
}

// metricName reports whether name can end a metric IRI as it is.
func metricName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r == '-') {
			return false
		}
	}
	return true
}
