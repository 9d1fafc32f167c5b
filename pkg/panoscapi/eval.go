package panoscapi

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// object is one object of the data model: its properties and its
// relations. A property is a string, float64, bool or time.Time (nil
// when it has no value).
type object struct {
	props map[string]any
	// rels are the related objects by relation name.
	rels map[string][]*object
	// single names the relations holding one object (belongsTo).
	single map[string]bool
	// matching are the objects a relation's scope is matched against
	// when they differ from rels (a dataset's techniques with their
	// broader ones: a condition on a technique takes in its narrower
	// ones).
	matching map[string][]*object
	// hidden marks an object only matched against, never shown.
	hidden bool
}

// selected is an object as a filter selects it: the relations its
// includes take, each with the related objects their scopes select.
type selected struct {
	obj      *object
	included map[string][]*selected
	order    []string
}

// matches reports whether o satisfies w.
func (w *Where) matches(o *object) bool {
	if w == nil {
		return true
	}
	switch {
	case w.And != nil:
		for _, c := range w.And {
			if !c.matches(o) {
				return false
			}
		}
		return true
	case w.Or != nil:
		for _, c := range w.Or {
			if c.matches(o) {
				return true
			}
		}
		return false
	}
	if w.Field == "text" {
		if _, has := o.props["text"]; !has {
			return o.textMatches(w)
		}
	}
	v, has := o.props[w.Field]
	if !has {
		v = nil
	}
	return condition(w.Op, v, w.Value)
}

// textMatches is the "text" condition of an object without such a
// property: a case-insensitive substring of any of its string properties.
func (o *object) textMatches(w *Where) bool {
	want, ok := w.Value.(string)
	if !ok {
		return false
	}
	want = strings.ToLower(want)
	for _, v := range o.props {
		if s, ok := v.(string); ok && strings.Contains(strings.ToLower(s), want) {
			return true
		}
	}
	return false
}

// condition evaluates one operator on a property value v and a condition
// value c.
func condition(op string, v, c any) bool {
	switch op {
	case "eq":
		return equal(v, c)
	case "neq":
		return !equal(v, c)
	case "gt", "gte", "lt", "lte":
		n, ok := compare(v, c)
		if !ok {
			return false
		}
		switch op {
		case "gt":
			return n > 0
		case "gte":
			return n >= 0
		case "lt":
			return n < 0
		}
		return n <= 0
	case "between":
		b := c.([]any)
		lo, ok1 := compare(v, b[0])
		hi, ok2 := compare(v, b[1])
		return ok1 && ok2 && lo >= 0 && hi <= 0
	case "inq", "nin":
		in := false
		for _, e := range c.([]any) {
			if equal(v, e) {
				in = true
				break
			}
		}
		return in == (op == "inq")
	case "like", "nlike", "ilike", "nilike":
		s, ok := v.(string)
		if !ok {
			return false
		}
		fold := op == "ilike" || op == "nilike"
		m := like(s, c.(string), fold)
		return m == (op == "like" || op == "ilike")
	}
	return false
}

// equal compares a property with a condition value: strings exactly,
// numbers as numbers (a numeric string too), dates as instants.
func equal(v, c any) bool {
	if v == nil || c == nil {
		return v == nil && c == nil
	}
	if n, ok := compare(v, c); ok {
		return n == 0
	}
	return false
}

// compare orders v against c when they are comparable.
func compare(v, c any) (int, bool) {
	switch x := v.(type) {
	case string:
		s, ok := c.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, s), true
	case float64:
		f, ok := number(c)
		if !ok || math.IsNaN(x) {
			return 0, false
		}
		return cmp3(x, f), true
	case bool:
		b, ok := c.(bool)
		if !ok {
			return 0, false
		}
		if x == b {
			return 0, true
		}
		if !x {
			return -1, true
		}
		return 1, true
	case time.Time:
		t, ok := instant(c)
		if !ok {
			return 0, false
		}
		return x.Compare(t), true
	}
	return 0, false
}

func cmp3(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func number(c any) (float64, bool) {
	switch x := c.(type) {
	case float64:
		return x, true
	case string:
		var f float64
		if _, err := fmt.Sscan(x, &f); err == nil {
			return f, true
		}
	}
	return 0, false
}

// instant reads a condition's date: RFC 3339, a date, or a year.
func instant(c any) (time.Time, bool) {
	s, ok := c.(string)
	if !ok {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// like matches s against an SQL pattern (% any run, _ one character).
func like(s, pattern string, fold bool) bool {
	if fold {
		s, pattern = strings.ToLower(s), strings.ToLower(pattern)
	}
	// Iterative matching with backtracking to the last %: linear in
	// practice, bounded by len(s)*len(pattern) at worst.
	sr, pr := []rune(s), []rune(pattern)
	i, j, star, mark := 0, 0, -1, 0
	for i < len(sr) {
		switch {
		case j < len(pr) && (pr[j] == '_' || pr[j] == sr[i]):
			i++
			j++
		case j < len(pr) && pr[j] == '%':
			star, mark = j, i
			j++
		case star >= 0:
			mark++
			i, j = mark, star+1
		default:
			return false
		}
	}
	for j < len(pr) && pr[j] == '%' {
		j++
	}
	return j == len(pr)
}

// selectObject applies f's where and includes to o: nil when o is left
// out (its where fails, or an include's scope with a where selects none
// of its related objects).
func selectObject(o *object, f *Filter) (*selected, error) {
	if f != nil && !f.Where.matches(o) {
		return nil, nil
	}
	s := &selected{obj: o}
	if f == nil {
		return s, nil
	}
	for _, in := range f.Include {
		if _, known := o.rels[in.Relation]; !known && !o.single[in.Relation] {
			return nil, fmt.Errorf("%w: no relation %q", ErrFilter, in.Relation)
		}
		cands := o.rels[in.Relation]
		if m, ok := o.matching[in.Relation]; ok {
			cands = m
		}
		var picked []*selected
		matched := false
		for _, r := range cands {
			rs, err := selectObject(r, in.Scope)
			if err != nil {
				return nil, err
			}
			if rs == nil {
				continue
			}
			matched = true
			if !r.hidden {
				picked = append(picked, rs)
			}
		}
		if in.Scope.restricts() && !matched {
			return nil, nil
		}
		if in.Scope.restricts() && len(picked) == 0 {
			// Only broader techniques matched: show the dataset's own.
			for _, r := range o.rels[in.Relation] {
				picked = append(picked, &selected{obj: r})
			}
		}
		if in.Scope != nil {
			picked = page(picked, in.Scope.Skip, in.Scope.Limit)
		}
		if s.included == nil {
			s.included = map[string][]*selected{}
		}
		if _, seen := s.included[in.Relation]; !seen {
			s.order = append(s.order, in.Relation)
		}
		s.included[in.Relation] = merge(s.included[in.Relation], picked)
	}
	return s, nil
}

// restricts reports whether a scope selects some related objects only:
// it has a where, or includes a relation with a scope that restricts.
func (f *Filter) restricts() bool {
	if f == nil {
		return false
	}
	if f.Where != nil {
		return true
	}
	for _, in := range f.Include {
		if in.Scope.restricts() {
			return true
		}
	}
	return false
}

// merge adds to a the objects of b it does not hold yet (two includes of
// one relation, each with its own condition, show both sets).
func merge(a, b []*selected) []*selected {
	for _, x := range b {
		dup := false
		for _, y := range a {
			if y.obj == x.obj {
				dup = true
				break
			}
		}
		if !dup {
			a = append(a, x)
		}
	}
	return a
}

func page[T any](xs []T, skip, limit int) []T {
	if skip >= len(xs) {
		return nil
	}
	xs = xs[skip:]
	if limit > 0 && limit < len(xs) {
		xs = xs[:limit]
	}
	return xs
}

// JSON renders s: its properties (dates in RFC 3339) and its included
// relations.
func (s *selected) JSON() map[string]any {
	out := make(map[string]any, len(s.obj.props)+len(s.order))
	for k, v := range s.obj.props {
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(time.RFC3339)
		}
		out[k] = v
	}
	for _, rel := range s.order {
		list := s.included[rel]
		if s.obj.single[rel] {
			if len(list) > 0 {
				out[rel] = list[0].JSON()
			} else {
				out[rel] = nil
			}
			continue
		}
		arr := make([]any, len(list))
		for i, r := range list {
			arr[i] = r.JSON()
		}
		out[rel] = arr
	}
	return out
}
