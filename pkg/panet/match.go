package panet

import (
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// How a technique was matched (fairwayv1.Technique.MatchedBy).
const (
	// MatchedByIRI: a subject's value_uri or value is the class IRI.
	MatchedByIRI = "iri"
	// MatchedByID: a subject names the bare id (PaNET01168, panet:PaNET01168,
	// or digits under a PaNET scheme).
	MatchedByID = "id"
	// MatchedByLabel: a subject's value is the class's rdfs:label, ignoring
	// case, white space, hyphens and underscores.
	MatchedByLabel = "label"
	// MatchedBySynonym: a subject's value is one of the class's synonyms
	// (skos:altLabel, acronyms included, or an alias), folded the same way.
	MatchedBySynonym = "synonym"
	// MatchedByText: a label, synonym or acronym of the class occurs in the
	// free text of a subject, the title or the description.
	MatchedByText = "text"
)

// Confidences of the ways of matching, in [0,1]: Technique.Confidence.
const (
	ConfidenceIRI     = 1.0
	ConfidenceID      = 0.98
	ConfidenceLabel   = 0.95
	ConfidenceSynonym = 0.9
	// ConfidenceTextSubject, ConfidenceTextTitle and
	// ConfidenceTextDescription are those of a phrase found in the free
	// text of a subject (keyword), of the title and of the description.
	ConfidenceTextSubject     = 0.85
	ConfidenceTextTitle       = 0.8
	ConfidenceTextDescription = 0.7
	// PenaltyAcronym is taken off a text match made by an acronym, and
	// PenaltyOneWord off one made by a single-word label ("tomography").
	PenaltyAcronym = 0.05
	PenaltyOneWord = 0.1
)

// ShortAcronym is the length up to which an acronym is matched in free text
// with its case as written ("SAXS", not "saxs" or "Saxs"); a longer one
// ("GISAXS", "HAXPES") is matched in any case. Either is matched only as
// whole words.
const ShortAcronym = 5

// textDenied are synonyms that are not matched in free text, where they
// mostly mean something else ("PhD", "PDF", "CD", "SAS"), or name a
// different technique than PaNET's class ("STM"); as a whole subject value
// they still match.
var textDenied = map[string]bool{
	"PhD": true, "PDF": true, "CD": true, "EM": true, "LD": true, "MR": true, "TOF": true,
	"SAS": true, "PES": true, "PCS": true, "STM": true, "TEY": true, "EDD": true, "EDE": true,
	"MCD": true, "NCD": true,
}

// blocked are phrases that contain a technique's name but do not say the
// technique was used ("diffraction-limited", "imaging plate"). In free text
// they take the words they cover, so that no technique is matched there.
var blocked = []string{
	"diffraction limited", "diffraction limit", "diffraction limits", "diffraction grating", "diffraction gratings",
	"diffraction ring", "diffraction rings",
	"imaging plate", "imaging plates", "imaging detector", "imaging detectors", "imaging software", "imaging camera",
	"image plate",
	"spectroscopy grade", "spectroscopic grade",
	"fluorescence detector", "fluorescence detectors", "x ray fluorescence detector", "x ray fluorescence detectors",
}

// phrase is a name in the free-text index: its words, the class it names
// (nil for a blocked phrase) and how.
type phrase struct {
	words []string
	class *Class
	// exact: the words are compared as written (a short acronym).
	exact bool
	// label: the phrase is the class's rdfs:label (or a variant of it).
	label   bool
	acronym bool
	// also is a second class the phrase names (see addVariants), or nil.
	also *Class
	// variant: the phrase is a variant of a name (see addVariants).
	variant bool
}

// Matcher finds the PaNET techniques a dataset names. Only technique
// classes are matched: specifier classes (Class.Specifier), which share many
// labels with techniques ("diffraction", "imaging"), are never returned. A
// Matcher is built once per ontology, is immutable, and is safe for
// concurrent use.
type Matcher struct {
	ont *Ontology
	// labels maps a normalised rdfs:label to its classes.
	labels map[string][]*Class
	// synonyms maps a normalised altLabel or alias to its classes.
	synonyms map[string][]*Class
	// folded and raw are word tries of the free-text phrases, of their
	// words folded or as written (short acronyms).
	folded, raw *trie
}

// trie is a node of a word trie: the phrases that end here, and the words
// that continue them.
type trie struct {
	next map[string]*trie
	ends []*phrase
}

func (t *trie) child(w string) *trie {
	if t.next == nil {
		t.next = make(map[string]*trie)
	}
	c := t.next[w]
	if c == nil {
		c = &trie{}
		t.next[w] = c
	}
	return c
}

// NewMatcher precomputes the lookup tables of an ontology. Aliases extend
// the synonyms of the classes they name (an alias of an unknown class or of
// a specifier is ignored).
func NewMatcher(o *Ontology, aliases ...Alias) *Matcher {
	m := &Matcher{ont: o, labels: make(map[string][]*Class), synonyms: make(map[string][]*Class),
		folded: &trie{}, raw: &trie{}}
	add := func(idx map[string][]*Class, text string, c *Class) {
		k := normalize(text)
		if k == "" {
			return
		}
		for _, x := range idx[k] {
			if x == c {
				return
			}
		}
		idx[k] = append(idx[k], c)
	}
	for _, c := range o.ordered {
		if c.Specifier {
			continue
		}
		add(m.labels, c.Label, c)
		m.addText(c, c.Label, true)
		for _, a := range c.AltLabels {
			add(m.synonyms, a, c)
			m.addText(c, a, false)
		}
	}
	for _, al := range aliases {
		c := m.byIRI(strings.TrimSpace(al.IRI))
		if c == nil {
			c = m.byID(strings.TrimSpace(al.IRI))
		}
		if c == nil {
			continue
		}
		for _, n := range al.Names {
			n = clean(n)
			if n == "" {
				continue
			}
			add(m.synonyms, n, c)
			m.addText(c, n, false)
		}
	}
	for _, b := range blocked {
		m.addPhrase(&phrase{words: foldedWords(b)})
	}
	m.addVariants()
	return m
}

// textEligible reports whether a class is matched in free text: technique
// classes other than the upper classes that organise the others
// ("defined by purpose", "versus time", "testing": ids below PaNET01000).
func textEligible(c *Class) bool {
	return !c.Specifier && c.ID >= "PaNET01000"
}

func foldedWords(s string) []string {
	toks := tokenize(nil, s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.fold
	}
	return out
}

// addText indexes a label or synonym of c for free text, with its variants:
// the plural of its last word, and its words with a prefix split off
// ("nanotomography", "nano tomography").
func (m *Matcher) addText(c *Class, name string, label bool) {
	for _, p := range phrasesOf(c, name, label) {
		m.addPhrase(p)
	}
}

// phrasesOf returns the free-text phrases of a label or synonym of c (see
// addText); none for a class not matched in free text or a denied name.
func phrasesOf(c *Class, name string, label bool) []*phrase {
	if !textEligible(c) || textDenied[name] {
		return nil
	}
	if isAcronym(name) {
		if len([]rune(name)) <= ShortAcronym {
			toks := tokenize(nil, name)
			words := make([]string, len(toks))
			for i, t := range toks {
				words[i] = t.raw
				if t.raw == "" { // "Xray": written as two words
					words[i] = t.fold
				}
			}
			out := []*phrase{{words: words, class: c, exact: true, acronym: true}}
			// The plural ("XRDs"), but not of an acronym ending in S.
			if last := words[len(words)-1]; last != "" && last[len(last)-1] >= 'A' && last[len(last)-1] <= 'Z' && last[len(last)-1] != 'S' {
				pw := slices.Clone(words)
				pw[len(pw)-1] += "s"
				out = append(out, &phrase{words: pw, class: c, exact: true, acronym: true})
			}
			// "Mu" spelled for the Greek letter: "MuSR" as "μSR" or "µSR".
			if rest, ok := strings.CutPrefix(words[0], "Mu"); ok && len(words) == 1 && rest != "" {
				for _, mu := range [...]string{"\u03bc", "\u00b5"} {
					out = append(out, &phrase{words: []string{mu + rest}, class: c, exact: true, acronym: true})
				}
			}
			return out
		}
		return []*phrase{{words: foldedWords(name), class: c, acronym: true}}
	}
	words := foldedWords(name)
	if len(words) == 0 {
		return nil
	}
	out := []*phrase{{words: words, class: c, label: label}}
	if p := plural(words[len(words)-1]); p != "" {
		pw := slices.Clone(words)
		pw[len(pw)-1] = p
		out = append(out, &phrase{words: pw, class: c, label: label})
	}
	for i, w := range words {
		for _, pre := range splitPrefixes {
			if len(w) > len(pre)+2 && strings.HasPrefix(w, pre) {
				sw := slices.Concat(words[:i], []string{pre, w[len(pre):]}, words[i+1:])
				out = append(out, &phrase{words: sw, class: c, label: label})
			}
		}
	}
	// The word "micro" written as the Greek letter: "μ-XRF", "µ-tomography".
	for _, p := range out {
		if i := slices.Index(p.words, "micro"); i >= 0 {
			mw := slices.Clone(p.words)
			mw[i] = "\u03bc"
			out = append(out, &phrase{words: mw, class: c, label: label})
			break
		}
	}
	return out
}

func (m *Matcher) addPhrase(p *phrase) {
	if len(p.words) == 0 {
		return
	}
	n := m.folded
	if p.exact {
		n = m.raw
	}
	for _, w := range p.words {
		n = n.child(w)
	}
	for _, q := range n.ends {
		if q.class == p.class {
			q.label = q.label || p.label
			return
		}
	}
	n.ends = append(n.ends, p)
}

// Ontology returns the ontology the matcher was built from.
func (m *Matcher) Ontology() *Ontology { return m.ont }

// Match returns the techniques named by a dataset's subjects and by free
// texts, unique by IRI: first those named by subjects, in the order of the
// first subject that names each, then those found in the texts, each with
// how it was matched, its confidence and the IRIs of its broader techniques
// (Technique.Broader, sorted by id).
//
// For every subject, in this order of precedence: the class IRI in
// value_uri or value ("iri"); the bare id in value_uri or value ("id"); the
// class label ("label") or a synonym ("synonym") equal to value, with case
// and punctuation folded. A text that is the label or synonym of several
// classes is ambiguous and names none of them, unless it is the rdfs:label
// of exactly one class. A subject that names no class this way is read as
// free text.
//
// In free text (subjects, then texts, each read as a description), the
// longest phrase at each word wins: a label, synonym or alias, the plural
// of its last word, its hyphen and prefix variants, or an acronym (whole
// words; short ones with their case as written); phrases that only look
// like a technique ("diffraction-limited", "imaging plate") take their
// words and match nothing, and so does a phrase written right after "no",
// "not", "without", "neither" or "nor", or right before "was not", "were
// not", "is not" or "are not". The ways texts write names the ontology
// does not spell are matched too (see addVariants: "quasi-elastic neutron
// scattering", "X-ray computed tomography", "APXPS"). Only the first
// MaxTextBytes of each text are read.
//
// The most specific technique wins: a technique matched only in free text
// is dropped when a narrower technique (or an equivalent class) is matched
// too; it stays among the narrower one's Broader.
func (m *Matcher) Match(subjects []*fairwayv1.Subject, texts ...string) []*fairwayv1.Technique {
	r := m.newRun()
	r.subjects(subjects)
	for _, t := range texts {
		r.text(t, ConfidenceTextDescription)
	}
	return r.result()
}

// MatchDataset matches a dataset's subjects (its keywords), title and
// description, as Match does, the title with more confidence than the
// description.
func (m *Matcher) MatchDataset(ds *fairwayv1.Dataset) []*fairwayv1.Technique {
	r := m.newRun()
	r.subjects(ds.GetSubjects())
	r.text(ds.GetTitle(), ConfidenceTextTitle)
	r.text(ds.GetDescription(), ConfidenceTextDescription)
	return r.result()
}

// run collects the matches of one dataset.
type run struct {
	m        *Matcher
	out      []*fairwayv1.Technique
	cls      []*Class
	onlyText []bool // matched only in free text
	buf      *[]token
}

// MaxTextBytes is how much of one free text (a subject, the title, the
// description) is scanned for techniques: the first 64 KiB, cut before the
// word that crosses the limit. A longer text costs no more time or memory
// than that; techniques named only beyond it are not found.
const MaxTextBytes = 64 << 10

// maxPooledTokens is the capacity above which a run's word buffer is left
// to the garbage collector rather than kept for the next dataset, so that
// one long text does not pin its buffer in the pool.
const maxPooledTokens = 4096

// tokenBuffers keeps the word buffers of runs between datasets.
var tokenBuffers = sync.Pool{New: func() any { b := make([]token, 0, 256); return &b }}

func (m *Matcher) newRun() *run {
	return &run{m: m, buf: tokenBuffers.Get().(*[]token)}
}

func (r *run) add(c *Class, by, text string, conf float64) {
	for i, x := range r.cls {
		if x == c {
			if conf > r.out[i].Confidence {
				r.out[i].MatchedBy, r.out[i].MatchedText, r.out[i].Confidence = by, text, conf
			}
			r.onlyText[i] = r.onlyText[i] && by == MatchedByText
			return
		}
	}
	r.cls = append(r.cls, c)
	r.onlyText = append(r.onlyText, by == MatchedByText)
	r.out = append(r.out, &fairwayv1.Technique{Iri: c.IRI, Id: c.ID, Label: c.Label, MatchedBy: by, MatchedText: text, Confidence: conf})
}

func (r *run) subjects(subjects []*fairwayv1.Subject) {
	for _, s := range subjects {
		if s == nil {
			continue
		}
		if c, by, text := r.m.matchSubject(s); c != nil {
			r.add(c, by, text, confidenceOf(by))
			continue
		}
		r.text(s.GetValue(), ConfidenceTextSubject)
	}
}

func confidenceOf(by string) float64 {
	switch by {
	case MatchedByIRI:
		return ConfidenceIRI
	case MatchedByID:
		return ConfidenceID
	case MatchedByLabel:
		return ConfidenceLabel
	}
	return ConfidenceSynonym
}

// text scans one free text: at each word, the longest phrase starting there.
func (r *run) text(s string, conf float64) {
	if s == "" {
		return
	}
	s = capText(s, MaxTextBytes)
	toks := tokenize((*r.buf)[:0], s)
	*r.buf = toks
	for i := 0; i < len(toks); {
		n, c, p := r.m.longest(toks, i)
		if n == 0 {
			i++
			continue
		}
		if c != nil && !denied(s, toks, i) && !deniedAfter(toks, i+n) {
			cf := conf
			if p.acronym {
				cf -= PenaltyAcronym
			} else if len(p.words) == 1 {
				cf -= PenaltyOneWord
			}
			r.add(c, MatchedByText, s[toks[i].start:toks[i+n-1].end], cf)
			if p.also != nil {
				r.add(p.also, MatchedByText, s[toks[i].start:toks[i+n-1].end], cf)
			}
		}
		i += n
	}
}

// denials are the words that, written just before a phrase, deny the
// technique it names ("No diffraction was observed", "without SANS",
// "neither ARPES nor XPS").
var denials = map[string]bool{"no": true, "not": true, "without": true, "neither": true, "nor": true}

// denied reports whether the phrase at toks[i] is denied: the word before it
// is a denial, with only blanks between them (not "No. SAXS"). Only this
// simple case is seen; a denial after the phrase ("SAXS was not
// performed") or further before it is not.
func denied(s string, toks []token, i int) bool {
	if i == 0 || !denials[toks[i-1].fold] {
		return false
	}
	for _, c := range []byte(s[toks[i-1].end:toks[i].start]) {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// copulas are the verbs that, followed by "not" right after a phrase, deny
// it ("SAXS was not performed").
var copulas = map[string]bool{"was": true, "were": true, "is": true, "are": true}

// deniedAfter reports whether the words at toks[j] deny the phrase that
// ends before them: "was not", "were not", "is not" or "are not" (not "was
// not only").
func deniedAfter(toks []token, j int) bool {
	return j+1 < len(toks) && copulas[toks[j].fold] && toks[j+1].fold == "not" &&
		(j+2 >= len(toks) || toks[j+2].fold != "only")
}

// longest returns the length in words of the longest phrase at toks[i], the
// class it names (nil when blocked or ambiguous) and the phrase.
func (m *Matcher) longest(toks []token, i int) (int, *Class, *phrase) {
	best := 0
	var cands []*phrase
	walk := func(n *trie, raw bool) {
		for j := i; j < len(toks) && n != nil; j++ {
			w := toks[j].fold
			if raw && toks[j].raw != "" {
				w = toks[j].raw
			}
			if n = n.next[w]; n == nil {
				return
			}
			if len(n.ends) == 0 {
				continue
			}
			switch k := j - i + 1; {
			case k > best:
				best, cands = k, append(cands[:0], n.ends...)
			case k == best:
				cands = append(cands, n.ends...)
			}
		}
	}
	walk(m.folded, false)
	walk(m.raw, true)
	if best == 0 {
		return 0, nil, nil
	}
	// A blocked phrase wins; one class, or the one whose label it is.
	var one, lab *phrase
	several := false
	labels := map[*Class]bool{}
	for _, p := range cands {
		if p.class == nil {
			return best, nil, p
		}
		if one == nil {
			one = p
		} else if one.class != p.class {
			several = true
		}
		if p.label {
			labels[p.class] = true
			lab = p
		}
	}
	if !several {
		return best, one.class, one
	}
	if len(labels) == 1 {
		return best, lab.class, lab
	}
	return best, nil, nil
}

// result drops the techniques matched only in free text that a narrower
// (or equivalent) technique makes redundant, and fills in Broader.
func (r *run) result() []*fairwayv1.Technique {
	if cap(*r.buf) <= maxPooledTokens {
		clear(*r.buf) // the words point into the dataset's texts
		*r.buf = (*r.buf)[:0]
		tokenBuffers.Put(r.buf)
	}
	r.buf = nil
	var out []*fairwayv1.Technique
	for i, t := range r.out {
		c := r.cls[i]
		if r.onlyText[i] && r.redundant(i) {
			continue
		}
		for _, a := range r.m.ont.ancestors[c.ID] {
			t.Broader = append(t.Broader, a.IRI)
		}
		out = append(out, t)
	}
	return out
}

// redundant reports whether another match is narrower than match i, or an
// equivalent class matched earlier or with more confidence.
func (r *run) redundant(i int) bool {
	c := r.cls[i]
	for j, d := range r.cls {
		if j == i {
			continue
		}
		for _, a := range r.m.ont.ancestors[d.ID] {
			if a == c {
				return true
			}
		}
		if slices.Contains(c.Equivalents, d.ID) && (r.out[j].Confidence > r.out[i].Confidence || (r.out[j].Confidence == r.out[i].Confidence && j < i)) {
			return true
		}
	}
	return false
}

func (m *Matcher) matchSubject(s *fairwayv1.Subject) (*Class, string, string) {
	uri, val := strings.TrimSpace(s.GetValueUri()), strings.TrimSpace(s.GetValue())
	for _, v := range [...]string{uri, val} {
		if c := m.byIRI(v); c != nil {
			return c, MatchedByIRI, v
		}
	}
	for _, v := range [...]string{uri, val} {
		if c := m.byID(v); c != nil {
			return c, MatchedByID, v
		}
	}
	if isPaNETScheme(s) && val != "" && allDigits(val) {
		if c := m.technique("PaNET" + val); c != nil {
			return c, MatchedByID, val
		}
	}
	if c, by := m.byLabel(val); c != nil {
		return c, by, val
	}
	return nil, "", ""
}

// iriPrefixes are the spellings of the PaNET namespace accepted in IRIs.
var iriPrefixes = [...]string{Namespace, "https://purl.org/pan-science/PaNET/", Namespace + "PaNET.owl#"}

func (m *Matcher) byIRI(v string) *Class {
	if v == "" {
		return nil
	}
	if c, ok := m.ont.byIRI[v]; ok {
		return technique(c)
	}
	for _, p := range iriPrefixes {
		if len(v) > len(p) && strings.EqualFold(v[:len(p)], p) {
			id := strings.TrimRight(v[len(p):], "/#")
			if len(id) > 5 && strings.EqualFold(id[:5], "panet") && allDigits(id[5:]) {
				return m.technique("PaNET" + id[5:])
			}
		}
	}
	return nil
}

// byID accepts "PaNET01168" in any case, and the CURIEs "panet:PaNET01168"
// and "panet:01168"; one "_" or "-" may separate "PaNET" from the digits.
func (m *Matcher) byID(v string) *Class {
	if len(v) < 6 || len(v) > 40 {
		return nil
	}
	rest := v
	curie := false
	if len(rest) > 6 && strings.EqualFold(rest[:6], "panet:") {
		rest, curie = rest[6:], true
	}
	if len(rest) >= 5 && strings.EqualFold(rest[:5], "panet") {
		rest = rest[5:]
	} else if !curie {
		return nil
	}
	if rest != "" && (rest[0] == '_' || rest[0] == '-') {
		rest = rest[1:]
	}
	if rest == "" || !allDigits(rest) {
		return nil
	}
	return m.technique("PaNET" + rest)
}

// technique returns the technique class with a bare id, nil for an unknown
// id or a specifier.
func (m *Matcher) technique(id string) *Class {
	return technique(m.ont.byID[id])
}

func technique(c *Class) *Class {
	if c == nil || c.Specifier {
		return nil
	}
	return c
}

// maxLabelBytes is the length above which a subject value is not looked up
// as a label or synonym (PaNET's longest are under 100 bytes), so that a
// huge subject costs no copy of itself.
const maxLabelBytes = 1024

func (m *Matcher) byLabel(v string) (*Class, string) {
	if v == "" || len(v) > maxLabelBytes {
		return nil, ""
	}
	k := normalize(v)
	if cs := m.labels[k]; len(cs) == 1 {
		return cs[0], MatchedByLabel
	} else if len(cs) > 1 {
		return nil, ""
	}
	if cs := m.synonyms[k]; len(cs) == 1 {
		return cs[0], MatchedBySynonym
	}
	return nil, ""
}

func isPaNETScheme(s *fairwayv1.Subject) bool {
	return strings.EqualFold(strings.TrimSpace(s.GetScheme()), "panet") ||
		strings.HasPrefix(strings.TrimSpace(s.GetSchemeUri()), Namespace)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normalize folds case, turns hyphens, dashes and underscores into blanks,
// collapses white space and maps the micro sign to the Greek mu, so that
// "X-Ray_Diffraction " and "x ray diffraction" compare equal.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '-' || r == '_' || r == '\u2010' || r == '\u2011' || r == '\u2012' || r == '\u2013' || r == '\u2014' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r == '\u00b5':
			r = '\u03bc'
		default:
			r = unicode.ToLower(r)
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
