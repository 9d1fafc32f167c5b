package search

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Techniques gives the PaNET release that technique names are resolved
// and recognised with.
type Techniques interface {
	// Terms returns the current release, nil when there is none yet.
	Terms() *Terms
}

// Terms is one PaNET release as search uses it: its matcher, and how many
// narrower classes each class has (counted once, kept with the release so
// that they go with it). A *Terms is a Techniques of that one release.
type Terms struct {
	m        *panet.Matcher
	narrower map[string]int
}

// NewTerms returns the Terms of m's release.
func NewTerms(m *panet.Matcher) *Terms {
	t := &Terms{m: m, narrower: map[string]int{}}
	o := m.Ontology()
	for _, c := range o.Classes() {
		for _, a := range o.Ancestors(c.ID) {
			t.narrower[a.ID]++
		}
	}
	return t
}

// Terms returns t.
func (t *Terms) Terms() *Terms { return t }

// Ontology returns the release's ontology (the class tree the node tags
// datasets with), nil for a nil Terms.
func (t *Terms) Ontology() *panet.Ontology {
	if t == nil || t.m == nil {
		return nil
	}
	return t.m.Ontology()
}

// UnknownTechniqueError says that a technique filter names no PaNET
// technique, or several; Near are the techniques it may have meant.
type UnknownTechniqueError struct {
	// Technique as given.
	Technique string
	// Reason says what is wrong.
	Reason string
	// Near are techniques of similar names, the nearest first.
	Near []Technique
}

func (e *UnknownTechniqueError) Error() string {
	return fmt.Sprintf("%v: technique %.80q: %s", ErrInvalid, e.Technique, e.Reason)
}

// Is makes an UnknownTechniqueError an ErrInvalid.
func (e *UnknownTechniqueError) Is(target error) bool { return target == ErrInvalid }

// maxNear bounds UnknownTechniqueError.Near.
const maxNear = 5

// terms returns the release in use, nil when there is none.
func (s *Searcher) terms() *Terms {
	if s.cfg.Techniques == nil {
		return nil
	}
	t := s.cfg.Techniques.Terms()
	if t == nil || t.m == nil {
		return nil
	}
	return t
}

// resolve returns the technique name names: an IRI or id (of a class of
// the ontology, when there is one), a label, a synonym or an acronym.
func resolve(t *Terms, name string) (Technique, error) {
	iri, isTerm := panet.TermIRI(name)
	if t == nil {
		if !isTerm {
			return Technique{}, &UnknownTechniqueError{Technique: name,
				Reason: "the node has no PaNET ontology loaded yet: give a PaNET IRI or id (PaNET01188)"}
		}
		return Technique{IRI: iri, ID: strings.TrimPrefix(iri, panet.Namespace)}, nil
	}
	m, o := t.m, t.m.Ontology()
	if isTerm {
		c, ok := o.Class(iri)
		if !ok {
			return Technique{}, &UnknownTechniqueError{Technique: name, Reason: fmt.Sprintf("no such class in PaNET %s", o.Version())}
		}
		return t.described(c, ""), nil
	}
	want := fold(name)
	var found []*fairwayv1.Technique
	for _, f := range m.Match([]*fairwayv1.Subject{{Value: name}}) {
		switch f.GetMatchedBy() {
		case panet.MatchedByIRI, panet.MatchedByID, panet.MatchedByLabel, panet.MatchedBySynonym:
			found = append(found, f)
		default:
			// Read as free text: only a technique the whole name names.
			if fold(f.GetMatchedText()) == want {
				found = append(found, f)
			}
		}
	}
	switch len(found) {
	case 1:
		c, _ := o.Class(found[0].GetIri())
		if c == nil {
			return Technique{IRI: found[0].GetIri(), ID: found[0].GetId(), Label: found[0].GetLabel()}, nil
		}
		return t.described(c, ""), nil
	case 0:
		return Technique{}, &UnknownTechniqueError{Technique: name, Reason: "names no PaNET technique", Near: t.near(want)}
	}
	e := &UnknownTechniqueError{Technique: name, Reason: "names several PaNET techniques: give one of their IRIs"}
	for _, f := range found {
		if c, ok := o.Class(f.GetIri()); ok && len(e.Near) < maxNear {
			e.Near = append(e.Near, t.described(c, ""))
		}
	}
	return Technique{}, e
}

// named returns the techniques text names (as free text).
func named(t *Terms, text string) []Technique {
	o := t.m.Ontology()
	var out []Technique
	for _, f := range t.m.Match(nil, text) {
		if len(out) == readmodel.MaxTextTechniques {
			break
		}
		c, ok := o.Class(f.GetIri())
		if !ok {
			continue
		}
		out = append(out, t.described(c, f.GetMatchedText()))
	}
	return out
}

// described returns c as an answer names it.
func (t *Terms) described(c *panet.Class, matched string) Technique {
	return Technique{IRI: c.IRI, ID: c.ID, Label: c.Label, Narrower: t.narrower[c.ID], Matched: matched}
}

// near returns the techniques whose label or a synonym is near want (a
// folded name): those containing it or contained in it, then those within
// a small edit distance, the nearest first.
func (t *Terms) near(want string) []Technique {
	if want == "" {
		return nil
	}
	o := t.m.Ontology()
	type cand struct {
		c    *panet.Class
		dist int
	}
	var cands []cand
	limit := max(2, len(want)/4)
	for _, c := range o.Classes() {
		if c.Specifier {
			continue
		}
		best := -1
		for _, n := range append([]string{c.Label}, c.AltLabels...) {
			f := fold(n)
			if f == "" {
				continue
			}
			d := levenshtein(want, f, limit)
			if d > limit && len(want) >= 4 && (strings.Contains(f, want) || strings.Contains(want, f) && len(f) >= 4) {
				d = limit + 1 + abs(len(f)-len(want))/4
			}
			if d <= limit+8 && (best < 0 || d < best) {
				best = d
			}
		}
		if best >= 0 {
			cands = append(cands, cand{c, best})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(a.c.ID, b.c.ID)) })
	var out []Technique
	for _, c := range cands {
		if len(out) == maxNear {
			break
		}
		out = append(out, t.described(c.c, ""))
	}
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// levenshtein returns the edit distance of a and b, or limit+100 once it
// is surely above limit.
func levenshtein(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if abs(len(ra)-len(rb)) > limit {
		return limit + 100
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low > limit {
			return limit + 100
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// fold returns s in lower case with every run of other than letters and
// digits made one blank.
func fold(s string) string {
	var b strings.Builder
	blank := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if blank && b.Len() > 0 {
				b.WriteByte(' ')
			}
			blank = false
			b.WriteRune(r)
		} else {
			blank = true
		}
	}
	return b.String()
}

// Release follows the node's PaNET release (the one every enricher uses,
// kept on the bus): it loads it at start and again whenever it changes.
type Release struct {
	bus *bus.Bus
	log *slog.Logger
	cur atomic.Pointer[Terms]
	// digest of the release loaded.
	digest string
}

// NewRelease returns a Release that follows b's PaNET release; its Matcher
// is nil until Run has loaded one.
func NewRelease(b *bus.Bus, log *slog.Logger) *Release { return &Release{bus: b, log: log} }

// Terms returns the release loaded, nil before the first.
func (r *Release) Terms() *Terms { return r.cur.Load() }

// Matcher returns the matcher of the release loaded, nil before the first.
func (r *Release) Matcher() *panet.Matcher {
	if t := r.cur.Load(); t != nil {
		return t.m
	}
	return nil
}

// Set makes ont the release search uses (until Run loads another); the
// release it replaces is no longer referenced.
func (r *Release) Set(ont *panet.Ontology) { r.cur.Store(NewTerms(panet.NewMatcher(ont))) }

// Run loads the node's release, then looks every interval (default a
// minute; every 5 s while there is none) whether it changed, until ctx
// ends.
func (r *Release) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = time.Minute
	}
	for {
		if err := r.load(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("search: the node's PaNET release cannot be loaded; technique names wait for it", "err", err)
		}
		wait := every
		if r.cur.Load() == nil {
			// None yet (the enricher stores the first at its start).
			wait = min(every, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (r *Release) load(ctx context.Context) error {
	rel, err := enricher.StoredRelease(ctx, r.bus)
	if bus.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if rel.Digest == r.digest && r.cur.Load() != nil {
		return nil
	}
	data, rel, err := enricher.ReleaseData(ctx, r.bus)
	if err != nil {
		return err
	}
	ont, _, err := enricher.ParseRelease(data, rel.Source)
	if err != nil {
		return errors.Join(err, fmt.Errorf("release %s", rel.Digest))
	}
	r.Set(ont)
	r.digest = rel.Digest
	r.log.Info("search: PaNET loaded", "version", ont.Version(), "digest", rel.Digest, "classes", ont.Len())
	return nil
}

// Resolve returns the technique name names, as a search filter resolves
// it: an IRI or id, a label, a synonym or an acronym of t's release (only
// an IRI or id when t is nil). An unknown or ambiguous name is an
// *UnknownTechniqueError.
func (t *Terms) Resolve(name string) (Technique, error) { return resolve(t, name) }
