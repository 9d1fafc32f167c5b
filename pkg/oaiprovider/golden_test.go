package oaiprovider_test

import (
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/panosc/fairway/pkg/oaiprovider"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden compares whole responses with the files in testdata (go test
// -update rewrites them): a record in each format, a deleted record, the
// sets.
func TestGolden(t *testing.T) {
	n := newNode(t, oaiprovider.Config{})
	sets := n.corpus(3, 1)
	id := func(i int) string { return url.QueryEscape(n.prov.Identifier(sets[i].Dataset.Key)) }
	for _, tc := range []struct{ file, query string }{
		{"getrecord_oai_dc.xml", "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + id(0)},
		{"getrecord_oai_datacite.xml", "verb=GetRecord&metadataPrefix=oai_datacite&identifier=" + id(2)},
		{"getrecord_dcat_ap.xml", "verb=GetRecord&metadataPrefix=dcat_ap&identifier=" + id(0)},
		{"getrecord_deleted.xml", "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + id(1)},
		{"listsets.xml", "verb=ListSets"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, body := n.get(tc.query)
			golden := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if body != string(want) {
				t.Errorf("response differs from %s (go test -update rewrites it):\n%s", golden, body)
			}
		})
	}
}
