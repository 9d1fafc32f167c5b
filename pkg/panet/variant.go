package panet

import (
	"slices"
	"strings"
	"unicode"
)

// probeWords are the words that say what a technique probes with or where
// it is done; a name that holds one is not given a probe qualifier.
var probeWords = map[string]bool{
	"x": true, "ray": true, "rays": true, "neutron": true, "neutrons": true, "electron": true, "electrons": true,
	"synchrotron": true, "muon": true, "muons": true, "photon": true, "photons": true, "positron": true,
	"ion": true, "ions": true, "laser": true, "infrared": true, "optical": true, "light": true,
}

// probeQualifiers are written before the last word of a name that does not
// say its probe ("quasielastic scattering" as "quasielastic neutron
// scattering").
var probeQualifiers = [][]string{{"neutron"}, {"x", "ray"}}

// genericTails are last words that only say that the name is a technique
// ("spin echo technique" is written "spin echo").
var genericTails = map[string]bool{"technique": true, "techniques": true, "method": true, "methods": true}

// functionWords mark a name whose words before a generic tail are a
// phrase of their own in prose ("time of flight technique": a
// "time-of-flight spectrometer" is no technique).
var functionWords = map[string]bool{"of": true, "and": true, "for": true, "in": true, "on": true, "by": true, "with": true}

func isFunctionWord(w string) bool { return functionWords[w] }

// addVariants indexes the ways texts write the ontology's names that the
// names do not spell, each only where it names no other phrase and no other
// class writes the same words:
//
//   - a generic last word dropped after a probe: "spin echo technique" as
//     "neutron spin echo" (not when the other words hold "of", "and", …:
//     "time of flight technique");
//   - a probe qualifier before the last word of a name that says none:
//     "quasielastic neutron scattering", "quasielastic x-ray scattering",
//     which also names the class of the qualifier and the words after it
//     when there is one ("neutron scattering");
//   - "computed" before the last word "tomography": "x-ray computed
//     tomography";
//   - "synchrotron" for a leading "x-ray": "synchrotron powder diffraction";
//   - another class's acronym in a name spelled out: "micro XRF" as "micro
//     x-ray fluorescence", which also names that class;
//   - a qualifier before another class's label written with that class's
//     acronym, spelled or (a qualifier of two words or more) by initials: "high resolution angle resolved
//     photoemission spectroscopy" as "high-resolution ARPES", "ambient
//     pressure x-ray photoelectron spectroscopy" as "APXPS".
func (m *Matcher) addVariants() {
	type entry struct {
		phrases []*phrase
		classes map[*Class]bool
	}
	pending := map[string]*entry{}
	var order []string
	push := func(ps ...*phrase) {
		for _, p := range ps {
			k := strings.Join(p.words, " ")
			if p.exact {
				k = "\x00" + k
			}
			e := pending[k]
			if e == nil {
				e = &entry{classes: map[*Class]bool{}}
				pending[k] = e
				order = append(order, k)
			}
			e.phrases = append(e.phrases, p)
			e.classes[p.class] = true
		}
	}
	// Acronyms (as written) and labels (folded words) of the classes
	// matched in free text.
	acronyms := map[string][]*Class{}
	labelOf := map[string]*Class{}
	for _, c := range m.ont.ordered {
		if !textEligible(c) {
			continue
		}
		labelOf[strings.Join(foldedWords(c.Label), " ")] = c
		for _, a := range c.AltLabels {
			if isAcronym(a) && !textDenied[a] {
				acronyms[a] = append(acronyms[a], c)
			}
		}
	}
	for _, c := range m.ont.ordered {
		if !textEligible(c) {
			continue
		}
		names := []string{c.Label}
		for _, a := range c.AltLabels {
			if !isAcronym(a) {
				names = append(names, a)
			}
		}
		for ni, name := range names {
			label := ni == 0
			words := foldedWords(name)
			n := len(words)
			if n == 0 {
				continue
			}
			if n >= 3 && genericTails[words[n-1]] && !hasProbe(words) && !slices.ContainsFunc(words, isFunctionWord) {
				for _, q := range probeQualifiers {
					push(phrasesOf(c, strings.Join(joinWords(q, words[:n-1]), " "), label)...)
				}
			}
			if n >= 2 && !hasProbe(words) && !hasAcronym(name) {
				for _, q := range probeQualifiers {
					rest := joinWords(q, words[n-1:])
					also := labelOf[strings.Join(rest, " ")]
					for _, p := range phrasesOf(c, strings.Join(joinWords(words[:n-1], rest), " "), label) {
						p.also = also
						push(p)
					}
				}
			}
			if n >= 2 && words[n-1] == "tomography" {
				push(phrasesOf(c, strings.Join(joinWords(words[:n-1], []string{"computed"}, words[n-1:]), " "), label)...)
			}
			if n >= 3 && words[0] == "x" && words[1] == "ray" {
				push(phrasesOf(c, "synchrotron "+strings.Join(words[2:], " "), label)...)
			}
			if fields := strings.Fields(name); len(fields) > 1 {
				for i, f := range fields {
					if ds := acronyms[f]; len(ds) == 1 && ds[0] != c {
						spelled := slices.Clone(fields)
						spelled[i] = ds[0].Label
						for _, p := range phrasesOf(c, strings.Join(spelled, " "), label) {
							p.also = ds[0]
							push(p)
						}
					}
				}
			}
		}
		// A qualifier before another class's label, written with that
		// class's acronym.
		words := foldedWords(c.Label)
		for k := 1; k < len(words); k++ {
			d := labelOf[strings.Join(words[k:], " ")]
			if d == nil || d == c {
				continue
			}
			for _, a := range d.AltLabels {
				if !isAcronym(a) || textDenied[a] || len(acronyms[a]) != 1 {
					continue
				}
				push(&phrase{words: joinWords(words[:k], foldedWords(a)), class: c, acronym: true})
				if ini := initials(words[:k]); k >= 2 && ini != "" {
					push(phrasesOf(c, ini+a, false)...)
				}
			}
		}
	}
	for _, k := range order {
		e := pending[k]
		if len(e.classes) != 1 {
			continue // two classes write the same words: neither
		}
		p := e.phrases[0]
		root := m.folded
		if p.exact {
			root = m.raw
		}
		if n := root.find(p.words); n != nil && len(n.ends) > 0 {
			continue // the words already name a phrase
		}
		p.variant = true
		m.addPhrase(p)
	}
}

// find returns the node of a phrase's words, or nil.
func (t *trie) find(words []string) *trie {
	for _, w := range words {
		if t = t.next[w]; t == nil {
			return nil
		}
	}
	return t
}

func hasProbe(words []string) bool {
	for _, w := range words {
		if probeWords[w] {
			return true
		}
	}
	return false
}

// hasAcronym reports whether a name holds a word written as an acronym.
func hasAcronym(name string) bool {
	for _, f := range strings.Fields(name) {
		if isAcronym(f) {
			return true
		}
	}
	return false
}

func joinWords(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// initials returns the upper-case first letters of words ("ambient
// pressure" → "AP"), or "" when a word does not start with a letter.
func initials(words []string) string {
	var b strings.Builder
	for _, w := range words {
		r := []rune(w)
		if len(r) == 0 || !unicode.IsLetter(r[0]) {
			return ""
		}
		b.WriteRune(unicode.ToUpper(r[0]))
	}
	return b.String()
}
