package panoscapi

import (
	"strings"

	"github.com/panosc/fairway/pkg/readmodel"
)

// pushed is what the necessary conditions of a filter make of a read-model
// query: conditions every selected object satisfies, so that the read
// model narrows the records the API evaluates (which still applies the
// whole filter). exact says the query selects exactly the records the
// filter does: then the read model counts and pages alone.
type pushed struct {
	q     readmodel.Query
	exact bool
}

// pushDown returns the read-model query of f's necessary conditions for
// objects of kind k.
func pushDown(f *Filter, k kind) pushed {
	p := pushed{exact: true}
	if k == kindDocument {
		p.document(f)
	} else {
		p.dataset(f)
	}
	return p
}

// conjuncts returns the conditions w holds at its top level: the operands
// of its ands, flattened (an or is one conjunct).
func conjuncts(w *Where) []*Where {
	if w == nil {
		return nil
	}
	if w.And != nil {
		var out []*Where
		for _, c := range w.And {
			out = append(out, conjuncts(c)...)
		}
		return out
	}
	return []*Where{w}
}

// dataset pushes the necessary conditions of a dataset filter: those of
// its techniques, instrument and documents scopes (no condition on the
// dataset's own properties maps to the read model: its creationDate is
// not the catalogue datestamp, its isPublic is read from free text).
func (p *pushed) dataset(f *Filter) {
	if f == nil {
		return
	}
	if f.Where != nil {
		p.exact = false
	}
	for _, in := range f.Include {
		if !in.Scope.restricts() {
			continue
		}
		switch in.Relation {
		case "techniques":
			p.techniques(in.Scope)
		case "instrument":
			p.instrument(in.Scope)
		case "documents":
			// A dataset has one document: it has to match.
			p.document(in.Scope)
		default:
			p.exact = false
		}
	}
}

// document pushes the necessary conditions of a document filter: its
// licence (the read model's, exactly) and those of its dataset.
func (p *pushed) document(f *Filter) {
	if f == nil {
		return
	}
	for _, c := range conjuncts(f.Where) {
		s, ok := c.Value.(string)
		if c.Field == "license" && c.Op == "eq" && ok && s != "" && (p.q.Licence == "" || p.q.Licence == s) {
			p.q.Licence = s
			continue
		}
		p.exact = false
	}
	for _, in := range f.Include {
		if !in.Scope.restricts() {
			continue
		}
		if in.Relation == "datasets" {
			// A document has one dataset: it has to match.
			p.dataset(in.Scope)
			continue
		}
		p.exact = false
	}
}

// techniques pushes a techniques scope: some technique of the dataset (or
// a broader one) satisfies each of its where's conjuncts, so an eq or inq
// on a pid (a PaNET IRI once expandTechniques resolved it) is the read
// model's Technique or AnyTechnique, which match the same IRIs. The query
// is exact when that is the scope's one condition.
func (p *pushed) techniques(s *Filter) {
	cs := conjuncts(s.Where)
	if len(cs) != 1 || len(s.Include) > 0 {
		p.exact = false
	}
	for _, c := range cs {
		if c.Field != "pid" {
			p.exact = false
			continue
		}
		switch c.Op {
		case "eq":
			iri, ok := c.Value.(string)
			if !ok || !pushableTechnique(iri) {
				p.exact = false
				continue
			}
			switch {
			case p.q.Technique == "":
				p.q.Technique = iri
			case p.q.AnyTechnique == nil:
				p.q.AnyTechnique = []string{iri}
			default:
				p.exact = false
			}
		case "inq":
			list := c.Value.([]any)
			iris := make([]string, 0, len(list))
			for _, v := range list {
				if iri, ok := v.(string); ok && pushableTechnique(iri) {
					iris = append(iris, iri)
				} else {
					iris = nil
					break
				}
			}
			if len(iris) == 0 || len(iris) > readmodel.MaxAnyTechniques || p.q.AnyTechnique != nil {
				p.exact = false
				continue
			}
			p.q.AnyTechnique = iris
		default:
			p.exact = false
		}
	}
}

// pushableTechnique reports whether the read model matches a technique
// pid exactly as the API does: as a whole IRI (a bare id would be read
// as one by the read model, not by the API), within its bounds.
func pushableTechnique(iri string) bool {
	return strings.Contains(iri, "://") && strings.TrimSpace(iri) == iri && len(iri) <= 1024
}

// instrument pushes an instrument scope (or an instruments where): its
// name, its pid when a URL (an instrument's own PID; the pid made of the
// facility and name is not in the read model) and its facility. The read
// model matches those case-insensitively, and a dataset without an
// instrument can match a facility: never exact.
func (p *pushed) instrument(s *Filter) {
	p.exact = false
	if s == nil {
		return
	}
	p.instrumentWhere(s.Where)
}

func (p *pushed) instrumentWhere(w *Where) {
	for _, c := range conjuncts(w) {
		v, ok := c.Value.(string)
		v = strings.TrimSpace(v)
		if !ok || c.Op != "eq" || v == "" {
			continue
		}
		switch c.Field {
		case "name":
			if p.q.Instrument == "" {
				p.q.Instrument = v
			}
		case "pid":
			if p.q.Instrument == "" && (strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")) {
				p.q.Instrument = v
			}
		case "facility":
			if p.q.Facility == "" {
				p.q.Facility = v
			}
		}
	}
}
