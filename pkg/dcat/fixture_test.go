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
		},
		Techniques: []*fairwayv1.Technique{
			{Iri: "http://purl.org/pan-science/PaNET/PaNET01168", Id: "PaNET01168", Label: "serial femtosecond crystallography", MatchedBy: "label", MatchedText: "SFX"},
			{Iri: "http://purl.org/pan-science/PaNET/PaNET01102", Id: "PaNET01102", Label: "x-ray single crystal diffraction", MatchedBy: "iri", MatchedText: "http://purl.org/pan-science/PaNET/PaNET01102"},
		},
		PanetVersion: "1.3.0",
		QualityScore: 0.9,
	}
}
