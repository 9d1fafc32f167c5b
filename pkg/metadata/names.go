package metadata

import (
	"strings"
	"unicode"
)

// organisationWords mark a name as an organisation's rather than a person's.
var organisationWords = [...]string{
	"university", "universit", "institut", "facility", "laborator", "centre", "center",
	"group", "team", "consortium", "collaboration", "gmbh", "ltd", "inc.", "synchrotron",
	"source", "school", "college", "department", "council", "agency", "foundation", "society",
	"association", "company", "corporation", "ministry",
}

// SplitPersonalName splits a personal name written "Family, Given" into its
// given and family parts. ok is false — and the name should be kept whole —
// when the name has no comma or several, when a side is empty, longer than
// four words or holds a digit, or when it holds an organisation word
// ("University", "Institute", "Laboratory", "Synchrotron", …). It is a
// heuristic: "ESRF, Grenoble" is split.
func SplitPersonalName(name string) (given, family string, ok bool) {
	name = strings.TrimSpace(name)
	if strings.Count(name, ",") != 1 {
		return "", "", false
	}
	i := strings.IndexByte(name, ',')
	family, given = strings.TrimSpace(name[:i]), strings.TrimSpace(name[i+1:])
	if family == "" || given == "" || len(strings.Fields(family)) > 4 || len(strings.Fields(given)) > 4 {
		return "", "", false
	}
	lower := strings.ToLower(name)
	for _, w := range organisationWords {
		if strings.Contains(lower, w) {
			return "", "", false
		}
	}
	for _, r := range name {
		if unicode.IsDigit(r) {
			return "", "", false
		}
	}
	return given, family, true
}
