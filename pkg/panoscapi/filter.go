// Package panoscapi serves the PaNOSC search API (the data model of
// datasets, documents, instruments and techniques, with LoopBack-style
// filters and relevance scores) over the catalogue's read model, so that
// a node can be registered as a provider of the PaNOSC federated search.
package panoscapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrFilter is the error of a filter that cannot be read or breaks a
// bound; the API answers it with 400 and its reason.
var ErrFilter = errors.New("panoscapi: bad filter")

// Bounds of a filter.
const (
	// MaxFilterBytes bounds the JSON of a filter (or a where).
	MaxFilterBytes = 16 << 10
	// MaxDepth bounds the nesting of and/or and of include scopes.
	MaxDepth = 8
	// MaxConditions bounds the conditions of a filter, scopes included.
	MaxConditions = 128
	// MaxIncludes bounds the relations a filter includes, scopes included.
	MaxIncludes = 16
	// MaxLimit is the largest limit; DefaultLimit applies without one.
	MaxLimit     = 1000
	DefaultLimit = 100
	// MaxSkip is the largest skip.
	MaxSkip = 10000
	// maxInq bounds the values of an inq or nin.
	maxInq = 256
	// maxValue bounds one string value.
	maxValue = 1024
)

// Filter is a LoopBack filter: which objects (Where), which of their
// relations to include (Include), and the page (Limit, Skip).
type Filter struct {
	// Where selects the objects; nil takes all.
	Where *Where
	// Include lists the relations to include, each with its scope.
	Include []Include
	// Limit is the page size (0 without one).
	Limit int
	// Skip is how many objects the page skips.
	Skip int
}

// Include is one relation of Filter.Include.
type Include struct {
	// Relation is its name (techniques, parameters, datasets…).
	Relation string
	// Scope filters the related objects (nil: all). An object of which no
	// related object matches a scope that restricts (one with a where, or
	// with an include whose scope restricts) is left out, as the PaNOSC API
	// does.
	Scope *Filter
}

// Where is a node of a where clause: an and, an or, or one condition.
type Where struct {
	// And and Or hold the operands of a conjunction or disjunction.
	And, Or []*Where
	// Field, Op and Value make a condition (Op "eq" for a plain value).
	Field string
	Op    string
	// Value is a string, float64, bool, nil, or for inq, nin and between
	// a []any of those.
	Value any
}

// ops are the condition operators.
var ops = map[string]bool{
	"eq": true, "neq": true, "gt": true, "gte": true, "lt": true, "lte": true, "between": true,
	"inq": true, "nin": true, "like": true, "nlike": true, "ilike": true, "nilike": true,
}

// parser counts what a filter holds against the bounds.
type parser struct{ conditions, includes int }

// ParseFilter reads a filter's JSON; "" is the empty filter.
func ParseFilter(s string) (Filter, error) {
	if strings.TrimSpace(s) == "" {
		return Filter{}, nil
	}
	v, err := decode(s)
	if err != nil {
		return Filter{}, err
	}
	var p parser
	return p.filter(v, 0)
}

// ParseWhere reads a where clause's JSON (the count routes' where); ""
// is nil.
func ParseWhere(s string) (*Where, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	v, err := decode(s)
	if err != nil {
		return nil, err
	}
	var p parser
	return p.where(v, 0)
}

func decode(s string) (any, error) {
	if len(s) > MaxFilterBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrFilter, MaxFilterBytes)
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrFilter, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: text after the JSON value", ErrFilter)
	}
	return v, nil
}

func (p *parser) filter(v any, depth int) (Filter, error) {
	if depth > MaxDepth {
		return Filter{}, fmt.Errorf("%w: include scopes nested deeper than %d", ErrFilter, MaxDepth)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Filter{}, fmt.Errorf("%w: a filter is a JSON object", ErrFilter)
	}
	var f Filter
	for k, x := range obj {
		var err error
		switch k {
		case "where":
			f.Where, err = p.where(x, depth+1)
		case "include":
			f.Include, err = p.include(x, depth+1)
		case "limit":
			f.Limit, err = count(k, x, MaxLimit)
		case "skip", "offset":
			f.Skip, err = count(k, x, MaxSkip)
		case "fields", "order":
			err = fmt.Errorf("%w: %q is not supported (see docs/panosc-api.md)", ErrFilter, k)
		default:
			err = fmt.Errorf("%w: unknown filter key %q", ErrFilter, k)
		}
		if err != nil {
			return Filter{}, err
		}
	}
	return f, nil
}

// count reads a non-negative integer of at most max.
func count(key string, v any, max int) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		if s, isStr := v.(string); isStr {
			n, ok = json.Number(s), true
		}
	}
	if !ok {
		return 0, fmt.Errorf("%w: %s must be a number", ErrFilter, key)
	}
	i, err := n.Int64()
	if err != nil || i < 0 {
		return 0, fmt.Errorf("%w: %s must be a whole number ≥ 0", ErrFilter, key)
	}
	if i > int64(max) {
		return 0, fmt.Errorf("%w: %s is at most %d", ErrFilter, key, max)
	}
	return int(i), nil
}

func (p *parser) include(v any, depth int) ([]Include, error) {
	switch x := v.(type) {
	case string:
		return p.relation(x, nil, depth)
	case []any:
		var out []Include
		for _, e := range x {
			in, err := p.include(e, depth)
			if err != nil {
				return nil, err
			}
			out = append(out, in...)
		}
		return out, nil
	case map[string]any:
		if r, ok := x["relation"]; ok {
			name, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("%w: an include's relation is a string", ErrFilter)
			}
			for k := range x {
				if k != "relation" && k != "scope" {
					return nil, fmt.Errorf("%w: unknown include key %q", ErrFilter, k)
				}
			}
			return p.relation(name, x["scope"], depth)
		}
		// {"relation name": nested include}
		var out []Include
		for name, nested := range x {
			in, err := p.include(nested, depth+1)
			if err != nil {
				return nil, err
			}
			r, err := p.relation(name, nil, depth)
			if err != nil {
				return nil, err
			}
			r[0].Scope = &Filter{Include: in}
			out = append(out, r...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: an include is a relation name, an object or an array", ErrFilter)
}

func (p *parser) relation(name string, scope any, depth int) ([]Include, error) {
	if p.includes++; p.includes > MaxIncludes {
		return nil, fmt.Errorf("%w: more than %d includes", ErrFilter, MaxIncludes)
	}
	if name == "" || len(name) > 64 {
		return nil, fmt.Errorf("%w: an include names no relation", ErrFilter)
	}
	in := Include{Relation: name}
	if scope != nil {
		f, err := p.filter(scope, depth+1)
		if err != nil {
			return nil, err
		}
		in.Scope = &f
	}
	return []Include{in}, nil
}

func (p *parser) where(v any, depth int) (*Where, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: where nested deeper than %d", ErrFilter, MaxDepth)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: a where is a JSON object", ErrFilter)
	}
	var parts []*Where
	// In the order of the keys: the same where parses (and renders) the
	// same whatever the map's order.
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		x := obj[k]
		switch k {
		case "and", "or":
			list, ok := x.([]any)
			if !ok {
				return nil, fmt.Errorf("%w: %s takes an array", ErrFilter, k)
			}
			w := &Where{}
			for _, e := range list {
				c, err := p.where(e, depth+1)
				if err != nil {
					return nil, err
				}
				if k == "and" {
					w.And = append(w.And, c)
				} else {
					w.Or = append(w.Or, c)
				}
			}
			if len(list) == 0 {
				return nil, fmt.Errorf("%w: an empty %s", ErrFilter, k)
			}
			parts = append(parts, w)
		default:
			c, err := p.condition(k, x)
			if err != nil {
				return nil, err
			}
			parts = append(parts, c)
		}
	}
	switch len(parts) {
	case 0:
		// {} takes all.
		return nil, nil
	case 1:
		return parts[0], nil
	}
	// Several keys of one object are a conjunction.
	return &Where{And: parts}, nil
}

func (p *parser) condition(field string, v any) (*Where, error) {
	if p.conditions++; p.conditions > MaxConditions {
		return nil, fmt.Errorf("%w: more than %d conditions", ErrFilter, MaxConditions)
	}
	if field == "" || len(field) > 64 {
		return nil, fmt.Errorf("%w: a condition names no field", ErrFilter)
	}
	c := &Where{Field: field, Op: "eq"}
	if obj, ok := v.(map[string]any); ok {
		if len(obj) != 1 {
			return nil, fmt.Errorf("%w: the condition on %q needs exactly one operator", ErrFilter, field)
		}
		for op, x := range obj {
			if !ops[op] {
				return nil, fmt.Errorf("%w: unknown operator %q on %q", ErrFilter, op, field)
			}
			c.Op, v = op, x
		}
	}
	val, err := value(v, c.Op)
	if err != nil {
		return nil, fmt.Errorf("%w (on %q)", err, field)
	}
	c.Value = val
	return c, nil
}

// value checks and converts a condition's value for op.
func value(v any, op string) (any, error) {
	switch op {
	case "inq", "nin", "between":
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s takes an array", ErrFilter, op)
		}
		if op == "between" && len(list) != 2 {
			return nil, fmt.Errorf("%w: between takes two values", ErrFilter)
		}
		if len(list) > maxInq {
			return nil, fmt.Errorf("%w: %s takes at most %d values", ErrFilter, op, maxInq)
		}
		out := make([]any, len(list))
		for i, e := range list {
			s, err := scalar(e)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	case "like", "nlike", "ilike", "nilike":
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s takes a string", ErrFilter, op)
		}
		if len(s) > maxValue {
			return nil, fmt.Errorf("%w: a value longer than %d bytes", ErrFilter, maxValue)
		}
		return s, nil
	}
	return scalar(v)
}

func scalar(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		if len(x) > maxValue {
			return nil, fmt.Errorf("%w: a value longer than %d bytes", ErrFilter, maxValue)
		}
		return x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("%w: number %s out of range", ErrFilter, x)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%w: a value is a string, number, boolean or null", ErrFilter)
}

// String renders w for logs and errors.
func (w *Where) String() string {
	if w == nil {
		return "{}"
	}
	var b bytes.Buffer
	switch {
	case w.And != nil || w.Or != nil:
		list, op := w.And, " and "
		if w.Or != nil {
			list, op = w.Or, " or "
		}
		b.WriteByte('(')
		for i, c := range list {
			if i > 0 {
				b.WriteString(op)
			}
			b.WriteString(c.String())
		}
		b.WriteByte(')')
	default:
		fmt.Fprintf(&b, "%s %s %v", w.Field, w.Op, w.Value)
	}
	return b.String()
}
