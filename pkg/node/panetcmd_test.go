package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/natsembed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runPaNETCLI runs `fairway panet <args>` and returns its output.
func runPaNETCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "fairway", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(PaNETCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(append([]string{"panet"}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// liveEntries returns the live catalogue entries of the node, by key.
func liveEntries(t *testing.T, b *bus.Bus) map[string]*fairwayv1.CatalogueEntry {
	t.Helper()
	out := map[string]*fairwayv1.CatalogueEntry{}
	err := b.StreamReader(bus.Catalogue).EachLast(context.Background(), func(m bus.StoredMessage) error {
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &e); err != nil {
			return err
		}
		if !e.Deleted {
			out[e.Key] = &e
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hasTechnique(e *fairwayv1.CatalogueEntry, id string) bool {
	return slices.ContainsFunc(e.GetDataset().GetTechniques(), func(tc *fairwayv1.Technique) bool { return tc.GetId() == id })
}

// TestPaNETUpdate runs a node on the reference PaNET release with the demo
// facility harvested, then updates its release through the CLI against the
// node's HTTP API with a copy that gives a technique the demo never uses a
// synonym found in some demo titles: a broken release and a facility's
// token are refused and the node keeps its release; the update re-tags
// every dataset by replay, the catalogue shows the new technique on the
// datasets whose title names it and keeps its count, and a second replay
// emits nothing.
func TestPaNETUpdate(t *testing.T) {
	const records = 60
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, fmt.Appendf(nil, `{"operator":[%q],"facilities":{"ILL":[%q]}}`, cliOperatorToken, cliILLToken), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr, natsAddr := freePort(t), freePort(t)
	log, logs := testenv.CaptureLog()
	cfg := Config{
		Target: TargetAll, DataDir: filepath.Join(dir, "data"), HTTPAddr: httpAddr, NATSListen: natsAddr, TokensFile: tokens,
		Demo: true, DemoRecords: records, NoAnalytics: true, PaNET: testenv.PaNET(t), Ready: make(chan struct{}),
	}
	cfg.Harvester.PollInterval = 100 * time.Millisecond
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

	corpus := DemoCorpus(records)
	live := 0
	for i := range records {
		if !corpus.Record(i).Deleted {
			live++
		}
	}
	var before map[string]*fairwayv1.CatalogueEntry
	for deadline := time.Now().Add(2 * time.Minute); ; {
		before = liveEntries(t, b)
		if len(before) >= live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d datasets in the catalogue, want %d", len(before), live)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The node's release is the one it started with.
	server := "http://" + httpAddr
	t.Setenv("FAIRWAY_SERVER", server)
	t.Setenv("FAIRWAY_TOKEN", cliOperatorToken)
	ref, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runPaNETCLI(t, "show")
	if err != nil || !strings.Contains(out, "sha256:"+enricher.Digest(ref)) || !strings.Contains(out, "1.3.0-48-g7011e6b") {
		t.Fatalf("panet show: %v\n%s", err, out)
	}

	// A technique the demo never tags gets a synonym some titles hold.
	const synonym = "zeolite catalysts"
	target, modified := panetWithSynonym(t, ref, synonym)
	newFile := filepath.Join(dir, "PaNET-modified.owl")
	if err := os.WriteFile(newFile, modified, 0o644); err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, e := range before {
		if strings.Contains(strings.ToLower(e.GetDataset().GetDataset().GetTitle()), synonym) {
			named++
		}
		if hasTechnique(e, target) {
			t.Fatalf("%s is tagged with %s before the update", e.Key, target)
		}
	}
	if named == 0 {
		t.Fatalf("no demo title names %q", synonym)
	}

	// A broken release is refused by the CLI, and by the server.
	broken := filepath.Join(dir, "broken.owl")
	if err := os.WriteFile(broken, []byte(`<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><unclosed>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runPaNETCLI(t, "update", "--from", broken, "--yes"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("update with a broken release: %v\n%s", err, out)
	}
	op, err := api.NewClient(server, cliOperatorToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *api.Error
	if _, err := op.PutPaNETRelease(ctx, []byte("<rdf:RDF>")); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity {
		t.Fatalf("PUT of a broken release: %v", err)
	}
	// A facility's token may not change the ontology.
	ill, err := api.NewClient(server, cliILLToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ill.PutPaNETRelease(ctx, modified); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("PUT with a facility token: %v", err)
	}
	if _, err := ill.RequestReplay(ctx, "enricher", ""); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("replay with a facility token: %v", err)
	}
	t.Setenv("FAIRWAY_TOKEN", cliILLToken)
	if out, err := runPaNETCLI(t, "update", "--from", newFile, "--yes"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("update with a facility token: %v\n%s", err, out)
	}
	t.Setenv("FAIRWAY_TOKEN", cliOperatorToken)
	if rel, err := enricher.StoredRelease(ctx, b); err != nil || rel.Digest != enricher.Digest(ref) {
		t.Fatalf("the node's release after refusals: %+v, %v", rel, err)
	}

	// Without a terminal and without --yes, the release is stored and
	// nothing is re-tagged.
	out, err = runPaNETCLI(t, "update", "--from", newFile)
	if err != nil || !strings.Contains(out, "synonyms added: 1") || !strings.Contains(out, target+` "`+synonym+`"`) ||
		!strings.Contains(out, "not a terminal and no --yes") || !strings.Contains(out, "enrichers using it: 1 of 1") {
		t.Fatalf("update without --yes: %v\n%s", err, out)
	}
	if !strings.Contains(logs.String(), "PaNET release changed") {
		t.Error("the enricher did not log the change of release")
	}
	for k, e := range liveEntries(t, b) {
		if hasTechnique(e, target) {
			t.Fatalf("%s re-tagged without a replay", k)
		}
	}

	// With --yes, every dataset is re-tagged.
	out, err = runPaNETCLI(t, "update", "--from", newFile, "--yes", "--interval", "100ms")
	if err != nil || !strings.Contains(out, "the node has this release already") || !strings.Contains(out, "re-tagged: ") {
		t.Fatalf("update --yes: %v\n%s", err, out)
	}
	var after map[string]*fairwayv1.CatalogueEntry
	tagged := 0
	for deadline := time.Now().Add(time.Minute); ; {
		after, tagged = liveEntries(t, b), 0
		for _, e := range after {
			if hasTechnique(e, target) {
				tagged++
			}
		}
		if tagged >= named {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d datasets tagged %s after the replay, want %d\n%s", tagged, target, named, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(after) != len(before) {
		t.Errorf("catalogue holds %d datasets after the replay, %d before", len(after), len(before))
	}
	for k, e := range after {
		names := strings.Contains(strings.ToLower(e.GetDataset().GetDataset().GetTitle()), synonym)
		if names != hasTechnique(e, target) {
			t.Errorf("%s (%q): tagged %s = %v", k, e.GetDataset().GetDataset().GetTitle(), target, !names)
		}
	}

	// A second replay emits nothing: detached, then followed.
	out, err = runPaNETCLI(t, "update", "--from", newFile, "--yes", "--detach")
	m := regexp.MustCompile(`replay (\S+) of the enricher requested`).FindStringSubmatch(out)
	if err != nil || m == nil || !strings.Contains(out, "replay-status "+m[1]) {
		t.Fatalf("update --detach: %v\n%s", err, out)
	}
	if out, err := runPaNETCLI(t, "replay-status", m[1], "--follow", "--interval", "100ms"); err != nil || !strings.Contains(out, " 0 changed") {
		t.Fatalf("replay-status --follow: %v\n%s", err, out)
	}
	if out, err := runPaNETCLI(t, "replay-status", m[1]); err != nil || !strings.Contains(out, ": done, ") {
		t.Fatalf("replay-status: %v\n%s", err, out)
	}
	r, err := op.RequestReplay(ctx, "enricher", "again")
	if err != nil {
		t.Fatal(err)
	}
	r, err = op.FollowReplay(ctx, r, 100*time.Millisecond, nil)
	if err != nil || r.Emitted != 0 || r.Read == 0 || r.Failed != 0 {
		t.Fatalf("second replay: %+v, %v", r, err)
	}
	out, err = runPaNETCLI(t, "show")
	digest := enricher.Digest(modified)
	if err != nil || strings.Count(out, digest[:12]) < 2 {
		t.Fatalf("panet show after the update: %v\n%s", err, out)
	}
	var view api.PaNETView
	resp, err := http.Get(server + "/api/v1/panet")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil || view.Release == nil || view.Release.Digest != digest || len(view.Enrichers) != 1 {
		t.Fatalf("GET /api/v1/panet: %+v, %v", view, err)
	}
}
