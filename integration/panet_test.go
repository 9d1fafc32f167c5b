package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestPaNETUpdateAcrossEnricherReplicas runs the services as separate
// processes with two enricher replicas (one started with --panet, one
// without, which loads the node's release), updates the node's release with
// `fairway panet update --yes`, and checks that both replicas use it, that
// one of them alone ran the replay, and that the catalogue shows the new
// technique on the datasets whose title names its new synonym.
func TestPaNETUpdateAcrossEnricherReplicas(t *testing.T) {
	const records = 80
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	corpus := samplefeed.NewCorpus(3, records)
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	feedURL, stopFeed, err := samplefeed.Start(ctx, "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer stopFeed(context.Background())

	natsAddr := freeAddr(t)
	startEnv(t, singleNATSEnv(t, natsAddr), "nats-server", "-c", natsConf(t, "single.conf"))
	natsURL := "nats://" + natsAddr
	credentials := filepath.Join(t.TempDir(), "nats-credentials")
	if err := os.WriteFile(credentials, []byte("user="+clusterUser+"\npassword="+clusterPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var nc *nats.Conn
	eventually(t, 20*time.Second, "nats-server", func() (bool, string) {
		nc, err = nats.Connect(natsURL, nats.UserInfo(clusterUser, clusterPassword))
		return err == nil, fmt.Sprint(err)
	})
	defer nc.Close()

	const operatorToken = "panet-operator-token-0123456789"
	httpAddr := freeAddr(t)
	server := "http://" + httpAddr
	common := []string{"--nats", natsURL, "--nats-credentials", credentials, "--log-format", "json"}
	startEnv(t, []string{"FAIRWAY_OPERATOR_TOKEN=" + operatorToken}, "publisher",
		append(common, "--http", httpAddr, "--data", t.TempDir(), "--no-analytics", "--allow-private-feeds")...)
	start(t, "harvester", append(common, "--poll", "200ms", "--allow-private-feeds")...)
	start(t, "normaliser", common...)
	first := start(t, "enricher", append(common, "--panet", testenv.PaNET(t))...)
	eventually(t, 30*time.Second, "the feed API", func() (bool, string) {
		resp, err := httpClient.Get(server + "/api/v1/panet")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(b.String(), `"digest"`), resp.Status
	})
	// The second replica has no --panet: it loads the node's release.
	second := start(t, "enricher", common...)
	cli := []string{"FAIRWAY_TOKEN=" + operatorToken, "FAIRWAY_SERVER=" + server}
	runEnv(t, cli, "fairway", "feeds", "add", "--id", "sample-esrf", "--facility", "ESRF",
		"--url", feedURL, "--format", "oai_datacite", "--set", "esrf", "--every", "0")

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	entries := func() map[string]*fairwayv1.CatalogueEntry {
		out := map[string]*fairwayv1.CatalogueEntry{}
		str, err := js.Stream(ctx, string(bus.Catalogue))
		if err != nil {
			return out
		}
		info, _ := str.Info(ctx)
		for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
			m, err := str.GetMsg(ctx, seq)
			if err != nil {
				continue // replaced by a newer entry of its dataset
			}
			var e fairwayv1.CatalogueEntry
			if proto.Unmarshal(testenv.Payload(t, m), &e) == nil && !e.Deleted {
				out[e.Key] = &e
			}
		}
		return out
	}
	live := 0
	for i := range records {
		if corpus.FacilityOf(i).Slug == "esrf" && !corpus.Record(i).Deleted {
			live++
		}
	}
	if live == 0 {
		t.Fatal("no live ESRF record in the corpus")
	}
	eventually(t, 2*time.Minute, "the catalogue", func() (bool, string) {
		n := len(entries())
		return n == live, fmt.Sprintf("%d live entries, want %d", n, live)
	})

	// The new release: a leaf technique the corpus never uses gets, as a
	// synonym, the sample of some titles.
	ref, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	ont, err := panet.Parse(bytes.NewReader(ref))
	if err != nil {
		t.Fatal(err)
	}
	broader := map[string]bool{}
	for _, c := range ont.Classes() {
		for _, a := range ont.Ancestors(c.ID) {
			broader[a.ID] = true
		}
	}
	var target string
	for _, c := range ont.Classes() {
		used := slices.ContainsFunc(samplefeed.Techniques, func(tc samplefeed.Technique) bool { return tc.ID == c.ID })
		if !c.Specifier && !used && !broader[c.ID] && c.ID >= "PaNET01000" {
			target = c.ID
			break
		}
	}
	// The synonym is the sample of the most titles, among a few.
	all := entries()
	synonym, named := "", 0
	for _, sample := range []string{"lysozyme crystals", "silica nanoparticles", "lithium-ion battery cathodes", "perovskite thin films",
		"zeolite catalysts", "amyloid fibrils", "high-entropy alloys", "cement pastes", "lipid bilayers", "spider silk fibres"} {
		n := 0
		for _, e := range all {
			if strings.Contains(strings.ToLower(e.GetDataset().GetDataset().GetTitle()), sample) {
				n++
			}
		}
		if n > named {
			synonym, named = sample, n
		}
	}
	if named == 0 {
		t.Fatal("no title names one of the samples")
	}
	open := `<owl:Class rdf:about="http://purl.org/pan-science/PaNET/` + target + `">`
	newFile := filepath.Join(t.TempDir(), "PaNET-new.owl")
	if err := os.WriteFile(newFile, bytes.Replace(ref, []byte(open), []byte(open+"<skos:altLabel>"+synonym+"</skos:altLabel>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}

	out := string(runEnv(t, cli, "fairway", "panet", "update", "--from", newFile, "--yes", "--interval", "200ms"))
	if !strings.Contains(out, "synonyms added: 1") || !strings.Contains(out, "enrichers using it: 2 of 2") || !strings.Contains(out, "re-tagged: ") {
		t.Fatalf("panet update:\n%s", out)
	}
	eventually(t, time.Minute, "the new technique in the catalogue", func() (bool, string) {
		all := entries()
		tagged := 0
		for _, e := range all {
			if slices.ContainsFunc(e.GetDataset().GetTechniques(), func(tc *fairwayv1.Technique) bool { return tc.GetId() == target }) {
				tagged++
			}
		}
		return tagged == named && len(all) == live, fmt.Sprintf("%d of %d tagged %s, %d entries", tagged, named, target, len(all))
	})
	ran := 0
	for _, p := range []*proc{first, second} {
		if !strings.Contains(p.out.String(), "PaNET release changed") {
			t.Errorf("enricher %s did not log the change of release", p.name)
		}
		if strings.Contains(p.out.String(), "replay done") {
			ran++
		}
	}
	if ran != 1 {
		t.Errorf("%d replicas ran the replay, want 1", ran)
	}
	if show := string(runEnv(t, cli, "fairway", "panet", "show")); strings.Count(show, "1.3.0-48-g7011e6b") < 3 {
		t.Errorf("panet show (the release and two enrichers):\n%s", show)
	}
}
