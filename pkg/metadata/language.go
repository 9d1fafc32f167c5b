package metadata

import "strings"

// languageRows lists the languages the readers and the DCAT mapping
// recognise: the EU language table's code, the ISO 639-1 code, then the
// other spellings (ISO 639-2/T and /B codes, the English name).
var languageRows = [][]string{
	{"ENG", "en", "eng", "english"}, {"DEU", "de", "deu", "ger", "german"}, {"FRA", "fr", "fra", "fre", "french"},
	{"ITA", "it", "ita", "italian"}, {"SPA", "es", "spa", "spanish"}, {"NLD", "nl", "nld", "dut", "dutch"},
	{"POR", "pt", "por", "portuguese"}, {"POL", "pl", "pol", "polish"}, {"SWE", "sv", "swe", "swedish"},
	{"DAN", "da", "dan", "danish"}, {"FIN", "fi", "fin", "finnish"}, {"CES", "cs", "ces", "cze", "czech"},
	{"SLK", "sk", "slk", "slo", "slovak"}, {"SLV", "sl", "slv", "slovenian"}, {"HUN", "hu", "hun", "hungarian"},
	{"RON", "ro", "ron", "rum", "romanian"}, {"BUL", "bg", "bul", "bulgarian"}, {"ELL", "el", "ell", "gre", "greek"},
	{"EST", "et", "est", "estonian"}, {"LAV", "lv", "lav", "latvian"}, {"LIT", "lt", "lit", "lithuanian"},
	{"HRV", "hr", "hrv", "croatian"}, {"GLE", "ga", "gle", "irish"}, {"MLT", "mt", "mlt", "maltese"},
	{"NOR", "no", "nor", "norwegian"}, {"NOB", "nb", "nob"}, {"NNO", "nn", "nno"}, {"ISL", "is", "isl", "ice", "icelandic"},
	{"RUS", "ru", "rus", "russian"}, {"UKR", "uk", "ukr", "ukrainian"}, {"ZHO", "zh", "zho", "chi", "chinese"},
	{"JPN", "ja", "jpn", "japanese"}, {"LAT", "la", "lat", "latin"},
}

// languages maps every spelling of languageRows to its row.
var languages = func() map[string][]string {
	m := map[string][]string{}
	for _, row := range languageRows {
		for _, k := range row[1:] {
			m[k] = row
		}
	}
	return m
}()

// language returns the row of a language code (en, en-GB, eng, ger; any
// case, a region or script subtag ignored) or English name.
func language(s string) ([]string, bool) {
	l := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	row, ok := languages[l]
	return row, ok
}

// LanguageCode returns the ISO 639-1 code of a language given as an ISO
// 639-1 or 639-2 code (en, en-GB, eng, ger; any case, a region ignored) or
// by its English name, and whether it recognised it.
func LanguageCode(s string) (string, bool) {
	row, ok := language(s)
	if !ok {
		return "", false
	}
	return row[1], true
}

// EULanguageCode returns the code of the EU language table
// (http://publications.europa.eu/resource/authority/language/ENG) of a
// language as LanguageCode reads it, and whether it recognised it.
func EULanguageCode(s string) (string, bool) {
	row, ok := language(s)
	if !ok {
		return "", false
	}
	return row[0], true
}
