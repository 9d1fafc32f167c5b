package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/node"
)

// TestPushToEOSCAndDAPHNE registers a piveau hub and a SciCat backend with
// a running node through the CLI and checks that the live catalogue
// arrives at both exactly once, through a hub outage across a restart of
// the node, and that a replay of everything pushes every dataset once
// more.
func TestPushToEOSCAndDAPHNE(t *testing.T) {
	const records = 120
	corpus := node.DemoCorpus(records)
	live := 0
	for i := range records {
		if !corpus.Record(i).Deleted {
			live++
		}
	}
	hub := piveautest.Start(piveautest.Config{APIKey: "hub-key-1234"})
	t.Cleanup(hub.Close)
	daphne := scicattest.Start(scicattest.Config{Users: map[string]string{"fairway": "daphne-pw-5678"}, TokenTTL: 3 * time.Second})
	t.Cleanup(daphne.Close)

	dir := t.TempDir()
	keyFile, pwFile, badFile := filepath.Join(dir, "key"), filepath.Join(dir, "pw"), filepath.Join(dir, "bad")
	for file, text := range map[string]string{keyFile: "hub-key-1234\n", pwFile: "daphne-pw-5678\n", badFile: "wrong\n"} {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data, httpAddr := t.TempDir(), freeAddr(t)
	args := []string{"up", "--demo", "--demo-records", fmt.Sprint(records), "--data", data, "--http", httpAddr,
		"--poll", "200ms", "--no-analytics", "--panet", testenv.PaNET(t)}
	p := start(t, "fairway", args...)
	server := "http://" + httpAddr
	eventually(t, 2*time.Minute, "the node's API", func() (bool, string) {
		_, stderr, err := runResult(nil, "fairway", "destinations", "list", "--server", server)
		return err == nil, stderr
	})

	// Registration checks the destination and says what is wrong.
	_, stderr, err := runResult(nil, "fairway", "destinations", "add", "--server", server, "--id", "eosc", "--kind", "piveau",
		"--url", hub.URL, "--catalogue", "panosc", "--api-key-file", keyFile)
	if err == nil || !strings.Contains(stderr, "create-catalogue") {
		t.Errorf("a hub without the catalogue: %v\n%s", err, stderr)
	}
	_, stderr, err = runResult(nil, "fairway", "destinations", "add", "--server", server, "--id", "eosc", "--kind", "piveau",
		"--url", hub.URL, "--catalogue", "panosc", "--create-catalogue", "--api-key-file", badFile)
	if err == nil || !strings.Contains(stderr, "refused the API key") {
		t.Errorf("a wrong API key: %v\n%s", err, stderr)
	}
	run(t, "fairway", "destinations", "add", "--server", server, "--id", "eosc", "--kind", "piveau",
		"--url", hub.URL, "--catalogue", "panosc", "--create-catalogue", "--api-key-file", keyFile)
	run(t, "fairway", "destinations", "add", "--server", server, "--id", "daphne", "--kind", "scicat",
		"--url", daphne.URL, "--username", "fairway", "--password-file", pwFile, "--owner-group", "daphne")

	inStep := func(what string) {
		t.Helper()
		eventually(t, 3*time.Minute, what, func() (bool, string) {
			h, d := len(hub.Datasets("panosc")), len(daphne.Datasets())
			return h == live && d == live, fmt.Sprintf("hub %d, SciCat %d of %d", h, d, live)
		})
	}
	inStep("the live catalogue at both destinations")
	exactlyOnce := func(writes int) {
		t.Helper()
		for key := range hub.Datasets("panosc") {
			if n := hub.Writes("panosc", key); n != writes {
				t.Errorf("%s written %d times to the hub, want %d", key, n, writes)
			}
		}
	}
	exactlyOnce(1)
	var status []struct {
		ID      string `json:"id"`
		Held    int    `json:"held"`
		Pending int    `json:"pending"`
		Running bool   `json:"running"`
	}
	eventually(t, time.Minute, "the status of both, in step", func() (bool, string) {
		out, stderr, err := runResult(nil, "fairway", "destinations", "status", "--server", server, "--json")
		if err != nil {
			return false, stderr
		}
		if err := json.Unmarshal(out, &status); err != nil {
			return false, string(out)
		}
		ok := len(status) == 2
		for _, s := range status {
			ok = ok && s.Held == live && s.Pending == 0 && s.Running
		}
		return ok, string(out)
	})
	if out := string(run(t, "fairway", "destinations", "show", "eosc", "--server", server)); strings.Contains(out, "hub-key-1234") || !strings.Contains(out, `"has_api_key": true`) {
		t.Errorf("destinations show:\n%s", out)
	}

	// The hub goes down, the node stops and starts again, the hub comes
	// back: nothing is pushed twice.
	hub.Down()
	if err := p.stop(t); err != nil {
		t.Fatalf("fairway up exited with %v after SIGTERM", err)
	}
	p = start(t, "fairway", args...)
	time.Sleep(2 * time.Second)
	if err := hub.Up(); err != nil {
		t.Fatal(err)
	}
	run(t, "fairway", "harvest", "demo-esrf", "--full", "--server", server, "--interval", "100ms", "--timeout", "1m")
	inStep("both destinations after the restart")
	exactlyOnce(1)

	// A replay of everything pushes each dataset once more (the hub
	// answers 304: it holds them as they are).
	puts := hub.Count(piveautest.RoutePutDataset)
	run(t, "fairway", "destinations", "replay", "eosc", "--all", "--server", server)
	eventually(t, 2*time.Minute, "the replay", func() (bool, string) {
		n := hub.Count(piveautest.RoutePutDataset) - puts
		return n == live, fmt.Sprintf("%d of %d pushed again", n, live)
	})
	time.Sleep(time.Second)
	if n := hub.Count(piveautest.RoutePutDataset) - puts; n != live {
		t.Errorf("the replay pushed %d datasets, want %d", n, live)
	}
	exactlyOnce(1)
	for _, secret := range []string{"hub-key-1234", "daphne-pw-5678"} {
		if strings.Contains(p.out.String(), secret) {
			t.Errorf("a credential reached the node's log")
		}
	}
	if err := p.stop(t); err != nil {
		t.Errorf("fairway up exited with %v after SIGTERM", err)
	}
}
