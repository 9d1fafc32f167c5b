// Package searchtest fills a real read model with real-looking catalogue
// entries, for the tests and benchmarks of search and its HTTP API.
package searchtest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Access rights of the EU vocabulary.
const (
	Public     = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
	Restricted = "http://publications.europa.eu/resource/authority/access-right/RESTRICTED"
)

// Ontology returns the reference PaNET release and its matcher.
func Ontology(t testing.TB) *panet.Matcher {
	t.Helper()
	f, err := os.Open(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o, err := panet.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return panet.NewMatcher(o)
}

// Dataset describes one catalogue entry.
type Dataset struct {
	Key, Facility, DOI, Title, Description, Instrument, Licence, Access string
	Keywords, Creators, Samples                                         []string
	// Techniques are PaNET ids the dataset is tagged with.
	Techniques []string
	Quality    float64
	// At is the entry's time in the catalogue (its datestamp); Issued,
	// when set, the dataset's own date, PublicationYear its year, and
	// Created when it was made.
	At, Issued, Created time.Time
	PublicationYear     int32
	Deleted             bool
}

// Entry returns the catalogue entry of d as the publisher makes it, its
// techniques with their broader ones from o.
func Entry(o *panet.Ontology, d Dataset) *fairwayv1.CatalogueEntry {
	ds := &fairwayv1.Dataset{
		Key: d.Key, Doi: d.DOI, Facility: d.Facility, FeedId: strings.ToLower(d.Facility) + "-oai", Title: d.Title,
		Description: d.Description, Instrument: d.Instrument, License: d.Licence, AccessRights: d.Access, Deleted: d.Deleted,
		LandingPage: "https://data.example.org/" + d.Key, PublicationYear: d.PublicationYear,
	}
	if !d.Issued.IsZero() {
		ds.Issued = timestamppb.New(d.Issued)
	}
	if !d.Created.IsZero() {
		ds.Created = timestamppb.New(d.Created)
	}
	if strings.HasPrefix(d.Licence, "CC") {
		ds.LicenseSpdx = d.Licence
		ds.License = "https://creativecommons.org/licenses/" + d.Licence
	}
	for _, k := range d.Keywords {
		ds.Subjects = append(ds.Subjects, &fairwayv1.Subject{Value: k})
	}
	for _, c := range d.Creators {
		ds.Creators = append(ds.Creators, &fairwayv1.Person{Name: c})
	}
	for _, s := range d.Samples {
		ds.Samples = append(ds.Samples, &fairwayv1.Sample{Name: s})
	}
	e := &fairwayv1.EnrichedDataset{Dataset: ds, QualityScore: d.Quality}
	for _, id := range d.Techniques {
		c, ok := o.Class(id)
		if !ok {
			panic("searchtest: no PaNET class " + id)
		}
		t := &fairwayv1.Technique{Iri: c.IRI, Id: c.ID, Label: c.Label, MatchedBy: panet.MatchedByID}
		for _, a := range o.Ancestors(id) {
			t.Broader = append(t.Broader, a.IRI)
		}
		e.Techniques = append(e.Techniques, t)
	}
	if d.At.IsZero() {
		d.At = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	entry := &fairwayv1.CatalogueEntry{Key: d.Key, Deleted: d.Deleted, ContentHash: fmt.Sprintf("%x", d.Key+d.Title),
		PublishedAt: timestamppb.New(d.At), Dataset: e}
	if !d.Deleted {
		entry.Turtle = "<https://data.example.org/" + d.Key + "> a <http://www.w3.org/ns/dcat#Dataset> ."
	}
	return entry
}

// Catalogue are the datasets of the tests: real-looking records of
// several facilities.
var Catalogue = []Dataset{
	{Key: "esrf-1", Facility: "ESRF", DOI: "10.15151/ESRF-ES-1001", Title: "Microtomography of fossil teeth",
		Description: "Propagation phase contrast imaging of hominid molars at high resolution.", Instrument: "ID19",
		Licence: "CC-BY-4.0", Access: Public, Keywords: []string{"palaeontology", "dental tissue"}, Creators: []string{"Tafforeau, Paul"},
		Samples: []string{"Homo naledi molar"}, Techniques: []string{"PaNET01208"}, Quality: 0.82, At: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
	{Key: "esrf-2", Facility: "ESRF", DOI: "10.15151/ESRF-ES-1002", Title: "Bone remodelling in mice",
		Description: "Synchrotron measurements of cortical bone after loading.", Instrument: "ID19",
		Licence: "CC-BY-4.0", Access: Restricted, Keywords: []string{"bone"}, Creators: []string{"Langer, Max"},
		Samples: []string{"mouse femur"}, Techniques: []string{"PaNET01207"}, Quality: 0.55, At: time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)},
	{Key: "ill-1", Facility: "ILL", DOI: "10.5291/ILL-DATA.5-21-1001", Title: "Magnetic structure of a frustrated pyrochlore",
		Description: "Neutron powder diffraction between 1.5 K and 300 K.", Instrument: "D20",
		Licence: "CC-BY-4.0", Access: Public, Keywords: []string{"magnetism"}, Creators: []string{"Hansen, Thomas"},
		Samples: []string{"Tb2Ti2O7 powder"}, Techniques: []string{"PaNET01145"}, Quality: 0.71, At: time.Date(2023, 11, 5, 0, 0, 0, 0, time.UTC)},
	{Key: "psi-1", Facility: "PSI", Title: "Battery electrode degradation",
		Description: "A tomography study of lithium electrodes over many cycles.", Instrument: "TOMCAT",
		Licence: "CC0-1.0", Access: Public, Keywords: []string{"battery"}, Creators: []string{"Marone, Federica"},
		Samples: []string{"NMC cathode"}, Quality: 0.40, At: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)},
	{Key: "desy-1", Facility: "DESY", DOI: "10.3204/PUBDB-2024-01001", Title: "Protein solution scattering",
		Description: "SAXS of lysozyme in solution at several concentrations.", Instrument: "P12",
		Licence: "CC-BY-4.0", Access: Public, Keywords: []string{"proteins", "structural biology"}, Creators: []string{"Svergun, Dmitri"},
		Samples: []string{"lysozyme"}, Techniques: []string{"PaNET01188"}, Quality: 0.91, At: time.Date(2024, 8, 20, 0, 0, 0, 0, time.UTC)},
	{Key: "desy-2", Facility: "DESY", Title: "Withdrawn tomography run", Description: "tomography", Licence: "CC-BY-4.0",
		Access: Public, Techniques: []string{"PaNET01129"}, Deleted: true, At: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
}

// Model returns a running read model of entries, caught up.
func Model(t testing.TB, entries []*fairwayv1.CatalogueEntry) *readmodel.Model {
	t.Helper()
	b := testenv.Bus(t)
	m := Open(t, b, t.TempDir())
	Publish(t, b, entries)
	CaughtUp(t, b, m)
	return m
}

// Open opens and runs a read model of b's catalogue in dir until the test
// ends.
func Open(t testing.TB, b *bus.Bus, dir string) *readmodel.Model {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := readmodel.Open(ctx, readmodel.Config{Dir: dir, Replica: "search-test"}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = m.Close()
	})
	return m
}

// Publish writes entries into the catalogue stream, as the publisher does.
func Publish(t testing.TB, b *bus.Bus, entries []*fairwayv1.CatalogueEntry) {
	t.Helper()
	ctx := context.Background()
	for len(entries) > 0 {
		n := min(len(entries), 1000)
		events := make([]bus.Event, 0, n)
		for _, e := range entries[:n] {
			p, err := proto.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, bus.Event{Stream: bus.Catalogue, Key: e.Key, Hash: e.ContentHash, Payload: p})
		}
		if err := b.PublishBatch(ctx, string(bus.StagePublisher), events); err != nil {
			t.Fatal(err)
		}
		entries = entries[n:]
	}
}

// CaughtUp waits until m applied every message of b's catalogue stream.
func CaughtUp(t testing.TB, b *bus.Bus, m *readmodel.Model) {
	t.Helper()
	ctx := context.Background()
	seq, err := b.LastSequence(ctx, bus.Catalogue)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Hour)
	defer cancel()
	if err := m.WaitFor(wctx, seq); err != nil {
		t.Fatalf("model at %d, want %d: %v", m.Position(), seq, err)
	}
}

// Entries returns the catalogue entries of ds.
func Entries(o *panet.Ontology, ds []Dataset) []*fairwayv1.CatalogueEntry {
	out := make([]*fairwayv1.CatalogueEntry, len(ds))
	for i, d := range ds {
		out[i] = Entry(o, d)
	}
	return out
}

// Words the synthetic datasets are written with.
var (
	facilities = []string{"ESRF", "ILL", "ESS", "EuXFEL", "PSI", "MAXIV", "SOLEIL", "ELETTRA", "HZDR", "DESY"}
	subjects   = []string{"bone", "battery", "catalyst", "protein", "magnet", "alloy", "polymer", "cement", "meteorite", "perovskite",
		"graphene", "zeolite", "enzyme", "virus", "superconductor", "thin film", "liquid crystal", "glass", "soil", "fossil"}
	methods = []string{"tomography", "diffraction", "small angle scattering", "spectroscopy", "reflectometry", "imaging",
		"inelastic scattering", "crystallography", "fluorescence mapping", "ptychography"}
	fillers = []string{"measured", "at", "room", "temperature", "under", "pressure", "in", "situ", "operando", "high",
		"resolution", "time", "resolved", "study", "of", "the", "sample", "series", "beamline", "data"}
	techniqueIDs = []string{"PaNET01208", "PaNET01207", "PaNET01145", "PaNET01188", "PaNET01129", "PaNET01022", "PaNET01196",
		"PaNET01012", "PaNET01151", "PaNET01154"}
	licences = []string{"CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0", "ESRF data policy"}
)

// Synthetic returns n datasets of random but plausible content, numbered
// from first on (their keys and DOIs hold the number, so that the sets of
// two calls with ranges apart are apart); the content is the same for the
// same first.
func Synthetic(n int, first uint64) []Dataset {
	seed := first
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	out := make([]Dataset, n)
	start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	for j := range out {
		i := int(first) + j
		fac := pick(facilities)
		subject, method := pick(subjects), pick(methods)
		var desc strings.Builder
		for k := 0; k < 30+r.IntN(40); k++ {
			if k > 0 {
				desc.WriteByte(' ')
			}
			if r.IntN(8) == 0 {
				desc.WriteString(pick(subjects))
			} else {
				desc.WriteString(pick(fillers))
			}
		}
		d := Dataset{
			Key: fmt.Sprintf("%s-%08d", strings.ToLower(fac), i), Facility: fac, DOI: fmt.Sprintf("10.9999/%s.%d", fac, i),
			Title:       fmt.Sprintf("%s of %s %d", method, subject, i%997),
			Description: desc.String(), Instrument: fmt.Sprintf("%s-BL%02d", fac, r.IntN(30)),
			Licence: pick(licences), Access: Public, Keywords: []string{subject, method},
			Creators: []string{fmt.Sprintf("Scientist %d", r.IntN(5000))}, Samples: []string{subject + " sample"},
			Techniques: []string{pick(techniqueIDs)}, Quality: float64(r.IntN(101)) / 100,
			At: start.Add(time.Duration(r.Int64N(int64(10 * 365 * 24 * time.Hour)))).Truncate(time.Second),
		}
		if r.IntN(5) == 0 {
			d.Access = Restricted
		}
		d.Issued = d.At.Add(-time.Duration(r.Int64N(int64(90 * 24 * time.Hour))))
		out[j] = d
	}
	return out
}
