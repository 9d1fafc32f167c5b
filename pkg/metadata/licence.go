package metadata

import "strings"

// licenceNames maps normalised licence names and SPDX ids to their IRIs.
var licenceNames = func() map[string]string {
	m := map[string]string{}
	add := func(iri string, names ...string) {
		for _, n := range names {
			m[licenceName(n)] = iri
		}
	}
	add("https://creativecommons.org/publicdomain/zero/1.0/", "CC0", "CC0-1.0", "CC0 1.0", "CC0 1.0 Universal", "Creative Commons Zero v1.0 Universal", "public domain")
	add("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0", "CC BY 4.0", "CC-BY", "CC BY", "Creative Commons Attribution 4.0 International", "Creative Commons Attribution 4.0")
	add("https://creativecommons.org/licenses/by-sa/4.0/", "CC-BY-SA-4.0", "CC BY-SA 4.0", "Creative Commons Attribution Share Alike 4.0 International", "Creative Commons Attribution-ShareAlike 4.0 International")
	add("https://creativecommons.org/licenses/by-nc/4.0/", "CC-BY-NC-4.0", "CC BY-NC 4.0", "Creative Commons Attribution Non Commercial 4.0 International", "Creative Commons Attribution-NonCommercial 4.0 International")
	add("https://creativecommons.org/licenses/by-nc-sa/4.0/", "CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0")
	add("https://creativecommons.org/licenses/by-nd/4.0/", "CC-BY-ND-4.0", "CC BY-ND 4.0")
	add("https://creativecommons.org/licenses/by-nc-nd/4.0/", "CC-BY-NC-ND-4.0", "CC BY-NC-ND 4.0")
	add("https://creativecommons.org/licenses/by/3.0/", "CC-BY-3.0", "CC BY 3.0")
	add("https://opensource.org/licenses/MIT", "MIT", "MIT License")
	add("https://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0", "Apache License 2.0")
	add("https://opendatacommons.org/licenses/odbl/1-0/", "ODbL-1.0", "ODbL")
	return m
}()

// licenceName folds a licence name for lookup: lower case, with blanks,
// hyphens and underscores as single blanks.
func licenceName(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == ' ' || r == '-' || r == '_' || r == '\t' || r == '\n'
	}), " ")
}

// KnownLicense returns the IRI of a well-known licence named by its SPDX id
// or its name, in any letter case and with blanks or hyphens alike
// (CC0-1.0, CC-BY-4.0, "CC BY 4.0", "Creative Commons Attribution 4.0
// International", MIT…), and whether it knows the name.
func KnownLicense(name string) (string, bool) {
	iri, ok := licenceNames[licenceName(strings.TrimSpace(name))]
	return iri, ok
}
