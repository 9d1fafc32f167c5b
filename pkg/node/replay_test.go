package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// panetWithSynonym returns a copy of the PaNET release ref in which a leaf
// technique that the demo never tags (and that is broader than none, and
// not one of the upper classes below PaNET01000, which free text does not
// name) gets synonym as a skos:altLabel: the datasets whose title holds the
// synonym are tagged with it once the release is in use.
func panetWithSynonym(t *testing.T, ref []byte, synonym string) (target string, modified []byte) {
	t.Helper()
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
	for _, c := range ont.Classes() {
		used := slices.ContainsFunc(samplefeed.Techniques, func(tc samplefeed.Technique) bool { return tc.ID == c.ID })
		if !c.Specifier && !used && !broader[c.ID] && c.ID >= "PaNET01000" {
			target = c.ID
			break
		}
	}
	open := `<owl:Class rdf:about="http://purl.org/pan-science/PaNET/` + target + `">`
	if target == "" || !bytes.Contains(ref, []byte(open)) {
		t.Fatalf("no technique to give a synonym to (%q)", target)
	}
	return target, bytes.Replace(ref, []byte(open), []byte(open+"\n        <skos:altLabel>"+synonym+"</skos:altLabel>"), 1)
}

// TestReplayRetagsCatalogueDestinationAndAnalytics runs a whole node with
// the analytics writer on the test ClickHouse and a piveau hub as a push
// destination, harvests the demo, then gives a PaNET technique a synonym
// that some titles hold and replays the normalised stream through the
// enricher (`fairway panet update --yes`). The new technique must appear
// on exactly those datasets in the catalogue, at the hub and in ClickHouse,
// with every count unchanged: as many datasets in each, one row per
// dataset in ClickHouse, and one push more at the hub for each dataset
// that changed and none for the others. The replay's metrics and the
// rows the writer inserted are read from /metrics, and the status shows
// the analytics as active.
func TestReplayRetagsCatalogueDestinationAndAnalytics(t *testing.T) {
	const records = 120
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, fmt.Appendf(nil, `{"operator":[%q]}`, cliOperatorToken), 0o600); err != nil {
		t.Fatal(err)
	}
	chAddr := os.Getenv("FAIRWAY_CLICKHOUSE_ADDR")
	if chAddr == "" {
		chAddr = analytics.DefaultAddr
	}
	db := fmt.Sprintf("fairway_replay_%d", rand.Uint32())
	httpAddr, natsAddr := freePort(t), freePort(t)
	log, _ := testenv.CaptureLog()
	cfg := Config{
		Target: TargetAll, DataDir: filepath.Join(dir, "data"), HTTPAddr: httpAddr, NATSListen: natsAddr, TokensFile: tokens,
		Demo: true, DemoRecords: records, PaNET: testenv.PaNET(t), Ready: make(chan struct{}),
		ClickHouse: analytics.Config{Addr: chAddr, Database: db, FlushInterval: 200 * time.Millisecond},
	}
	cfg.Harvester.PollInterval = 100 * time.Millisecond
	ctx, stop := runUntilReady(t, cfg, log)
	defer stop()
	store, err := analytics.Open(ctx, analytics.Config{Addr: chAddr, Database: db})
	if err != nil {
		t.Fatalf("ClickHouse at %s: %v", chAddr, err)
	}
	defer func() {
		_ = store.DropDatabase(context.Background())
		store.Close()
	}()
	urls, opts, err := natsClient("nats://"+natsAddr, filepath.Join(cfg.DataDir, natsembed.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(ctx, bus.Config{URL: urls, Options: opts, SkipProvision: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// The hub, registered through the CLI as an operator would.
	hub := piveautest.Start(piveautest.Config{APIKey: cliHubKey, Catalogues: []string{"panosc"}})
	t.Cleanup(hub.Close)
	keyFile := filepath.Join(dir, "hub-key")
	if err := os.WriteFile(keyFile, []byte(cliHubKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAIRWAY_SERVER", "http://"+httpAddr)
	t.Setenv("FAIRWAY_TOKEN", cliOperatorToken)
	t.Setenv("FAIRWAY_TOKEN_FILE", "")
	if out, err := runDestinationsCLI(t, "destinations", "add", "--id", "eosc", "--kind", "piveau", "--url", hub.URL,
		"--catalogue", "panosc", "--api-key-file", keyFile); err != nil {
		t.Fatalf("destinations add: %v\n%s", err, out)
	}

	corpus := DemoCorpus(records)
	live := 0
	for i := range records {
		if !corpus.Record(i).Deleted {
			live++
		}
	}
	// Everything in step: the catalogue, the hub and ClickHouse.
	var before map[string]*fairwayv1.CatalogueEntry
	waitFor(t, 2*time.Minute, "the demo in the catalogue, at the hub and in ClickHouse", func() (bool, string) {
		before = liveEntries(t, b)
		n, err := store.LiveCount(ctx)
		return len(before) == live && hub.Len("panosc") == live && err == nil && n == uint64(live),
			fmt.Sprintf("catalogue %d, hub %d, ClickHouse %d (%v), want %d", len(before), hub.Len("panosc"), n, err, live)
	})
	rowsBefore, err := store.Count(ctx, "datasets FINAL", "1")
	if err != nil {
		t.Fatal(err)
	}
	// The hub's catalogue and ClickHouse hold the entries in step (a
	// pending push or batch would change what follows).
	time.Sleep(time.Second)
	writes := map[string]int{}
	for id := range hub.Datasets("panosc") {
		writes[id] = hub.Writes("panosc", id)
	}
	puts := hub.Count(piveautest.RoutePutDataset)

	// The new release.
	const synonym = "zeolite catalysts"
	ref, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	target, modified := panetWithSynonym(t, ref, synonym)
	iri := "http://purl.org/pan-science/PaNET/" + target
	newFile := filepath.Join(dir, "PaNET-modified.owl")
	if err := os.WriteFile(newFile, modified, 0o644); err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for k, e := range before {
		if strings.Contains(strings.ToLower(e.GetDataset().GetDataset().GetTitle()), synonym) {
			named[k] = true
		}
		if hasTechnique(e, target) {
			t.Fatalf("%s is tagged %s before the update", k, target)
		}
	}
	if len(named) == 0 || len(named) == live {
		t.Fatalf("%d of %d titles name %q: the test needs both kinds", len(named), live, synonym)
	}
	t.Logf("%d of %d datasets name %q: %s gets it as a synonym", len(named), live, synonym, target)
	if out, err := runPaNETCLI(t, "update", "--from", newFile, "--yes", "--interval", "100ms"); err != nil || !strings.Contains(out, "re-tagged: ") {
		t.Fatalf("panet update: %v\n%s", err, out)
	}

	// The catalogue: exactly the named datasets carry the new technique.
	waitFor(t, time.Minute, "the new technique in the catalogue", func() (bool, string) {
		after := liveEntries(t, b)
		tagged := 0
		for _, e := range after {
			if hasTechnique(e, target) {
				tagged++
			}
		}
		return tagged == len(named), fmt.Sprintf("%d of %d tagged", tagged, len(named))
	})
	after := liveEntries(t, b)
	if len(after) != len(before) {
		t.Errorf("catalogue: %d datasets after the replay, %d before", len(after), len(before))
	}
	for k, e := range after {
		if hasTechnique(e, target) != named[k] {
			t.Errorf("catalogue: %s (%q) tagged %s: %v", k, e.GetDataset().GetDataset().GetTitle(), target, !named[k])
		}
	}

	// The hub: the changed datasets pushed once more, with the technique
	// among their themes; nothing else pushed again.
	waitFor(t, time.Minute, "the changed datasets at the hub", func() (bool, string) {
		n := hub.Count(piveautest.RoutePutDataset) - puts
		return n >= len(named), fmt.Sprintf("%d pushes since the update, want %d", n, len(named))
	})
	waitFor(t, 30*time.Second, "the changes in ClickHouse", func() (bool, string) {
		counts, err := store.CountsByTechnique(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, c := range counts {
			if c.IRI == iri {
				return c.Datasets == uint64(len(named)), fmt.Sprintf("%d datasets of %s, want %d", c.Datasets, iri, len(named))
			}
		}
		return false, "no " + iri
	})
	time.Sleep(time.Second) // a push or a batch too many would land meanwhile
	if n := hub.Count(piveautest.RoutePutDataset) - puts; n != len(named) {
		t.Errorf("hub: %d pushes since the update, want one per changed dataset, %d", n, len(named))
	}
	datasets := hub.Datasets("panosc")
	if len(datasets) != live {
		t.Errorf("hub: %d datasets after the replay, want %d", len(datasets), live)
	}
	themed := 0
	for id, turtle := range datasets {
		has := bytes.Contains(turtle, []byte(iri))
		want := writes[id]
		if has {
			themed++
			want++
		}
		if got := hub.Writes("panosc", id); got != want {
			t.Errorf("hub: %s written %d times, want %d (tagged: %v)", id, got, want, has)
		}
	}
	if themed != len(named) {
		t.Errorf("hub: %d datasets name %s, want %d", themed, iri, len(named))
	}

	// ClickHouse: the same datasets, one row each.
	if n, err := store.LiveCount(ctx); err != nil || n != uint64(live) {
		t.Errorf("ClickHouse: %d live datasets (%v), want %d", n, err, live)
	}
	if n, err := store.Count(ctx, "datasets FINAL", "1"); err != nil || n != rowsBefore {
		t.Errorf("ClickHouse: %d dataset rows (%v), %d before the replay", n, err, rowsBefore)
	}
	if n, err := store.Count(ctx, "datasets FINAL", fmt.Sprintf("has(techniques, '%s')", iri)); err != nil || n != uint64(len(named)) {
		t.Errorf("ClickHouse: %d rows tagged %s (%v), want %d", n, iri, err, len(named))
	}

	// The metrics tell the replay (it read every key of the normalised
	// stream, the deleted records' too) and the rows written.
	keys, err := b.StreamReader(bus.Normalised).Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, httpAddr)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"fairway_replay_keys_total", map[string]string{"stage": "enricher", "outcome": "changed"}, float64(len(named))},
		{"fairway_replay_keys_total", map[string]string{"stage": "enricher", "outcome": "unchanged"}, float64(keys) - float64(len(named))},
		{"fairway_replay_keys_total", map[string]string{"stage": "enricher", "outcome": "refused"}, 0},
		{"fairway_replays_total", map[string]string{"stage": "enricher", "state": "done"}, 1},
		{"fairway_replay_running", map[string]string{"stage": "enricher"}, 0},
	} {
		if got, _ := sum(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got, _ := sum(fams, "fairway_replay_keys_read", map[string]string{"stage": "enricher"}); got != float64(keys) {
		t.Errorf("replay progress: %v keys read, want %d", got, keys)
	}
	// A catalogue entry is three rows: a dataset version, a pipeline
	// event and its citations row.
	msgs, _ := sum(fams, "fairway_batch_messages_total", map[string]string{"stage": "analytics"})
	rows, _ := sum(fams, "fairway_batch_rows_total", map[string]string{"stage": "analytics"})
	if msgs == 0 || rows != 3*msgs {
		t.Errorf("analytics writer: %v rows for %v catalogue entries, want three each", rows, msgs)
	}

	// The status shows the analytics as active.
	out, err := runOpsCLI(t, "", "status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var st api.NodeStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.AnalyticsState != api.AnalyticsActive {
		t.Errorf("status: analytics %q (%v)", st.AnalyticsState, err)
	}
}
