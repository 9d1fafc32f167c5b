package datacite_test

import (
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/datacite"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestToDatasetFields checks each field of the canonical dataset that keeps
// what the record says, one table row per case.
func TestToDatasetFields(t *testing.T) {
	day := func(y int, m time.Month, d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	}
	tests := []struct {
		name  string
		inner string
		// pick is the part of the dataset under test; want is it, expected.
		pick func(*fairwayv1.Dataset) *fairwayv1.Dataset
		want *fairwayv1.Dataset
	}{
		{"titles with language and type", `<titles><title xml:lang="en">Main</title><title titleType="Subtitle" xml:lang="en">Sub</title><title titleType="TranslatedTitle" xml:lang="fr">Principal</title></titles>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{Title: d.Title, Titles: d.Titles}
			},
			&fairwayv1.Dataset{Title: "Main", Titles: []*fairwayv1.LangText{{Value: "Main", Lang: "en"}, {Value: "Sub", Lang: "en", Type: "Subtitle"}, {Value: "Principal", Lang: "fr", Type: "TranslatedTitle"}}}},
		{"descriptions with type and language", `<descriptions><description descriptionType="Methods" xml:lang="en">How.</description><description descriptionType="Abstract" xml:lang="de">Was.</description><description>Plain.</description></descriptions>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{Description: d.Description, Descriptions: d.Descriptions}
			},
			&fairwayv1.Dataset{Description: "Was.", Descriptions: []*fairwayv1.LangText{{Value: "How.", Lang: "en", Type: "Methods"}, {Value: "Was.", Lang: "de", Type: "Abstract"}, {Value: "Plain."}}}},
		{"identifier and alternate identifiers", `<identifier identifierType="doi">https://doi.org/10.5072/ABC</identifier><alternateIdentifiers>` +
			`<alternateIdentifier alternateIdentifierType="handle">hdl:20.500.12345/7</alternateIdentifier>` +
			`<alternateIdentifier alternateIdentifierType="url">https://data.example.org/7</alternateIdentifier>` +
			`<alternateIdentifier alternateIdentifierType="Proposal">MX-2345</alternateIdentifier>` +
			`<alternateIdentifier alternateIdentifierType="ark">ark:/12345/x7</alternateIdentifier>` +
			`<alternateIdentifier>urn:nbn:de:1234</alternateIdentifier>` +
			`<alternateIdentifier alternateIdentifierType="DOI">10.5072/abc</alternateIdentifier>` +
			`<alternateIdentifier>local-7</alternateIdentifier></alternateIdentifiers>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{Identifiers: d.Identifiers} },
			&fairwayv1.Dataset{Identifiers: []*fairwayv1.Identifier{
				{Value: "10.5072/abc", Scheme: "DOI"}, {Value: "20.500.12345/7", Scheme: "Handle"}, {Value: "https://data.example.org/7", Scheme: "URL"},
				{Value: "MX-2345", Scheme: "Proposal"}, {Value: "ark:/12345/x7", Scheme: "ARK"}, {Value: "urn:nbn:de:1234", Scheme: "URN"}, {Value: "local-7"},
			}}},
		{"non-DOI identifier", `<identifier identifierType="URL">https://example.org/x</identifier>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{Identifiers: d.Identifiers} },
			&fairwayv1.Dataset{Identifiers: []*fairwayv1.Identifier{{Value: "https://example.org/x", Scheme: "URL"}}}},
		{"version", `<version>2.1</version>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{Version: d.Version} },
			&fairwayv1.Dataset{Version: "2.1"}},
		{"formats, sizes and file count", `<sizes><size>15 files</size><size>12.4 GB</size><size>3 GB</size></sizes><formats><format>NeXus/HDF5</format><format>application/x-hdf5</format><format>NeXus/HDF5</format></formats>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{Formats: d.Formats, FileCount: d.FileCount, ByteSize: d.ByteSize, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{Formats: []string{"NeXus/HDF5", "application/x-hdf5"}, FileCount: 15, ByteSize: 12400000000}},
		{"a size that is no size", `<sizes><size>3 pages</size></sizes>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{FileCount: d.FileCount, ByteSize: d.ByteSize, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{Gaps: []*fairwayv1.Gap{{Field: "byte_size", Value: "3 pages", Reason: "not a size in bytes or a number of files"}}}},
		{"funding", `<fundingReferences>` +
			`<fundingReference><funderName>European Commission</funderName><funderIdentifier funderIdentifierType="Crossref Funder ID">10.13039/501100000780</funderIdentifier><awardNumber awardURI="https://cordis.europa.eu/project/id/823852">823852</awardNumber><awardTitle>PaNOSC</awardTitle></fundingReference>` +
			`<fundingReference><funderName>DFG</funderName><funderIdentifier funderIdentifierType="Crossref Funder ID">501100001659</funderIdentifier></fundingReference>` +
			`<fundingReference><funderName>SNSF</funderName><funderIdentifier funderIdentifierType="ROR">00yjd3n13</funderIdentifier></fundingReference>` +
			`<fundingReference><funderName>Other</funderName><funderIdentifier funderIdentifierType="ISNI">0000 0001 2097 5006</funderIdentifier></fundingReference>` +
			`</fundingReferences>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{Funding: d.Funding} },
			&fairwayv1.Dataset{Funding: []*fairwayv1.Funding{
				{FunderName: "European Commission", FunderId: "https://doi.org/10.13039/501100000780", FunderIdType: "Crossref Funder ID", AwardNumber: "823852", AwardUri: "https://cordis.europa.eu/project/id/823852", AwardTitle: "PaNOSC"},
				{FunderName: "DFG", FunderId: "https://doi.org/10.13039/501100001659", FunderIdType: "Crossref Funder ID"},
				{FunderName: "SNSF", FunderId: "https://ror.org/00yjd3n13", FunderIdType: "ROR"},
				{FunderName: "Other", FunderId: "0000 0001 2097 5006", FunderIdType: "ISNI"},
			}}},
		{"created and available", `<dates><date dateType="Created">2020-11-03</date><date dateType="Available">2024-03-04/2024-03-05</date><date dateType="Created">2021-01-01</date></dates>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{Created: d.Created, Available: d.Available, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{Created: day(2020, 11, 3), Available: day(2024, 3, 4)}},
		{"bad dates become gaps", `<publicationYear>circa 2019</publicationYear><dates>` +
			`<date dateType="Created">last spring</date><date dateType="Created">2020-01-02</date>` +
			`<date dateType="Issued">2019-02-30</date><date dateType="Updated">yesterday</date><date dateType="Available">soon</date>` +
			`<date dateType="Collected">2021-03-01/end of March</date><date dateType="Collected">in the night</date>` +
			`<date dateType="Accepted">whenever</date></dates>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{Created: d.Created, Available: d.Available, Issued: d.Issued, Modified: d.Modified, CollectedStart: d.CollectedStart, CollectedEnd: d.CollectedEnd, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{Created: day(2020, 1, 2), CollectedStart: day(2021, 3, 1), Gaps: []*fairwayv1.Gap{
				{Field: "publication_year", Value: "circa 2019", Reason: "not a four-digit year"},
				{Field: "created", Value: "last spring", Reason: "invalid date: expected a four-digit year"},
				{Field: "issued", Value: "2019-02-30", Reason: "invalid date: day out of range"},
				{Field: "modified", Value: "yesterday", Reason: "invalid date: expected a four-digit year"},
				{Field: "available", Value: "soon", Reason: "invalid date: expected a four-digit year"},
				{Field: "collected_end", Value: "2021-03-01/end of March", Reason: "invalid date: expected a four-digit year"},
				{Field: "collected_start", Value: "in the night", Reason: "invalid date: expected a four-digit year"},
				{Field: "dates", Value: "whenever", Reason: "invalid date: expected a four-digit year"},
			}}},
		{"every date of every type, parsed once", `<dates>` +
			`<date dateType="Accepted">2020-03-04</date><date dateType="Submitted">2020-02</date>` +
			`<date dateType="Copyrighted">2019</date><date dateType="Updated">2021-01-01T10:00:00Z</date>` +
			`<date dateType="Valid">2020-01-01/2025-12-31</date><date dateType="Withdrawn">2030-13-01</date>` +
			`<date dateType="Other" dateInformation="beamtime allocated">2019-11-20</date><date>2018</date></dates>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{Dates: d.Dates, Modified: d.Modified, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{Modified: timestamppb.New(time.Date(2021, 1, 1, 10, 0, 0, 0, time.UTC)), Dates: []*fairwayv1.TypedDate{
				{Type: "Accepted", Value: "2020-03-04", Time: day(2020, 3, 4)},
				{Type: "Submitted", Value: "2020-02", Time: day(2020, 2, 1)},
				{Type: "Copyrighted", Value: "2019", Time: day(2019, 1, 1)},
				{Type: "Updated", Value: "2021-01-01T10:00:00Z", Time: timestamppb.New(time.Date(2021, 1, 1, 10, 0, 0, 0, time.UTC))},
				{Type: "Valid", Value: "2020-01-01/2025-12-31", Time: day(2020, 1, 1), End: day(2025, 12, 31)},
				{Type: "Withdrawn", Value: "2030-13-01"},
				{Type: "Other", Value: "2019-11-20", Time: day(2019, 11, 20), Information: "beamtime allocated"},
				{Value: "2018", Time: day(2018, 1, 1)},
			}, Gaps: []*fairwayv1.Gap{{Field: "dates", Value: "2030-13-01", Reason: "invalid date: month out of range"}}}},
		{"geo locations of kernel 4", `<geoLocations><geoLocation><geoLocationPlace>Grenoble</geoLocationPlace>` +
			`<geoLocationPoint><pointLongitude>5.7</pointLongitude><pointLatitude>45.2</pointLatitude></geoLocationPoint>` +
			`<geoLocationBox><westBoundLongitude>5</westBoundLongitude><eastBoundLongitude>6</eastBoundLongitude><southBoundLatitude>45</southBoundLatitude><northBoundLatitude>46</northBoundLatitude></geoLocationBox></geoLocation>` +
			`<geoLocation><geoLocationPolygon><polygonPoint><pointLongitude>0</pointLongitude><pointLatitude>0</pointLatitude></polygonPoint>` +
			`<polygonPoint><pointLongitude>1</pointLongitude><pointLatitude>0</pointLatitude></polygonPoint>` +
			`<polygonPoint><pointLongitude>1</pointLongitude><pointLatitude>1</pointLatitude></polygonPoint></geoLocationPolygon></geoLocation>` +
			`<geoLocation><geoLocationPoint><pointLongitude>200</pointLongitude><pointLatitude>0</pointLatitude></geoLocationPoint></geoLocation></geoLocations>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{GeoLocations: d.GeoLocations, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{GeoLocations: []*fairwayv1.GeoLocation{
				{Place: "Grenoble", Point: &fairwayv1.GeoPoint{Longitude: 5.7, Latitude: 45.2}, Box: &fairwayv1.GeoBox{West: 5, East: 6, South: 45, North: 46}},
				{Polygon: []*fairwayv1.GeoPoint{{}, {Longitude: 1}, {Longitude: 1, Latitude: 1}, {}}},
			}, Gaps: []*fairwayv1.Gap{{Field: "geo_locations", Value: "200 0", Reason: "not a point (longitude, latitude in degrees)"}}}},
		{"geo locations of kernel 3", `<geoLocations><geoLocation><geoLocationPoint>45.2 5.7</geoLocationPoint><geoLocationBox>45 5 46 6</geoLocationBox></geoLocation>` +
			`<geoLocation><geoLocationBox>north of here</geoLocationBox></geoLocation></geoLocations>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{GeoLocations: d.GeoLocations, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{GeoLocations: []*fairwayv1.GeoLocation{
				{Point: &fairwayv1.GeoPoint{Longitude: 5.7, Latitude: 45.2}, Box: &fairwayv1.GeoBox{West: 5, East: 6, South: 45, North: 46}},
			}, Gaps: []*fairwayv1.Gap{{Field: "geo_locations", Value: "north of here", Reason: "not a box (south west north east in degrees)"}}}},
		{"licence with its SPDX id from the rights identifier", `<rightsList><rights rightsURI="info:eu-repo/semantics/openAccess">Open Access</rights>` +
			`<rights rightsURI="https://example.org/our-terms" rightsIdentifier="cc-by-4.0" rightsIdentifierScheme="SPDX">Creative Commons Attribution 4.0 International</rights></rightsList>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{License: d.License, LicenseSpdx: d.LicenseSpdx, AccessRights: d.AccessRights}
			},
			&fairwayv1.Dataset{License: "https://example.org/our-terms", LicenseSpdx: "CC-BY-4.0", AccessRights: "open"}},
		{"licence with its SPDX id from the legal code IRI", `<rightsList><rights rightsURI="https://creativecommons.org/licenses/by-sa/4.0/legalcode"/></rightsList>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{License: d.License, LicenseSpdx: d.LicenseSpdx}
			},
			&fairwayv1.Dataset{License: "https://creativecommons.org/licenses/by-sa/4.0/legalcode", LicenseSpdx: "CC-BY-SA-4.0"}},
		{"unrecognised licence has no SPDX id", `<rightsList><rights>All rights reserved</rights></rightsList>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{License: d.License, LicenseSpdx: d.LicenseSpdx}
			},
			&fairwayv1.Dataset{License: "All rights reserved"}},
		{"open collected range is no gap", `<dates><date dateType="Collected">/2021-03-01</date></dates>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{CollectedStart: d.CollectedStart, CollectedEnd: d.CollectedEnd, Gaps: d.Gaps}
			},
			&fairwayv1.Dataset{CollectedEnd: day(2021, 3, 1)}},
		{"principal investigator: the project leader", `<contributors>` +
			`<contributor contributorType="ContactPerson"><contributorName>Roe, Rita</contributorName></contributor>` +
			`<contributor contributorType="ProjectLeader"><contributorName nameType="Organizational">ESRF</contributorName></contributor>` +
			`<contributor contributorType="ProjectLeader"><contributorName>Doe, Jane</contributorName><nameIdentifier nameIdentifierScheme="ORCID">0000-0002-1825-0097</nameIdentifier><affiliation affiliationIdentifier="https://ror.org/02550n095" affiliationIdentifierScheme="ROR">ESRF</affiliation></contributor>` +
			`</contributors>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{PrincipalInvestigator: d.PrincipalInvestigator}
			},
			&fairwayv1.Dataset{PrincipalInvestigator: &fairwayv1.Person{Name: "Doe, Jane", GivenName: "Jane", FamilyName: "Doe", Orcid: "0000-0002-1825-0097", Affiliation: "ESRF", AffiliationRor: "https://ror.org/02550n095", Role: "ProjectLeader"}}},
		{"a contact person alone is no principal investigator", `<contributors><contributor contributorType="ContactPerson"><contributorName>Roe, Rita</contributorName></contributor></contributors>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset {
				return &fairwayv1.Dataset{PrincipalInvestigator: d.PrincipalInvestigator}
			},
			&fairwayv1.Dataset{}},
		{"samples", `<subjects><subject subjectScheme="Sample name">Silicon powder</subject><subject>lung</subject></subjects>` +
			`<relatedIdentifiers><relatedIdentifier relatedIdentifierType="IGSN" relationType="IsDerivedFrom">IESE1000A</relatedIdentifier></relatedIdentifiers>`,
			func(d *fairwayv1.Dataset) *fairwayv1.Dataset { return &fairwayv1.Dataset{Samples: d.Samples} },
			&fairwayv1.Dataset{Samples: []*fairwayv1.Sample{{Name: "Silicon powder"}, {Id: "IESE1000A"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := record(tt.inner)
			if strings.HasPrefix(tt.inner, "<titles>") {
				payload = []byte(`<resource xmlns="http://datacite.org/schema/kernel-4">` + tt.inner + `</resource>`)
			}
			r, err := datacite.Parse(payload)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.pick(r.ToDataset(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))); !proto.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestToDatasetFieldsKernel3 checks the new fields on a kernel-3 record:
// the language of its title, its DOI as an identifier, no gaps.
func TestToDatasetFieldsKernel3(t *testing.T) {
	r, err := datacite.Parse([]byte(kernel3))
	if err != nil {
		t.Fatal(err)
	}
	d := r.ToDataset(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	want := &fairwayv1.Dataset{
		Titles:       []*fairwayv1.LangText{{Value: "Powder diffraction of silicon", Lang: "en"}},
		Descriptions: []*fairwayv1.LangText{{Value: "Raw powder patterns.", Type: "Abstract"}},
		Identifiers:  []*fairwayv1.Identifier{{Value: "10.15151/esrf-dc-12345", Scheme: "DOI"}},
		Available:    timestamppb.New(time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
	got := &fairwayv1.Dataset{Titles: d.Titles, Descriptions: d.Descriptions, Identifiers: d.Identifiers, Available: d.Available, Gaps: d.Gaps}
	if !proto.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
