package dcat

import (
	"bytes"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Fixtures are the unit tests' datasets, for the SHACL tests of package
// dcat_test: those of TestDatasetTurtle, hostile IRIs everywhere, the bare
// minimum, no DOI, an embargo, a licence given as text, and the DCAT-AP
// 3.0.1 fields. Each has an IRI of its own, so that they can share a
// document.
func Fixtures() map[string]*fairwayv1.EnrichedDataset {
	out := fixtures()
	for i, c := range datasetCases() {
		e := proto.Clone(c.in).(*fairwayv1.EnrichedDataset)
		d := e.GetDataset()
		if d.GetDoi() != "" {
			d.Doi = fmt.Sprintf("10.5072/fixture.%d", i)
			d.Key = "doi:" + d.Doi
		} else {
			d.Key = fmt.Sprintf("src:fixture%d:", i) + d.Key
		}
		out["TestDatasetTurtle: "+c.name] = e
	}
	return out
}

func fixtures() map[string]*fairwayv1.EnrichedDataset {
	return map[string]*fairwayv1.EnrichedDataset{
		"full": fullDataset(),
		"hostile": func() *fairwayv1.EnrichedDataset {
			// Its own key: a catalogue holds one entry per key, and two
			// renderings under one key share blank-node labels.
			e := hostile()
			e.Dataset.Key, e.Dataset.Doi = "doi:10.5072/hostile", "10.5072/hostile"
			return e
		}(),
		"minimal": {Dataset: &fairwayv1.Dataset{Key: "src:x:1"}},
		"no DOI": edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.Doi, e.Dataset.Key, e.Dataset.Title, e.Dataset.Description = "", oddKey, "", ""
		}),
		"embargo": edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.Key, e.Dataset.Doi = "doi:10.5072/embargo", "10.5072/embargo"
			e.Dataset.AccessRights = "embargoed"
			e.Dataset.EmbargoUntil = timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			e.Dataset.PublicationYear, e.Dataset.Issued = 2020, nil
		}),
		"licence text": edit(func(e *fairwayv1.EnrichedDataset) {
			e.Dataset.Key, e.Dataset.Doi = "doi:10.5072/licence", "10.5072/licence"
			e.Dataset.License = "ESRF data policy"
		}),
		"DCAT-AP 3 fields": edit(func(e *fairwayv1.EnrichedDataset) {
			d := e.Dataset
			d.Key, d.Doi, d.Facility = "doi:10.5072/all", "10.5072/all", "Max IV"
			d.PublisherRor = "https://ror.org/02550n095"
			d.License, d.LicenseSpdx = "https://creativecommons.org/licenses/by-nc/4.0/legalcode", "CC-BY-NC-4.0"
			d.Contacts = []*fairwayv1.Contact{{Name: "Data office", Email: "data@esrf.example.org"}, {Name: "Doe, Jane"}}
			d.CollectedStart = timestamppb.New(time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC))
			d.CollectedEnd = timestamppb.New(time.Date(2021, 3, 3, 0, 0, 0, 0, time.UTC))
			d.InstrumentPid, d.ProposalId = "https://doi.org/10.5072/ID29", "MX-1"
			d.Distributions = []*fairwayv1.Distribution{
				{Format: "NeXus", MediaType: "application/x-hdf5", ByteSize: 5, DownloadUrl: "https://data.esrf.fr/1.h5"},
				{MediaType: "text/csv", AccessUrl: "https://data.esrf.fr/1"},
				{Format: "CBF"},
			}
		}),
		"hostile DCAT-AP 3 fields": edit(func(e *fairwayv1.EnrichedDataset) {
			d := e.Dataset
			d.Key, d.Doi = "doi:10.5072/hostile3", "10.5072/hostile3"
			d.PublisherRor = "javascript:alert(1)"
			d.Contacts = []*fairwayv1.Contact{{Name: "\x00\u202e", Email: "a@b.eu\x00"}, {Name: "Robert\"); DROP", Email: "x\"@evil.example.org"}, {}}
			d.CollectedStart = &timestamppb.Timestamp{Seconds: -1 << 62}
			d.CollectedEnd = timestamppb.New(time.Date(2021, 3, 3, 0, 0, 0, 0, time.UTC))
			d.InstrumentPid, d.ProposalId, d.Instrument = "file:///etc/passwd", " \t\n", "ID\u000b29\\"
			d.Distributions = []*fairwayv1.Distribution{
				{Format: "\"quoted\"\nformat\\", MediaType: "text/html; charset=\"x\"", ByteSize: -5, DownloadUrl: "data:text/html,x", AccessUrl: "http:/nohost", Title: "\x01"},
				{MediaType: "application/../../etc", ByteSize: 1 << 62},
			}
		}),
	}
}

// CatalogueWriterDocument is what a CatalogueWriter writes for the
// fixtures (a Turtle document with prefixes repeated per dataset).
func CatalogueWriterDocument(opts Options) (string, error) {
	var buf bytes.Buffer
	w, err := NewCatalogueWriter(&buf, opts)
	if err != nil {
		return "", err
	}
	for _, e := range Fixtures() {
		if err := w.WriteDataset(e, ""); err != nil {
			return "", err
		}
	}
	return buf.String(), w.Close()
}
