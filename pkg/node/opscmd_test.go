package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// runOpsCLI runs `fairway <args>` with the operations commands (replay,
// dlq, status, datasets) and returns its output.
func runOpsCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "fairway", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(ReplayCommand(), DeadLettersCommand(), StatusCommand(), DatasetsCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// opsRecord is the raw record a harvester writes for an oai_dc record of
// feed (of facility) with the given DOI and title.
func opsRecord(feed, facility, id, doi, title string) bus.Event {
	dc := fmt.Sprintf(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">`+
		`<dc:title>%s</dc:title><dc:creator>Doe, Jane</dc:creator><dc:identifier>https://doi.org/%s</dc:identifier>`+
		`<dc:publisher>%s</dc:publisher><dc:date>2024-05-01</dc:date><dc:type>Dataset</dc:type><dc:rights>CC-BY-4.0</dc:rights></oai_dc:dc>`, title, doi, facility)
	raw := &fairwayv1.RawRecord{
		FeedId: feed, Facility: facility, SourceKind: "oai-pmh", SourceIdentifier: id, Datestamp: "2024-05-01",
		MetadataFormat: "oai_dc", Payload: []byte(dc), Provenance: &fairwayv1.Provenance{FeedId: feed, RunId: "run-test"},
	}
	b, err := proto.Marshal(raw)
	if err != nil {
		panic(err)
	}
	return bus.Event{Stream: bus.Raw, Key: feed + ":" + id, Hash: bus.Digest(string(b)), Payload: b}
}

// waitFor polls cond until it holds or a minute passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOperations runs a node and operates it through the CLI against its
// HTTP API: the dead letters (a poison record that reaches them with its
// history, is fixed, redriven and published; a purge by filter), replays
// of each stage with filters, dry runs and idempotence, and the status.
//
// The poison record is ILL's record of a dataset whose DOI ESRF's feed
// published first: the normaliser refuses it into the dead letters, since
// one facility can never change another's data. The DOI moved to ILL; the
// fix is the operator's transfer of the dataset to ILL (`fairway datasets
// transfer`), after which the redriven record is published: the dataset
// lists it among its sources.
func TestOperations(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, fmt.Appendf(nil, `{"operator":[%q],"facilities":{"ILL":[%q]}}`, cliOperatorToken, cliILLToken), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr, natsAddr := freePort(t), freePort(t)
	log, _ := testenv.CaptureLog()
	cfg := Config{
		Target: TargetAll, DataDir: filepath.Join(dir, "data"), HTTPAddr: httpAddr, NATSListen: natsAddr, TokensFile: tokens,
		NoAnalytics: true, PaNET: testenv.PaNET(t), Ready: make(chan struct{}),
	}
	ctx, stop := runUntilReady(t, cfg, log)
	defer stop()
	urls, opts, err := natsClient("nats://"+natsAddr, filepath.Join(cfg.DataDir, natsembed.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(ctx, bus.Config{URL: urls, Options: opts, SkipProvision: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Setenv("FAIRWAY_SERVER", "http://"+httpAddr)
	t.Setenv("FAIRWAY_TOKEN", cliOperatorToken)
	t.Setenv("FAIRWAY_TOKEN_FILE", "")
	cli := func(args ...string) string {
		t.Helper()
		out, err := runOpsCLI(t, "", args...)
		if err != nil {
			t.Fatalf("fairway %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	// ESRF publishes five datasets, ILL two of its own.
	const moved = "10.5072/ops.moved"
	var raws []bus.Event
	for i := range 5 {
		doi := fmt.Sprintf("10.5072/ops.esrf.%d", i)
		if i == 0 {
			doi = moved
		}
		raws = append(raws, opsRecord("esrf-oai", "ESRF", fmt.Sprintf("oai:esrf:%d", i), doi, fmt.Sprintf("ESRF dataset %d", i)))
	}
	for i := range 2 {
		raws = append(raws, opsRecord("ill-oai", "ILL", fmt.Sprintf("oai:ill:%d", i), fmt.Sprintf("10.5072/ops.ill.%d", i), fmt.Sprintf("ILL dataset %d", i)))
	}
	if err := b.Publish(ctx, "harvester", raws...); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "seven datasets in the catalogue", func() bool { return len(liveEntries(t, b)) == 7 })

	// ILL's record of the moved DOI is refused: ESRF owns the dataset.
	poison := opsRecord("ill-oai", "ILL", "oai:ill:moved", moved, "Moved to ILL")
	if err := b.Publish(ctx, "harvester", poison); err != nil {
		t.Fatal(err)
	}
	var seq uint64
	waitUntil(t, "the poison record in the dead letters", func() bool {
		letters, err := b.DeadLetters(ctx, string(bus.StageNormaliser), 0)
		if err == nil && len(letters) == 1 {
			seq = letters[0].Seq
		}
		return seq != 0
	})
	out := cli("dlq", "list", "--stage", "normaliser", "--feed", "ill-oai", "--error", "OWNED")
	if !strings.Contains(out, "ill-oai:oai:ill:moved") || !strings.Contains(out, "1 dead letters") {
		t.Fatalf("dlq list:\n%s", out)
	}
	for _, f := range [][]string{{"--feed", "esrf-oai"}, {"--error", "no such text"}, {"--stage", "enricher"}, {"--since", "2h", "--until", "1h"}} {
		if out := cli(append([]string{"dlq", "list"}, f...)...); !strings.Contains(out, "\n0 dead letters") {
			t.Fatalf("dlq list %v:\n%s", f, out)
		}
	}
	// Redriven before the fix, it fails again and remembers both failures.
	if out := cli("dlq", "redrive", strconv.FormatUint(seq, 10)); !strings.Contains(out, "redriven: 1, left: 0") {
		t.Fatalf("dlq redrive:\n%s", out)
	}
	waitUntil(t, "the poison record back in the dead letters", func() bool {
		letters, err := b.DeadLetters(ctx, string(bus.StageNormaliser), 0)
		if err == nil && len(letters) == 1 && letters[0].Seq != seq {
			seq = letters[0].Seq
			return true
		}
		return false
	})
	out = cli("dlq", "show", strconv.FormatUint(seq, 10))
	for _, want := range []string{"history (2 failures)", "1. ", "2. ", "stage:     normaliser", "Moved to ILL", "Fairway-Key:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("dlq show lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`"feedId":\s*"ill-oai"`).MatchString(out) {
		t.Fatalf("dlq show does not decode the raw record:\n%s", out)
	}

	// Junk on the raw stream: dead letters of a feed, purged by filter.
	for i := range 3 {
		junk := bus.Event{Stream: bus.Raw, Key: fmt.Sprintf("junk-feed:%d", i), Hash: fmt.Sprint("junk", i), Payload: []byte{0xff, 0xfe, byte(i)}}
		if err := b.Publish(ctx, "harvester", junk); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "four dead letters", func() bool {
		n, err := b.DeadLetterCount(ctx, string(bus.StageNormaliser))
		return err == nil && n == 4
	})
	if out, err := runOpsCLI(t, "", "dlq", "purge", "--feed", "junk-feed"); err == nil || !strings.Contains(err.Error(), "3 dead letters match") {
		t.Fatalf("purge without --yes and without a terminal: %v\n%s", err, out)
	}
	if out, err := runOpsCLI(t, "", "dlq", "purge"); err == nil || !strings.Contains(err.Error(), "say which dead letters") {
		t.Fatalf("purge of nothing in particular: %v\n%s", err, out)
	}
	if out := cli("dlq", "purge", "--feed", "junk-feed", "--dry-run"); !strings.Contains(out, "would purge: 3") {
		t.Fatalf("purge --dry-run:\n%s", out)
	}
	if out := cli("dlq", "purge", "--feed", "junk-feed", "--error", "not a raw record", "--yes"); !strings.Contains(out, "purged: 3, left: 0") {
		t.Fatalf("purge:\n%s", out)
	}

	// The status counts what the streams hold.
	var st api.NodeStatus
	if err := json.Unmarshal([]byte(cli("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.DeadLetters["normaliser"] != 1 || st.DeadLettersTotal != 1 {
		t.Fatalf("status dead letters %v (total %d), want normaliser: 1", st.DeadLetters, st.DeadLettersTotal)
	}
	streams := map[bus.Stream]bus.StreamStatus{}
	for _, s := range st.Streams {
		streams[s.Name] = s
	}
	if c := streams[bus.Catalogue]; c.Messages != 7 || c.LastSeq == 0 || c.LastTime.IsZero() {
		t.Fatalf("status of the catalogue: %+v", c)
	}
	if r := streams[bus.Raw]; r.Messages != 7+2+3 { // the poison record, its redrive and the junk
		t.Fatalf("status of the raw stream: %d messages", r.Messages)
	}
	if len(st.Stages) != 3 || st.Stages[0].Stage != "normaliser" || st.Stages[0].DeadLetters != 1 || st.Stages[0].Lag != 0 {
		t.Fatalf("status stages: %+v", st.Stages)
	}
	if len(st.ReadModels) == 0 {
		t.Fatalf("status: no read model")
	}
	// The node runs with --no-analytics: its analytics consumers exist,
	// and no writer reads them.
	if len(st.Analytics) == 0 || st.AnalyticsState != api.AnalyticsDisabled {
		t.Fatalf("status of the analytics with --no-analytics: %q, %d consumers", st.AnalyticsState, len(st.Analytics))
	}
	table := cli("status")
	for _, want := range []string{"STREAM", "FAIRWAY_CATALOGUE", "STAGE", "normaliser", "dead letters: 1  normaliser: 1", "read-model lag: ", "analytics: disabled"} {
		if !strings.Contains(strings.ToLower(table), strings.ToLower(want)) {
			t.Fatalf("status lacks %q:\n%s", want, table)
		}
	}

	// The fix: the dataset moved to ILL. Redriven, the record is published.
	cli("datasets", "transfer", "doi:"+moved, "--to", "ILL")
	if out := cli("dlq", "redrive", "--stage", "normaliser", "--feed", "ill-oai"); !strings.Contains(out, "redriven: 1, left: 0") {
		t.Fatalf("dlq redrive:\n%s", out)
	}
	// The dataset lists ILL's record among its sources (ESRF's, first,
	// stays until ESRF's feed withdraws it).
	waitUntil(t, "ILL's record in the catalogue", func() bool {
		e := liveEntries(t, b)["doi:"+moved]
		return e != nil && slices.ContainsFunc(e.GetDataset().GetDataset().GetSources(), func(s *fairwayv1.Source) bool {
			return s.GetFeedId() == "ill-oai" && s.GetSourceIdentifier() == "oai:ill:moved"
		})
	})
	if out := cli("dlq", "list"); !strings.Contains(out, "\n0 dead letters") {
		t.Fatalf("dead letters left:\n%s", out)
	}

	// Replays: dry runs count what the filters select; a replay of an
	// unchanged pipeline emits nothing, and neither does a second one.
	replay := func(args ...string) (matched, emitted uint64) {
		t.Helper()
		out := cli(append([]string{"replay", "--interval", "100ms"}, args...)...)
		if m := regexp.MustCompile(`would hand (\d+) of \d+ keys`).FindStringSubmatch(out); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n, 0
		}
		m := regexp.MustCompile(`replayed: (\d+) of \d+ keys, (\d+) changed`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("replay %v:\n%s", args, out)
		}
		a, _ := strconv.ParseUint(m[1], 10, 64)
		e, _ := strconv.ParseUint(m[2], 10, 64)
		return a, e
	}
	// inRange counts the keys of s whose last message's sequence is in
	// [from, to].
	inRange := func(s bus.Stream, from, to uint64) uint64 {
		var n uint64
		err := b.StreamReader(s).EachLast(ctx, func(m bus.StoredMessage) error {
			if m.Sequence >= from && m.Sequence <= to {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	lastEnriched := inRange(bus.Enriched, 1, 1<<62)
	if lastEnriched != 7 {
		t.Fatalf("%d keys in the enriched stream, want 7", lastEnriched)
	}
	cases := []struct {
		name    string
		args    []string
		matched uint64
	}{
		// ESRF's 5, ILL's 2, the moved record and the 3 junk records.
		{"normaliser, every key", []string{"--stage", "normaliser"}, 5 + 2 + 1 + 3},
		{"normaliser, one feed", []string{"--stage", "normaliser", "--feed", "esrf-oai"}, 5},
		{"normaliser, another feed", []string{"--stage", "normaliser", "--feed", "ill-oai"}, 3},
		// The moved dataset's facility stays ESRF's, its first source.
		{"enricher, one facility", []string{"--stage", "enricher", "--facility", "ILL"}, 2},
		{"enricher, a sequence range", []string{"--stage", "enricher", "--since", "2", "--until", "5"}, inRange(bus.Normalised, 2, 5)},
		{"publisher, since a time", []string{"--stage", "publisher", "--since", "1h"}, 7},
		{"publisher, until a time", []string{"--stage", "publisher", "--until", "1h"}, 0},
		{"publisher, from a sequence", []string{"--stage", "publisher", "--since", "4"}, inRange(bus.Enriched, 4, 1<<62)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n, _ := replay(append(c.args, "--dry-run")...); n != c.matched {
				t.Fatalf("dry run: %d keys, want %d", n, c.matched)
			}
			for range 2 {
				if n, emitted := replay(c.args...); n != c.matched || emitted != 0 {
					t.Fatalf("replay: %d keys, %d changed; want %d, 0", n, emitted, c.matched)
				}
			}
		})
	}
	if out, err := runOpsCLI(t, "", "replay", "--stage", "analytics"); err == nil {
		t.Fatalf("replay of analytics: %s", out)
	}
	if got := len(liveEntries(t, b)); got != 7 {
		t.Fatalf("%d datasets after the replays, want 7", got)
	}
	// Each refusal of a replay is a dead letter naming its replay: the
	// three junk records in each of the two replays of every key, and
	// ESRF's record of the dataset that moved to ILL (ownership) in those
	// and the two replays of ESRF's feed. The dry runs refused nothing.
	letters, err := b.DeadLetters(ctx, string(bus.StageNormaliser), 0)
	if err != nil {
		t.Fatal(err)
	}
	refused, replays := map[string]int{}, map[string]bool{}
	for _, d := range letters {
		if d.Headers()[bus.HeaderReplay] == "" || d.Subject == "" || d.Attempts != 1 {
			t.Fatalf("a dead letter after the replays: %+v %v", d, d.Headers())
		}
		if d.Key == "esrf-oai:oai:esrf:0" && !strings.Contains(d.Reason, "owned by ILL") {
			t.Fatalf("the ownership refusal's reason: %q", d.Reason)
		}
		refused[d.Key]++
		replays[d.Headers()[bus.HeaderReplay]] = true
	}
	want := map[string]int{"junk-feed:0": 2, "junk-feed:1": 2, "junk-feed:2": 2, "esrf-oai:oai:esrf:0": 4}
	if fmt.Sprint(refused) != fmt.Sprint(want) || len(replays) != 4 {
		t.Fatalf("refused by the replays: %v from %d replays; want %v from 4", refused, len(replays), want)
	}

	// A replay that failed (as the bus leaves one whose attempts kept
	// failing) says so, and --retry runs it again to the end.
	failedAt := time.Now().UTC()
	failed := bus.Replay{ID: "20260101T000000Z-0123456789ab", Stage: bus.StagePublisher, State: bus.ReplayFailed, RequestedAt: failedAt,
		FinishedAt: &failedAt, Attempts: 8, Failures: 8, LastError: "bus: publish: nats: timeout"}
	v, err := json.Marshal(failed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.State(bus.BucketReplays).Put(ctx, "publisher."+failed.ID, v); err != nil {
		t.Fatal(err)
	}
	if out, err := runPaNETCLI(t, "replay-status", failed.ID, "--stage", "publisher", "--follow"); err != nil ||
		!strings.Contains(out, ": failed, ") || !strings.Contains(out, "--retry "+failed.ID) {
		t.Fatalf("replay-status of a failed replay: %v\n%s", err, out)
	}
	if out, err := runOpsCLI(t, "", "replay", "--stage", "enricher", "--retry", failed.ID); err == nil || !strings.Contains(out+err.Error(), "404") {
		t.Fatalf("retry of another stage's replay: %v\n%s", err, out)
	}
	if out := cli("replay", "--stage", "publisher", "--retry", failed.ID, "--interval", "100ms"); !strings.Contains(out, "replayed: 7 of 7 keys, 0 changed") {
		t.Fatalf("replay --retry:\n%s", out)
	}
	if out, err := runOpsCLI(t, "", "replay", "--stage", "publisher", "--retry", failed.ID); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("retry of a replay done: %v\n%s", err, out)
	}
}
