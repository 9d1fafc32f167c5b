package dublincore_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the path of a file under the reference data directory
// (shared/data, found by walking up from the package directory). It fails
// the test when the directory is missing.
func sharedData(t testing.TB, rel ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "data")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return filepath.Join(append([]string{cand}, rel...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("reference data directory shared/data not found above the package directory")
		}
		dir = parent
	}
}

// metadataPayloads returns the element inside each <metadata> of an OAI-PMH
// response, byte for byte as in the document — what a harvester hands on.
func metadataPayloads(t testing.TB, rel ...string) [][]byte {
	t.Helper()
	doc, err := os.ReadFile(sharedData(t, rel...))
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out [][]byte
	inMetadata, depth, start := false, 0, int64(0)
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v: %v", rel, err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			switch {
			case inMetadata:
				if depth == 0 {
					start = off
				}
				depth++
			case x.Name.Local == "metadata":
				inMetadata = true
			}
		case xml.EndElement:
			if !inMetadata {
				continue
			}
			if depth == 0 {
				inMetadata = false
				continue
			}
			depth--
			if depth == 0 {
				out = append(out, doc[start:d.InputOffset()])
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%v: no <metadata> payload", rel)
	}
	return out
}
