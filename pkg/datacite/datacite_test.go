package datacite_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/datacite"
	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/xmltree"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// kernel3 is a DataCite kernel-3 record as ESRF-style repositories wrote them.
const kernel3 = `<resource xmlns="http://datacite.org/schema/kernel-3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://datacite.org/schema/kernel-3 http://schema.datacite.org/meta/kernel-3/metadata.xsd">
  <identifier identifierType="DOI">10.15151/ESRF-DC-12345</identifier>
  <creators>
    <creator>
      <creatorName>Doe, Jane</creatorName>
      <nameIdentifier nameIdentifierScheme="ORCID" schemeURI="http://orcid.org/">0000-0002-1825-0097</nameIdentifier>
      <affiliation>ESRF</affiliation>
      <affiliation>UGA</affiliation>
    </creator>
  </creators>
  <titles><title xml:lang="en">Powder diffraction of silicon</title></titles>
  <publisher>ESRF</publisher>
  <publicationYear>2016</publicationYear>
  <subjects>
    <subject subjectScheme="PaNET" schemeURI="http://purl.org/pan-science/PaNET/">PaNET01102</subject>
    <subject subjectScheme="ESRF instrument">ID22</subject>
  </subjects>
  <contributors>
    <contributor contributorType="DataCollector"><contributorName>Smith, John</contributorName></contributor>
  </contributors>
  <dates><date dateType="Available">2019-00-00</date></dates>
  <language>en</language>
  <resourceType resourceTypeGeneral="dataset">Raw data</resourceType>
  <rightsList>
    <rights rightsURI="info:eu-repo/semantics/openAccess">Open Access</rights>
    <rights rightsURI="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</rights>
  </rightsList>
  <descriptions><description descriptionType="Abstract">Raw powder patterns.</description></descriptions>
</resource>`

// kernel4 is a rich kernel-4 record inside an oai_datacite envelope whose
// elements carry prefixes, and whose xsi prefix is declared on an ancestor
// that is not part of the payload.
const kernel4 = `<oai:oai_datacite xmlns:oai="http://schema.datacite.org/oai/oai-1.1/" xsi:schemaLocation="http://schema.datacite.org/oai/oai-1.1/ http://schema.datacite.org/oai/oai-1.1/oai.xsd">
  <oai:schemaVersion>4.4</oai:schemaVersion>
  <oai:datacentreSymbol>ESRF.DATA</oai:datacentreSymbol>
  <oai:payload>
    <dc:resource xmlns:dc="http://datacite.org/schema/kernel-4">
      <dc:identifier identifierType="DOI">https://doi.org/10.15151/ESRF-ES-90632078</dc:identifier>
      <dc:creators>
        <dc:creator>
          <dc:creatorName nameType="Personal">Fenner, Martin</dc:creatorName>
          <dc:givenName>Martin</dc:givenName>
          <dc:familyName>Fenner</dc:familyName>
          <dc:nameIdentifier nameIdentifierScheme="ORCID" schemeURI="https://orcid.org">
            https://orcid.org/0000-0003-1419-2405</dc:nameIdentifier>
          <dc:affiliation affiliationIdentifier="https://ror.org/04wxnsj81" affiliationIdentifierScheme="ROR">DataCite
          </dc:affiliation>
        </dc:creator>
        <dc:creator>
          <dc:creatorName nameType="Organizational">European Synchrotron Radiation Facility</dc:creatorName>
          <dc:affiliation affiliationIdentifier="https://ror.org/02550n020"/>
        </dc:creator>
      </dc:creators>
      <dc:titles>
        <dc:title titleType="Subtitle">A subtitle</dc:title>
        <dc:title xml:lang="en">Tomography of a rat lung</dc:title>
        <dc:title titleType="TranslatedTitle" xml:lang="fr">Tomographie</dc:title>
      </dc:titles>
      <dc:publisher>ESRF (European Synchrotron Radiation Facility)</dc:publisher>
      <dc:publicationYear>2021</dc:publicationYear>
      <dc:resourceType resourceTypeGeneral="Dataset">Experimental data</dc:resourceType>
      <dc:subjects>
        <dc:subject subjectScheme="PaNET" schemeURI="http://purl.org/pan-science/PaNET/" valueURI="http://purl.org/pan-science/PaNET/PaNET01207">phase contrast tomography</dc:subject>
        <dc:subject>PaNET01188</dc:subject>
        <dc:subject xml:lang="en" subjectScheme="keywords">lung</dc:subject>
      </dc:subjects>
      <dc:contributors>
        <dc:contributor contributorType="ContactPerson">
          <dc:contributorName>Doe, Jane</dc:contributorName>
          <dc:nameIdentifier nameIdentifierScheme="ORCID">0000000218250097</dc:nameIdentifier>
        </dc:contributor>
        <dc:contributor contributorType="HostingInstitution">
          <dc:contributorName nameType="Organizational">ESRF</dc:contributorName>
        </dc:contributor>
      </dc:contributors>
      <dc:dates>
        <dc:date dateType="Created">2020-11-03</dc:date>
        <dc:date dateType="Issued">2021-03-04T10:00:00+01:00</dc:date>
        <dc:date dateType="Updated">2021-05-01</dc:date>
        <dc:date dateType="Updated">2022-06-30T12:00:00Z</dc:date>
        <dc:date dateType="Available">2024-03-04/2024-03-05</dc:date>
        <dc:date dateType="Collected" dateInformation="beamtime">2020-11-01/2020-11-03</dc:date>
      </dc:dates>
      <dc:language>en</dc:language>
      <dc:alternateIdentifiers>
        <dc:alternateIdentifier alternateIdentifierType="URL">https://data.esrf.fr/doi/10.15151/ESRF-ES-90632078</dc:alternateIdentifier>
      </dc:alternateIdentifiers>
      <dc:relatedIdentifiers>
        <dc:relatedIdentifier relatedIdentifierType="DOI" relationType="IsSupplementTo">https://doi.org/10.1007/S00418-020-01868-8</dc:relatedIdentifier>
        <dc:relatedIdentifier relatedIdentifierType="URL" relationType="IsCollectedBy" resourceTypeGeneral="Instrument">https://w3id.org/pidinst/ESRF-BM05</dc:relatedIdentifier>
      </dc:relatedIdentifiers>
      <dc:sizes><dc:size>12 GB</dc:size></dc:sizes>
      <dc:formats><dc:format>application/x-hdf5</dc:format></dc:formats>
      <dc:version>1.0</dc:version>
      <dc:rightsList>
        <dc:rights rightsURI="https://creativecommons.org/licenses/by/4.0/legalcode" rightsIdentifier="cc-by-4.0" rightsIdentifierScheme="SPDX">Creative Commons Attribution 4.0 International</dc:rights>
        <dc:rights rightsURI="info:eu-repo/semantics/embargoedAccess"/>
      </dc:rightsList>
      <dc:descriptions>
        <dc:description descriptionType="TechnicalInfo">Voxel size 0.65 µm.</dc:description>
        <dc:description descriptionType="Abstract">Synchrotron tomography
          of an intact lung.<br/>Second paragraph.</dc:description>
      </dc:descriptions>
      <dc:fundingReferences>
        <dc:fundingReference>
          <dc:funderName>European Commission</dc:funderName>
          <dc:funderIdentifier funderIdentifierType="Crossref Funder ID">https://doi.org/10.13039/501100000780</dc:funderIdentifier>
          <dc:awardNumber awardURI="https://cordis.europa.eu/project/id/823852">823852</dc:awardNumber>
          <dc:awardTitle>PaNOSC</dc:awardTitle>
        </dc:fundingReference>
      </dc:fundingReferences>
    </dc:resource>
  </oai:payload>
</oai:oai_datacite>`

func TestParseSamples(t *testing.T) {
	for _, file := range []string{"oai_getrecord_datacite.xml", "oai_getrecord_oaidatacite.xml"} {
		t.Run(file, func(t *testing.T) {
			payloads := testenv.MetadataPayloads(t, "oai-samples", "datacite-viringo", file)
			r, err := datacite.Parse(payloads[0])
			if err != nil {
				t.Fatal(err)
			}
			if r.SchemaVersion != "4" {
				t.Errorf("SchemaVersion = %q", r.SchemaVersion)
			}
			if r.Identifier != "10.5072/not-a-real-doi" || r.IdentifierType != "DOI" {
				t.Errorf("identifier = %q (%q)", r.Identifier, r.IdentifierType)
			}
			want := []datacite.Name{
				{Name: "Fenner, Martin", NameType: "Personal", GivenName: "Martin", FamilyName: "Fenner", ORCID: "0000-0003-1419-2405",
					NameIdentifiers: []datacite.NameIdentifier{{Value: "https://orcid.org/0000-0003-1419-2405", Scheme: "ORCID", SchemeURI: "https://orcid.org"}},
					Affiliations:    []string{"DataCite"}, AffiliationROR: "https://ror.org/04wxnsj81"},
				{Name: "Hallett, Richard", NameType: "Personal", GivenName: "Richard", FamilyName: "Hallett", ORCID: "0000-0002-8599-0773",
					NameIdentifiers: []datacite.NameIdentifier{{Value: "https://orcid.org/0000-0002-8599-0773", Scheme: "ORCID", SchemeURI: "https://orcid.org"}},
					Affiliations:    []string{"DataCite"}, AffiliationROR: "https://ror.org/04wxnsj81"},
			}
			if !reflect.DeepEqual(r.Creators, want) {
				t.Errorf("Creators = %+v", r.Creators)
			}
			if r.Title() != "This is a fake DOI with fake metadata." || r.Publisher != "DataCite" || r.PublicationYear != 2018 {
				t.Errorf("title %q publisher %q year %d", r.Title(), r.Publisher, r.PublicationYear)
			}
			if r.ResourceType != "BlogPosting" || r.ResourceTypeGeneral != "Text" || r.Version != "1.0" {
				t.Errorf("resource type %q/%q version %q", r.ResourceType, r.ResourceTypeGeneral, r.Version)
			}
			wantDates := []datacite.Date{{Value: "2018-01-18", Type: "Issued"}, {Value: "2018-01-18", Type: "Created"}, {Value: "2018-01-18", Type: "Updated"}}
			if !reflect.DeepEqual(r.Dates, wantDates) {
				t.Errorf("Dates = %+v", r.Dates)
			}
			wantRel := []datacite.RelatedIdentifier{{Value: "10.5072/related-not-a-real-doi", Type: "DOI", RelationType: "IsPartOf", ResourceTypeGeneral: "Text"}}
			if !reflect.DeepEqual(r.RelatedIdentifiers, wantRel) {
				t.Errorf("RelatedIdentifiers = %+v", r.RelatedIdentifiers)
			}
			if len(r.RightsList) != 0 {
				t.Errorf("empty <rights/> kept: %+v", r.RightsList)
			}
			if len(r.Subjects) != 1 || r.Subjects[0].Value != "datacite" {
				t.Errorf("Subjects = %+v", r.Subjects)
			}
		})
	}
}

func TestParseEnvelopes(t *testing.T) {
	body := `<identifier identifierType="DOI">10.5072/X</identifier><titles><title>T</title></titles>`
	tests := []struct {
		name, payload, version, space, centre string
	}{
		{"kernel 4", `<resource xmlns="http://datacite.org/schema/kernel-4">` + body + `</resource>`, "4", "http://datacite.org/schema/kernel-4", ""},
		{"kernel 3", `<resource xmlns="http://datacite.org/schema/kernel-3">` + body + `</resource>`, "3", "http://datacite.org/schema/kernel-3", ""},
		{"kernel 2.2", `<resource xmlns="http://datacite.org/schema/kernel-2.2">` + body + `</resource>`, "2.2", "http://datacite.org/schema/kernel-2.2", ""},
		{"wrong namespace", `<resource xmlns="http://www.openarchives.org/OAI/2.0/">` + body + `</resource>`, "", "http://www.openarchives.org/OAI/2.0/", ""},
		{"missing namespace", `<resource>` + body + `</resource>`, "", "", ""},
		{"undeclared prefix", `<datacite:resource xsi:schemaLocation="a b">` + strings.NewReplacer("</", "</datacite:", "<", "<datacite:").Replace(body) + `</datacite:resource>`, "", "datacite", ""},
		{"oai_datacite", `<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"><schemaVersion>3</schemaVersion><datacentreSymbol>CERN.ZENODO</datacentreSymbol><payload><resource xmlns="http://datacite.org/schema/kernel-3">` + body + `</resource></payload></oai_datacite>`, "3", "http://datacite.org/schema/kernel-3", "CERN.ZENODO"},
		{"oai_datacite without namespaces", `<oai_datacite><schemaVersion>4</schemaVersion><datacentreSymbol>X.Y</datacentreSymbol><payload><resource>` + body + `</resource></payload></oai_datacite>`, "4", "", "X.Y"},
		{"metadata wrapper", `<metadata><oai_datacite><payload><resource>` + body + `</resource></payload></oai_datacite></metadata>`, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := datacite.Parse([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if r.Identifier != "10.5072/X" || r.Title() != "T" {
				t.Errorf("identifier %q title %q", r.Identifier, r.Title())
			}
			if r.SchemaVersion != tt.version || r.Namespace != tt.space || r.DatacentreSymbol != tt.centre {
				t.Errorf("version %q namespace %q centre %q", r.SchemaVersion, r.Namespace, r.DatacentreSymbol)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, payload string
		notDataCite   bool
		reason        string
	}{
		{"empty", "", false, "empty payload"},
		{"garbage", "this is not XML", false, "outside the root"},
		{"truncated", "<resource><titles><title>broken", false, "unexpected EOF"},
		{"oai_dc", `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"><dc:title>T</dc:title></oai_dc:dc>`, true, "root element <dc>"},
		{"oai_datacite without payload", `<oai_datacite><schemaVersion>4</schemaVersion></oai_datacite>`, false, "without <payload>"},
		{"oai_datacite with empty payload", `<oai_datacite><payload><other/></payload></oai_datacite>`, false, "without <resource>"},
		{"wrapper without resource", `<metadata><record/></metadata>`, true, "root element <metadata>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := datacite.Parse([]byte(tt.payload))
			if r != nil || !errors.Is(err, datacite.ErrMalformed) {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", r, err)
			}
			if errors.Is(err, datacite.ErrNotDataCite) != tt.notDataCite {
				t.Errorf("errors.Is(ErrNotDataCite) = %v, want %v (%v)", !tt.notDataCite, tt.notDataCite, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want it to say %q", err, tt.reason)
			}
		})
	}
	// The XML error is kept for errors.Is / errors.As.
	_, err := datacite.Parse([]byte("<a>"))
	if !errors.Is(err, xmltree.ErrMalformed) {
		t.Errorf("err = %v, want it to wrap xmltree.ErrMalformed", err)
	}
}

func TestParseKernel4Fields(t *testing.T) {
	r, err := datacite.Parse([]byte(kernel4))
	if err != nil {
		t.Fatal(err)
	}
	if r.SchemaVersion != "4.4" || r.DatacentreSymbol != "ESRF.DATA" {
		t.Errorf("envelope: %q %q", r.SchemaVersion, r.DatacentreSymbol)
	}
	if len(r.Creators) != 2 || r.Creators[1].Name != "European Synchrotron Radiation Facility" ||
		!reflect.DeepEqual(r.Creators[1].Affiliations, []string{"https://ror.org/02550n020"}) {
		t.Errorf("Creators = %+v", r.Creators)
	}
	if c := r.Contributors; len(c) != 2 || c[0].ContributorType != "ContactPerson" || c[0].ORCID != "0000-0002-1825-0097" || c[1].NameType != "Organizational" {
		t.Errorf("Contributors = %+v", c)
	}
	if len(r.Titles) != 3 || r.Titles[0].Type != "Subtitle" || r.Titles[2].Lang != "fr" || r.Title() != "Tomography of a rat lung" {
		t.Errorf("Titles = %+v", r.Titles)
	}
	if s := r.Subjects; len(s) != 3 || s[0].ValueURI != "http://purl.org/pan-science/PaNET/PaNET01207" || s[2].Lang != "en" || s[2].Scheme != "keywords" {
		t.Errorf("Subjects = %+v", s)
	}
	if d := r.Dates[5]; d.Type != "Collected" || d.Information != "beamtime" {
		t.Errorf("Dates[5] = %+v", d)
	}
	if !reflect.DeepEqual(r.AlternateIdentifiers, []datacite.AlternateIdentifier{{Value: "https://data.esrf.fr/doi/10.15151/ESRF-ES-90632078", Type: "URL"}}) {
		t.Errorf("AlternateIdentifiers = %+v", r.AlternateIdentifiers)
	}
	if !reflect.DeepEqual(r.Sizes, []string{"12 GB"}) || !reflect.DeepEqual(r.Formats, []string{"application/x-hdf5"}) || r.Language != "en" {
		t.Errorf("sizes %v formats %v language %q", r.Sizes, r.Formats, r.Language)
	}
	wantRights := []datacite.Rights{
		{Value: "Creative Commons Attribution 4.0 International", URI: "https://creativecommons.org/licenses/by/4.0/legalcode", Identifier: "cc-by-4.0", IdentifierScheme: "SPDX"},
		{URI: "info:eu-repo/semantics/embargoedAccess"},
	}
	if !reflect.DeepEqual(r.RightsList, wantRights) {
		t.Errorf("RightsList = %+v", r.RightsList)
	}
	if r.Description() != "Synchrotron tomography of an intact lung.\n\nSecond paragraph." {
		t.Errorf("Description() = %q", r.Description())
	}
	wantFunding := []datacite.FundingReference{{
		FunderName: "European Commission", FunderIdentifier: "https://doi.org/10.13039/501100000780", FunderIdentifierType: "Crossref Funder ID",
		AwardNumber: "823852", AwardURI: "https://cordis.europa.eu/project/id/823852", AwardTitle: "PaNOSC",
	}}
	if !reflect.DeepEqual(r.FundingReferences, wantFunding) {
		t.Errorf("FundingReferences = %+v", r.FundingReferences)
	}
}

func TestToDatasetKernel4(t *testing.T) {
	r, err := datacite.Parse([]byte(kernel4))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	d := r.ToDataset(now)
	if d.Doi != "10.15151/esrf-es-90632078" || d.LandingPage != "https://doi.org/10.15151/esrf-es-90632078" {
		t.Errorf("doi %q landing page %q", d.Doi, d.LandingPage)
	}
	if d.Title != "Tomography of a rat lung" || d.Publisher != "ESRF (European Synchrotron Radiation Facility)" || d.Language != "en" {
		t.Errorf("title %q publisher %q language %q", d.Title, d.Publisher, d.Language)
	}
	c := d.Creators
	if len(c) != 2 || c[0].Orcid != "0000-0003-1419-2405" || c[0].Affiliation != "DataCite" || c[0].GivenName != "Martin" ||
		c[1].GivenName != "" || c[1].Affiliation != "https://ror.org/02550n020" {
		t.Errorf("Creators = %v", c)
	}
	if k := d.Contributors; len(k) != 2 || k[0].Role != "ContactPerson" || k[0].GivenName != "Jane" || k[0].FamilyName != "Doe" || k[1].FamilyName != "" {
		t.Errorf("Contributors = %v", k)
	}
	if d.PublicationYear != 2021 || !d.Issued.AsTime().Equal(time.Date(2021, 3, 4, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("year %d issued %v", d.PublicationYear, d.Issued.AsTime())
	}
	if !d.Modified.AsTime().Equal(time.Date(2022, 6, 30, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("modified = %v, want the latest Updated date", d.Modified.AsTime())
	}
	if d.AccessRights != metadata.AccessEmbargoed || !d.EmbargoUntil.AsTime().Equal(time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("access %q until %v", d.AccessRights, d.EmbargoUntil)
	}
	if d.License != "https://creativecommons.org/licenses/by/4.0/legalcode" {
		t.Errorf("License = %q", d.License)
	}
	if s := d.Subjects; len(s) != 3 || s[1].Value != "PaNET01188" || s[1].Scheme != "PaNET" ||
		s[1].ValueUri != "http://purl.org/pan-science/PaNET/PaNET01188" || s[2].ValueUri != "" {
		t.Errorf("Subjects = %v", s)
	}
	if d.ResourceType != "Dataset" || d.Instrument != "https://w3id.org/pidinst/ESRF-BM05" {
		t.Errorf("resource type %q instrument %q", d.ResourceType, d.Instrument)
	}
	if rel := d.Related; len(rel) != 2 || rel[0].Identifier != "10.1007/s00418-020-01868-8" || rel[0].Relation != "IsSupplementTo" || rel[1].Type != "URL" {
		t.Errorf("Related = %v", rel)
	}
	// After the embargo: open, and no embargo end any more.
	later := r.ToDataset(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if later.AccessRights != metadata.AccessOpen || later.EmbargoUntil != nil {
		t.Errorf("after the embargo: access %q until %v", later.AccessRights, later.EmbargoUntil)
	}
}

func TestToDatasetKernel3(t *testing.T) {
	r, err := datacite.Parse([]byte(kernel3))
	if err != nil {
		t.Fatal(err)
	}
	d := r.ToDataset(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if d.Doi != "10.15151/esrf-dc-12345" || d.Title != "Powder diffraction of silicon" || d.Description != "Raw powder patterns." {
		t.Errorf("doi %q title %q description %q", d.Doi, d.Title, d.Description)
	}
	if c := d.Creators; len(c) != 1 || c[0].Name != "Doe, Jane" || c[0].GivenName != "Jane" || c[0].FamilyName != "Doe" ||
		c[0].Orcid != "0000-0002-1825-0097" || c[0].Affiliation != "ESRF; UGA" {
		t.Errorf("Creators = %v", c)
	}
	if c := d.Contributors; len(c) != 1 || c[0].Role != "DataCollector" || c[0].FamilyName != "Smith" {
		t.Errorf("Contributors = %v", c)
	}
	// No Issued date: 1 January of the publication year.
	if d.PublicationYear != 2016 || !d.Issued.AsTime().Equal(time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("year %d issued %v", d.PublicationYear, d.Issued.AsTime())
	}
	// Available 2019-00-00 (day and month 00) is past: the stated open access holds.
	if d.AccessRights != metadata.AccessOpen || d.EmbargoUntil != nil || d.License != "https://creativecommons.org/licenses/by/4.0/" {
		t.Errorf("access %q until %v license %q", d.AccessRights, d.EmbargoUntil, d.License)
	}
	if d.Instrument != "ID22" || d.ResourceType != "Dataset" {
		t.Errorf("instrument %q resource type %q", d.Instrument, d.ResourceType)
	}
	if s := d.Subjects[0]; s.Scheme != "PaNET" || s.ValueUri != "http://purl.org/pan-science/PaNET/PaNET01102" || s.SchemeUri != "http://purl.org/pan-science/PaNET/" {
		t.Errorf("Subjects[0] = %v", s)
	}
}

// record wraps inner elements in a kernel-4 resource with a title.
func record(inner string) []byte {
	return []byte(`<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles>` + inner + `</resource>`)
}

func TestToDatasetRules(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name                        string
		inner                       string
		doi, access, license, title string
		description, instrument     string
		issued, embargo             time.Time
		year                        int32
	}{
		{name: "bare DOI upper case", inner: `<identifier identifierType="DOI">10.5072/ABC-Def</identifier>`, doi: "10.5072/abc-def"},
		{name: "doi: prefix", inner: `<identifier identifierType="DOI">doi:10.5072/X</identifier>`, doi: "10.5072/x"},
		{name: "dx.doi.org URL", inner: `<identifier identifierType="DOI">http://dx.doi.org/10.5072/X</identifier>`, doi: "10.5072/x"},
		{name: "URL-encoded resolver URL", inner: `<identifier identifierType="DOI">https://doi.org/10.5072%2FX</identifier>`, doi: "10.5072/x"},
		{name: "identifier type missing", inner: `<identifier>10.5072/X</identifier>`, doi: "10.5072/x"},
		{name: "non-DOI identifier", inner: `<identifier identifierType="URL">https://example.org/x</identifier>`},
		{name: "not a DOI", inner: `<identifier identifierType="DOI">ESRF-1234</identifier>`},
		{name: "DOI alternate identifier", inner: `<identifier identifierType="Handle">20.500.1/x</identifier><alternateIdentifiers><alternateIdentifier alternateIdentifierType="DOI">10.5072/ALT</alternateIdentifier></alternateIdentifiers>`, doi: "10.5072/alt"},
		{name: "main title after typed ones", inner: `<titles><title titleType="AlternativeTitle">A</title></titles>`, title: "T"},
		{name: "description falls back to the first", inner: `<descriptions><description descriptionType="Methods">M</description><description descriptionType="Other">O</description></descriptions>`, description: "M"},
		{name: "day 00", inner: `<dates><date dateType="Issued">2020-05-00</date></dates>`, issued: day(2020, 5, 1), year: 2020},
		{name: "issued range", inner: `<dates><date dateType="Issued">2020-05-02/2020-06-01</date></dates>`, issued: day(2020, 5, 2), year: 2020},
		{name: "invalid issued date falls back to the year", inner: `<publicationYear>2019</publicationYear><dates><date dateType="Issued">soon</date></dates>`, issued: day(2019, 1, 1), year: 2019},
		{name: "year from issued", inner: `<dates><date dateType="Issued">2017</date></dates>`, issued: day(2017, 1, 1), year: 2017},
		{name: "embargo in the future", inner: `<dates><date dateType="Available">2025-01-31</date></dates>`, access: "embargoed", embargo: day(2025, 1, 31)},
		{name: "embargo in the past, no licence", inner: `<dates><date dateType="Available">2020-01-31</date></dates>`},
		{name: "embargo over", inner: `<dates><date dateType="Available">2020-01-31</date></dates><rightsList><rights rightsURI="info:eu-repo/semantics/embargoedAccess"/></rightsList>`, access: "open"},
		{name: "embargoed without date", inner: `<rightsList><rights>info:eu-repo/semantics/embargoedAccess</rights></rightsList>`, access: "embargoed"},
		{name: "restricted", inner: `<rightsList><rights rightsURI="info:eu-repo/semantics/restrictedAccess">Restricted access</rights></rightsList>`, access: "restricted"},
		{name: "closed, COAR", inner: `<rightsList><rights rightsURI="http://purl.org/coar/access_right/c_14cb">metadata only access</rights></rightsList>`, access: "closed"},
		{name: "SPDX id only", inner: `<rightsList><rights rightsIdentifier="CC0-1.0" rightsIdentifierScheme="SPDX"/></rightsList>`, access: "open", license: "CC0-1.0"},
		{name: "licence text only", inner: `<rightsList><rights>Creative Commons Attribution 4.0</rights></rightsList>`, access: "open", license: "Creative Commons Attribution 4.0"},
		{name: "open access text with licence URI", inner: `<rightsList><rights rightsURI="https://creativecommons.org/licenses/by/4.0/">Open Access</rights></rightsList>`, access: "open", license: "https://creativecommons.org/licenses/by/4.0/"},
		{name: "instrument subject", inner: `<subjects><subject subjectScheme="Beamline">ID16A</subject></subjects>`, instrument: "ID16A"},
		{name: "instrument DOI", inner: `<relatedIdentifiers><relatedIdentifier relatedIdentifierType="DOI" relationType="IsCollectedBy">https://doi.org/10.5072/INSTR</relatedIdentifier></relatedIdentifiers>`, instrument: "10.5072/instr"},
		{name: "no instrument hint", inner: `<contributors><contributor contributorType="HostingInstitution"><contributorName>ESRF</contributorName></contributor></contributors>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := datacite.Parse(record(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			d := r.ToDataset(now)
			if tt.title == "" {
				tt.title = "T"
			}
			if d.Doi != tt.doi || d.Title != tt.title || d.Description != tt.description || d.Instrument != tt.instrument {
				t.Errorf("doi %q title %q description %q instrument %q", d.Doi, d.Title, d.Description, d.Instrument)
			}
			if (d.Doi == "") != (d.LandingPage == "") && d.LandingPage != "https://example.org/x" {
				t.Errorf("landing page %q for doi %q", d.LandingPage, d.Doi)
			}
			if d.AccessRights != tt.access || d.License != tt.license {
				t.Errorf("access %q license %q, want %q %q", d.AccessRights, d.License, tt.access, tt.license)
			}
			if !d.EmbargoUntil.AsTime().Equal(tt.embargo) && !(tt.embargo.IsZero() && d.EmbargoUntil == nil) {
				t.Errorf("embargo until %v, want %v", d.EmbargoUntil, tt.embargo)
			}
			if d.PublicationYear != tt.year || (tt.issued.IsZero() != (d.Issued == nil)) || (d.Issued != nil && !d.Issued.AsTime().Equal(tt.issued)) {
				t.Errorf("year %d issued %v, want %d %v", d.PublicationYear, d.Issued, tt.year, tt.issued)
			}
		})
	}
}

// dcatFields is the part of a canonical dataset the DCAT-AP extras come
// from.
type dcatFields struct {
	PublisherROR, CreatorROR string
	Contacts                 []string
	Start, End               string
	Distribution             string
	InstrumentPID, Proposal  string
}

func dcatFieldsOf(d *fairwayv1.Dataset) dcatFields {
	f := dcatFields{PublisherROR: d.PublisherRor, InstrumentPID: d.InstrumentPid, Proposal: d.ProposalId}
	if len(d.Creators) > 0 {
		f.CreatorROR = d.Creators[0].AffiliationRor
	}
	for _, c := range d.Contacts {
		f.Contacts = append(f.Contacts, c.Name+" <"+c.Email+">")
	}
	if d.CollectedStart != nil {
		f.Start = d.CollectedStart.AsTime().Format(time.RFC3339)
	}
	if d.CollectedEnd != nil {
		f.End = d.CollectedEnd.AsTime().Format(time.RFC3339)
	}
	for _, x := range d.Distributions {
		f.Distribution += fmt.Sprintf("[%s|%s|%d|%s|%s]", x.Format, x.MediaType, x.ByteSize, x.DownloadUrl, x.AccessUrl)
	}
	return f
}

func TestToDatasetDCATFields(t *testing.T) {
	tests := []struct {
		name  string
		inner string
		want  dcatFields
	}{
		{"nothing", ``, dcatFields{}},
		{"publisher ROR (kernel 4.5)", `<publisher publisherIdentifier="https://ror.org/02550n095" publisherIdentifierScheme="ROR">ESRF</publisher>`,
			dcatFields{PublisherROR: "https://ror.org/02550n095"}},
		{"publisher identifier that is no ROR", `<publisher publisherIdentifier="https://isni.org/isni/0000000121" publisherIdentifierScheme="ISNI">ESRF</publisher>`, dcatFields{}},
		{"affiliation ROR", `<creators><creator><creatorName>Doe, Jane</creatorName><affiliation affiliationIdentifier="02550n095" affiliationIdentifierScheme="ROR">ESRF</affiliation></creator></creators>`,
			dcatFields{CreatorROR: "https://ror.org/02550n095"}},
		{"contact person", `<contributors><contributor contributorType="ContactPerson"><contributorName>Doe, Jane</contributorName></contributor><contributor contributorType="Editor"><contributorName>Roe, R</contributorName></contributor></contributors>`,
			dcatFields{Contacts: []string{"Doe, Jane <>"}}},
		{"contact person with a mailto: identifier", `<contributors><contributor contributorType="ContactPerson"><contributorName nameType="Organizational">ESRF data office</contributorName><nameIdentifier nameIdentifierScheme="mailto">mailto:dataoffice@esrf.example.org</nameIdentifier></contributor></contributors>`,
			dcatFields{Contacts: []string{"ESRF data office <dataoffice@esrf.example.org>"}}},
		{"contact person with an invalid address", `<contributors><contributor contributorType="ContactPerson"><contributorName>Doe, Jane</contributorName><nameIdentifier nameIdentifierScheme="email">jane at esrf</nameIdentifier></contributor></contributors>`,
			dcatFields{Contacts: []string{"Doe, Jane <>"}}},
		{"collected range", `<dates><date dateType="Collected">2021-03-01T08:00:00Z/2021-03-03</date></dates>`,
			dcatFields{Start: "2021-03-01T08:00:00Z", End: "2021-03-03T00:00:00Z"}},
		{"collected open end", `<dates><date dateType="Collected">2021-03-01/</date></dates>`, dcatFields{Start: "2021-03-01T00:00:00Z"}},
		{"collected single day", `<dates><date dateType="Collected">2021-03-01</date></dates>`, dcatFields{Start: "2021-03-01T00:00:00Z", End: "2021-03-01T00:00:00Z"}},
		{"collected reversed", `<dates><date dateType="Collected">2021-03-05/2021-03-01</date></dates>`, dcatFields{Start: "2021-03-01T00:00:00Z", End: "2021-03-05T00:00:00Z"}},
		{"collected garbage", `<dates><date dateType="Collected">last spring</date></dates>`, dcatFields{}},
		{"formats and sizes", `<sizes><size>15 files</size><size>12.4 GB</size></sizes><formats><format>NeXus/HDF5</format><format>application/x-hdf5</format></formats>`,
			dcatFields{Distribution: "[NeXus/HDF5|application/x-hdf5|12400000000||]"}},
		{"size in files only", `<sizes><size>15 files</size></sizes>`, dcatFields{}},
		{"instrument PID", `<relatedIdentifiers><relatedIdentifier relatedIdentifierType="DOI" relationType="IsCollectedBy">10.5072/INSTR</relatedIdentifier></relatedIdentifiers>`,
			dcatFields{InstrumentPID: "https://doi.org/10.5072/instr"}},
		{"instrument that is no PID", `<relatedIdentifiers><relatedIdentifier relatedIdentifierType="Other" resourceTypeGeneral="Instrument">ID16A</relatedIdentifier></relatedIdentifiers>`, dcatFields{}},
		{"proposal", `<alternateIdentifiers><alternateIdentifier alternateIdentifierType="Proposal">MX-2345</alternateIdentifier></alternateIdentifiers>`, dcatFields{Proposal: "MX-2345"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := datacite.Parse(record(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			if got := dcatFieldsOf(r.ToDataset(time.Now())); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
