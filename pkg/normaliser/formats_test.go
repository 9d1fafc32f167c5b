package normaliser_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/datacite"
	"github.com/panosc/fairway/pkg/dublincore"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/scicatjson"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// normaliseAt is the now the tests normalise at.
var normaliseAt = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func rawRecord(format, sourceID string, payload []byte) *fairwayv1.RawRecord {
	return &fairwayv1.RawRecord{
		FeedId: "esrf-oai", Facility: "ESRF", SourceKind: "oai-pmh", SourceIdentifier: sourceID,
		Datestamp: "2024-05-01T00:00:00Z", MetadataFormat: format, Payload: payload,
		Provenance: &fairwayv1.Provenance{
			FeedId: "esrf-oai", RunId: "run-1", RequestUrl: "https://example.org/oai?verb=ListRecords", Page: 3,
			ResponseDate: timestamppb.New(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)),
			HarvestedAt:  timestamppb.New(time.Date(2024, 5, 2, 0, 0, 1, 0, time.UTC)),
		},
	}
}

// dataciteRecord is a kernel-4 record body; %s parts are filled per case.
func dataciteRecord(ns, identifier, title, inner string) []byte {
	xmlns := ""
	if ns != "" {
		xmlns = ` xmlns="` + ns + `"`
	}
	t := ""
	if title != "" {
		t = `<titles><title>` + title + `</title></titles>`
	}
	return []byte(`<resource` + xmlns + `><identifier identifierType="DOI">` + identifier + `</identifier>` + t +
		`<publisher>ESRF</publisher><publicationYear>2021</publicationYear>` + inner + `</resource>`)
}

func TestNormaliseSamples(t *testing.T) {
	tests := []struct {
		name, format string
		payload      []byte
		key, title   string
	}{
		{"viringo datacite", "datacite", testenv.MetadataPayloads(t, "oai-samples", "datacite-viringo", "oai_getrecord_datacite.xml")[0], "doi:10.5072/not-a-real-doi", "This is a fake DOI with fake metadata."},
		{"viringo oai_datacite", "oai_datacite", testenv.MetadataPayloads(t, "oai-samples", "datacite-viringo", "oai_getrecord_oaidatacite.xml")[0], "doi:10.5072/not-a-real-doi", "This is a fake DOI with fake metadata."},
		{"viringo oai_dc", "oai_dc", testenv.MetadataPayloads(t, "oai-samples", "datacite-viringo", "oai_getrecord_dc.xml")[0], "doi:10.5072/not-a-real-doi", "This is a fake DOI with fake metadata."},
		{"sickle oai_dc", "oai_dc", testenv.MetadataPayloads(t, "oai-samples", "sickle", "ListRecords.xml")[0], "src:esrf:oai:x:1", "Sample Title"},
		{"sickle utf-8", "oai_dc", testenv.MetadataPayloads(t, "oai-samples", "sickle", "GetRecord_utf8test.xml")[0], "src:esrf:oai:x:1", "Sample Title"},
		{"format in upper case", "OAI_DATACITE", testenv.MetadataPayloads(t, "oai-samples", "datacite-viringo", "oai_getrecord_oaidatacite.xml")[0], "doi:10.5072/not-a-real-doi", "This is a fake DOI with fake metadata."},
		{"oai_datacite3", "oai_datacite3", dataciteRecord("http://datacite.org/schema/kernel-3", "10.5072/K3", "Kernel 3", ""), "doi:10.5072/k3", "Kernel 3"},
	}
	for _, doc := range testenv.SciCatSeed(t, "Dataset.json") {
		var ds struct {
			ID   string `json:"_id"`
			Name string `json:"datasetName"`
		}
		if err := json.Unmarshal(doc, &ds); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name, format string
			payload      []byte
			key, title   string
		}{"scicat " + ds.ID, "scicat", doc, "src:esrf:oai:x:1", ds.Name})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := rawRecord(tt.format, "oai:x:1", tt.payload)
			d, err := normaliser.Normalise(raw, normaliseAt)
			if err != nil {
				t.Fatal(err)
			}
			if d.Key != tt.key || d.Title != tt.title {
				t.Errorf("key %q title %q, want %q %q", d.Key, d.Title, tt.key, tt.title)
			}
			if d.Facility != "ESRF" || d.FeedId != "esrf-oai" || d.SourceIdentifier != "oai:x:1" || d.MetadataFormat != tt.format || d.Deleted {
				t.Errorf("source fields: %q %q %q %q deleted %v", d.Facility, d.FeedId, d.SourceIdentifier, d.MetadataFormat, d.Deleted)
			}
			want := proto.CloneOf(raw.Provenance)
			sum := sha256.Sum256(raw.Payload)
			want.SourceDatestamp, want.RawSha256 = raw.Datestamp, hex.EncodeToString(sum[:])
			if !proto.Equal(d.Provenance, want) || d.Provenance == raw.Provenance {
				t.Errorf("provenance %v is not a copy of %v with the source datestamp and the payload's hash", d.Provenance, want)
			}
			if len(d.ContentHash) != 64 || d.ContentHash != normaliser.ContentHash(d) {
				t.Errorf("ContentHash %q, recomputed %q", d.ContentHash, normaliser.ContentHash(d))
			}
		})
	}
}

func TestNormaliseEdgeCases(t *testing.T) {
	const k4 = "http://datacite.org/schema/kernel-4"
	tests := []struct {
		name, format string
		payload      []byte
		key          string
		check        func(t *testing.T, d *fairwayv1.Dataset)
	}{
		{name: "kernel 4", format: "oai_datacite", payload: dataciteRecord(k4, "10.5072/K4", "T", ""), key: "doi:10.5072/k4"},
		{name: "kernel 3", format: "oai_datacite", payload: dataciteRecord("http://datacite.org/schema/kernel-3", "10.5072/K3", "T", ""), key: "doi:10.5072/k3"},
		{name: "wrong namespace", format: "datacite", payload: dataciteRecord("http://www.openarchives.org/OAI/2.0/", "10.5072/W", "T", ""), key: "doi:10.5072/w"},
		{name: "missing namespace", format: "datacite", payload: dataciteRecord("", "10.5072/M", "T", ""), key: "doi:10.5072/m"},
		{name: "oai_datacite envelope", format: "oai_datacite",
			payload: []byte(`<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"><schemaVersion>4</schemaVersion><datacentreSymbol>ESRF.DATA</datacentreSymbol><payload>` +
				string(dataciteRecord(k4, "10.5072/ENV", "T", "")) + `</payload></oai_datacite>`),
			key: "doi:10.5072/env"},
		{name: "DOI as resolver URL", format: "datacite", payload: dataciteRecord(k4, "https://doi.org/10.5072/URL", "T", ""), key: "doi:10.5072/url"},
		{name: "DOI with doi: prefix", format: "datacite", payload: dataciteRecord(k4, "doi:10.5072/P", "T", ""), key: "doi:10.5072/p"},
		{name: "no DOI: source key", format: "datacite", payload: dataciteRecord(k4, "not-a-doi", "T", ""), key: "src:esrf:oai:esrf.fr:42"},
		{name: "day 00", format: "datacite", payload: dataciteRecord(k4, "10.5072/D", "T", `<dates><date dateType="Issued">2021-03-00</date></dates>`), key: "doi:10.5072/d",
			check: func(t *testing.T, d *fairwayv1.Dataset) {
				if !d.Issued.AsTime().Equal(time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("issued %v", d.Issued.AsTime())
				}
			}},
		{name: "embargo in the future", format: "datacite", payload: dataciteRecord(k4, "10.5072/E", "T", `<dates><date dateType="Available">2025-01-01</date></dates>`), key: "doi:10.5072/e",
			check: func(t *testing.T, d *fairwayv1.Dataset) {
				if d.AccessRights != "embargoed" || !d.EmbargoUntil.AsTime().Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("access %q until %v", d.AccessRights, d.EmbargoUntil)
				}
			}},
		{name: "embargo in the past", format: "datacite", payload: dataciteRecord(k4, "10.5072/E", "T",
			`<dates><date dateType="Available">2023-01-01</date></dates><rightsList><rights rightsURI="info:eu-repo/semantics/embargoedAccess"/></rightsList>`), key: "doi:10.5072/e",
			check: func(t *testing.T, d *fairwayv1.Dataset) {
				if d.AccessRights != "open" || d.EmbargoUntil != nil {
					t.Errorf("access %q until %v", d.AccessRights, d.EmbargoUntil)
				}
			}},
		{name: "oai_dc embargo end", format: "oai_dc", payload: []byte(`<oai_dc:dc><dc:title>T</dc:title><dc:identifier>info:doi/10.5072/DC</dc:identifier><dc:rights>info:eu-repo/date/embargoEnd/2024-07-01</dc:rights></oai_dc:dc>`), key: "doi:10.5072/dc",
			check: func(t *testing.T, d *fairwayv1.Dataset) {
				if d.AccessRights != "embargoed" || !d.EmbargoUntil.AsTime().Equal(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("access %q until %v", d.AccessRights, d.EmbargoUntil)
				}
			}},
		{name: "scicat DOI pid", format: "scicat", payload: []byte(`{"pid":"10.5072/SC","datasetName":"T"}`), key: "doi:10.5072/sc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := normaliser.Normalise(rawRecord(tt.format, "oai:esrf.fr:42", tt.payload), normaliseAt)
			if err != nil {
				t.Fatal(err)
			}
			if d.Key != tt.key || d.Title != "T" {
				t.Errorf("key %q title %q, want %q", d.Key, d.Title, tt.key)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func TestNormaliseErrors(t *testing.T) {
	tests := []struct {
		name   string
		raw    *fairwayv1.RawRecord
		want   error
		also   error
		reason string
	}{
		{"nil record", nil, normaliser.ErrMalformedRecord, nil, "no record"},
		{"unknown format", rawRecord("marcxml", "x", []byte("<record/>")), normaliser.ErrUnsupportedFormat, nil, `"marcxml"`},
		{"empty format", rawRecord("", "x", []byte("<record/>")), normaliser.ErrUnsupportedFormat, nil, `""`},
		{"garbage DataCite", rawRecord("oai_datacite", "x", []byte("garbage")), normaliser.ErrMalformedRecord, datacite.ErrMalformed, "outside the root element"},
		{"truncated DataCite", rawRecord("oai_datacite", "x", []byte("<resource><titles><title>broken")), normaliser.ErrMalformedRecord, datacite.ErrMalformed, "unexpected EOF"},
		{"oai_dc under DataCite", rawRecord("oai_datacite", "x", []byte(`<oai_dc:dc><dc:title>T</dc:title></oai_dc:dc>`)), normaliser.ErrMalformedRecord, datacite.ErrNotDataCite, "root element <dc>"},
		{"empty payload", rawRecord("oai_datacite", "x", nil), normaliser.ErrMalformedRecord, datacite.ErrMalformed, "empty payload"},
		{"garbage oai_dc", rawRecord("oai_dc", "x", []byte("{}")), normaliser.ErrMalformedRecord, dublincore.ErrMalformed, "outside the root element"},
		{"garbage scicat", rawRecord("scicat", "x", []byte("<xml/>")), normaliser.ErrMalformedRecord, scicatjson.ErrMalformed, "JSON object"},
		{"no title DataCite", rawRecord("datacite", "x", dataciteRecord("", "10.5072/X", "", "")), normaliser.ErrInvalidRecord, nil, "no title"},
		{"blank title oai_dc", rawRecord("oai_dc", "x", []byte(`<oai_dc:dc><dc:title>  </dc:title><dc:creator>A</dc:creator></oai_dc:dc>`)), normaliser.ErrInvalidRecord, nil, "no title"},
		{"no title scicat", rawRecord("scicat", "x", []byte(`{"pid":"p"}`)), normaliser.ErrInvalidRecord, nil, "no title"},
		{"no DOI and no source id", rawRecord("datacite", "", dataciteRecord("", "x", "T", "")), normaliser.ErrInvalidRecord, nil, "neither a DOI nor a source identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := normaliser.Normalise(tt.raw, normaliseAt)
			if d != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Normalise = %v, %v; want %v", d, err, tt.want)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.also)
			}
			for _, other := range []error{normaliser.ErrMalformedRecord, normaliser.ErrInvalidRecord, normaliser.ErrUnsupportedFormat} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("err = %v also matches %v", err, other)
				}
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want it to say %q", err, tt.reason)
			}
		})
	}
}

func TestNormaliseDeleted(t *testing.T) {
	raw := rawRecord("oai_datacite", "oai:esrf.fr:42", nil)
	raw.Deleted = true
	raw.Facility = "ESRF"
	d, err := normaliser.Normalise(raw, normaliseAt)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Deleted || d.Key != "src:esrf:oai:esrf.fr:42" || d.SourceIdentifier != "oai:esrf.fr:42" || d.FeedId != "esrf-oai" || d.Title != "" {
		t.Errorf("tombstone = %v", d)
	}
	if d.ContentHash == "" || d.Provenance == nil {
		t.Errorf("tombstone hash %q provenance %v", d.ContentHash, d.Provenance)
	}
	// A deletion is a tombstone whatever its payload or format says.
	raw.Payload, raw.MetadataFormat = []byte("garbage"), "unknown"
	if d, err := normaliser.Normalise(raw, normaliseAt); err != nil || !d.Deleted {
		t.Errorf("deleted record with garbage payload: %v, %v", d, err)
	}
}

func TestContentHash(t *testing.T) {
	payload := testenv.MetadataPayloads(t, "oai-samples", "datacite-viringo", "oai_getrecord_oaidatacite.xml")[0]
	a, err := normaliser.Normalise(rawRecord("oai_datacite", "oai:1", payload), normaliseAt)
	if err != nil {
		t.Fatal(err)
	}

	// Another harvest of the same record: new run, page, dates.
	raw := rawRecord("oai_datacite", "oai:1", payload)
	raw.Provenance = &fairwayv1.Provenance{FeedId: "esrf-oai", RunId: "run-2", Page: 9, HarvestedAt: timestamppb.Now(), ResponseDate: timestamppb.Now()}
	raw.Datestamp = "2025-01-01T00:00:00Z"
	b, err := normaliser.Normalise(raw, normaliseAt)
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentHash != b.ContentHash {
		t.Errorf("hash changed with provenance: %s vs %s", a.ContentHash, b.ContentHash)
	}
	raw.Provenance = nil
	if c, err := normaliser.Normalise(raw, normaliseAt); err != nil || c.ContentHash != a.ContentHash {
		t.Errorf("hash without provenance: %v, %v", c.GetContentHash(), err)
	}

	// A changed title changes the hash.
	changed := []byte(strings.Replace(string(payload), "This is a fake DOI with fake metadata.</title>", "Another title</title>", 1))
	c, err := normaliser.Normalise(rawRecord("oai_datacite", "oai:1", changed), normaliseAt)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "Another title" || c.ContentHash == a.ContentHash {
		t.Errorf("title %q: hash %s unchanged", c.Title, c.ContentHash)
	}

	// The fields DCAT-AP 3.0.1 added are covered too (the hash is of the
	// whole dataset but its provenance and stored hash).
	for name, set := range map[string]func(d *fairwayv1.Dataset){
		"distributions":  func(d *fairwayv1.Dataset) { d.Distributions = []*fairwayv1.Distribution{{ByteSize: 1}} },
		"publisher ROR":  func(d *fairwayv1.Dataset) { d.PublisherRor = "https://ror.org/02550n095" },
		"contacts":       func(d *fairwayv1.Dataset) { d.Contacts = []*fairwayv1.Contact{{Email: "a@b.eu"}} },
		"collected":      func(d *fairwayv1.Dataset) { d.CollectedEnd = timestamppb.Now() },
		"instrument PID": func(d *fairwayv1.Dataset) { d.InstrumentPid = "https://doi.org/10.5072/i" },
		"proposal":       func(d *fairwayv1.Dataset) { d.ProposalId = "P-1" },
		"affiliation":    func(d *fairwayv1.Dataset) { d.Creators[0].AffiliationRor = "https://ror.org/0abcdef12" },
	} {
		x := proto.CloneOf(a)
		set(x)
		if normaliser.ContentHash(x) == a.ContentHash {
			t.Errorf("%s: hash unchanged", name)
		}
	}

	// ContentHash ignores the stored hash and the provenance, and does not
	// modify its argument.
	d := proto.CloneOf(a)
	d.ContentHash = "something else"
	d.Provenance.RunId = "run-3"
	if normaliser.ContentHash(d) != a.ContentHash || d.ContentHash != "something else" || d.Provenance.RunId != "run-3" {
		t.Errorf("ContentHash(d) = %s, want %s", normaliser.ContentHash(d), a.ContentHash)
	}
	d.Subjects = append(d.Subjects, &fairwayv1.Subject{Value: "new"})
	if normaliser.ContentHash(d) == a.ContentHash {
		t.Error("hash unchanged by a new subject")
	}
	if normaliser.ContentHash(nil) != "" {
		t.Error("ContentHash(nil) != \"\"")
	}
	if normaliser.ContentHash(&fairwayv1.Dataset{Title: "\xff"}) != "" {
		t.Error("ContentHash of invalid UTF-8 != \"\"")
	}
}

func TestNormaliseInvalidUTF8SourceField(t *testing.T) {
	raw := rawRecord("datacite", "oai:\xff", dataciteRecord("", "x", "T", ""))
	if _, err := normaliser.Normalise(raw, normaliseAt); !errors.Is(err, normaliser.ErrInvalidRecord) {
		t.Errorf("err = %v, want ErrInvalidRecord", err)
	}
}
