package analytics

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

func TestRowFromEntry(t *testing.T) {
	issued := time.Date(2023, 5, 17, 0, 0, 0, 0, time.UTC)
	published := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	full := &fairwayv1.CatalogueEntry{
		Key:         "doi:10.15151/esrf-dc-123",
		ContentHash: "entry-hash",
		PublishedAt: timestamppb.New(published),
		Dataset: &fairwayv1.EnrichedDataset{
			QualityScore: 0.75,
			PanetVersion: "v2024",
			EnrichedAt:   timestamppb.New(published.Add(-time.Minute)),
			QualityDimensions: []*fairwayv1.QualityDimension{
				{Name: "findability", Score: 1}, {Name: "reusability", Score: math.Inf(1)},
			},
			QualityGaps: []*fairwayv1.QualityGap{{Check: "licence"}, {Check: "orcid"}, {Check: "licence"}, {Check: ""}},
			Techniques: []*fairwayv1.Technique{
				{Iri: "http://purl.org/pan-science/PaNET/PaNET01188", Id: "PaNET01188", Label: "small angle x-ray scattering",
					Broader: []string{"http://purl.org/pan-science/PaNET/PaNET01127", "http://purl.org/pan-science/PaNET/PaNET00001"}},
				{Id: "PaNET01168", Label: "x-ray diffraction", Broader: []string{"http://purl.org/pan-science/PaNET/PaNET00001", " "}},
				{Iri: "http://purl.org/pan-science/PaNET/PaNET01188", Label: "SAXS"},
				{Label: "no identifier at all"},
			},
			Dataset: &fairwayv1.Dataset{
				Key:             "doi:10.15151/esrf-dc-123",
				Doi:             "10.15151/esrf-dc-123",
				Facility:        "ESRF",
				FeedId:          "esrf-oai",
				Title:           "Ptychography of a cat's whisker",
				PublicationYear: 2023,
				Issued:          timestamppb.New(issued),
				AccessRights:    "open",
				License:         "CC-BY-4.0",
				ContentHash:     "dataset-hash",
				Version:         "2.1",
				MetadataFormat:  "oai_datacite",
				Modified:        timestamppb.New(issued.Add(48 * time.Hour)),
				Created:         timestamppb.New(issued.Add(-48 * time.Hour)),
				Available:       timestamppb.New(issued),
				CollectedStart:  timestamppb.New(issued.Add(-96 * time.Hour)),
				CollectedEnd:    timestamppb.New(issued.Add(-72 * time.Hour)),
				Provenance:      &fairwayv1.Provenance{RunId: "run-1", HarvestedAt: timestamppb.New(published.Add(-time.Hour))},
				Creators: []*fairwayv1.Person{
					{Name: "Curie, Marie", Orcid: "0000-0002-1825-0097"},
					{Name: "Bragg, Lawrence"},
					{Name: "Franklin, Rosalind", Orcid: " "},
				},
			},
		},
	}
	manyCreators := make([]*fairwayv1.Person, 70000)
	for i := range manyCreators {
		manyCreators[i] = &fairwayv1.Person{Name: "p", Orcid: "0000-0000-0000-0000"}
	}

	tests := []struct {
		name    string
		entry   *fairwayv1.CatalogueEntry
		version uint64
		want    DatasetRow
	}{
		{
			name:    "full entry",
			entry:   full,
			version: 17,
			want: DatasetRow{
				Key: "doi:10.15151/esrf-dc-123", DOI: "10.15151/esrf-dc-123", Facility: "ESRF", FeedID: "esrf-oai",
				Title: "Ptychography of a cat's whisker", PublicationYear: 2023, Issued: issued,
				AccessRights: "open", License: "CC-BY-4.0",
				Techniques: []string{
					"http://purl.org/pan-science/PaNET/PaNET01188",
					"http://purl.org/pan-science/PaNET/PaNET01168",
				},
				TechniqueLabels: []string{"small angle x-ray scattering", "x-ray diffraction"},
				Creators:        3, ORCIDs: 1, Quality: 0.75,
				ContentHash: "entry-hash", Version: 17, PublishedAt: published,
				TechniquesAll: []string{
					"http://purl.org/pan-science/PaNET/PaNET01188",
					"http://purl.org/pan-science/PaNET/PaNET01168",
					"http://purl.org/pan-science/PaNET/PaNET01127",
					"http://purl.org/pan-science/PaNET/PaNET00001",
				},
				QualityDimensions: []string{"findability", "reusability"},
				QualityScores:     []float64{1, 0},
				QualityGaps:       []string{"licence", "orcid"},
				Modified:          issued.Add(48 * time.Hour), Created: issued.Add(-48 * time.Hour), Available: issued,
				CollectedStart: issued.Add(-96 * time.Hour), CollectedEnd: issued.Add(-72 * time.Hour),
				EntryVersion: "2.1", PaNETVersion: "v2024", MetadataFormat: "oai_datacite",
				RunID: "run-1", HarvestedAt: published.Add(-time.Hour), EnrichedAt: published.Add(-time.Minute),
			},
		},
		{
			name: "tombstone without a dataset",
			entry: &fairwayv1.CatalogueEntry{
				Key: "src:ILL:42", Deleted: true, ContentHash: "h", PublishedAt: timestamppb.New(published),
			},
			version: 18,
			want: DatasetRow{
				Key: "src:ILL:42", Deleted: true, ContentHash: "h", Version: 18, PublishedAt: published,
				Techniques: []string{}, TechniqueLabels: []string{},
			},
		},
		{
			name: "key, hash and deletion taken from the dataset when the entry lacks them",
			entry: &fairwayv1.CatalogueEntry{Dataset: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{
				Key: "src:PSI:7", ContentHash: "d", Deleted: true, Facility: "PSI",
			}}},
			version: 1,
			want: DatasetRow{
				Key: "src:PSI:7", ContentHash: "d", Deleted: true, Facility: "PSI", Version: 1,
				Techniques: []string{}, TechniqueLabels: []string{},
			},
		},
		{
			name: "out-of-range values are clamped",
			entry: &fairwayv1.CatalogueEntry{Key: "k", Dataset: &fairwayv1.EnrichedDataset{
				QualityScore: math.NaN(),
				Dataset:      &fairwayv1.Dataset{PublicationYear: -5, Creators: manyCreators},
			}},
			version: 2,
			want: DatasetRow{
				Key: "k", Creators: math.MaxUint16, ORCIDs: math.MaxUint16, Version: 2,
				Techniques: []string{}, TechniqueLabels: []string{},
			},
		},
		{
			name:    "nil entry",
			entry:   nil,
			version: 3,
			want:    DatasetRow{Version: 3, Techniques: []string{}, TechniqueLabels: []string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RowFromEntry(tt.entry, tt.version)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("RowFromEntry =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestRowFromEntryOfNilIsRejected(t *testing.T) {
	err := RowFromEntry(nil, 1).validate()
	if !errors.Is(err, ErrInvalidRow) {
		t.Fatalf("validate = %v, want ErrInvalidRow", err)
	}
}

func TestStoredTimes(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	tests := []struct {
		name     string
		in       time.Time
		wantTime time.Time
		wantDate time.Time
	}{
		{"zero", time.Time{}, epoch, epoch},
		{"before 1970", time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), epoch, epoch},
		{"after 2105", time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC), epoch, epoch},
		{
			"other zone",
			time.Date(2024, 2, 29, 23, 30, 0, 0, time.FixedZone("W", -3*3600)),
			time.Date(2024, 3, 1, 2, 30, 0, 0, time.UTC),
			time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := storedTime(tt.in); !got.Equal(tt.wantTime) || got.Location() != time.UTC {
				t.Errorf("storedTime = %v, want %v UTC", got, tt.wantTime)
			}
			if got := storedDate(tt.in); !got.Equal(tt.wantDate) {
				t.Errorf("storedDate = %v, want %v", got, tt.wantDate)
			}
		})
	}
}

func TestRunStatus(t *testing.T) {
	tests := []struct {
		in   fairwayv1.HarvestStatus
		want string
	}{
		{fairwayv1.HarvestStatus_HARVEST_STATUS_UNSPECIFIED, "unspecified"},
		{fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING, "running"},
		{fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE, "complete"},
		{fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED, "failed"},
		{fairwayv1.HarvestStatus(42), "42"},
	}
	for _, tt := range tests {
		if got := RunStatus(tt.in); got != tt.want {
			t.Errorf("RunStatus(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
