package normaliser_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden from the normaliser's output")

// goldenDir holds one expected dataset per reference sample.
const goldenDir = "testdata/golden"

// goldenSample is one record of the reference data, as a harvester would
// hand it to the normaliser, and the golden file it is compared with.
type goldenSample struct {
	golden string // path under goldenDir, without extension
	raw    *fairwayv1.RawRecord
}

// TestGolden normalises every record of the reference samples (every OAI-PMH
// response with records under oai-samples, every dataset and published
// data document under scicat-samples) and compares the dataset, as
// indented protojson, with its golden file; a record the normaliser
// refuses is compared with the error's text in a .err file. Run with
// -update to rewrite the files (and remove those of samples that are gone),
// then review the diff.
func TestGolden(t *testing.T) {
	samples := append(oaiSamples(t), scicatSamples(t)...)
	want := map[string]bool{}
	for _, s := range samples {
		t.Run(s.golden, func(t *testing.T) {
			got, ext := goldenOutput(t, s.raw)
			path := filepath.Join(goldenDir, s.golden+ext)
			want[path] = true
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update and review the new file)", err)
			}
			if !bytes.Equal(got, exp) {
				t.Errorf("%s differs from the output (run with -update and review the diff):\n%s", path, firstDifference(exp, got))
			}
		})
	}
	// A golden file whose sample is gone is stale.
	_ = filepath.WalkDir(goldenDir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || want[path] {
			return err
		}
		if *update {
			return os.Remove(path)
		}
		t.Errorf("%s has no sample any more", path)
		return nil
	})
	if len(samples) < 30 {
		t.Errorf("%d samples, the reference data holds more", len(samples))
	}
}

// goldenNow is the clock of the golden datasets (embargoes are judged
// against it).
var goldenNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// goldenOutput normalises raw and returns the golden text: the dataset as
// protojson indented by encoding/json (protojson's own spacing is not
// stable between builds), or the error's text.
func goldenOutput(t *testing.T, raw *fairwayv1.RawRecord) ([]byte, string) {
	t.Helper()
	d, err := normaliser.Normalise(raw, goldenNow)
	if err != nil {
		if !errors.Is(err, normaliser.ErrMalformedRecord) && !errors.Is(err, normaliser.ErrInvalidRecord) {
			t.Fatalf("undocumented error %v", err)
		}
		return []byte(err.Error() + "\n"), ".err"
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes(), ".json"
}

// firstDifference shows the first line where want and got differ.
func firstDifference(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, a, b)
		}
	}
	return "(same lines)"
}

// oaiSamples returns every record of every OAI-PMH response in
// oai-samples: its header's identifier, datestamp and status, and the
// element inside <metadata> byte for byte, in the format its root element
// names.
func oaiSamples(t *testing.T) []goldenSample {
	t.Helper()
	root := testenv.SharedData(t, "oai-samples")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenSample
	for _, dir := range dirs {
		if !dir.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(root, dir.Name(), "*.xml"))
		slices.Sort(files)
		for _, file := range files {
			doc, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			stem := strings.TrimSuffix(filepath.Base(file), ".xml")
			for i, raw := range oaiRecords(doc, dir.Name()) {
				out = append(out, goldenSample{golden: fmt.Sprintf("%s/%s-%d", dir.Name(), stem, i+1), raw: raw})
			}
		}
	}
	return out
}

// oaiRecords splits an OAI-PMH response into raw records; a document that
// is not XML (sickle's ListRecordsBroken.xml) has none: the harvester
// refuses it before the normaliser.
func oaiRecords(doc []byte, feed string) []*fairwayv1.RawRecord {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out []*fairwayv1.RawRecord
	var cur *fairwayv1.RawRecord
	var field *string
	depth, start := 0, int64(0)
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF || err != nil {
			return out
		}
		switch x := tok.(type) {
		case xml.StartElement:
			switch {
			case depth > 0:
				if depth == 1 {
					start = off
					cur.MetadataFormat = formatOf(x.Name.Local)
				}
				depth++
			case x.Name.Local == "record":
				cur = goldenRecord(feed, "oai-pmh")
			case cur != nil && x.Name.Local == "header":
				for _, a := range x.Attr {
					if a.Name.Local == "status" && a.Value == "deleted" {
						cur.Deleted = true
					}
				}
			case cur != nil && x.Name.Local == "identifier" && cur.SourceIdentifier == "":
				field = &cur.SourceIdentifier
			case cur != nil && x.Name.Local == "datestamp":
				field = &cur.Datestamp
			case cur != nil && x.Name.Local == "metadata":
				depth = 1
			}
		case xml.CharData:
			if field != nil {
				*field += strings.TrimSpace(string(x))
			}
		case xml.EndElement:
			field = nil
			switch {
			case depth > 1:
				depth--
				if depth == 1 {
					cur.Payload = doc[start:d.InputOffset()]
				}
			case depth == 1:
				depth = 0
			case x.Name.Local == "record" && cur != nil:
				if cur.MetadataFormat == "" {
					cur.MetadataFormat = normaliser.FormatOAIDC // a deletion has no payload
				}
				out = append(out, cur)
				cur = nil
			}
		}
	}
}

// formatOf names the metadata format of a payload by its root element.
func formatOf(root string) string {
	switch root {
	case "dc":
		return normaliser.FormatOAIDC
	case "oai_datacite":
		return normaliser.FormatOAIDataCite
	}
	return normaliser.FormatDataCite
}

// scicatSamples returns every document of the scicatlive seed that is a
// dataset (Dataset.json, PublishedData.json); its instruments, proposals
// and samples are not records a feed publishes.
func scicatSamples(t *testing.T) []goldenSample {
	t.Helper()
	var out []goldenSample
	for _, name := range []string{"Dataset", "PublishedData"} {
		for i, doc := range testenv.SciCatSeed(t, name+".json") {
			r := scicatRecord(t, doc)
			g := goldenRecord("scicat", "scicat")
			g.SourceIdentifier, g.MetadataFormat, g.Payload = r.SourceIdentifier, r.MetadataFormat, r.Payload
			out = append(out, goldenSample{golden: fmt.Sprintf("scicatlive-seed/%s-%02d", name, i+1), raw: g})
		}
	}
	return out
}

// goldenRecord is a raw record of feed with a fixed provenance, so that the
// golden files do not change between runs.
func goldenRecord(feed, kind string) *fairwayv1.RawRecord {
	return &fairwayv1.RawRecord{
		FeedId: feed, Facility: "ESRF", SourceKind: kind,
		Provenance: &fairwayv1.Provenance{
			FeedId: feed, RunId: "run-1", RequestUrl: "https://example.org/" + feed, Page: 1,
			ResponseDate: timestamppb.New(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)),
			HarvestedAt:  timestamppb.New(time.Date(2025, 12, 31, 0, 0, 1, 0, time.UTC)),
		},
	}
}
