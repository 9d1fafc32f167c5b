package dcat

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// QualityMetricTriples renders the node's quality metrics, the document
// <BaseURL>/quality that the datasets' measurements refer to: one
// dqv:Metric per dimension of the rubric (dqv:inDimension a dqv:Dimension)
// and the score's.
func QualityMetricTriples(opts Options) ([]rdf.Triple, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	g, err := newGraph(QualityMetric(o, "score"))
	if err != nil {
		return nil, fmt.Errorf("dcat: quality metrics: %w", err)
	}
	g.qualityMetrics(o)
	return g.triples(), nil
}

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

// qualityDimensions are the dimensions of the quality rubric, in its order,
// with their labels (pkg/quality's rubric; the metric of each is
// QualityMetric of its name).
var qualityDimensions = []struct{ name, label string }{
	{"findability", "Findability"}, {"accessibility", "Accessibility"}, {"interoperability", "Interoperability"},
	{"reusability", "Reusability"}, {"contextuality", "Contextuality"},
}

// qualityMetrics declares the node's quality metrics, which the datasets'
// measurements refer to: one dqv:Metric per dimension (dqv:inDimension a
// dqv:Dimension of the same name) and the score.
func (g *graph) qualityMetrics(o Options) {
	metric := func(name, definition string) (rdf.IRI, bool) {
		m, err := rdf.NewIRI(QualityMetric(o, name))
		if err != nil {
			return rdf.IRI{}, false
		}
		g.node(m, rdfType, dqvMetric)
		g.node(m, skosDefinition, mustLangLiteral(definition))
		g.node(m, dqvExpectedDataType, xsdDecimal)
		return m, true
	}
	metric("score", "Share of the weight of the node's metadata quality checks a dataset passes, in [0, 1]")
	for _, d := range qualityDimensions {
		m, ok := metric(d.name, "Share of the weight of the "+strings.ToLower(d.label)+" checks a dataset passes, in [0, 1]")
		if !ok {
			continue
		}
		dim, err := rdf.NewIRI(QualityMetric(o, d.name+"-dimension"))
		if err != nil {
			continue
		}
		g.node(m, dqvInDimension, dim)
		g.node(dim, rdfType, dqvDimension)
		g.node(dim, skosPrefLabel, mustLangLiteral(d.label))
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

// mustLangLiteral is an English literal of a text known not to be blank.
func mustLangLiteral(s string) rdf.Literal {
	if l, err := rdf.NewLangLiteral(s, "en"); err == nil {
		return l
	}
	return mustLiteral(s)
}
