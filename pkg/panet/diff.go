package panet

import (
	"fmt"
	"slices"
	"strings"
)

// Relabel is a technique whose rdfs:label changed between two releases.
type Relabel struct {
	// ID is the technique's bare id.
	ID string
	// Old and New are its labels.
	Old, New string
}

// Synonym is a name (altLabel) a technique gained or lost.
type Synonym struct {
	// ID is the technique's bare id.
	ID string
	// Name is the altLabel.
	Name string
}

// Summary says how one release of PaNET differs from another, in what
// tagging sees: its techniques (the specifiers are not matched), their
// labels and their synonyms. Every list is sorted by id, then name.
type Summary struct {
	// OldVersion and NewVersion are the releases' versions ("" for none:
	// OldVersion is empty when there was no old release).
	OldVersion, NewVersion string
	// OldTechniques and NewTechniques count the technique classes.
	OldTechniques, NewTechniques int
	// Added and Removed are the ids of the techniques only the new, or only
	// the old, release has.
	Added, Removed []string
	// Relabelled are the techniques whose label changed.
	Relabelled []Relabel
	// SynonymsAdded and SynonymsRemoved are the altLabels gained and lost
	// by techniques of both releases.
	SynonymsAdded, SynonymsRemoved []Synonym
}

// Unchanged reports whether tagging would see no difference.
func (s Summary) Unchanged() bool {
	return len(s.Added) == 0 && len(s.Removed) == 0 && len(s.Relabelled) == 0 &&
		len(s.SynonymsAdded) == 0 && len(s.SynonymsRemoved) == 0
}

// Techniques counts the technique (not specifier) classes of o.
func Techniques(o *Ontology) int {
	n := 0
	for _, c := range o.ordered {
		if !c.Specifier {
			n++
		}
	}
	return n
}

// Diff returns how release next differs from release prev (nil: no release
// before, every technique is added).
func Diff(prev, next *Ontology) Summary {
	var s Summary
	techniques := func(o *Ontology) map[string]*Class {
		m := map[string]*Class{}
		if o == nil {
			return m
		}
		for _, c := range o.ordered {
			if !c.Specifier {
				m[c.ID] = c
			}
		}
		return m
	}
	old, cur := techniques(prev), techniques(next)
	if prev != nil {
		s.OldVersion = prev.Version()
	}
	if next != nil {
		s.NewVersion = next.Version()
	}
	s.OldTechniques, s.NewTechniques = len(old), len(cur)
	for id, c := range cur {
		o, ok := old[id]
		if !ok {
			s.Added = append(s.Added, id)
			continue
		}
		if o.Label != c.Label {
			s.Relabelled = append(s.Relabelled, Relabel{ID: id, Old: o.Label, New: c.Label})
		}
		for _, n := range c.AltLabels {
			if !slices.Contains(o.AltLabels, n) {
				s.SynonymsAdded = append(s.SynonymsAdded, Synonym{ID: id, Name: n})
			}
		}
		for _, n := range o.AltLabels {
			if !slices.Contains(c.AltLabels, n) {
				s.SynonymsRemoved = append(s.SynonymsRemoved, Synonym{ID: id, Name: n})
			}
		}
	}
	for id := range old {
		if _, ok := cur[id]; !ok {
			s.Removed = append(s.Removed, id)
		}
	}
	slices.Sort(s.Added)
	slices.Sort(s.Removed)
	slices.SortFunc(s.Relabelled, func(a, b Relabel) int { return strings.Compare(a.ID, b.ID) })
	bySynonym := func(a, b Synonym) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}
	slices.SortFunc(s.SynonymsAdded, bySynonym)
	slices.SortFunc(s.SynonymsRemoved, bySynonym)
	return s
}

// String writes the summary in a few lines, listing at most ten entries of
// each kind.
func (s Summary) String() string {
	var b strings.Builder
	ver := func(v string) string {
		if v == "" {
			return "(none)"
		}
		return v
	}
	fmt.Fprintf(&b, "PaNET %s → %s: %d → %d techniques\n", ver(s.OldVersion), ver(s.NewVersion), s.OldTechniques, s.NewTechniques)
	list := func(title string, n int, item func(i int) string) {
		if n == 0 {
			return
		}
		fmt.Fprintf(&b, "  %s: %d\n", title, n)
		for i := range min(n, 10) {
			fmt.Fprintf(&b, "    %s\n", item(i))
		}
		if n > 10 {
			fmt.Fprintf(&b, "    … and %d more\n", n-10)
		}
	}
	list("added", len(s.Added), func(i int) string { return s.Added[i] })
	list("removed", len(s.Removed), func(i int) string { return s.Removed[i] })
	list("relabelled", len(s.Relabelled), func(i int) string {
		r := s.Relabelled[i]
		return fmt.Sprintf("%s %q → %q", r.ID, r.Old, r.New)
	})
	list("synonyms added", len(s.SynonymsAdded), func(i int) string {
		return fmt.Sprintf("%s %q", s.SynonymsAdded[i].ID, s.SynonymsAdded[i].Name)
	})
	list("synonyms removed", len(s.SynonymsRemoved), func(i int) string {
		return fmt.Sprintf("%s %q", s.SynonymsRemoved[i].ID, s.SynonymsRemoved[i].Name)
	})
	if s.Unchanged() {
		b.WriteString("  no technique, label or synonym changed\n")
	}
	return b.String()
}
