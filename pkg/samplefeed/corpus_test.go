package samplefeed

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/metadata"
)

func TestCorpusDeterministic(t *testing.T) {
	c := NewCorpus(7, 500)
	for _, i := range []int{0, 1, 16, 17, 250, 499} {
		if a, b := c.Record(i), c.Record(i); !reflect.DeepEqual(a, b) {
			t.Errorf("Record(%d) differs between calls", i)
		}
	}
	other := NewCorpus(8, 500)
	same := 0
	for i := 0; i < 100; i++ {
		if c.Record(i).Title == other.Record(i).Title && c.Record(i).Description == other.Record(i).Description {
			same++
		}
	}
	if same > 20 {
		t.Errorf("%d of 100 records identical across seeds", same)
	}
}

func TestCorpusStructure(t *testing.T) {
	c := NewCorpus(3, 5000)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	deleted, embargoed, live := 0, 0, 0
	styles := map[string]int{}
	facilities := map[string]int{}
	creators := map[int]int{}
	for i := 0; i < c.Size; i++ {
		r := c.Record(i)
		if i > 0 && !r.Datestamp.After(prev) {
			t.Fatalf("datestamp of %d (%v) not after %v", i, r.Datestamp, prev)
		}
		prev = r.Datestamp
		facilities[r.Facility.Slug]++
		if r.Deleted != (i%17 == 16) {
			t.Fatalf("record %d: Deleted = %v", i, r.Deleted)
		}
		if r.Deleted {
			deleted++
			if r.Title != "" || r.Creators != nil {
				t.Errorf("deleted record %d has content", i)
			}
			continue
		}
		live++
		if !strings.HasPrefix(r.DOI, "10.5072/"+r.Facility.Slug+".") || r.Identifier != IdentifierPrefix+r.DOI {
			t.Errorf("record %d: DOI %q, identifier %q", i, r.DOI, r.Identifier)
		}
		if n := len(r.Creators); n < 1 || n > 4 {
			t.Errorf("record %d: %d creators", i, n)
		}
		creators[len(r.Creators)]++
		for _, cr := range r.Creators {
			if cr.GivenName == "" || cr.FamilyName == "" || cr.Affiliation != r.Facility.Name {
				t.Errorf("record %d: creator %+v", i, cr)
			}
			if cr.ORCID != "" && !metadata.ValidORCID(cr.ORCID) {
				t.Errorf("record %d: invalid ORCID %q", i, cr.ORCID)
			}
		}
		if n := len(r.Techniques); n < 1 || n > 2 {
			t.Errorf("record %d: %d techniques", i, n)
		}
		if !strings.Contains(r.Title, r.Techniques[0].Display) || !strings.HasSuffix(r.Title, " at "+r.Instrument) || !strings.Contains(r.Title, r.Sample) {
			t.Errorf("record %d: title %q", i, r.Title)
		}
		if s := strings.Count(r.Description, ". "); s < 1 || s > 2 {
			t.Errorf("record %d: description has %d+1 sentences: %q", i, s, r.Description)
		}
		if r.Created.After(r.Issued) || r.PublicationYear != r.Issued.Year() {
			t.Errorf("record %d: created %v, issued %v, year %d", i, r.Created, r.Issued, r.PublicationYear)
		}
		if r.Embargoed() {
			embargoed++
			if r.EmbargoEnd.Before(r.Issued.AddDate(2, 0, 0)) {
				t.Errorf("record %d: embargo ends %v, issued %v", i, r.EmbargoEnd, r.Issued)
			}
		}
		// every technique appears in the subjects in one of three forms
		for _, tech := range r.Techniques {
			found := ""
			for _, s := range r.Subjects {
				switch {
				case s.Scheme == "PaNET" && s.ValueURI == tech.IRI() && s.Value == tech.Label:
					found = "iri"
				case s.Scheme == "" && s.Value == tech.ID:
					found = "id"
				case s.Scheme == "" && (s.Value == tech.Display || (tech.Acronym != "" && s.Value == tech.Acronym)):
					found = "label"
				}
				if found != "" {
					break
				}
			}
			if found == "" {
				t.Errorf("record %d: technique %s not in subjects %+v", i, tech.ID, r.Subjects)
			}
			styles[found]++
		}
		if r.RelatedPublication != nil && r.RelatedPublication.RelationType != "IsCitedBy" && r.RelatedPublication.RelationType != "IsSupplementTo" {
			t.Errorf("record %d: relation %+v", i, r.RelatedPublication)
		}
	}
	if deleted != c.DeletedCount() || deleted != 5000/17 {
		t.Errorf("%d deleted, DeletedCount %d", deleted, c.DeletedCount())
	}
	if share := float64(embargoed) / float64(live); share < 0.16 || share > 0.24 {
		t.Errorf("embargoed share %.3f, want about 0.20", share)
	}
	for _, st := range []string{"iri", "id", "label"} {
		if styles[st] < 500 {
			t.Errorf("subject style %s used %d times: %v", st, styles[st], styles)
		}
	}
	if len(facilities) != len(Facilities) {
		t.Errorf("facilities used: %v", facilities)
	}
	for n := 1; n <= 4; n++ {
		if creators[n] == 0 {
			t.Errorf("no record with %d creators: %v", n, creators)
		}
	}
}

func TestCorpusSingleFacility(t *testing.T) {
	c := Corpus{Seed: 1, Size: 50, Facility: "ill", BaseDate: time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC), Step: time.Minute}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < c.Size; i++ {
		r := c.Record(i)
		if r.Facility.Slug != "ill" || r.Deleted {
			t.Fatalf("record %d: facility %s, deleted %v", i, r.Facility.Slug, r.Deleted)
		}
	}
	if got := c.Datestamp(3); !got.Equal(time.Date(2020, 5, 1, 12, 3, 0, 0, time.UTC)) {
		t.Errorf("Datestamp(3) = %v", got)
	}
	if got := c.Facilities(); len(got) != 1 || got[0].Acronym != "ILL" {
		t.Errorf("Facilities = %v", got)
	}
}

func TestCorpusValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Corpus
		ok   bool
	}{
		{"default", NewCorpus(1, 10), true},
		{"empty", Corpus{}, true},
		{"negative size", Corpus{Size: -1}, false},
		{"negative deleted", Corpus{DeletedEvery: -2}, false},
		{"unknown facility", Corpus{Facility: "cern"}, false},
		{"sub-second step", Corpus{Step: 1500 * time.Millisecond}, false},
		{"negative step", Corpus{Step: -time.Second}, false},
	}
	for _, tt := range tests {
		if err := tt.c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}

func TestCorpusIndexOf(t *testing.T) {
	c := NewCorpus(1, 100)
	for i := 0; i < c.Size; i++ {
		if got, ok := c.IndexOf(c.Identifier(i)); !ok || got != i {
			t.Fatalf("IndexOf(%q) = %d, %v", c.Identifier(i), got, ok)
		}
	}
	for _, id := range []string{
		"", "oai:sample.fairway:10.5072/esrf.100", "oai:sample.fairway:10.5072/ill.0",
		"oai:sample.fairway:10.5072/esrf.08", "oai:sample.fairway:10.5072/esrf.", "oai:sample.fairway:10.5072/esrf.-8",
		"oai:other:10.5072/esrf.0", "oai:sample.fairway:10.1234/esrf.0", "oai:sample.fairway:10.5072/esrf",
	} {
		if i, ok := c.IndexOf(id); ok {
			t.Errorf("IndexOf(%q) = %d, true", id, i)
		}
	}
}

// The PaNET ids and labels must be those of the ontology.
func TestTechniquesMatchPaNET(t *testing.T) {
	f, err := os.Open(filepath.Join(testenv.SharedData(t), "panet", "PaNET-v1.3.0-reasoned.owl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const (
		owlNS  = "http://www.w3.org/2002/07/owl#"
		rdfNS  = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
		rdfsNS = "http://www.w3.org/2000/01/rdf-schema#"
	)
	labels := map[string][]string{}
	d := xml.NewDecoder(f)
	depth := 0
	class := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch se := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && se.Name.Space == owlNS && se.Name.Local == "Class" {
				for _, a := range se.Attr {
					if a.Name.Space == rdfNS && a.Name.Local == "about" {
						class = strings.TrimPrefix(a.Value, PaNETBase)
					}
				}
			}
			if depth == 3 && class != "" && se.Name.Space == rdfsNS && se.Name.Local == "label" {
				var s string
				if err := d.DecodeElement(&s, &se); err != nil {
					t.Fatal(err)
				}
				labels[class] = append(labels[class], s)
				depth--
			}
		case xml.EndElement:
			if depth == 2 {
				class = ""
			}
			depth--
		}
	}
	if len(labels) < 500 {
		t.Fatalf("only %d labelled classes read from the ontology", len(labels))
	}
	for _, tech := range Techniques {
		got := labels[tech.ID]
		if len(got) != 1 || got[0] != tech.Label {
			t.Errorf("%s: ontology labels %q, table says %q", tech.ID, got, tech.Label)
		}
	}
	for _, fac := range Facilities {
		for _, inst := range fac.Instruments {
			if len(inst.Techniques) == 0 {
				t.Errorf("%s %s has no technique", fac.Acronym, inst.Name)
			}
			for _, id := range inst.Techniques {
				if _, ok := TechniqueByID(id); !ok {
					t.Errorf("%s %s: technique %s not in the table", fac.Acronym, inst.Name, id)
				}
			}
		}
	}
}
