package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/node"
)

// exported fetches a node's whole catalogue (GET /export, as N-Triples)
// and returns the title of every dataset it describes, by dataset IRI.
func exported(server string) (map[string]string, error) {
	resp, err := httpClient.Get(server + "/export?format=ntriples")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /export: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	triples, err := rdf.NewTripleDecoder(strings.NewReader(string(b)), rdf.NTriples).DecodeAll()
	if err != nil {
		return nil, fmt.Errorf("GET /export: not N-Triples: %w", err)
	}
	datasets, titles := map[string]bool{}, map[string]string{}
	for _, tr := range triples {
		switch tr.Pred.String() {
		case "http://www.w3.org/1999/02/22-rdf-syntax-ns#type":
			if tr.Obj.String() == "http://www.w3.org/ns/dcat#Dataset" {
				datasets[tr.Subj.String()] = true
			}
		case "http://purl.org/dc/terms/title":
			titles[tr.Subj.String()] = tr.Obj.String()
		}
	}
	out := map[string]string{}
	for d := range datasets {
		out[d] = titles[d]
	}
	return out, nil
}

// TestSecondNodeHarvestsTheFirst runs two nodes as a user would: the first
// serves the demo; the second registers the first's OAI-PMH provider as a
// feed (oai_datacite, set openaire_data) and harvests it with Fairway's own
// harvester. What goes in comes out: the second node's catalogue holds the
// first's datasets, with the same IRIs and titles.
func TestSecondNodeHarvestsTheFirst(t *testing.T) {
	const records = 120
	corpus := node.DemoCorpus(records)
	live := map[string]bool{}
	for i := range records {
		if r := corpus.Record(i); !r.Deleted {
			live[r.DOI] = true
		}
	}
	first, second := freeAddr(t), freeAddr(t)
	start(t, "fairway", "up", "--demo", "--demo-records", fmt.Sprint(records), "--demo-page-size", "25",
		"--data", t.TempDir(), "--http", first, "--poll", "200ms", "--no-analytics", "--panet", testenv.PaNET(t))
	var want map[string]string
	eventually(t, 2*time.Minute, "every live demo dataset in the first node's catalogue", func() (bool, string) {
		got, err := exported("http://" + first)
		if err != nil {
			return false, err.Error()
		}
		want = got
		return len(got) == len(live), fmt.Sprintf("%d datasets, want %d", len(got), len(live))
	})
	for doi := range live {
		if _, ok := want["https://doi.org/"+strings.ToLower(doi)]; !ok {
			t.Errorf("the first node does not serve %s", doi)
		}
	}

	const operator = "second-node-operator-token-0123456789"
	data := t.TempDir()
	tokens := filepath.Join(data, "tokens.json")
	b, _ := json.Marshal(map[string]any{"operator": []string{operator}})
	if err := os.WriteFile(tokens, b, 0o600); err != nil {
		t.Fatal(err)
	}
	server := "http://" + second
	start(t, "fairway", "up", "--data", data, "--http", second, "--poll", "200ms", "--tokens", tokens,
		"--allow-private-feeds", "--no-analytics", "--panet", testenv.PaNET(t))
	eventually(t, 30*time.Second, "the second node's API", func() (bool, string) {
		resp, err := httpClient.Get(server + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	runEnv(t, []string{"FAIRWAY_TOKEN=" + operator}, "fairway", "feeds", "add", "--server", server, "--id", "first-node",
		"--facility", "PANOSC", "--url", "http://"+first+"/oai", "--format", "oai_datacite", "--set", "openaire_data", "--every", "0")
	var got map[string]string
	eventually(t, 2*time.Minute, "the first node's datasets in the second's catalogue", func() (bool, string) {
		var err error
		if got, err = exported(server); err != nil {
			return false, err.Error()
		}
		return len(got) >= len(want), fmt.Sprintf("%d of %d datasets", len(got), len(want))
	})
	for iri, title := range want {
		if g, ok := got[iri]; !ok {
			t.Errorf("%s (%q) did not come out of the second node", iri, title)
		} else if g != title {
			t.Errorf("%s: title %q, want %q", iri, g, title)
		}
	}
	for _, iri := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[iri]; !ok {
			t.Errorf("the second node holds %s, which the first does not serve", iri)
		}
	}
}
