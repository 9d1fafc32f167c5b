package panet

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word of a text: its bytes as written (raw, for the
// case-sensitive acronyms) and folded (lower case, the micro sign as mu).
type token struct {
	raw, fold  string
	start, end int // the word's bytes in the text
}

// tokenize splits s into words: maximal runs of letters and digits. Every
// other character (blanks, hyphens, slashes, punctuation) separates words,
// so that "small-angle X-ray" and "small angle x ray" give the same folded
// words. "xray" and "xrays" are written as "x ray" and "x rays". Words are
// appended to buf, which is returned.
func tokenize(buf []token, s string) []token {
	start := -1
	lower := true // the current word has no upper-case or non-ASCII letter
	flush := func(end int) {
		raw := s[start:end]
		fold := raw
		if !lower {
			fold = foldWord(raw)
		}
		switch fold {
		case "xray", "xrays":
			buf = append(buf, token{fold: "x", start: start, end: end}, token{fold: fold[1:], start: start, end: end})
		default:
			buf = append(buf, token{raw: raw, fold: fold, start: start, end: end})
		}
		start, lower = -1, true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			isWord := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
			if isWord {
				if start < 0 {
					start = i
				}
				if c >= 'A' && c <= 'Z' {
					lower = false
				}
			} else if start >= 0 {
				flush(i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\u00b5' {
			if start < 0 {
				start = i
			}
			lower = false
		} else if start >= 0 {
			flush(i)
		}
		i += n
	}
	if start >= 0 {
		flush(len(s))
	}
	return buf
}

// foldWord lower-cases a word and maps the micro sign to the Greek mu.
func foldWord(w string) string {
	return strings.Map(func(r rune) rune {
		if r == '\u00b5' {
			return '\u03bc'
		}
		return unicode.ToLower(r)
	}, w)
}

// plural returns the usual English plural of a folded word
// ("spectroscopy" → "spectroscopies", "ray" → "rays", "analysis" →
// "analyses"), or "" for a word that takes none (digits, one letter).
func plural(w string) string {
	n := len(w)
	if n < 2 || w[n-1] >= '0' && w[n-1] <= '9' {
		return ""
	}
	switch {
	case strings.HasSuffix(w, "sis"):
		return w[:n-2] + "es"
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "x"), strings.HasSuffix(w, "ch"), strings.HasSuffix(w, "sh"):
		return w + "es"
	case strings.HasSuffix(w, "y") && n > 2 && !strings.ContainsRune("aeiou", rune(w[n-2])):
		return w[:n-1] + "ies"
	}
	return w + "s"
}

// splitPrefixes are the prefixes written joined or hyphenated
// ("nanotomography", "nano-tomography").
var splitPrefixes = [...]string{"nano", "micro", "cryo", "ultra", "photo", "quasi"}
