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

	// The hub goes down; meanwhile a second feed of ESRF (its records in
	// oai_dc) changes ESRF's datasets; the node stops and starts again;
	// the hub comes back: each change arrives once, nothing else again.
	hub.Down()
	var demo struct{ URL string }
	if err := json.Unmarshal(run(t, "fairway", "feeds", "show", "demo-esrf", "--server", server), &demo); err != nil {
		t.Fatal(err)
	}
	run(t, "fairway", "feeds", "add", "--server", server, "--id", "esrf-dc", "--facility", "ESRF", "--url", demo.URL,
		"--format", "oai_dc", "--set", "esrf")
	var pending int
	eventually(t, 2*time.Minute, "changes waiting for the hub", func() (bool, string) {
		out, stderr, err := runResult(nil, "fairway", "destinations", "status", "eosc", "--server", server, "--json")
		if err != nil {
			return false, stderr
		}
		if err := json.Unmarshal(out, &status); err != nil || len(status) != 1 {
			return false, string(out)
		}
		pending = status[0].Pending
		return pending > 0, string(out)
	})
	time.Sleep(2 * time.Second) // the rest of the harvest's changes
	if err := p.stop(t); err != nil {
		t.Fatalf("fairway up exited with %v after SIGTERM", err)
	}
	p = start(t, "fairway", args...)
	if err := hub.Up(); err != nil {
		t.Fatal(err)
	}
	var changed int
	eventually(t, 2*time.Minute, "the changes at the hub", func() (bool, string) {
		out, stderr, err := runResult(nil, "fairway", "destinations", "status", "eosc", "--server", server, "--json")
		if err != nil {
			return false, stderr
		}
		if err := json.Unmarshal(out, &status); err != nil || len(status) != 1 {
			return false, string(out)
		}
		changed = 0
		for key := range hub.Datasets("panosc") {
			if hub.Writes("panosc", key) == 2 {
				changed++
			}
		}
		return status[0].Pending == 0 && changed > 0, fmt.Sprintf("%s; %d written twice", out, changed)
	})
	inStep("both destinations after the restart")
	for key := range hub.Datasets("panosc") {
		n := hub.Writes("panosc", key)
		if esrf := strings.Contains(key, "esrf"); n > 2 || (!esrf && n != 1) {
			t.Errorf("%s written %d times to the hub", key, n)
		}
	}
	t.Logf("%d ESRF datasets changed while the hub was down (%d entries waited)", changed, pending)

	// A replay of everything pushes each dataset once more (the hub
	// answers 304: it holds them as they are).
	puts := hub.Count(piveautest.RoutePutDataset)
	writes := map[string]int{}
	for key := range hub.Datasets("panosc") {
		writes[key] = hub.Writes("panosc", key)
	}
	run(t, "fairway", "destinations", "replay", "eosc", "--all", "--server", server)
	eventually(t, 2*time.Minute, "the replay", func() (bool, string) {
		n := hub.Count(piveautest.RoutePutDataset) - puts
		return n == live, fmt.Sprintf("%d of %d pushed again", n, live)
	})
	time.Sleep(time.Second)
	if n := hub.Count(piveautest.RoutePutDataset) - puts; n != live {
		t.Errorf("the replay pushed %d datasets, want %d", n, live)
	}
	for key, n := range writes {
		if got := hub.Writes("panosc", key); got != n {
			t.Errorf("%s: the replay of what the hub holds as it is changed it (%d writes, was %d)", key, got, n)
		}
	}
	for _, secret := range []string{"hub-key-1234", "daphne-pw-5678"} {
		if strings.Contains(p.out.String(), secret) {
			t.Errorf("a credential reached the node's log")
		}
	}
	if err := p.stop(t); err != nil {
		t.Errorf("fairway up exited with %v after SIGTERM", err)
	}
}
