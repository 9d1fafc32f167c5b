package dcat

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knakk/rdf"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// render renders e with the test options and decodes its Turtle.
func render(t *testing.T, e *fairwayv1.EnrichedDataset) *testGraph {
	t.Helper()
	ttl, err := DatasetTurtle(e, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, ttl)
}

func TestDatasetParts(t *testing.T) {
	const (
		node    = "http://127.0.0.1:8080"
		esrfPub = "<" + node + "/catalogue/esrf#publisher>"
		ror     = "<https://ror.org/02550n095>"
		vcard   = nsVCARD
	)
	day := func(y int, m time.Month, d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	}
	tests := []struct {
		name  string
		edit  func(d *fairwayv1.Dataset)
		check func(t *testing.T, g *testGraph)
	}{
		{"publisher ROR", func(d *fairwayv1.Dataset) { d.PublisherRor = "https://ror.org/02550n095" }, func(t *testing.T, g *testGraph) {
			if g.one(t, ds, dct("publisher")) != ror || !g.has(ror, foaf("name"), lit("European Synchrotron Radiation Facility")) || !g.has(ror, rdfTyp, foaf("Organization")) {
				t.Errorf("publisher %v", g.spo[ror])
			}
		}},
		{"publisher ROR that is no ROR", func(d *fairwayv1.Dataset) { d.PublisherRor = "https://example.org/esrf" }, func(t *testing.T, g *testGraph) {
			if p := g.one(t, ds, dct("publisher")); !strings.HasPrefix(p, "_:") {
				t.Errorf("publisher %s", p)
			}
		}},
		{"facility as publisher", func(d *fairwayv1.Dataset) { d.Publisher = "esrf" }, func(t *testing.T, g *testGraph) {
			if g.one(t, ds, dct("publisher")) != esrfPub || !g.has(esrfPub, foaf("name"), lit("esrf")) || !g.has(esrfPub, rdfTyp, foaf("Agent")) {
				t.Errorf("publisher %v", g.spo[esrfPub])
			}
		}},
		{"no publisher: the facility", func(d *fairwayv1.Dataset) { d.Publisher = "" }, func(t *testing.T, g *testGraph) {
			if g.one(t, ds, dct("publisher")) != esrfPub || !g.has(esrfPub, foaf("name"), lit("ESRF")) {
				t.Errorf("publisher %v", g.spo[esrfPub])
			}
		}},
		{"contacts with and without e-mail", func(d *fairwayv1.Dataset) {
			d.Contacts = []*fairwayv1.Contact{
				{Name: "ESRF data office", Email: "dataoffice@esrf.example.org"},
				{Name: "Doe, Jane"},
				{Email: "o'brien+data@esrf.example.org"},
				{Email: "not an address"},
				{Name: "ESRF data office", Email: "DataOffice@esrf.example.org"},
			}
		}, func(t *testing.T, g *testGraph) {
			var got []string
			for _, cp := range g.objects(ds, dcatT("contactPoint")) {
				if !g.has(cp, rdfTyp, iri(vcard+"Kind")) {
					t.Errorf("contact %s is no vcard:Kind", cp)
				}
				got = append(got, g.one(t, cp, iri(vcard+"fn"))+" "+strings.Join(g.objects(cp, iri(vcard+"hasEmail")), ","))
			}
			slices.Sort(got)
			want := []string{`"Doe, Jane" `, `"ESRF data office" <mailto:dataoffice@esrf.example.org>`, `"o'brien+data@esrf.example.org" <mailto:o%27brien+data@esrf.example.org>`}
			if !slices.Equal(got, want) {
				t.Errorf("contacts\n%q, want\n%q", got, want)
			}
		}},
		{"collection period", func(d *fairwayv1.Dataset) {
			d.CollectedStart = timestamppb.New(time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC))
			d.CollectedEnd = day(2021, 3, 3)
		}, func(t *testing.T, g *testGraph) {
			p := g.one(t, ds, dct("temporal"))
			if !g.has(p, rdfTyp, dct("PeriodOfTime")) || g.one(t, p, dcatT("startDate")) != typed("2021-03-01T08:00:00Z", nsXSD+"dateTime") ||
				g.one(t, p, dcatT("endDate")) != typed("2021-03-03", nsXSD+"date") {
				t.Errorf("period %v", g.spo[p])
			}
		}},
		{"collection period ending before it starts", func(d *fairwayv1.Dataset) {
			d.CollectedStart, d.CollectedEnd = day(2021, 3, 3), day(2021, 3, 1)
		}, func(t *testing.T, g *testGraph) {
			p := g.one(t, ds, dct("temporal"))
			if len(g.objects(p, dcatT("endDate"))) != 0 || g.one(t, p, dcatT("startDate")) != typed("2021-03-03", nsXSD+"date") {
				t.Errorf("period %v", g.spo[p])
			}
		}},
		{"distributions", func(d *fairwayv1.Dataset) {
			d.Distributions = []*fairwayv1.Distribution{
				{Format: "NeXus/HDF5", MediaType: "application/x-hdf5", ByteSize: 12_400_000_000, DownloadUrl: "https://data.esrf.fr/files/1.h5"},
				{Format: "CSV", AccessUrl: "https://data.esrf.fr/browse/1", Title: "Processed curves"},
				{MediaType: "image/tiff"},
				{Format: "CBF", DownloadUrl: "javascript:alert(1)"},
			}
		}, func(t *testing.T, g *testGraph) {
			byTitle := map[string]string{}
			for _, x := range g.objects(ds, dcatT("distribution")) {
				if len(g.objects(x, dct("license"))) != 1 || len(g.objects(x, dcatT("accessURL"))) != 1 {
					t.Errorf("distribution %v", g.spo[x])
				}
				key := strings.Join(g.objects(x, dct("format")), ",") + "|" + strings.Join(g.objects(x, dcatT("mediaType")), ",") + "|" +
					strings.Join(g.objects(x, dcatT("byteSize")), ",") + "|" + strings.Join(g.objects(x, dcatT("downloadURL")), ",") + "|" +
					strings.Join(g.objects(x, dcatT("accessURL")), ",") + "|" + strings.Join(g.objects(x, dct("description")), ",")
				byTitle[strings.Join(g.objects(x, dct("title")), "")] += key + "\n"
			}
			landing := "<https://data.esrf.fr/doi/10.5281/zenodo.1234?lang=en&view=(full).>"
			want := "<http://publications.europa.eu/resource/authority/file-type/HDF>||" + typed("12400000000", nsXSD+"nonNegativeInteger") +
				"|<https://data.esrf.fr/files/1.h5>|<https://data.esrf.fr/files/1.h5>|\n" +
				"<http://publications.europa.eu/resource/authority/file-type/TIFF>|<https://www.iana.org/assignments/media-types/image/tiff>|||" + landing + "|\n" +
				"||||" + landing + `|"Format: CBF"` + "\n"
			if got := byTitle[""]; got != want && !sameLines(got, want) {
				t.Errorf("distributions\n%s\nwant\n%s", got, want)
			}
			if got := byTitle[lit("Processed curves")]; got != "<http://publications.europa.eu/resource/authority/file-type/CSV>|<https://www.iana.org/assignments/media-types/text/csv>|||<https://data.esrf.fr/browse/1>|\n" {
				t.Errorf("CSV distribution %s", got)
			}
			if !g.has("<https://www.iana.org/assignments/media-types/text/csv>", rdfTyp, dct("MediaType")) ||
				!g.has("<http://publications.europa.eu/resource/authority/file-type/CSV>", rdfTyp, dct("MediaTypeOrExtent")) {
				t.Error("format and media type are not typed")
			}
		}},
		{"instrument PID and proposal", func(d *fairwayv1.Dataset) {
			d.InstrumentPid = "https://doi.org/10.5072/ESRF-ID29"
			d.ProposalId = "MX-2345"
			d.Samples = nil
		}, func(t *testing.T, g *testGraph) {
			a := g.one(t, ds, iri(nsPROV+"wasGeneratedBy"))
			if !g.has(a, rdfTyp, iri(nsPROV+"Activity")) || g.one(t, a, dct("identifier")) != lit("MX-2345") ||
				g.one(t, a, iri(nsPROV+"used")) != "<https://doi.org/10.5072/ESRF-ID29>" ||
				g.one(t, a, iri(nsRDFS+"label")) != lit("Data collection at ESRF, with instrument ID29, under proposal MX-2345") {
				t.Errorf("activity %v", g.spo[a])
			}
			if !g.has(ds, dct("relation"), "<https://doi.org/10.5072/ESRF-ID29>") {
				t.Error("no dct:relation to the instrument")
			}
		}},
		{"typed dates with a DCMI term", func(d *fairwayv1.Dataset) {}, func(t *testing.T, g *testGraph) {
			for p, want := range map[string]string{
				"created":         typed("2020-11-02", nsXSD+"date"),
				"dateAccepted":    typed("2021-02-01", nsXSD+"date"),
				"dateSubmitted":   typed("2021-01-15T10:00:00Z", nsXSD+"dateTime"),
				"dateCopyrighted": typed("2021-01-01", nsXSD+"date"),
				"valid":           typed("2021-01-01", nsXSD+"date"),
			} {
				if got := g.one(t, ds, dct(p)); got != want {
					t.Errorf("dct:%s %s, want %s", p, got, want)
				}
			}
		}},
		{"geo locations as dct:Location with WKT", func(d *fairwayv1.Dataset) {}, func(t *testing.T, g *testGraph) {
			locs := g.objects(ds, dct("spatial"))
			if len(locs) != 2 {
				t.Fatalf("dct:spatial %v", locs)
			}
			wkt := nsGSP + "wktLiteral"
			var place, polygon string
			for _, l := range locs {
				if !g.has(l, rdfTyp, dct("Location")) {
					t.Errorf("%s is no dct:Location", l)
				}
				if g.has(l, iri(nsSKOS+"prefLabel"), lit("ESRF, Grenoble")) {
					place = l
				} else {
					polygon = l
				}
			}
			if place == "" || g.one(t, place, iri(nsDCAT+"bbox")) != typed("POLYGON((5.6 45.1, 5.8 45.1, 5.8 45.3, 5.6 45.3, 5.6 45.1))", wkt) ||
				g.one(t, place, iri(nsDCAT+"centroid")) != typed("POINT(5.69 45.21)", wkt) {
				t.Errorf("place %v", g.spo[place])
			}
			if g.one(t, polygon, iri(nsDCAT+"bbox")) != typed("POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))", wkt) {
				t.Errorf("polygon's extent %v", g.spo[polygon])
			}
		}},
		{"invalid geo location left out", func(d *fairwayv1.Dataset) {
			d.GeoLocations = []*fairwayv1.GeoLocation{{Point: &fairwayv1.GeoPoint{Longitude: 500}}}
		}, func(t *testing.T, g *testGraph) {
			if l := g.objects(ds, dct("spatial")); len(l) != 0 {
				t.Errorf("dct:spatial %v", l)
			}
		}},
		{"principal investigator as a qualified attribution", func(d *fairwayv1.Dataset) {}, func(t *testing.T, g *testGraph) {
			a := g.one(t, ds, iri(nsPROV+"qualifiedAttribution"))
			orcid := "<https://orcid.org/0000-0001-5109-3700>"
			if !g.has(a, rdfTyp, iri(nsPROV+"Attribution")) || g.one(t, a, iri(nsPROV+"agent")) != orcid ||
				g.one(t, a, iri(nsDCAT+"hadRole")) != "<http://inspire.ec.europa.eu/metadata-codelist/ResponsiblePartyRole/principalInvestigator>" {
				t.Errorf("attribution %v", g.spo[a])
			}
			if !g.has(orcid, rdfTyp, foaf("Person")) || g.one(t, orcid, foaf("name")) != lit("Roe, Rita") {
				t.Errorf("investigator %v", g.spo[orcid])
			}
		}},
		{"funding as FRAPO grants", func(d *fairwayv1.Dataset) {}, func(t *testing.T, g *testGraph) {
			grants := g.objects(ds, iri(nsFRAPO+"isFundedBy"))
			if len(grants) != 3 {
				t.Fatalf("frapo:isFundedBy %v", grants)
			}
			ec := "<https://cordis.europa.eu/project/id/823852>"
			funder := "<https://doi.org/10.13039/501100000780>"
			if !g.has(ec, rdfTyp, iri(nsFRAPO+"Grant")) || g.one(t, ec, iri(nsFRAPO+"hasGrantNumber")) != lit("823852") ||
				g.one(t, ec, dct("title")) != lit("PaNOSC") || g.one(t, ec, iri(nsFRAPO+"isAwardedBy")) != funder {
				t.Errorf("grant %v", g.spo[ec])
			}
			if !g.has(funder, rdfTyp, iri(nsFRAPO+"FundingAgency")) || g.one(t, funder, foaf("name")) != lit("European Commission") {
				t.Errorf("funder %v", g.spo[funder])
			}
			ror := "<https://ror.org/00yjd3n13>"
			if !g.has(ror, rdfTyp, iri(nsFRAPO+"FundingAgency")) || g.has(ror, rdfTyp, foaf("Agent")) {
				t.Errorf("unnamed funder %v", g.spo[ror])
			}
		}},
		{"samples used by the activity", func(d *fairwayv1.Dataset) {}, func(t *testing.T, g *testGraph) {
			a := g.one(t, ds, iri(nsPROV+"wasGeneratedBy"))
			used := g.objects(a, iri(nsPROV+"used"))
			var labels []string
			for _, u := range used {
				if g.has(u, rdfTyp, iri(nsPROV+"Entity")) {
					labels = append(labels, g.one(t, u, iri(nsRDFS+"label"))+" "+strings.Join(g.objects(u, dct("identifier")), ""))
				}
			}
			slices.Sort(labels)
			if want := []string{lit("Lysozyme microcrystals") + " " + lit("sample-42"), lit("Sample IGSN:IEXYZ0001") + " " + lit("IGSN:IEXYZ0001")}; !slices.Equal(labels, want) {
				t.Errorf("samples %v, want %v", labels, want)
			}
		}},
		{"SPDX licence at its canonical IRI", func(d *fairwayv1.Dataset) {
			d.License, d.LicenseSpdx = "https://example.org/our-terms", "CC-BY-SA-4.0"
		}, func(t *testing.T, g *testGraph) {
			lic := "<https://creativecommons.org/licenses/by-sa/4.0/>"
			if !g.has(lic, rdfTyp, dct("LicenseDocument")) || g.one(t, lic, dct("identifier")) != lit("CC-BY-SA-4.0") {
				t.Errorf("licence %v", g.spo[lic])
			}
		}},
		{"instrument PID that is no IRI", func(d *fairwayv1.Dataset) { d.InstrumentPid, d.Samples = "esrf-id29", nil }, func(t *testing.T, g *testGraph) {
			a := g.one(t, ds, iri(nsPROV+"wasGeneratedBy"))
			if len(g.objects(a, iri(nsPROV+"used"))) != 0 {
				t.Errorf("activity %v", g.spo[a])
			}
		}},
		{"no instrument, proposal nor samples: no activity", func(d *fairwayv1.Dataset) { d.Instrument, d.Samples = "", nil }, func(t *testing.T, g *testGraph) {
			if len(g.objects(ds, iri(nsPROV+"wasGeneratedBy"))) != 0 {
				t.Error("an activity without anything to say")
			}
		}},
		{"catalogue record", func(d *fairwayv1.Dataset) {}, func(t *testing.T, g *testGraph) {
			rec := "<" + node + "/datasets/doi:10.5281%2Fzenodo.1234%285%29#record>"
			if !g.has(rec, rdfTyp, dcatT("CatalogRecord")) || g.one(t, rec, foaf("primaryTopic")) != ds ||
				g.one(t, rec, dct("conformsTo")) != iri(DCATAP301) || !g.has(iri(DCATAP301), rdfTyp, dct("Standard")) ||
				g.one(t, rec, dct("modified")) != typed("2022-05-06T07:08:09Z", nsXSD+"dateTime") {
				t.Errorf("record %s = %v", rec, g.spo[rec])
			}
			if !g.has(ds, rdfTyp, dcatT("Resource")) {
				t.Error("the dataset is no dcat:Resource")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, render(t, edit(func(e *fairwayv1.EnrichedDataset) { tt.edit(e.Dataset) })))
		})
	}
}

func sameLines(a, b string) bool {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func TestRecordModified(t *testing.T) {
	at := func(y int, m time.Month, d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(y, m, d, 12, 0, 0, 0, time.UTC))
	}
	o := testOptions().withDefaults()
	tests := []struct {
		name string
		e    *fairwayv1.EnrichedDataset
		want string
	}{
		{"enrichment time", &fairwayv1.EnrichedDataset{EnrichedAt: at(2026, 1, 2), Dataset: &fairwayv1.Dataset{Modified: at(2020, 1, 1)}}, "2026-01-02T12:00:00Z"},
		{"dataset modified", &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Modified: at(2020, 1, 1), Issued: at(2019, 1, 1)}}, "2020-01-01T12:00:00Z"},
		{"dataset issued", &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Issued: at(2019, 1, 1)}}, "2019-01-01T12:00:00Z"},
		{"nothing: now", &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{}}, fixedNow.UTC().Truncate(time.Second).Format(time.RFC3339)},
		{"ended embargo later than the enrichment", &fairwayv1.EnrichedDataset{EnrichedAt: at(2020, 1, 2), Dataset: &fairwayv1.Dataset{EmbargoUntil: at(2021, 1, 1)}}, "2021-01-01T12:00:00Z"},
		{"running embargo", &fairwayv1.EnrichedDataset{EnrichedAt: at(2020, 1, 2), Dataset: &fairwayv1.Dataset{EmbargoUntil: at(2999, 1, 1)}}, "2020-01-02T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recordModified(tt.e, o); got.String() != tt.want {
				t.Errorf("recordModified = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCatalogueAndMembershipTriples(t *testing.T) {
	opts := Options{BaseURL: "https://node.example.org/"}
	cat, err := CatalogueTriples(opts, []string{"ESRF", "", "esrf", "Max IV"})
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGraph(cat)
	node := "<https://node.example.org/catalogue>"
	if got := g.objects(node, dct("hasPart")); !slices.Equal(got, []string{"<https://node.example.org/catalogue/esrf>", "<https://node.example.org/catalogue/max%20iv>"}) {
		t.Errorf("hasPart %v", got)
	}
	if !g.has(node, rdfTyp, dcatT("Catalog")) || len(g.objects(node, dct("title"))) != 1 {
		t.Errorf("catalogue %v", g.spo[node])
	}

	fac, err := FacilityCatalogueTriples(" Max IV ", opts)
	if err != nil {
		t.Fatal(err)
	}
	g = newTestGraph(fac)
	mx := "<https://node.example.org/catalogue/max%20iv>"
	pub := "<https://node.example.org/catalogue/max%20iv#publisher>"
	if g.one(t, mx, dct("isPartOf")) != node || g.one(t, mx, dct("publisher")) != pub || g.one(t, mx, dct("title")) != lit("Max IV datasets") ||
		!g.has(pub, foaf("name"), lit("Max IV")) || len(g.objects(mx, dct("description"))) != 1 || len(g.objects(mx, dct("license"))) != 1 {
		t.Errorf("facility catalogue %v / %v", g.spo[mx], g.spo[pub])
	}
	if _, err := FacilityCatalogueTriples("  ", opts); !errors.Is(err, ErrNoFacility) {
		t.Errorf("blank facility: %v", err)
	}
	if FacilityCatalogueIRI("ESRF", opts) != "https://node.example.org/catalogue/esrf" || FacilityCatalogueIRI("", opts) != "" {
		t.Errorf("FacilityCatalogueIRI %q", FacilityCatalogueIRI("ESRF", opts))
	}

	for _, tt := range []struct {
		name     string
		ds       *fairwayv1.Dataset
		cat, obj string
	}{
		{"DOI dataset of a facility", &fairwayv1.Dataset{Key: "doi:10.5072/x", Doi: "10.5072/x", Facility: "ESRF"}, "https://node.example.org/catalogue/esrf", "https://doi.org/10.5072/x"},
		{"dataset without DOI nor facility", &fairwayv1.Dataset{Key: "src::a b"}, "https://node.example.org/catalogue", "https://node.example.org/datasets/src::a%20b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := MembershipTriples(tt.ds, opts)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := RecordIRI(tt.ds, opts)
			want := []rdf.Triple{
				{Subj: vocab(tt.cat, ""), Pred: dcatDatasetProp, Obj: vocab(tt.obj, "")},
				{Subj: vocab(tt.cat, ""), Pred: dcatRecord, Obj: vocab(rec, "")},
			}
			if len(m) != 2 || m[0] != want[0] || m[1] != want[1] || !strings.HasSuffix(rec, "#record") {
				t.Errorf("membership %v, want %v", m, want)
			}
		})
	}
	if _, err := MembershipTriples(&fairwayv1.Dataset{Key: "k", Deleted: true}, opts); !errors.Is(err, ErrDeleted) {
		t.Errorf("tombstone: %v", err)
	}
	if _, err := MembershipTriples(&fairwayv1.Dataset{}, opts); !errors.Is(err, ErrNoDataset) {
		t.Errorf("no key: %v", err)
	}
	if _, err := RecordIRI(nil, opts); !errors.Is(err, ErrNoDataset) {
		t.Errorf("nil dataset: %v", err)
	}
}

func TestNamespaces(t *testing.T) {
	ns := Namespaces()
	for p, want := range map[string]string{"dcat": nsDCAT, "dct": nsDCT, "rdf": nsRDF, "hydra": "http://www.w3.org/ns/hydra/core#", "prov": nsPROV, "vcard": nsVCARD} {
		if ns[p] != want {
			t.Errorf("Namespaces()[%q] = %q, want %q", p, ns[p], want)
		}
	}
	ns["dcat"] = "changed"
	if Namespaces()["dcat"] != nsDCAT {
		t.Error("Namespaces returns a shared map")
	}
	// Every namespace an emitted IRI uses as a vocabulary has a prefix.
	ts, err := DatasetTriples(fullDataset(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	spaces := slices.Collect(maps.Values(Namespaces()))
	for _, tr := range ts {
		ns, _ := tr.Pred.(rdf.IRI).Split()
		if !slices.Contains(spaces, ns) {
			t.Errorf("predicate %s has no prefix", tr.Pred)
		}
	}
}

func TestFacilitiesOption(t *testing.T) {
	esrf := Facility{Name: "European Synchrotron Radiation Facility", ROR: "02550n095"}
	tests := []struct {
		name       string
		facilities map[string]Facility
		publisher  string // the dataset's
		agent      string // the facility catalogue's publisher
		agentName  string
	}{
		{"not listed", nil, "_:", "<http://127.0.0.1:8080/catalogue/esrf#publisher>", lit("ESRF")},
		{"full name", map[string]Facility{"esrf": {Name: esrf.Name}}, "<http://127.0.0.1:8080/catalogue/esrf#publisher>", "<http://127.0.0.1:8080/catalogue/esrf#publisher>", lit(esrf.Name)},
		{"full name and ROR", map[string]Facility{"ESRF": esrf}, "<https://ror.org/02550n095>", "<https://ror.org/02550n095>", lit(esrf.Name)},
		{"another facility", map[string]Facility{"ILL": {Name: "Institut Laue-Langevin"}}, "_:", "<http://127.0.0.1:8080/catalogue/esrf#publisher>", lit("ESRF")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			opts.Facilities = tt.facilities
			ttl, err := DatasetTurtle(fullDataset(), opts)
			if err != nil {
				t.Fatal(err)
			}
			g := decode(t, ttl)
			if p := g.one(t, ds, dct("publisher")); !strings.HasPrefix(p, tt.publisher) || !g.has(p, foaf("name"), lit(esrf.Name)) {
				t.Errorf("dataset publisher %s = %v, want %s", p, g.spo[p], tt.publisher)
			}
			ts, err := FacilityCatalogueTriples("ESRF", opts)
			if err != nil {
				t.Fatal(err)
			}
			g = newTestGraph(ts)
			cat := "<http://127.0.0.1:8080/catalogue/esrf>"
			if a := g.one(t, cat, dct("publisher")); a != tt.agent || g.one(t, a, foaf("name")) != tt.agentName {
				t.Errorf("facility agent %s = %v, want %s %s", a, g.spo[a], tt.agent, tt.agentName)
			}
		})
	}
	bad := testOptions()
	bad.Facilities = map[string]Facility{"ESRF": {ROR: "https://example.org/esrf"}}
	if err := bad.Validate(); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("bad ROR: %v", err)
	}
	bad.Facilities = map[string]Facility{" ": {Name: "x"}}
	if err := bad.Validate(); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("blank facility: %v", err)
	}
}
