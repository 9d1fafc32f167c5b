package dcat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const oddKey = "src:esrf:oai:esrf.fr:123?x=(1)&y."

var fixedNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func testOptions() Options {
	return Options{Now: func() time.Time { return fixedNow }}
}

// edit returns a copy of the full dataset changed by f.
func edit(f func(e *fairwayv1.EnrichedDataset)) *fairwayv1.EnrichedDataset {
	e := proto.Clone(fullDataset()).(*fairwayv1.EnrichedDataset)
	f(e)
	return e
}

const (
	ds     = "<https://doi.org/10.5281/zenodo.1234(5)>"
	odd    = "<http://127.0.0.1:8080/datasets/src:esrf:oai:esrf.fr:123%3Fx=%281%29&y.>"
	rdfTyp = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
)

func dct(local string) string   { return iri(nsDCT + local) }
func dcatT(local string) string { return iri(nsDCAT + local) }
func foaf(local string) string  { return iri(nsFOAF + local) }

// triple is one expected (or unexpected) triple in N-Triples terms.
type triple struct{ s, p, o string }

// datasetCase is a case of TestDatasetTurtle.
type datasetCase struct {
	name    string
	in      *fairwayv1.EnrichedDataset
	subject string
	want    []triple // must be in the graph
	absent  []triple // must not be
	check   func(t *testing.T, g *testGraph)
}

// datasetCases are the cases of TestDatasetTurtle; the SHACL tests check
// their datasets too (Fixtures).
func datasetCases() []datasetCase {
	return []datasetCase{
		{
			name: "full dataset with DOI", in: fullDataset(), subject: ds,
			want: []triple{
				{ds, rdfTyp, dcatT("Dataset")},
				{ds, dct("title"), lit(`Lysozyme "serial" crystallography at ID29`)},
				{ds, dct("description"), lit("Diffraction images of lysozyme microcrystals.\nCollected at 100 K; see the paper.")},
				{ds, dct("identifier"), lit("https://doi.org/10.5281/zenodo.1234(5)")},
				{ds, dct("identifier"), lit("oai:esrf.fr:1234")},
				{ds, dct("issued"), typed("2021-03-04", nsXSD+"date")},
				{ds, dct("modified"), typed("2022-05-06T07:08:09Z", nsXSD+"dateTime")},
				{ds, dct("creator"), "<https://orcid.org/0000-0002-1825-0097>"},
				{"<https://orcid.org/0000-0002-1825-0097>", rdfTyp, foaf("Person")},
				{"<https://orcid.org/0000-0002-1825-0097>", foaf("name"), lit("Doe, Jane")},
				{"<https://orcid.org/0000-0002-1825-0097>", foaf("familyName"), lit("Doe")},
				{ds, dcatT("keyword"), lit("lysozyme")},
				{ds, dcatT("keyword"), lit("Proteins")},
				{ds, dct("subject"), "<http://id.loc.gov/authorities/subjects/sh85107738>"},
				{ds, dcatT("theme"), "<http://purl.org/pan-science/PaNET/PaNET01168>"},
				{ds, dcatT("theme"), "<http://purl.org/pan-science/PaNET/PaNET01102>"},
				{ds, dcatT("theme"), "<http://publications.europa.eu/resource/authority/data-theme/TECH>"},
				{"<http://purl.org/pan-science/PaNET/PaNET01168>", iri(nsSKOS + "prefLabel"), `"serial femtosecond crystallography"@en`},
				{"<http://purl.org/pan-science/PaNET/PaNET01168>", iri(nsSKOS + "inScheme"), iri(PaNETScheme)},
				{ds, dcatT("landingPage"), "<https://data.esrf.fr/doi/10.5281/zenodo.1234?lang=en&view=(full).>"},
				{"<https://data.esrf.fr/doi/10.5281/zenodo.1234?lang=en&view=(full).>", rdfTyp, foaf("Document")},
				{ds, dct("accessRights"), iri(AccessPublic)},
				{ds, dct("language"), "<http://publications.europa.eu/resource/authority/language/ENG>"},
				{ds, dct("isReferencedBy"), "<https://doi.org/10.1107/S1600577525005272>"},
				{ds, dct("isReferencedBy"), "<https://example.org/paper?id=1&v=(2).>"},
				{ds, dct("isPartOf"), "<https://doi.org/10.5281/zenodo.99>"},
				{"<https://creativecommons.org/licenses/by/4.0/>", rdfTyp, dct("LicenseDocument")},
			},
			absent: []triple{
				// Subjects a technique was matched from are not keywords.
				{ds, dcatT("keyword"), lit("SFX")},
				{ds, dcatT("keyword"), lit("serial femtosecond crystallography")},
				{ds, dct("available"), ""},
			},
			check: func(t *testing.T, g *testGraph) {
				pub := g.one(t, ds, dct("publisher"))
				if !strings.HasPrefix(pub, "_:") || !g.has(pub, foaf("name"), lit("European Synchrotron Radiation Facility")) || !g.has(pub, rdfTyp, foaf("Agent")) {
					t.Errorf("publisher %s = %v", pub, g.spo[pub])
				}
				id := g.one(t, ds, iri(nsADMS+"identifier"))
				if g.one(t, id, iri(nsSKOS+"notation")) != lit("10.5281/zenodo.1234(5)") {
					t.Errorf("adms:identifier %s = %v", id, g.spo[id])
				}
				dist := g.one(t, ds, dcatT("distribution"))
				if g.one(t, dist, dcatT("accessURL")) != "<https://data.esrf.fr/doi/10.5281/zenodo.1234?lang=en&view=(full).>" ||
					g.one(t, dist, dct("license")) != "<https://creativecommons.org/licenses/by/4.0/>" {
					t.Errorf("distribution %s = %v", dist, g.spo[dist])
				}
				cp := g.one(t, ds, dcatT("contactPoint"))
				if !g.has(cp, iri(nsVCARD+"fn"), lit("European Synchrotron Radiation Facility")) {
					t.Errorf("contact point %s = %v", cp, g.spo[cp])
				}
				prov := g.one(t, ds, dct("provenance"))
				if l := g.one(t, prov, iri(nsRDFS+"label")); !strings.Contains(l, "ESRF") || !strings.Contains(l, "ID29") {
					t.Errorf("provenance = %s", l)
				}
				if creators := g.objects(ds, dct("creator")); len(creators) != 2 {
					t.Errorf("creators = %v", creators)
				}
				if n := len(g.objects(ds, dct("isReferencedBy"))); n != 2 {
					t.Errorf("%d isReferencedBy, want 2 (the ISBN has no IRI)", n)
				}
			},
		},
		{
			name: "no DOI, key with ?, &, parentheses and a trailing dot",
			in: edit(func(e *fairwayv1.EnrichedDataset) {
				d := e.Dataset
				d.Key, d.Doi, d.SourceIdentifier = oddKey, "", "oai:esrf.fr:123?x=(1)&y."
				d.LandingPage = "https://data.esrf.fr/ds?id=(1)&y."
				d.Creators[0].Orcid = "https://orcid.org/0000-0002-1825-0097"
			}),
			subject: odd,
			want: []triple{
				{odd, rdfTyp, dcatT("Dataset")},
				{odd, dct("identifier"), lit("oai:esrf.fr:123?x=(1)&y.")},
				{odd, dcatT("landingPage"), "<https://data.esrf.fr/ds?id=(1)&y.>"},
				{odd, dct("creator"), "<https://orcid.org/0000-0002-1825-0097>"},
			},
			check: func(t *testing.T, g *testGraph) {
				if ids := g.objects(odd, iri(nsADMS+"identifier")); len(ids) != 0 {
					t.Errorf("adms:identifier without a DOI: %v", ids)
				}
				dist := g.one(t, odd, dcatT("distribution"))
				if g.one(t, dist, dcatT("accessURL")) != "<https://data.esrf.fr/ds?id=(1)&y.>" {
					t.Errorf("distribution %v", g.spo[dist])
				}
			},
		},
		{
			name: "minimal dataset",
			in:   &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Key: "src:ill:7", Title: "  Neutron run 7  "}},
			want: []triple{
				{"<http://127.0.0.1:8080/datasets/src:ill:7>", dct("title"), lit("Neutron run 7")},
				// The description falls back to the title.
				{"<http://127.0.0.1:8080/datasets/src:ill:7>", dct("description"), lit("Neutron run 7")},
				{"<http://127.0.0.1:8080/datasets/src:ill:7>", dcatT("theme"), "<http://publications.europa.eu/resource/authority/data-theme/TECH>"},
			},
			subject: "<http://127.0.0.1:8080/datasets/src:ill:7>",
			check: func(t *testing.T, g *testGraph) {
				s := "<http://127.0.0.1:8080/datasets/src:ill:7>"
				for _, p := range []string{dct("publisher"), dct("creator"), dct("issued"), dct("accessRights"), dct("language"), dcatT("landingPage"), dcatT("keyword")} {
					if v := g.objects(s, p); len(v) != 0 {
						t.Errorf("%s = %v, want none", p, v)
					}
				}
				// The distribution falls back to the dataset IRI.
				dist := g.one(t, s, dcatT("distribution"))
				if g.one(t, dist, dcatT("accessURL")) != s {
					t.Errorf("distribution %v", g.spo[dist])
				}
			},
		},
		{
			name: "no title, year only, licence text, bad IRIs left out",
			in: edit(func(e *fairwayv1.EnrichedDataset) {
				d := e.Dataset
				d.Title, d.Description, d.Issued = "", "", nil
				d.License = "Facility data policy v2"
				d.LandingPage = "not a URL at all"
				d.Creators = []*fairwayv1.Person{{GivenName: "Ada", FamilyName: "Lovelace", Orcid: "1234"}}
				d.Language = "klingon"
				d.Subjects = []*fairwayv1.Subject{{Value: "x\x00y\x01z"}, {Value: "  "}, {Value: "dup"}, {Value: "DUP"}}
				d.Publisher = ""
				e.Techniques = nil
			}),
			subject: ds,
			want: []triple{
				{ds, dct("title"), lit("10.5281/zenodo.1234(5)")},
				{ds, dct("description"), lit("10.5281/zenodo.1234(5)")},
				{ds, dct("issued"), typed("2021", nsXSD+"gYear")},
				{ds, dcatT("keyword"), lit("xyz")},
				{ds, dcatT("keyword"), lit("dup")},
			},
			absent: []triple{
				{ds, dcatT("landingPage"), ""},
				{ds, dct("language"), ""},
				{ds, dcatT("keyword"), lit("DUP")},
			},
			check: func(t *testing.T, g *testGraph) {
				c := g.one(t, ds, dct("creator"))
				if !strings.HasPrefix(c, "_:") || !g.has(c, foaf("name"), lit("Ada Lovelace")) || !g.has(c, rdfTyp, foaf("Person")) {
					t.Errorf("creator %s = %v", c, g.spo[c])
				}
				// Facility as publisher when there is none.
				pub := g.one(t, ds, dct("publisher"))
				if !g.has(pub, foaf("name"), lit("ESRF")) {
					t.Errorf("publisher = %v", g.spo[pub])
				}
				dist := g.one(t, ds, dcatT("distribution"))
				lic := g.one(t, dist, dct("license"))
				if !strings.HasPrefix(lic, "_:") || !g.has(lic, iri(nsRDFS+"label"), lit("Facility data policy v2")) {
					t.Errorf("licence %s = %v", lic, g.spo[lic])
				}
				if g.one(t, dist, dcatT("accessURL")) != ds {
					t.Errorf("access URL = %v, want the DOI", g.spo[dist])
				}
				if v := g.objects(ds, dcatT("theme")); len(v) != 1 {
					t.Errorf("themes = %v, want only TECH", v)
				}
			},
		},
		{
			name: "repeated creator and technique",
			in: edit(func(e *fairwayv1.EnrichedDataset) {
				e.Dataset.Creators = append(e.Dataset.Creators, &fairwayv1.Person{Name: "Jane Doe", Orcid: "0000-0002-1825-0097"})
				e.Techniques = append(e.Techniques, e.Techniques[0])
			}),
			subject: ds,
			check: func(t *testing.T, g *testGraph) {
				if n := len(g.objects(ds, dct("creator"))); n != 2 {
					t.Errorf("%d creators, want 2", n)
				}
				if n := len(g.objects(ds, dcatT("theme"))); n != 3 {
					t.Errorf("%d themes, want 3", n)
				}
				if n := len(g.objects("<https://orcid.org/0000-0002-1825-0097>", foaf("name"))); n != 1 {
					t.Errorf("%d names for one ORCID", n)
				}
			},
		},
		{
			name: "embargo not over",
			in: edit(func(e *fairwayv1.EnrichedDataset) {
				e.Dataset.AccessRights = "embargoed"
				e.Dataset.EmbargoUntil = timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			}),
			subject: ds,
			want: []triple{
				{ds, dct("accessRights"), iri(AccessNonPublic)},
				{ds, dct("available"), typed("2030-01-01", nsXSD+"date")},
			},
		},
		{
			name: "embargo over",
			in: edit(func(e *fairwayv1.EnrichedDataset) {
				e.Dataset.AccessRights = "embargoed"
				e.Dataset.EmbargoUntil = timestamppb.New(time.Date(2024, 1, 1, 10, 30, 0, 0, time.UTC))
			}),
			subject: ds,
			want: []triple{
				{ds, dct("accessRights"), iri(AccessPublic)},
				{ds, dct("available"), typed("2024-01-01T10:30:00Z", nsXSD+"dateTime")},
			},
		},
		{
			name: "restricted",
			in:   edit(func(e *fairwayv1.EnrichedDataset) { e.Dataset.AccessRights = "restricted" }),
			want: []triple{{ds, dct("accessRights"), iri(AccessRestricted)}}, subject: ds,
		},
		{
			name: "closed",
			in:   edit(func(e *fairwayv1.EnrichedDataset) { e.Dataset.AccessRights = "closed" }),
			want: []triple{{ds, dct("accessRights"), iri(AccessNonPublic)}}, subject: ds,
		},
		{
			// An IRI in a declared vocabulary namespace whose local part the
			// encoder would write as an invalid prefixed name is left out.
			name: "data IRI in a vocabulary namespace",
			in: edit(func(e *fairwayv1.EnrichedDataset) {
				e.Dataset.LandingPage = "http://purl.org/dc/terms/x?y=(1)."
				e.Dataset.Related = []*fairwayv1.RelatedIdentifier{{Identifier: "http://www.w3.org/ns/dcat#a&b", Type: "URL", Relation: "References"}}
			}),
			subject: ds,
			absent:  []triple{{ds, dcatT("landingPage"), ""}, {ds, dct("references"), ""}},
		},
	}
}

func TestDatasetTurtle(t *testing.T) {
	tests := datasetCases()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := DatasetTurtle(tc.in, testOptions())
			if err != nil {
				t.Fatalf("DatasetTurtle: %v", err)
			}
			g := decode(t, out)
			if got := g.subjectsOfType(dcatT("Dataset")); len(got) != 1 || got[0] != tc.subject {
				t.Errorf("datasets = %v, want [%s]", got, tc.subject)
			}
			for _, w := range tc.want {
				if !g.has(w.s, w.p, w.o) {
					t.Errorf("missing %s %s %s; have %v", w.s, w.p, w.o, g.objects(w.s, w.p))
				}
			}
			for _, a := range tc.absent {
				if a.o == "" && len(g.objects(a.s, a.p)) > 0 || a.o != "" && g.has(a.s, a.p, a.o) {
					t.Errorf("unexpected %s %s %v", a.s, a.p, g.objects(a.s, a.p))
				}
			}
			if tc.check != nil {
				tc.check(t, g)
			}
			again, err := DatasetTurtle(tc.in, testOptions())
			if err != nil || again != out {
				t.Errorf("second rendering differs (err %v)", err)
			}
		})
	}
}

func TestDatasetTurtleErrors(t *testing.T) {
	tests := []struct {
		name string
		in   *fairwayv1.EnrichedDataset
		opts Options
		want error
	}{
		{name: "nil", in: nil, want: ErrNoDataset},
		{name: "no dataset", in: &fairwayv1.EnrichedDataset{}, want: ErrNoDataset},
		{name: "no key nor DOI", in: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Title: "t"}}, want: ErrNoDataset},
		{name: "tombstone", in: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Key: "k", Deleted: true}}, want: ErrDeleted},
		{name: "bad options", in: fullDataset(), opts: Options{BaseURL: "ftp://x"}, want: ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := DatasetTurtle(tc.in, tc.opts)
			if !errors.Is(err, tc.want) || out != "" {
				t.Fatalf("DatasetTurtle = %q, %v; want %v", out, err, tc.want)
			}
		})
	}
}

func TestDatasetIRI(t *testing.T) {
	tests := []struct {
		d    *fairwayv1.Dataset
		opts Options
		want string
	}{
		{d: &fairwayv1.Dataset{Key: "doi:10.1/a", Doi: "10.1/a"}, want: "https://doi.org/10.1/a"},
		{d: &fairwayv1.Dataset{Key: "doi:10.1/a b", Doi: "10.1/a<b>"}, want: "https://doi.org/10.1/a%3Cb%3E"},
		{d: &fairwayv1.Dataset{Key: oddKey}, want: "http://127.0.0.1:8080/datasets/src:esrf:oai:esrf.fr:123%3Fx=%281%29&y."},
		{d: &fairwayv1.Dataset{Key: "src:psi:a/b c"}, opts: Options{BaseURL: "https://node.example.org/fairway/"}, want: "https://node.example.org/fairway/datasets/src:psi:a%2Fb%20c"},
		{d: &fairwayv1.Dataset{Key: "src:x:1", Doi: "not-a-doi"}, want: "http://127.0.0.1:8080/datasets/src:x:1"},
	}
	for _, tc := range tests {
		got, err := DatasetIRI(tc.d, tc.opts)
		if err != nil || got != tc.want {
			t.Errorf("DatasetIRI(%v) = %q, %v; want %q", tc.d, got, err, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{name: "defaults", opts: Options{}, ok: true},
		{name: "https base with path", opts: Options{BaseURL: "https://node.example.org/fairway"}, ok: true},
		{name: "publisher IRI", opts: Options{PublisherIRI: "https://ror.org/02550n020"}, ok: true},
		{name: "no data theme", opts: Options{DataTheme: "-"}, ok: true},
		{name: "base not http", opts: Options{BaseURL: "ftp://node"}},
		{name: "base relative", opts: Options{BaseURL: "/catalogue"}},
		{name: "base with query", opts: Options{BaseURL: "http://node/?a=1"}},
		{name: "bad catalogue IRI", opts: Options{CatalogueIRI: "http://node/a b"}},
		{name: "bad publisher IRI", opts: Options{PublisherIRI: "not an IRI"}},
		{name: "unknown licence", opts: Options{CatalogueLicense: "whatever"}},
		{name: "unknown language", opts: Options{CatalogueLanguage: "xx"}},
		{name: "unknown data theme", opts: Options{DataTheme: "PHYS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidOptions)) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestMappings(t *testing.T) {
	for in, want := range map[string]string{
		"https://creativecommons.org/licenses/by/4.0/": "https://creativecommons.org/licenses/by/4.0/",
		"CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
		"cc by 4.0": "https://creativecommons.org/licenses/by/4.0/",
		"CC0 1.0":   "https://creativecommons.org/publicdomain/zero/1.0/",
		"Creative Commons Attribution 4.0 International": "https://creativecommons.org/licenses/by/4.0/",
		"MIT":                   "https://opensource.org/licenses/MIT",
		"proprietary":           "",
		"":                      "",
		"http://exa mple.org/l": "",
	} {
		got, ok := LicenseIRI(in)
		if got != want || ok != (want != "") {
			t.Errorf("LicenseIRI(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string]string{
		"en": "ENG", "EN-gb": "ENG", "eng": "ENG", "English": "ENG", "de": "DEU", "ger": "DEU", "fr_FR": "FRA", "sv": "SWE", "xx": "", "": "",
	} {
		got, ok := LanguageIRI(in)
		if want == "" {
			if ok {
				t.Errorf("LanguageIRI(%q) = %q, want none", in, got)
			}
			continue
		}
		if got != LanguageAuthority+"/"+want {
			t.Errorf("LanguageIRI(%q) = %q, want %s", in, got, want)
		}
	}
	past, future := timestamppb.New(fixedNow.Add(-time.Hour)), timestamppb.New(fixedNow.Add(time.Hour))
	for _, tc := range []struct {
		access string
		until  *timestamppb.Timestamp
		want   string
	}{
		{"open", nil, AccessPublic},
		{" Open ", nil, AccessPublic},
		{"info:eu-repo/semantics/openAccess", nil, AccessPublic},
		{"restricted", nil, AccessRestricted},
		{"closed", nil, AccessNonPublic},
		{"embargoed", nil, AccessNonPublic},
		{"embargoed", future, AccessNonPublic},
		{"embargoed", past, AccessPublic},
		{"info:eu-repo/semantics/embargoedAccess", future, AccessNonPublic},
		{"non_public", nil, AccessNonPublic},
		{"info:eu-repo/semantics/metadataOnlyAccess", nil, AccessNonPublic},
		{"http://purl.org/coar/access_right/c_abf2", nil, AccessPublic},
		{"", nil, ""},
		{"sometimes", nil, ""},
	} {
		d := &fairwayv1.Dataset{AccessRights: tc.access, EmbargoUntil: tc.until}
		if got := AccessRightsIRI(d, fixedNow); got != tc.want {
			t.Errorf("AccessRightsIRI(%q, %v) = %q, want %q", tc.access, tc.until, got, tc.want)
		}
	}
}
