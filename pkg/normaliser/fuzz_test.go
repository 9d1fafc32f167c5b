package normaliser_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// FuzzNormalise checks Normalise's contract on any format and payload: it
// never panics and stays within a time budget; a record either normalises
// to a dataset with a title, a key and its content hash, or fails with one
// of the documented errors, which says why.
func FuzzNormalise(f *testing.F) {
	for _, s := range []struct{ format, dir, file string }{
		{"oai_datacite", "datacite-viringo", "oai_getrecord_oaidatacite.xml"},
		{"datacite", "datacite-viringo", "oai_getrecord_datacite.xml"},
		{"oai_dc", "datacite-viringo", "oai_getrecord_dc.xml"},
		{"oai_dc", "sickle", "ListRecords.xml"},
		{"oai_dc", "sickle", "GetRecord_utf8test.xml"},
	} {
		for _, p := range testenv.MetadataPayloads(f, "oai-samples", s.dir, s.file) {
			f.Add(s.format, "oai:x:1", false, p)
		}
	}
	for _, name := range []string{"Dataset.json", "PublishedData.json"} {
		for _, doc := range testenv.SciCatSeed(f, name) {
			f.Add("scicat", "", false, []byte(doc))
		}
	}
	f.Add("oai_datacite3", "oai:x:2", false, dataciteRecord("http://datacite.org/schema/kernel-3", "10.5072/K3", "Kernel 3", ""))
	f.Add("datacite", "oai:x:3", false, dataciteRecord("", "10.5072/"+strings.Repeat("x", 100<<10), "huge DOI", ""))
	f.Add("datacite", "", false, dataciteRecord("", "not a doi", "no DOI, no source identifier", ""))
	f.Add("oai_dc", "oai:x:4", false, []byte("<oai_dc:dc xmlns:oai_dc=\"x\"><title>\xff\xfe</title></oai_dc:dc>"))
	f.Add("scicat", "oai:x:5", false, []byte(`{"pid":"x","datasetName":["wrong","type"]}`))
	f.Add("scicat", "oai:x:6", false, []byte(`{"pid":"x"}`))
	f.Add("marcxml", "oai:x:7", false, []byte(`<record/>`))
	f.Add("oai_dc", "oai:x:8", true, []byte(nil))
	f.Add("oai_dc", strings.Repeat("oai:", 50<<10), false, []byte(`<dc><title>long source identifier</title></dc>`))
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, format, sourceID string, deleted bool, payload []byte) {
		raw := &fairwayv1.RawRecord{
			FeedId: "feed", Facility: "ESRF", SourceKind: "oai-pmh", SourceIdentifier: sourceID,
			MetadataFormat: format, Payload: payload, Deleted: deleted,
		}
		start := time.Now()
		d, err := normaliser.Normalise(raw, now)
		took := time.Since(start)
		if err != nil {
			if !errors.Is(err, normaliser.ErrMalformedRecord) && !errors.Is(err, normaliser.ErrInvalidRecord) &&
				!errors.Is(err, normaliser.ErrUnsupportedFormat) {
				t.Fatalf("Normalise error %v wraps none of the documented errors", err)
			}
			if d != nil {
				t.Fatalf("Normalise returned a dataset with error %v", err)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an error without a reason")
			}
			return
		}
		if took > 2*time.Second {
			t.Fatalf("a payload of %d bytes took %v", len(payload), took)
		}
		if d.GetKey() == "" {
			t.Fatal("a dataset without a key")
		}
		if d.GetDeleted() != deleted {
			t.Fatalf("Deleted = %v, the raw record's is %v", d.GetDeleted(), deleted)
		}
		if !deleted && strings.TrimSpace(d.GetTitle()) == "" {
			t.Fatal("a dataset without a title")
		}
		if h := normaliser.ContentHash(d); h == "" || h != d.GetContentHash() {
			t.Fatalf("ContentHash = %q, the dataset says %q", h, d.GetContentHash())
		}
		if _, err := protojson.Marshal(d); err != nil {
			t.Fatalf("the dataset cannot be written as JSON: %v", err)
		}
		again, err := normaliser.Normalise(proto.CloneOf(raw), now)
		if err != nil || !proto.Equal(again, d) {
			t.Fatalf("a second Normalise differs: %v", err)
		}
	})
}
