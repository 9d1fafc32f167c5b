package dcat

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/proto/fairwayv1"
)

func TestPublishableIRI(t *testing.T) {
	tests := []struct {
		in, want string // want "" when refused
	}{
		// Published.
		{"https://data.esrf.fr/doi/10.5281/zenodo.1234", "https://data.esrf.fr/doi/10.5281/zenodo.1234"},
		{"http://example.org", "http://example.org"},
		{"  https://example.org/a?b=1&c=(2)#frag \n", "https://example.org/a?b=1&c=(2)#frag"},
		{"HTTPS://Example.org/Path", "https://Example.org/Path"},
		{"https://example.org:8443/x", "https://example.org:8443/x"},
		{"http://127.0.0.1:8080/datasets/src:a%3Fb", "http://127.0.0.1:8080/datasets/src:a%3Fb"},
		{"http://[::1]:8080/x", "http://[::1]:8080/x"},
		{"https://bücher.example/straße", "https://bücher.example/straße"},
		{"https://example.org/a%20b", "https://example.org/a%20b"},
		{"urn:nbn:de:0001-12345", "urn:nbn:de:0001-12345"},
		{"URN:ISBN:978-3-16-148410-0", "urn:ISBN:978-3-16-148410-0"},
		{"doi:10.5281/zenodo.1234", "https://doi.org/10.5281/zenodo.1234"},
		{"DOI:10.1107/S1600577525005272", "https://doi.org/10.1107/S1600577525005272"},
		{"hdl:20.500.12345/abc", "https://hdl.handle.net/20.500.12345/abc"},
		// Schemes that are not published, in any case.
		{"javascript:alert(1)", ""},
		{"JaVaScRiPt:alert(1)", ""},
		{"  javascript:alert(1)", ""},
		{"vbscript:msgbox(1)", ""},
		{"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", ""},
		{"file:///etc/passwd", ""},
		{"mailto:data@esrf.fr", ""},
		{"ftp://ftp.esrf.fr/data", ""},
		{"info:eu-repo/semantics/openAccess", ""},
		{"tag:example.org,2024:x", ""},
		// Control and format characters, anywhere.
		{"\x00javascript:alert(1)", ""},
		{"\x01https://example.org", ""},
		{"java\tscript:alert(1)", ""},
		{"java\nscript:alert(1)", ""},
		{"https://example.org/\x7f", ""},
		{"https://example.org/\u0085", ""},
		{"https://example.org/\u202egnp.exe", ""},
		{"https://exa\u200bmple.org/", ""},
		{"https://example.org/\ufffd", ""},
		{"https://example.org/\xff", ""},
		// Characters an IRI may not hold.
		{"https://example.org/a b", ""},
		{"https://example.org/\u00a0", ""},
		{"https://example.org/<script>", ""},
		{`https://example.org/"x"`, ""},
		{"https://example.org/{x}", ""},
		{"https://example.org/a|b", ""},
		{"https://example.org/a^b", ""},
		{"https://example.org/a`b", ""},
		{`https:\\example.org\x`, ""},
		// Percent-encoded tricks and broken escapes.
		{"javascript%3Aalert(1)", ""},
		{"%6Aavascript:alert(1)", ""},
		{"https:%2F%2Fevil.example", ""},
		{"https://%65vil.example/", ""},
		{"https://example.org/%zz", ""},
		{"https://example.org/?q=%2", ""},
		{"https://example.org/%", ""},
		// http(s) without a host, or with user information.
		{"http:", ""},
		{"http://", ""},
		{"http:///path", ""},
		{"http:/path", ""},
		{"http:example.org", ""},
		{"https://:8080/", ""},
		{"https://.../", ""},
		{"https://example.org:http/", ""},
		{"https://trusted.example@evil.example/", ""},
		{"https://user:pass@example.org/", ""},
		{"http://[not-ipv6]/", ""},
		// Relative references and malformed identifiers.
		{"", ""},
		{"   ", ""},
		{"www.example.org/data", ""},
		{"/datasets/1", ""},
		{"urn:", ""},
		{"urn:x:", ""},
		{"urn:nbn", ""},
		{"doi:javascript:alert(1)", ""},
		{"doi:11.1/x", ""},
		{"hdl:javascript:alert(1)", ""},
		{"hdl:20.500.12345", ""},
		// An IRI in a declared vocabulary namespace that Turtle cannot
		// write as a prefixed name.
		{"http://purl.org/dc/terms/x?y=(1).", ""},
		{"http://purl.org/dc/terms/title", "http://purl.org/dc/terms/title"},
	}
	for _, tc := range tests {
		got, ok := PublishableIRI(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("PublishableIRI(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

// FuzzPublishableIRI: whatever it is given, what the rule publishes is an
// http(s) or urn: IRI that the rule accepts again unchanged.
func FuzzPublishableIRI(f *testing.F) {
	for _, s := range []string{"https://example.org/a?b#c", " JaVaScRiPt:alert(1)", "doi:10.1/x", "hdl:1/2", "urn:nbn:de:1", "http:/x", "https://a%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := PublishableIRI(s)
		if !ok {
			return
		}
		if !strings.HasPrefix(got, "http://") && !strings.HasPrefix(got, "https://") && !strings.HasPrefix(got, "urn:") {
			t.Fatalf("PublishableIRI(%q) = %q: scheme not published", s, got)
		}
		if again, ok := PublishableIRI(got); !ok || again != got {
			t.Fatalf("PublishableIRI(%q) = %q, then %q, %v", s, got, again, ok)
		}
	})
}

func TestLooksLikeIRI(t *testing.T) {
	for in, want := range map[string]bool{
		"javascript:alert(1)":     true,
		"\x01java\x00script:x":    true,
		" JaVaScRiPt:alert(1)":    true,
		"https://example.org/l":   true,
		"http://exa mple.org/l":   true,
		"urn:nbn:de:1":            true,
		"CC-BY-4.0":               false,
		"Creative Commons BY 4.0": false,
		"Licence: CC-BY":          false,
		"978-3-16-148410-0":       false,
		"javascript:":             false,
		"":                        false,
		"12:30":                   false,
	} {
		if got := looksLikeIRI(in); got != want {
			t.Errorf("looksLikeIRI(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestEscapedIRIsArePublishable: an IRI built from an identifier holding
// what an IRI may not (a DOI with a zero-width space, a handle with a
// blank) is escaped into one the rule accepts.
func TestEscapedIRIsArePublishable(t *testing.T) {
	for _, id := range []string{"10.1/a\u200bb", "10.1/a b<c>", "10.1/\ufffd\x7f", "10.1/%zz", "10.1/\u202e"} {
		iri := DOIIRI(id)
		if _, ok := PublishableIRI(iri); !ok {
			t.Errorf("DOIIRI(%q) = %q, refused by PublishableIRI", id, iri)
		}
	}
}

// hostile is the full dataset with javascript: in every place the feed
// gives an IRI.
func hostile() *fairwayv1.EnrichedDataset {
	return edit(func(e *fairwayv1.EnrichedDataset) {
		d := e.Dataset
		d.LandingPage = "javascript:alert(1)"
		d.Related = append(d.Related,
			&fairwayv1.RelatedIdentifier{Identifier: "javascript:alert(1)", Type: "URL", Relation: "IsCitedBy"},
			&fairwayv1.RelatedIdentifier{Identifier: " JaVaScRiPt:alert(2)", Type: "Other", Relation: "References"},
			&fairwayv1.RelatedIdentifier{Identifier: "data:text/html,<script>alert(3)</script>", Type: "URL", Relation: "IsPartOf"},
		)
		d.Subjects = append(d.Subjects,
			&fairwayv1.Subject{Value: "scripts", ValueUri: "javascript:alert(1)"},
			&fairwayv1.Subject{Value: "files", ValueUri: "\x01file:///etc/passwd"},
		)
		d.License = "vbscript:msgbox(1)"
		d.Creators = append(d.Creators, &fairwayv1.Person{Name: "Mallory", Orcid: "javascript:alert(1)"})
	})
}

func TestDatasetTurtleDropsUnpublishableIRIs(t *testing.T) {
	e := hostile()
	out, err := DatasetTurtle(e, testOptions())
	if err != nil {
		t.Fatalf("DatasetTurtle: %v", err)
	}
	g := decode(t, out)
	for _, bad := range []string{"javascript", "vbscript", "data:", "file:", "passwd", "alert"} {
		if strings.Contains(strings.ToLower(out), bad) {
			t.Errorf("Turtle holds %q:\n%s", bad, out)
		}
	}
	for _, tr := range g.triples {
		for _, x := range []rdf.Term{tr.Subj, tr.Obj} {
			if i, ok := x.(rdf.IRI); ok {
				if _, ok := PublishableIRI(i.String()); !ok {
					t.Errorf("IRI %s is not publishable", term(i))
				}
			}
		}
	}
	if v := g.objects(ds, dcatT("landingPage")); len(v) != 0 {
		t.Errorf("landing page %v", v)
	}
	// The access URL falls back to the DOI, the subjects keep their
	// keywords, and the good related identifiers stay.
	dist := g.one(t, ds, dcatT("distribution"))
	if got := g.one(t, dist, dcatT("accessURL")); got != ds {
		t.Errorf("access URL %s, want the DOI", got)
	}
	if len(g.objects(dist, dct("license"))) != 0 {
		t.Errorf("licence %v", g.objects(dist, dct("license")))
	}
	for _, k := range []string{"scripts", "files"} {
		if !g.has(ds, dcatT("keyword"), lit(k)) {
			t.Errorf("keyword %q lost", k)
		}
	}
	if !g.has(ds, dct("isReferencedBy"), "<https://doi.org/10.1107/S1600577525005272>") {
		t.Error("good related identifier lost")
	}

	want := []DroppedIRI{
		{FieldLandingPage, "javascript:alert(1)"},
		{FieldORCID, "javascript:alert(1)"},
		{FieldSubjectURI, "javascript:alert(1)"},
		{FieldSubjectURI, "\x01file:///etc/passwd"},
		{FieldRelated, "javascript:alert(1)"},
		{FieldRelated, " JaVaScRiPt:alert(2)"},
		{FieldRelated, "data:text/html,<script>alert(3)</script>"},
		{FieldLicense, "vbscript:msgbox(1)"},
	}
	if got := DroppedIRIs(e); !slices.Equal(got, want) {
		t.Errorf("DroppedIRIs =\n%v\nwant\n%v", got, want)
	}
}

// droppedCases are datasets with values given as IRIs, good and bad, and
// what DroppedIRIs says of them.
func droppedCases() []struct {
	name string
	in   *fairwayv1.EnrichedDataset
	want []DroppedIRI
} {
	return []struct {
		name string
		in   *fairwayv1.EnrichedDataset
		want []DroppedIRI
	}{
		{name: "nil", in: nil},
		{name: "tombstone", in: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Key: "k", Deleted: true, LandingPage: "javascript:x"}}},
		{name: "full dataset", in: fullDataset()},
		{name: "identifiers that are not IRIs", in: edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.License = "Facility data policy: see the web site"
			e.Dataset.Creators[0].Orcid = "0000-0002-1825"
			e.Dataset.Related = []*fairwayv1.RelatedIdentifier{{Identifier: "978-3-16-148410-0", Type: "ISBN"}}
		})},
		{name: "no key nor DOI", in: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{LandingPage: "file:///x"}},
			want: []DroppedIRI{{FieldLandingPage, "file:///x"}}},
		{name: "landing page without scheme", in: edit(func(e *fairwayv1.EnrichedDataset) { e.Dataset.LandingPage = "data.esrf.fr/x" }),
			want: []DroppedIRI{{FieldLandingPage, "data.esrf.fr/x"}}},
		{name: "URL without host", in: edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.Related = []*fairwayv1.RelatedIdentifier{{Identifier: "http:/paper", Type: "URL"}}
		}), want: []DroppedIRI{{FieldRelated, "http:/paper"}}},
		{name: "same value twice", in: edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.Subjects = []*fairwayv1.Subject{{Value: "a", ValueUri: "mailto:a@b"}, {Value: "b", ValueUri: "mailto:a@b"}}
		}), want: []DroppedIRI{{FieldSubjectURI, "mailto:a@b"}}},
		{name: "PaNET subject with a bad IRI", in: edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.Subjects = []*fairwayv1.Subject{{Value: "SFX", Scheme: "PaNET", ValueUri: "javascript:x"}}
		}), want: []DroppedIRI{{FieldSubjectURI, "javascript:x"}}},
		{name: "new IRI fields", in: edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.PublisherRor = "ror:02550n095x"
			e.Dataset.InstrumentPid = "javascript:alert(1)"
			e.Dataset.Distributions = []*fairwayv1.Distribution{{DownloadUrl: "file:///data/1.h5", AccessUrl: "https://data.esrf.fr/1"}}
		}), want: []DroppedIRI{{FieldPublisherROR, "ror:02550n095x"}, {FieldInstrumentPID, "javascript:alert(1)"}, {FieldDistributionURL, "file:///data/1.h5"}}},
		{name: "identifier schemes", in: edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.LandingPage = "doi:10.5281/zenodo.1234"
			e.Dataset.License = "urn:x-esrf:licence:1"
			e.Dataset.Related = []*fairwayv1.RelatedIdentifier{{Identifier: "urn:nbn:de:1-2", Type: "URN"}, {Identifier: "hdl:1234/5", Type: "Other"}}
		})},
		{name: "hostile", in: hostile(), want: []DroppedIRI{
			{FieldLandingPage, "javascript:alert(1)"}, {FieldORCID, "javascript:alert(1)"},
			{FieldSubjectURI, "javascript:alert(1)"}, {FieldSubjectURI, "\x01file:///etc/passwd"},
			{FieldRelated, "javascript:alert(1)"}, {FieldRelated, " JaVaScRiPt:alert(2)"},
			{FieldRelated, "data:text/html,<script>alert(3)</script>"}, {FieldLicense, "vbscript:msgbox(1)"},
		}},
		{name: "every field, nameless agents, too many distributions", in: edit(func(e *fairwayv1.EnrichedDataset) {
			d := e.Dataset
			d.Publisher, d.Facility, d.PublisherRor = " ", "", "javascript:x" // no publisher: its ROR is not read
			d.Creators = []*fairwayv1.Person{{Orcid: "javascript:nameless"}, {Name: "A", Orcid: "mailto:a@b"}, {GivenName: "B", Orcid: "0000-0002-1825-0097"}}
			d.InstrumentPid = "file:///pid"
			d.License, d.LicenseSpdx = "ftp:/nohost", ""
			d.Distributions = nil
			for i := range maxDistributions + 2 {
				d.Distributions = append(d.Distributions, &fairwayv1.Distribution{DownloadUrl: fmt.Sprintf("file:///%d", i), AccessUrl: "https://data.esrf.fr/x"})
			}
		}), want: func() []DroppedIRI {
			out := []DroppedIRI{{FieldORCID, "mailto:a@b"}, {FieldInstrumentPID, "file:///pid"}, {FieldLicense, "ftp:/nohost"}}
			for i := range maxDistributions {
				out = append(out, DroppedIRI{FieldDistributionURL, fmt.Sprintf("file:///%d", i)})
			}
			return out
		}()},
	}
}

func TestDroppedIRIs(t *testing.T) {
	for _, tc := range droppedCases() {
		t.Run(tc.name, func(t *testing.T) {
			if got := DroppedIRIs(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("DroppedIRIs = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDroppedIRIsAgreeWithRendering: DroppedIRIs, which does not render,
// names exactly what the rendering of each dataset left out, in its order.
func TestDroppedIRIsAgreeWithRendering(t *testing.T) {
	for _, tc := range droppedCases() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.GetDataset() == nil || tc.in.GetDataset().GetDeleted() {
				return // not rendered
			}
			g, err := newGraph(DefaultBaseURL + "/datasets/x")
			if err != nil {
				t.Fatal(err)
			}
			g.dataset(tc.in, Options{}.withDefaults())
			if got := DroppedIRIs(tc.in); !slices.Equal(got, []DroppedIRI(g.dropped)) {
				t.Errorf("DroppedIRIs = %v, the rendering dropped %v", got, g.dropped)
			}
		})
	}
}

// TestIdentifierSchemesRendered: doi: and hdl: values are published as
// their resolvers' IRIs, urn: as it is.
func TestIdentifierSchemesRendered(t *testing.T) {
	e := edit(func(e *fairwayv1.EnrichedDataset) {
		e.Dataset.LandingPage = "doi:10.5281/zenodo.77"
		e.Dataset.Related = []*fairwayv1.RelatedIdentifier{
			{Identifier: "urn:nbn:de:1-2", Type: "URN", Relation: "References"},
			{Identifier: "hdl:1234/5", Type: "Other", Relation: "IsPartOf"},
		}
	})
	out, err := DatasetTurtle(e, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	g := decode(t, out)
	for _, w := range [][2]string{
		{dcatT("landingPage"), "<https://doi.org/10.5281/zenodo.77>"},
		{dct("references"), "<urn:nbn:de:1-2>"},
		{dct("isPartOf"), "<https://hdl.handle.net/1234/5>"},
	} {
		if !g.has(ds, w[0], w[1]) {
			t.Errorf("missing %s %s; have %v", w[0], w[1], g.objects(ds, w[0]))
		}
	}
}

// TestDOIIRIEndsNoPath: a DOI's '#' and '?' are encoded, so that its IRI
// names the DOI whole at the resolver (neither a fragment nor a query of
// a shorter one), and comes back whole when the path is unescaped.
func TestDOIIRIEndsNoPath(t *testing.T) {
	for _, doi := range []string{"10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI3>3.0.CO;2-#", "10.5072/a?b", "10.5072/plain", "10.5072/50%"} {
		iri := DOIIRI(doi)
		u, err := url.Parse(iri)
		if err != nil || u.Fragment != "" || u.RawQuery != "" || u.Host != "doi.org" {
			t.Errorf("DOIIRI(%q) = %q: %+v, %v", doi, iri, u, err)
			continue
		}
		if got := strings.TrimPrefix(u.Path, "/"); got != doi {
			t.Errorf("DOIIRI(%q) = %q: names %q", doi, iri, got)
		}
	}
}
