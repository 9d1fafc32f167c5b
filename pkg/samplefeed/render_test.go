package samplefeed

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/panosc/fairway/pkg/metadata"
)

type dataciteResource struct {
	XMLName    xml.Name
	Identifier struct {
		Type  string `xml:"identifierType,attr"`
		Value string `xml:",chardata"`
	} `xml:"identifier"`
	Creators []struct {
		Name           string `xml:"creatorName"`
		Given          string `xml:"givenName"`
		Family         string `xml:"familyName"`
		NameIdentifier struct {
			Scheme string `xml:"nameIdentifierScheme,attr"`
			Value  string `xml:",chardata"`
		} `xml:"nameIdentifier"`
		Affiliation string `xml:"affiliation"`
	} `xml:"creators>creator"`
	Titles          []string `xml:"titles>title"`
	Publisher       string   `xml:"publisher"`
	PublicationYear int      `xml:"publicationYear"`
	ResourceType    struct {
		General string `xml:"resourceTypeGeneral,attr"`
	} `xml:"resourceType"`
	Subjects []struct {
		Scheme   string `xml:"subjectScheme,attr"`
		ValueURI string `xml:"valueURI,attr"`
		Value    string `xml:",chardata"`
	} `xml:"subjects>subject"`
	Dates []struct {
		Type  string `xml:"dateType,attr"`
		Value string `xml:",chardata"`
	} `xml:"dates>date"`
	Related []struct {
		Type     string `xml:"relatedIdentifierType,attr"`
		Relation string `xml:"relationType,attr"`
		Value    string `xml:",chardata"`
	} `xml:"relatedIdentifiers>relatedIdentifier"`
	Sizes  []string `xml:"sizes>size"`
	Rights []struct {
		URI string `xml:"rightsURI,attr"`
		ID  string `xml:"rightsIdentifier,attr"`
	} `xml:"rightsList>rights"`
	Descriptions []struct {
		Type  string `xml:"descriptionType,attr"`
		Value string `xml:",chardata"`
	} `xml:"descriptions>description"`
}

type oaiDataCite struct {
	XMLName       xml.Name
	SchemaVersion string           `xml:"schemaVersion"`
	DataCentre    string           `xml:"datacentreSymbol"`
	Resource      dataciteResource `xml:"payload>resource"`
}

func checkResource(t *testing.T, r SampleRecord, res dataciteResource) {
	t.Helper()
	if res.XMLName.Space != NamespaceDataCite || res.XMLName.Local != "resource" {
		t.Errorf("root %v", res.XMLName)
	}
	if res.Identifier.Type != "DOI" || res.Identifier.Value != r.DOI {
		t.Errorf("identifier %+v", res.Identifier)
	}
	if len(res.Creators) != len(r.Creators) {
		t.Fatalf("%d creators, want %d", len(res.Creators), len(r.Creators))
	}
	for k, c := range res.Creators {
		want := r.Creators[k]
		if c.Given != want.GivenName || c.Family != want.FamilyName || c.Name != want.FamilyName+", "+want.GivenName || c.Affiliation != want.Affiliation {
			t.Errorf("creator %d = %+v, want %+v", k, c, want)
		}
		if want.ORCID != "" && (c.NameIdentifier.Scheme != "ORCID" || c.NameIdentifier.Value != "https://orcid.org/"+want.ORCID || !metadata.ValidORCID(c.NameIdentifier.Value)) {
			t.Errorf("creator %d ORCID %+v", k, c.NameIdentifier)
		}
	}
	if len(res.Titles) != 1 || res.Titles[0] != r.Title || res.Publisher != r.Facility.Name || res.PublicationYear != r.PublicationYear {
		t.Errorf("title %q, publisher %q, year %d", res.Titles, res.Publisher, res.PublicationYear)
	}
	if res.ResourceType.General != "Dataset" {
		t.Errorf("resourceTypeGeneral %q", res.ResourceType.General)
	}
	if len(res.Subjects) != len(r.Subjects) {
		t.Errorf("%d subjects, want %d", len(res.Subjects), len(r.Subjects))
	}
	dates := map[string]string{}
	for _, d := range res.Dates {
		dates[d.Type] = d.Value
	}
	if dates["Collected"] != r.Created.Format("2006-01-02")+"/"+r.CollectedEnd.Format("2006-01-02") || r.CollectedEnd.Before(r.Created) {
		t.Errorf("collected %q", dates["Collected"])
	}
	if dates["Issued"] != r.Issued.Format("2006-01-02") || dates["Created"] != r.Created.Format("2006-01-02") {
		t.Errorf("dates %v", dates)
	}
	if r.Embargoed() {
		if dates["Available"] != r.EmbargoEnd.Format("2006-01-02") || len(res.Rights) != 1 || res.Rights[0].URI != RightsEmbargoedAccess {
			t.Errorf("embargoed: dates %v, rights %+v", dates, res.Rights)
		}
	} else if _, ok := dates["Available"]; ok || len(res.Rights) != 1 || res.Rights[0].ID != LicenseCCBY4SPDX {
		t.Errorf("open: dates %v, rights %+v", dates, res.Rights)
	}
	if (r.RelatedPublication != nil) != (len(res.Related) == 1) {
		t.Errorf("related %+v", res.Related)
	} else if r.RelatedPublication != nil && (res.Related[0].Value != r.RelatedPublication.Identifier || res.Related[0].Relation != r.RelatedPublication.RelationType) {
		t.Errorf("related %+v", res.Related)
	}
	if len(res.Sizes) != 1 || res.Sizes[0] != r.Size {
		t.Errorf("sizes %q, want %q", res.Sizes, r.Size)
	}
	if len(res.Descriptions) != 1 || res.Descriptions[0].Value != r.Description || res.Descriptions[0].Type != "Abstract" {
		t.Errorf("descriptions %+v", res.Descriptions)
	}
}

func TestDataCiteXML(t *testing.T) {
	c := NewCorpus(11, 400)
	sawEmbargo, sawRelated := false, false
	for i := 0; i < c.Size; i++ {
		r := c.Record(i)
		if r.Deleted {
			if r.DataCiteXML() != nil || r.OAIDataCiteXML() != nil || r.DublinCoreXML() != nil {
				t.Errorf("deleted record %d rendered metadata", i)
			}
			continue
		}
		sawEmbargo = sawEmbargo || r.Embargoed()
		sawRelated = sawRelated || r.RelatedPublication != nil

		var bare dataciteResource
		if err := xml.Unmarshal(r.DataCiteXML(), &bare); err != nil {
			t.Fatalf("record %d: DataCiteXML does not parse: %v", i, err)
		}
		checkResource(t, r, bare)

		var env oaiDataCite
		doc := r.OAIDataCiteXML()
		if err := xml.Unmarshal(doc, &env); err != nil {
			t.Fatalf("record %d: OAIDataCiteXML does not parse: %v", i, err)
		}
		if env.XMLName.Space != NamespaceOAIDataCite || env.XMLName.Local != "oai_datacite" || env.SchemaVersion != "4" || env.DataCentre != r.Facility.DataCentre {
			t.Errorf("record %d: envelope %v %q %q", i, env.XMLName, env.SchemaVersion, env.DataCentre)
		}
		checkResource(t, r, env.Resource)
		if !bytes.Contains(doc, []byte(`xsi:schemaLocation="`+NamespaceDataCite)) {
			t.Errorf("record %d: no kernel-4 schemaLocation", i)
		}
	}
	if !sawEmbargo || !sawRelated {
		t.Errorf("no embargoed (%v) or related (%v) record among 400", sawEmbargo, sawRelated)
	}
}

func TestDataCiteSize(t *testing.T) {
	c := NewCorpus(5, 2000)
	total, n := 0, 0
	for i := 0; i < c.Size; i++ {
		if r := c.Record(i); !r.Deleted {
			total += len(r.OAIDataCiteXML())
			n++
		}
	}
	avg := total / n
	t.Logf("average oai_datacite record: %d bytes", avg)
	// A contact point, a collection period, a proposal and a format name
	// came on top of the 2.2-2.6 KB records of earlier versions.
	if avg < 2200 || avg > 3600 {
		t.Errorf("average oai_datacite record %d bytes, want about 2.8-3.3 KB", avg)
	}
}

func TestDublinCoreXML(t *testing.T) {
	type dc struct {
		XMLName     xml.Name
		Titles      []string `xml:"title"`
		Creators    []string `xml:"creator"`
		Subjects    []string `xml:"subject"`
		Identifiers []string `xml:"identifier"`
		Dates       []string `xml:"date"`
		Rights      []string `xml:"rights"`
		Types       []string `xml:"type"`
	}
	c := NewCorpus(2, 300)
	for i := 0; i < c.Size; i++ {
		r := c.Record(i)
		if r.Deleted {
			continue
		}
		var got dc
		if err := xml.Unmarshal(r.DublinCoreXML(), &got); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got.XMLName.Space != NamespaceOAIDC || got.XMLName.Local != "dc" {
			t.Errorf("root %v", got.XMLName)
		}
		if len(got.Titles) != 1 || got.Titles[0] != r.Title || len(got.Creators) != len(r.Creators) ||
			len(got.Identifiers) != 1 || got.Identifiers[0] != "https://doi.org/"+r.DOI || got.Types[0] != "Dataset" {
			t.Errorf("record %d: %+v", i, got)
		}
		wantRights := RightsOpenAccess
		if r.Embargoed() {
			wantRights = RightsEmbargoedAccess
			if !strings.Contains(strings.Join(got.Dates, " "), "info:eu-repo/date/embargoEnd/"+r.EmbargoEnd.Format("2006-01-02")) {
				t.Errorf("record %d: dates %v", i, got.Dates)
			}
		}
		if got.Rights[0] != wantRights {
			t.Errorf("record %d: rights %v", i, got.Rights)
		}
		// PaNET IRIs are given as such
		for _, s := range r.Subjects {
			if s.ValueURI != "" && !strings.Contains(strings.Join(got.Subjects, "|"), s.ValueURI) {
				t.Errorf("record %d: subject %s missing", i, s.ValueURI)
			}
		}
	}
}

func TestAppendEscaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`O'Connor & <Sons> "Ltd"`, "O&#39;Connor &amp; &lt;Sons&gt; &#34;Ltd&#34;"},
		{"Müller\tß\n", "Müller&#x9;ß&#xA;"},
		{"bad\x01\xffend\uFFFE", "bad\uFFFD\uFFFDend\uFFFD"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(appendEscaped([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("appendEscaped(%q) = %q, want %q", tt.in, got, "x"+tt.want)
		}
		// and the result is valid XML text
		var s string
		if err := xml.Unmarshal([]byte("<a>"+string(appendEscaped(nil, tt.in))+"</a>"), &s); err != nil {
			t.Errorf("escaped %q does not parse: %v", tt.in, err)
		}
	}
}
