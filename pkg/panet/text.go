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
	// An ASCII text is folded once, whole: lowering ASCII keeps every byte
	// where it is. Any other text is folded word by word, since lowering a
	// character may change its length ('İ' grows, 'Ⱥ' shrinks) and shift
	// the folded text against the original.
	whole := isASCII(s)
	folded := s
	if whole {
		folded = foldWord(s)
	}
	start := -1
	for i := 0; i <= len(s); {
		word, n := false, 1
		if i < len(s) {
			if c := s[i]; c < utf8.RuneSelf {
				word = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
			} else {
				var r rune
				r, n = utf8.DecodeRuneInString(s[i:])
				word = unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\u00b5'
			}
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			raw := s[start:i]
			var fold string
			if whole {
				fold = folded[start:i]
			} else {
				fold = foldWord(raw)
			}
			if fold == "xray" || fold == "xrays" {
				buf = append(buf, token{fold: "x", start: start, end: i}, token{fold: fold[1:], start: start, end: i})
			} else {
				buf = append(buf, token{raw: raw, fold: fold, start: start, end: i})
			}
			start = -1
		}
		i += n
	}
	return buf
}

// capText returns s cut to at most max bytes: at a character boundary, and
// before the word that crosses the limit, so that no word is cut in two.
func capText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	// s[cut] starts a character: when it is inside a word, back up to the
	// start of that word.
	if r, _ := utf8.DecodeRuneInString(s[cut:]); !isWordRune(r) {
		return s[:cut]
	}
	for cut > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:cut])
		if !isWordRune(r) {
			break
		}
		cut -= n
	}
	return s[:cut]
}

// isWordRune reports whether r is part of a word (see tokenize).
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\u00b5'
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldWord lower-cases a word and maps the micro sign to the Greek mu.
func foldWord(w string) string {
	ascii, lower := true, true
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= utf8.RuneSelf {
			ascii = false
			break
		} else if c >= 'A' && c <= 'Z' {
			lower = false
		}
	}
	if ascii {
		if lower {
			return w
		}
		return strings.ToLower(w)
	}
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
