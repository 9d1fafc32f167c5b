package node

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
)

const (
	cliHubKey     = "cli-hub-key-0123456789abcdef"
	cliSciCatPass = "cli-scicat-pass-0123456789"
)

// cliStatus answers a fixed status for every destination.
type cliStatus struct{}

func (cliStatus) Status(_ context.Context, d destinations.Destination) (destinations.Status, error) {
	return destinations.Status{ID: d.ID, Kind: d.Kind, URL: d.URL, Enabled: d.Enabled, Running: true, Held: 11, Pushed: 12,
		Deleted: 1, Skipped: 4, Failed: 2, Pending: 5, Position: 17, CatalogueLast: 22,
		LastError: "hub answered 503\nthen again", LastErrorAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}, nil
}

// startDestinationsNode serves the API with the destination routes, over a
// test hub-repo and a test SciCat.
func startDestinationsNode(t *testing.T) (server string, hub *piveautest.Server, sc *scicattest.Server, b *bus.Bus, logs *testenv.Buffer) {
	t.Helper()
	b = testenv.Bus(t)
	log, logs := testenv.CaptureLog()
	hub = piveautest.Start(piveautest.Config{APIKey: cliHubKey, Catalogues: []string{"panosc"}})
	t.Cleanup(hub.Close)
	sc = scicattest.Start(scicattest.Config{Users: map[string]string{"fairway": cliSciCatPass}})
	t.Cleanup(sc.Close)
	access, err := api.NewAccess(api.TokensFile{Operator: []string{cliOperatorToken}, Facilities: map[string][]string{"ILL": {cliILLToken}}})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := feeds.NewChecker(feeds.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := destinations.NewChecker(destinations.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Timeout: 5 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Access: access, Checker: fc, DestinationChecker: dc, Destinations: cliStatus{}}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL, hub, sc, b, logs
}

func runDestinationsCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "fairway", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(DestinationsCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestDestinationsCLI(t *testing.T) {
	server, hub, sc, b, logs := startDestinationsNode(t)
	t.Setenv("FAIRWAY_SERVER", server)
	t.Setenv("FAIRWAY_TOKEN", cliOperatorToken)
	t.Setenv("FAIRWAY_TOKEN_FILE", "")
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile := file("key", cliHubKey+"\n")
	wrongKey := file("wrong-key", "wrong-"+cliHubKey+"\n")
	pwFile := file("pw", cliSciCatPass+"\r\n")
	empty := file("empty", "\n")
	illTokenFile := file("ill-token", cliILLToken)

	steps := []struct {
		name string
		args []string
		err  string   // in the error, when the command must fail
		want []string // in the output
	}{
		{"add piveau, as the issue spells it", []string{"destinations", "add", "--id", "eosc", "--kind", "piveau", "--url", hub.URL,
			"--catalogue", "panosc", "--api-key-file", keyFile, "--facility", "ESRF", "--technique", "PaNET01168", "--in-flight", "8"}, "",
			[]string{`"id": "eosc"`, `"has_api_key": true`, `"enabled": true`, `"in_flight": 8`, `"PaNET01168"`}},
		{"add scicat, as the issue spells it", []string{"destinations", "add", "--id", "daphne", "--kind", "scicat", "--url", sc.URL,
			"--username", "fairway", "--password-file", pwFile, "--owner-group", "daphne", "--access-group", "public", "--on-delete", "delete", "--disabled"}, "",
			[]string{`"has_password": true`, `"owner_group": "daphne"`, `"on_delete": "delete"`, `"enabled": false`}},
		{"add with a refused key", []string{"destinations", "add", "--id", "bad", "--kind", "piveau", "--url", hub.URL,
			"--catalogue", "panosc", "--api-key-file", wrongKey}, "refused the API key", nil},
		{"add with a missing catalogue", []string{"destinations", "add", "--id", "bad", "--kind", "piveau", "--url", hub.URL,
			"--catalogue", "absent", "--api-key-file", keyFile}, "use --create-catalogue", nil},
		{"add creating the catalogue", []string{"destinations", "add", "--id", "eosc2", "--kind", "piveau", "--url", hub.URL,
			"--catalogue", "fresh", "--create-catalogue", "--api-key-file", keyFile}, "", []string{`"create_catalogue": true`}},
		{"add with a missing key file", []string{"destinations", "add", "--id", "bad", "--kind", "piveau", "--url", hub.URL,
			"--catalogue", "panosc", "--api-key-file", filepath.Join(dir, "absent")}, "--api-key-file", nil},
		{"add with an empty password file", []string{"destinations", "add", "--id", "bad", "--kind", "scicat", "--url", sc.URL,
			"--username", "fairway", "--password-file", empty}, "--password-file", nil},
		{"list", []string{"destinations", "list"}, "", []string{"ID", "SELECTION", "eosc", "piveau", "facilities ESRF; techniques PaNET01168", "daphne", "scicat", "all"}},
		{"show", []string{"destinations", "show", "daphne"}, "", []string{`"username": "fairway"`, `"has_password": true`}},
		{"update, only what is given", []string{"destinations", "update", "eosc", "--in-flight", "4", "--facility", ""}, "",
			[]string{`"in_flight": 4`, `"has_api_key": true`, `"catalogue": "panosc"`, `"PaNET01168"`}},
		{"update with a refused key", []string{"destinations", "update", "eosc", "--api-key-file", wrongKey}, "refused the API key", nil},
		{"update nothing", []string{"destinations", "update", "eosc"}, "nothing to change", nil},
		{"status", []string{"destinations", "status"}, "", []string{"HELD", "PENDING", "LAST ERROR", "daphne", "eosc", "17/22", "hub answered 503 then again", "2026-12-01T10:00:00Z"}},
		{"status of one", []string{"destinations", "status", "eosc", "--json"}, "", []string{`"id": "eosc"`, `"held": 11`}},
		{"replay from a sequence", []string{"destinations", "replay", "eosc", "--since", "1234"}, "", []string{"of destination eosc requested: from catalogue sequence 1234"}},
		{"replay since a time, all", []string{"destinations", "replay", "daphne", "--since", "2026-01-02T03:04:05Z", "--all"}, "",
			[]string{"since 2026-01-02T03:04:05Z, every dataset"}},
		{"replay since nonsense", []string{"destinations", "replay", "eosc", "--since", "yesterday"}, "want a catalogue sequence", nil},
		{"facility token", []string{"destinations", "list", "--token-file", illTokenFile}, "only an operator token", nil},
		{"remove", []string{"destinations", "remove", "eosc2"}, "", []string{"destination eosc2 removed"}},
		{"show removed", []string{"destinations", "show", "eosc2"}, "HTTP 404", nil},
	}
	var outputs []string
	for _, s := range steps {
		out, err := runDestinationsCLI(t, s.args...)
		outputs = append(outputs, out)
		if err != nil {
			outputs = append(outputs, err.Error())
		}
		if s.err != "" {
			if err == nil || !strings.Contains(err.Error(), s.err) {
				t.Fatalf("%s: error %v, want %q (output %s)", s.name, err, s.err, out)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, out)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Fatalf("%s: output does not say %q:\n%s", s.name, w, out)
			}
		}
	}
	// The credentials were read without their newline, and kept by the
	// update that did not give them.
	reg := destinations.NewRegistry(b.State(bus.BucketDestinations))
	eosc, err := reg.Get(context.Background(), "eosc")
	if err != nil || eosc.APIKey.Reveal() != cliHubKey || len(eosc.Facilities) != 0 || eosc.Replay == nil || eosc.Replay.FromSeq != 1234 {
		t.Errorf("stored eosc = %+v, %v", eosc, err)
	}
	daphne, err := reg.Get(context.Background(), "daphne")
	if err != nil || daphne.Password.Reveal() != cliSciCatPass || daphne.Replay == nil || !daphne.Replay.All {
		t.Errorf("stored daphne = %+v, %v", daphne, err)
	}
	for _, o := range outputs {
		for _, s := range []string{cliHubKey, cliSciCatPass} {
			if strings.Contains(o, s) {
				t.Errorf("CLI output shows a credential: %s", o)
			}
		}
	}
	for _, s := range []string{cliHubKey, cliSciCatPass, cliOperatorToken, cliILLToken} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows a secret %q", s)
		}
	}
	t.Setenv("FAIRWAY_TOKEN", "")
	if _, err := runDestinationsCLI(t, "destinations", "list"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("list without a token: %v", err)
	}
}
