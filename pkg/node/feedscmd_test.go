package node

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/urlguard"
)

const (
	cliOperatorToken = "cli-operator-token-0123456789"
	cliILLToken      = "cli-ill-token-0123456789abc"
	cliSourceToken   = "scicat-source-token-abcdef012345"
)

// cliNode is an API on a real bus with a real harvester, a sample facility
// and a SciCat endpoint that wants cliSourceToken.
type cliNode struct {
	server, sample, scicat string
	logs                   *testenv.Buffer
}

func startCLINode(t *testing.T) cliNode {
	t.Helper()
	b := testenv.Bus(t)
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: samplefeed.NewCorpus(5, 48), PageSize: 12, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sample, stop, err := samplefeed.Start(context.Background(), "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	scicat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v4/datasets" || r.Header.Get("Authorization") != "Bearer "+cliSourceToken {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	t.Cleanup(scicat.Close)

	s := startTestAPI(t, b, log)

	hv, err := harvester.New(harvester.Config{PollInterval: 50 * time.Millisecond}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return cliNode{server: s.URL, sample: sample, scicat: scicat.URL, logs: logs}
}

// startTestAPI serves the API of b, with an operator token and an ILL
// facility token, on loopback.
func startTestAPI(t *testing.T, b *bus.Bus, log *slog.Logger) *httptest.Server {
	t.Helper()
	access, err := api.NewAccess(api.TokensFile{Operator: []string{cliOperatorToken}, Facilities: map[string][]string{"ILL": {cliILLToken}}})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Access: access, Checker: checker}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// runCLI runs `fairway <args>` (feeds or harvest) and returns its output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "fairway", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(FeedsCommand(), HarvestCommand(), DatasetsCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestFeedsCLI(t *testing.T) {
	n := startCLINode(t)
	t.Setenv("FAIRWAY_SERVER", n.server)
	t.Setenv("FAIRWAY_TOKEN", cliOperatorToken)
	t.Setenv("FAIRWAY_TOKEN_FILE", "")
	dir := t.TempDir()
	sourceTokenFile := filepath.Join(dir, "scicat-token")
	if err := os.WriteFile(sourceTokenFile, []byte(cliSourceToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	illTokenFile := filepath.Join(dir, "ill-token")
	if err := os.WriteFile(illTokenFile, []byte(cliILLToken), 0o600); err != nil {
		t.Fatal(err)
	}

	var outputs []string
	steps := []struct {
		name string
		args []string
		err  string   // in the error, when the command must fail
		want []string // in the output
	}{
		{"add, as the issue spells it", []string{"feeds", "add", "--id", "esrf", "--facility", "ESRF", "--kind", "oai-pmh", "--url", n.sample,
			"--format", "oai_datacite", "--set", "esrf", "--every", "6h", "--disabled"}, "",
			[]string{`"id": "esrf"`, `"every": "6h0m0s"`, `"granularity": "YYYY-MM-DDThh:mm:ssZ"`, `"enabled": false`}},
		{"add a format the source lacks", []string{"feeds", "add", "--id", "bad", "--facility", "ESRF", "--url", n.sample, "--format", "marc21"},
			`metadata format "marc21" is not offered`, nil},
		{"add a SciCat feed with its token", []string{"feeds", "add", "--id", "psi", "--facility", "PSI", "--kind", "scicat", "--url", n.scicat,
			"--source-token-file", sourceTokenFile, "--disabled"}, "", []string{`"has_token": true`, `"api_version": "v4"`}},
		{"list", []string{"feeds", "list"}, "", []string{"ID", "esrf", "ESRF", "psi", "scicat", "6h0m0s"}},
		{"list as JSON", []string{"feeds", "list", "--json", "--facility", "PSI"}, "", []string{`"id": "psi"`, `"has_token": true`}},
		{"show", []string{"feeds", "show", "psi"}, "", []string{`"kind": "scicat"`, `"has_token": true`}},
		{"update", []string{"feeds", "update", "esrf", "--every", "1h", "--rate-limit", "100ms"}, "", []string{`"every": "1h0m0s"`, `"rate_limit": "100ms"`, `"set": "esrf"`}},
		{"update the caps", []string{"feeds", "update", "esrf", "--max-pages", "500", "--max-bytes", "1048576", "--max-duration", "2h"}, "",
			[]string{`"max_pages": 500`, `"max_bytes": 1048576`, `"max_duration": "2h0m0s"`, `"every": "1h0m0s"`}},
		{"update nothing", []string{"feeds", "update", "esrf"}, "nothing to change", nil},
		{"check", []string{"feeds", "check", "psi"}, "", []string{`"api_version": "v4"`}},
		{"clear the source token", []string{"feeds", "update", "psi", "--clear-source-token"}, "the API wants a token", nil},
		{"facility token on another facility's feed", []string{"feeds", "remove", "psi", "--token-file", illTokenFile}, "cannot manage feed psi", nil},
		{"harvest, followed to its end", []string{"harvest", "esrf", "--interval", "20ms"}, "",
			[]string{"harvest of esrf requested (changes since the last complete run)", "complete: 1 pages, 6 records (", "KiB, 0 retries"}},
		{"show with the last run's report", []string{"feeds", "show", "esrf"}, "", []string{`"last_run": {`, `"status": "complete"`, `"records": 6`, `"bytes": `, `"retries": 0`}},
		{"full harvest, detached", []string{"harvest", "esrf", "--full", "--detach"}, "", []string{"requested (the whole list)"}},
		{"runs", []string{"feeds", "runs", "esrf"}, "", []string{"RUN", "complete"}},
		{"harvest from a date", []string{"harvest", "esrf", "--from", "2001-02-03", "--interval", "20ms"}, "", []string{"(changes since 2001-02-03)", "complete"}},
		{"harvest an unknown feed", []string{"harvest", "nope"}, "feed not found", nil},
		{"remove", []string{"feeds", "remove", "psi"}, "", []string{"feed psi removed"}},
		{"show removed", []string{"feeds", "show", "psi"}, "HTTP 404", nil},
	}
	for _, s := range steps {
		out, err := runCLI(t, s.args...)
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
	for _, o := range outputs {
		if strings.Contains(o, cliSourceToken) {
			t.Errorf("CLI output shows the source token: %s", o)
		}
	}
	for _, s := range []string{cliSourceToken, cliOperatorToken, cliILLToken} {
		if strings.Contains(n.logs.String(), s) {
			t.Errorf("log shows a secret: %s", n.logs.String())
		}
	}

	t.Setenv("FAIRWAY_TOKEN", "")
	if _, err := runCLI(t, "feeds", "remove", "esrf"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("remove without a token: %v", err)
	}
}
