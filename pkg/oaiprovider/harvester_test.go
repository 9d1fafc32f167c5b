package oaiprovider_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/oaiprovider"
)

// harvested is a record or header as the npm harvester prints it (xml2js
// without arrays for single children).
type harvested struct {
	Header   *harvestedHeader `json:"header"`
	Metadata json.RawMessage  `json:"metadata"`
	// A ListIdentifiers item is the header itself.
	Identifier string `json:"identifier"`
	Attrs      struct {
		Status string `json:"status"`
	} `json:"$"`
}

type harvestedHeader struct {
	Identifier string `json:"identifier"`
	Datestamp  string `json:"datestamp"`
	Attrs      struct {
		Status string `json:"status"`
	} `json:"$"`
}

// TestThirdPartyHarvester harvests the provider with the npm OAI-PMH
// harvester (oai-pmh 2.0.3): over several pages, every live dataset comes
// out with its metadata, and every deleted one as deleted, in every format.
func TestThirdPartyHarvester(t *testing.T) {
	tools := testenv.NodeTools(t)
	n := newNode(t, oaiprovider.Config{PageSize: 5})
	deleted := []int{0, 6, 11, 20}
	sets := n.corpus(23, deleted...)
	want := map[string]bool{} // identifier -> deleted
	for i, e := range sets {
		want[n.prov.Identifier(e.Dataset.Key)] = false
		for _, d := range deleted {
			if d == i {
				want[n.prov.Identifier(e.Dataset.Key)] = true
			}
		}
	}
	for _, tc := range []struct{ command, prefix string }{
		{"list-records", "oai_dc"},
		{"list-records", "oai_datacite"},
		{"list-records", "dcat_ap"},
		{"list-identifiers", "oai_datacite"},
	} {
		t.Run(tc.command+" "+tc.prefix, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", filepath.Join(tools, "node_modules", "oai-pmh", "bin", "oai-pmh"),
				tc.command, "-p", tc.prefix, n.srv.URL+"/oai")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			got := map[string]bool{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var h harvested
				if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
					t.Fatalf("%v: %s", err, sc.Text())
				}
				id, status := h.Identifier, h.Attrs.Status
				if h.Header != nil {
					id, status = h.Header.Identifier, h.Header.Attrs.Status
					if hasMetadata := len(h.Metadata) > 0 && string(h.Metadata) != "null"; hasMetadata == (status == "deleted") {
						t.Errorf("%s: status %q, metadata %s", id, status, h.Metadata)
					}
				}
				if _, dup := got[id]; dup {
					t.Errorf("%s harvested twice", id)
				}
				got[id] = status == "deleted"
			}
			if len(got) != len(want) {
				t.Errorf("harvested %d records, want %d", len(got), len(want))
			}
			for id, del := range want {
				if g, ok := got[id]; !ok || g != del {
					t.Errorf("%s: harvested %v (deleted %v), want deleted %v", id, ok, g, del)
				}
			}
		})
	}
}
