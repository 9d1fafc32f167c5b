package dcat

import (
	"time"

	"github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fullDataset is an enriched dataset with every field the renderer reads.
func fullDataset() *fairwayv1.EnrichedDataset {
	return &fairwayv1.EnrichedDataset{
		Dataset: &fairwayv1.Dataset{
			Key:              "doi:10.5281/zenodo.1234(5)",
			Doi:              "10.5281/zenodo.1234(5)",
			SourceIdentifier: "oai:esrf.fr:1234",
			Facility:         "ESRF",
			FeedId:           "esrf-oai",
			Title:            "Lysozyme \"serial\" crystallography at ID29",
			Description:      "Diffraction images of lysozyme microcrystals.\nCollected at 100 K; see the paper.",
			Creators: []*fairwayv1.Person{
				{Name: "Doe, Jane", GivenName: "Jane", FamilyName: "Doe", Orcid: "0000-0002-1825-0097"},
				{Name: "ESRF Data Team"},
			},
			Publisher:       "European Synchrotron Radiation Facility",
			PublicationYear: 2021,
			Issued:          timestamppb.New(time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC)),
			Modified:        timestamppb.New(time.Date(2022, 5, 6, 7, 8, 9, 0, time.UTC)),
			Subjects: []*fairwayv1.Subject{
				{Value: "lysozyme"},
				{Value: "SFX"},
				{Value: "serial femtosecond crystallography", ValueUri: "http://purl.org/pan-science/PaNET/PaNET01168", Scheme: "PaNET"},
				{Value: "Proteins", ValueUri: "http://id.loc.gov/authorities/subjects/sh85107738"},
			},
			License:      "CC-BY-4.0",
			AccessRights: "open",
			LandingPage:  "https://data.esrf.fr/doi/10.5281/zenodo.1234?lang=en&view=(full).",
			ResourceType: "Dataset",
			Language:     "en",
			Related: []*fairwayv1.RelatedIdentifier{
				{Identifier: "10.1107/S1600577525005272", Type: "DOI", Relation: "IsCitedBy"},
				{Identifier: "https://example.org/paper?id=1&v=(2).", Type: "URL", Relation: "IsSupplementTo"},
				{Identifier: "978-3-16-148410-0", Type: "ISBN", Relation: "IsDocumentedBy"},
				{Identifier: "https://doi.org/10.5281/zenodo.99", Type: "URL", Relation: "IsPartOf"},
			},
			Instrument:     "ID29",
			MetadataFormat: "oai_datacite",
			Created:        timestamppb.New(time.Date(2020, 11, 2, 0, 0, 0, 0, time.UTC)),
			Dates: []*fairwayv1.TypedDate{
				{Type: "Accepted", Value: "2021-02-01", Time: timestamppb.New(time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC))},
				{Type: "Submitted", Value: "2021-01-15T10:00:00Z", Time: timestamppb.New(time.Date(2021, 1, 15, 10, 0, 0, 0, time.UTC))},
				{Type: "Copyrighted", Value: "2021", Time: timestamppb.New(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))},
				{Type: "Valid", Value: "2021/2031", Time: timestamppb.New(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)), End: timestamppb.New(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))},
				{Type: "Withdrawn", Value: "never"},
				{Type: "Other", Value: "2020-10-01", Information: "beamtime", Time: timestamppb.New(time.Date(2020, 10, 1, 0, 0, 0, 0, time.UTC))},
			},
			GeoLocations: []*fairwayv1.GeoLocation{
				{Place: "ESRF, Grenoble", Point: &fairwayv1.GeoPoint{Longitude: 5.69, Latitude: 45.21}, Box: &fairwayv1.GeoBox{West: 5.6, East: 5.8, South: 45.1, North: 45.3}},
				{Polygon: []*fairwayv1.GeoPoint{{Longitude: 0, Latitude: 0}, {Longitude: 1, Latitude: 0}, {Longitude: 1, Latitude: 1}, {Longitude: 0, Latitude: 0}}},
			},
			PrincipalInvestigator: &fairwayv1.Person{Name: "Roe, Rita", GivenName: "Rita", FamilyName: "Roe", Orcid: "0000-0001-5109-3700"},
			Samples:               []*fairwayv1.Sample{{Name: "Lysozyme microcrystals", Id: "sample-42"}, {Id: "IGSN:IEXYZ0001"}},
			Funding: []*fairwayv1.Funding{
				{FunderName: "European Commission", FunderId: "https://doi.org/10.13039/501100000780", FunderIdType: "Crossref Funder ID", AwardNumber: "823852", AwardTitle: "PaNOSC", AwardUri: "https://cordis.europa.eu/project/id/823852"},
				{FunderName: "Swiss National Science Foundation", AwardNumber: "200021_1"},
				{FunderId: "https://ror.org/00yjd3n13"},
			},
		},
		Techniques: []*fairwayv1.Technique{
			{Iri: "http://purl.org/pan-science/PaNET/PaNET01168", Id: "PaNET01168", Label: "serial femtosecond crystallography", MatchedBy: "label", MatchedText: "SFX"},
			{Iri: "http://purl.org/pan-science/PaNET/PaNET01102", Id: "PaNET01102", Label: "x-ray single crystal diffraction", MatchedBy: "iri", MatchedText: "http://purl.org/pan-science/PaNET/PaNET01102"},
		},
		PanetVersion: "1.3.0",
		QualityScore: 0.9,
	}
}
