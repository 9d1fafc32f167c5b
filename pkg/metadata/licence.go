package metadata

import (
	"strings"
)

// spdxLicences maps the SPDX ids the readers recognise, in their canonical
// spelling, to the licence's IRI: its own page where the licensor has a
// stable one, else its page on spdx.org.
var spdxLicences = func() map[string]string {
	m := map[string]string{
		"CC0-1.0":          "https://creativecommons.org/publicdomain/zero/1.0/",
		"MIT":              "https://opensource.org/licenses/MIT",
		"Apache-2.0":       "https://www.apache.org/licenses/LICENSE-2.0",
		"ODbL-1.0":         "https://opendatacommons.org/licenses/odbl/1-0/",
		"ODC-By-1.0":       "https://opendatacommons.org/licenses/by/1-0/",
		"PDDL-1.0":         "https://opendatacommons.org/licenses/pddl/1-0/",
		"EUPL-1.0":         spdxPage + "EUPL-1.0",
		"EUPL-1.1":         spdxPage + "EUPL-1.1",
		"EUPL-1.2":         spdxPage + "EUPL-1.2",
		"BSD-2-Clause":     spdxPage + "BSD-2-Clause",
		"BSD-3-Clause":     spdxPage + "BSD-3-Clause",
		"GPL-2.0-only":     spdxPage + "GPL-2.0-only",
		"GPL-2.0-or-later": spdxPage + "GPL-2.0-or-later",
		"GPL-3.0-only":     spdxPage + "GPL-3.0-only",
		"GPL-3.0-or-later": spdxPage + "GPL-3.0-or-later",
		"LGPL-2.1-only":    spdxPage + "LGPL-2.1-only",
		"LGPL-3.0-only":    spdxPage + "LGPL-3.0-only",
		"AGPL-3.0-only":    spdxPage + "AGPL-3.0-only",
		"MPL-2.0":          spdxPage + "MPL-2.0",
		"EPL-2.0":          spdxPage + "EPL-2.0",
		"Unlicense":        spdxPage + "Unlicense",
		"etalab-2.0":       spdxPage + "etalab-2.0",
		"OGL-UK-3.0":       spdxPage + "OGL-UK-3.0",
		"DL-DE-BY-2.0":     spdxPage + "DL-DE-BY-2.0",
		"DL-DE-ZERO-2.0":   spdxPage + "DL-DE-ZERO-2.0",
	}
	for _, code := range ccCodes {
		for _, v := range ccVersions {
			m["CC-"+strings.ToUpper(code)+"-"+v] = "https://creativecommons.org/licenses/" + code + "/" + v + "/"
		}
	}
	return m
}()

// spdxPage is the namespace of the SPDX licence list's pages.
const spdxPage = "https://spdx.org/licenses/"

// ccCodes and ccVersions are the Creative Commons licences with an SPDX id
// the readers recognise.
var (
	ccCodes    = []string{"by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd"}
	ccVersions = []string{"2.0", "2.5", "3.0", "4.0"}
)

// spdxByName maps folded names (licenceName) of the recognised licences to
// their SPDX ids: the ids themselves, deprecated ids and names as feeds
// write them.
var spdxByName = func() map[string]string {
	m := map[string]string{}
	for id := range spdxLicences {
		m[licenceName(id)] = id
	}
	alias := func(id string, names ...string) {
		for _, n := range names {
			m[licenceName(n)] = id
		}
	}
	alias("MIT", "MIT License", "MIT Licence", "Expat")
	alias("Apache-2.0", "Apache License 2.0", "Apache License, Version 2.0", "Apache 2", "Apache License v2.0")
	alias("ODbL-1.0", "ODbL", "Open Database License", "Open Data Commons Open Database License v1.0", "ODC-ODbL-1.0")
	alias("ODC-By-1.0", "Open Data Commons Attribution License v1.0")
	alias("PDDL-1.0", "Open Data Commons Public Domain Dedication and License v1.0", "ODC-PDDL-1.0")
	alias("GPL-2.0-only", "GPL-2.0", "GPLv2")
	alias("GPL-3.0-only", "GPL-3.0", "GPLv3")
	alias("LGPL-2.1-only", "LGPL-2.1")
	alias("LGPL-3.0-only", "LGPL-3.0")
	alias("AGPL-3.0-only", "AGPL-3.0")
	alias("BSD-3-Clause", "BSD 3-Clause License", "New BSD License", "Modified BSD License")
	alias("BSD-2-Clause", "BSD 2-Clause License", "Simplified BSD License")
	alias("etalab-2.0", "Licence Ouverte 2.0", "Licence Ouverte / Open Licence 2.0", "Etalab Open License 2.0")
	alias("OGL-UK-3.0", "Open Government Licence v3.0")
	return m
}()

// licenceName folds a licence name for lookup: lower case, with blanks,
// hyphens, underscores, commas, slashes and parentheses as single blanks.
func licenceName(s string) string {
	return strings.Join(licenceWords(s), " ")
}

// licenceWords splits a licence name into its lower-case words.
func licenceWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		switch r {
		case ' ', '-', '_', '\t', '\n', '\r', ',', '/', '(', ')', ':', ';':
			return true
		}
		return false
	})
}

// SPDXLicense returns the SPDX id of a licence as records write it, and
// whether it recognises one:
//
//   - an SPDX id or a deprecated one, in any letter case, with blanks,
//     hyphens or underscores alike (CC-BY-4.0, cc_by_4.0, "cc by 4.0",
//     GPL-3.0 → GPL-3.0-only);
//   - a Creative Commons name ("CC BY-SA 4.0", "Creative Commons
//     Attribution-NonCommercial 4.0 International", "Attribution 4.0
//     International (CC BY 4.0)", "CC0 1.0 Universal"), with its version:
//     one without a version names no licence;
//   - an EUPL name ("EUPL v1.2", "European Union Public Licence v. 1.2");
//   - a licence IRI: creativecommons.org licences and their legal code or
//     deed pages (not the ports to a jurisdiction, which have no id here),
//     spdx.org/licenses/<id>, opensource.org/licenses/<id>, the Apache,
//     Open Data Commons and EUPL pages.
//
// Access statements (info:eu-repo/semantics/openAccess) and anything else
// are no licence.
func SPDXLicense(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 512 {
		return "", false
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return spdxFromIRI(lower)
	}
	if id, ok := spdxByName[licenceName(s)]; ok {
		return id, true
	}
	words := licenceWords(s)
	if id, ok := ccName(words); ok {
		return id, true
	}
	return euplName(words)
}

// spdxFromIRI implements SPDXLicense for an IRI in lower case.
func spdxFromIRI(iri string) (string, bool) {
	rest := iri[strings.Index(iri, "//")+2:]
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	rest = strings.TrimPrefix(rest, "www.")
	host, path, _ := strings.Cut(rest, "/")
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	page := func(i int) bool {
		// Nothing, or the licence's legal code or deed page, after segment i.
		if len(segs) <= i {
			return true
		}
		return len(segs) == i+1 && (strings.HasPrefix(segs[i], "legalcode") || strings.HasPrefix(segs[i], "deed"))
	}
	switch host {
	case "creativecommons.org":
		if len(segs) >= 3 && segs[0] == "licenses" && page(3) {
			id := "CC-" + strings.ToUpper(segs[1]) + "-" + segs[2]
			if _, ok := spdxLicences[id]; ok {
				return id, true
			}
		}
		if len(segs) >= 3 && segs[0] == "publicdomain" && segs[1] == "zero" && segs[2] == "1.0" && page(3) {
			return "CC0-1.0", true
		}
	case "spdx.org", "opensource.org":
		if len(segs) == 2 && (segs[0] == "licenses" || segs[0] == "license") {
			name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(segs[1], ".html"), ".json"), ".php")
			if id, ok := spdxByName[licenceName(name)]; ok {
				return id, true
			}
		}
	case "apache.org":
		if len(segs) == 2 && segs[0] == "licenses" && strings.HasPrefix(segs[1], "license-2.0") {
			return "Apache-2.0", true
		}
	case "opendatacommons.org":
		if len(segs) >= 3 && segs[0] == "licenses" && (segs[2] == "1-0" || segs[2] == "1.0") {
			switch segs[1] {
			case "odbl":
				return "ODbL-1.0", true
			case "by":
				return "ODC-By-1.0", true
			case "pddl":
				return "PDDL-1.0", true
			}
		}
	case "joinup.ec.europa.eu", "interoperable-europe.ec.europa.eu":
		last := ""
		if len(segs) > 0 {
			last = segs[len(segs)-1]
		}
		switch {
		case strings.Contains(last, "eupl-1.2") || strings.HasSuffix(last, "eupl-12") || strings.HasSuffix(last, "eupl12"):
			return "EUPL-1.2", true
		case strings.Contains(last, "eupl-1.1") || strings.HasSuffix(last, "eupl-11") || strings.HasSuffix(last, "eupl11"):
			return "EUPL-1.1", true
		}
	}
	return "", false
}

// ccWords maps the words of Creative Commons licence names to the parts of
// their codes ("" for words that say nothing of the licence).
var ccWords = map[string]string{
	"by": "by", "attribution": "by",
	"sa": "sa", "sharealike": "sa",
	"nc": "nc", "noncommercial": "nc",
	"nd": "nd", "noderivatives": "nd", "noderivs": "nd",
	"cc": "", "creative": "", "commons": "", "international": "", "unported": "", "generic": "",
	"license": "", "licence": "", "public": "", "v": "", "version": "",
	"share": "", "alike": "", "non": "", "commercial": "", "no": "", "derivatives": "", "derivs": "",
}

// ccName reads a Creative Commons licence name, split into words.
func ccName(words []string) (string, bool) {
	cc, zero := false, false
	parts := map[string]bool{}
	version := ""
	for i := 0; i < len(words); i++ {
		w := strings.TrimPrefix(words[i], "v")
		switch {
		case words[i] == "cc" || words[i] == "creative":
			cc = true
		case words[i] == "cc0" || words[i] == "zero":
			cc, zero = true, true
		case w == "1.0" || w == "2.0" || w == "2.5" || w == "3.0" || w == "4.0":
			if version != "" && version != w {
				return "", false
			}
			version = w
		case words[i] == "universal" || words[i] == "dedication" || words[i] == "domain":
			if !zero {
				return "", false
			}
		default:
			p, ok := ccWords[words[i]]
			if !ok {
				return "", false
			}
			// "share alike", "non commercial", "no derivatives" as two words.
			if i+1 < len(words) {
				switch words[i] + " " + words[i+1] {
				case "share alike":
					p = "sa"
				case "non commercial":
					p = "nc"
				case "no derivatives", "no derivs":
					p = "nd"
				}
			}
			if p != "" {
				parts[p] = true
			}
		}
	}
	if !cc || version == "" {
		return "", false
	}
	if zero {
		if len(parts) > 0 || version != "1.0" {
			return "", false
		}
		return "CC0-1.0", true
	}
	if !parts["by"] || (parts["sa"] && parts["nd"]) {
		return "", false
	}
	id := "CC-BY"
	for _, p := range []string{"nc", "nd", "sa"} {
		if parts[p] {
			id += "-" + strings.ToUpper(p)
		}
	}
	id += "-" + version
	if _, ok := spdxLicences[id]; !ok {
		return "", false
	}
	return id, true
}

// euplName reads an EUPL name, split into words.
func euplName(words []string) (string, bool) {
	eupl := false
	version := ""
	for i, w := range words {
		switch {
		case w == "eupl":
			eupl = true
		case w == "european" && i+3 < len(words) && words[i+1] == "union" && words[i+2] == "public" &&
			(words[i+3] == "licence" || words[i+3] == "license"):
			eupl = true
		case strings.TrimPrefix(w, "v") == "1.0" || strings.TrimPrefix(w, "v") == "1.1" || strings.TrimPrefix(w, "v") == "1.2":
			version = strings.TrimPrefix(w, "v")
		}
	}
	if !eupl || version == "" {
		return "", false
	}
	return "EUPL-" + version, true
}

// SPDXLicenseIRI returns the IRI of a licence with an SPDX id SPDXLicense
// returns (its own page where the licensor has a stable one, else its page
// on spdx.org), and whether it knows the id.
func SPDXLicenseIRI(id string) (string, bool) {
	iri, ok := spdxLicences[id]
	return iri, ok
}

// KnownLicense returns the IRI of a well-known licence named by its SPDX id
// or its name, in any letter case and with blanks or hyphens alike
// (CC0-1.0, CC-BY-4.0, "CC BY 4.0", "Creative Commons Attribution 4.0
// International", MIT…), and whether it knows the name: SPDXLicense, then
// SPDXLicenseIRI.
func KnownLicense(name string) (string, bool) {
	id, ok := SPDXLicense(name)
	if !ok {
		return "", false
	}
	return SPDXLicenseIRI(id)
}
