package node

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/internal/testop"
	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/signin"
)

const (
	signInAudience = "https://fairway.test"
	esrfManagerURN = "urn:geant:eosc-federation.eu:group:panosc:esrf:manager#aai.eosc.eu"
	illManagerURN  = "urn:geant:eosc-federation.eu:group:panosc:ill:manager#aai.eosc.eu"
)

// signInConfig returns the node configuration that a configuration file,
// the environment and args give target all.
func signInConfig(t *testing.T, file string, env map[string]string, args ...string) Config {
	t.Helper()
	clearSettingsEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	var cfg Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	cfg.BindFlags(fs, TargetAll)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := applySettings(fs, writeFile(t, file)); err != nil {
		t.Fatal(err)
	}
	cfg.setDefaults()
	return cfg
}

// TestSignInSettings checks that the sign-in settings come from the file,
// the environment and flags, and that a bad one stops the node with the
// reason.
func TestSignInSettings(t *testing.T) {
	file := "oidc-issuer: https://core-proxy.aai.eosc.eu/auth/realms/core\noidc-audience: " + signInAudience + "\n" +
		"oidc-facility-managers: [\"ESRF=" + esrfManagerURN + "\", \"ILL=sub:ill-robot@egi.eu\"]\n"
	cfg := signInConfig(t, file, map[string]string{"FAIRWAY_OIDC_OPERATORS": "sub:olga@eosc"}, "--oidc-clock-skew", "1m")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sc, err := cfg.SignIn()
	if err != nil {
		t.Fatal(err)
	}
	is := sc.Issuers[0]
	if len(sc.Issuers) != 1 || is.Audience != signInAudience || is.ClockSkew != time.Minute || is.Operators.Subjects[0] != "olga@eosc" ||
		is.Facilities["ESRF"].Entitlements[0] != esrfManagerURN || is.Facilities["ILL"].Subjects[0] != "ill-robot@egi.eu" {
		t.Fatalf("sign-in configuration %+v", sc)
	}
	bad := []struct {
		name string
		file string
		want string
	}{
		{"audience without issuer", "oidc-audience: x\n", "need --oidc-issuer"},
		{"plain http issuer", "oidc-issuer: http://aai.example\noidc-audience: x\noidc-operators: [sub:a]\n", "want https"},
		{"no audience", "oidc-issuer: https://aai.example\noidc-operators: [sub:a]\n", "audience is required"},
		{"no role", "oidc-issuer: https://aai.example\noidc-audience: x\n", "no role"},
		{"malformed facility manager", "oidc-issuer: https://aai.example\noidc-audience: x\noidc-facility-managers: [ESRF]\n", "want FACILITY=ENTITLEMENT"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			cfg := signInConfig(t, tt.file, nil)
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("the README's example", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		_, block, ok := strings.Cut(string(readme), "```yaml\n# fairway.yaml")
		_, block, _ = strings.Cut(block, "\n") // the rest of the comment line
		block, _, ok2 := strings.Cut(block, "```")
		if !ok || !ok2 {
			t.Fatal("the README lacks its sign-in example")
		}
		cfg := signInConfig(t, block, nil)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		sc, err := cfg.SignIn()
		if err != nil {
			t.Fatal(err)
		}
		is := sc.Issuers[0]
		if len(is.Facilities) != 3 || is.Facilities["PSI"].Subjects[0] != "1234567890abcdef@eosc-federation.eu" ||
			is.Facilities["ESRF"].Entitlements[0] != esrfManagerURN || is.ClockSkew != time.Minute || len(is.Operators.Entitlements) != 1 {
			t.Fatalf("the README's example reads as %+v", is)
		}
	})
	t.Run("bad file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "aai.yaml")
		if err := os.WriteFile(path, []byte("issuers:\n  - url: https://aai.example\n    audience: x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := signInConfig(t, "oidc-config: "+path+"\n", nil)
		if _, err := cfg.SignIn(); err == nil || !strings.Contains(err.Error(), "no role") {
			t.Fatalf("SignIn = %v", err)
		}
		// Validate reads the file too, so that the node stops before it starts.
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "no role") {
			t.Fatalf("Validate = %v", err)
		}
		cfg.OIDCConfigFile = filepath.Join(t.TempDir(), "missing.yaml")
		if err := cfg.Validate(); err == nil {
			t.Fatal("Validate took a missing sign-in file")
		}
	})
}

// TestSignInEndToEnd signs the CLI in at a real OpenID Provider with the
// device grant (the test approves the code on the provider's side), then
// drives a node configured through its settings with that sign-in: the
// ESRF manager may manage ESRF's feeds and nothing of ILL's; an expired
// access token is refreshed; logout forgets the sign-in.
func TestSignInEndToEnd(t *testing.T) {
	op := testop.Start(t, signInAudience)
	// The node's base URL is where it listens: login checks that the
	// metadata's resource is the server it asked.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nodeURL := "http://" + ln.Addr().String()
	file := "oidc-issuer: " + op.URL() + "\noidc-audience: " + signInAudience + "\n" +
		"oidc-facility-managers: [\"ESRF=" + esrfManagerURN + "\", \"ILL=" + illManagerURN + "\"]\n" +
		"allow-private-feeds: true\nbase-url: " + nodeURL + "\n"
	cfg := signInConfig(t, file, map[string]string{"FAIRWAY_OIDC_OPERATORS": "sub:olga@eosc"})
	cfg.DataDir = t.TempDir() // the generated operator token goes there
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	b := testenv.Bus(t)
	feedAPI, err := newAPI(cfg, b, &usageParts{}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpHandler(cfg.BaseURL, feedAPI, http.NotFoundHandler(), nil, nil, nil, nil, QueryEndpoints{}, log)
	if err != nil {
		t.Fatal(err)
	}
	node := httptest.NewUnstartedServer(h)
	node.Listener.Close()
	node.Listener = ln
	node.Start()
	t.Cleanup(node.Close)
	sampleSrv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: samplefeed.NewCorpus(5, 12), PageSize: 12, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sample, stop, err := samplefeed.Start(context.Background(), "127.0.0.1:0", sampleSrv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })

	// The protected resource metadata names the issuer.
	resp, err := http.Get(node.URL + aai.MetadataPath)
	if err != nil {
		t.Fatal(err)
	}
	var md aai.ResourceMetadata
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if err != nil || md.Resource != nodeURL || len(md.AuthorizationServers) != 1 || md.AuthorizationServers[0] != op.URL() {
		t.Fatalf("metadata %+v, %v", md, err)
	}

	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("HOME", home)
	t.Setenv("FAIRWAY_SERVER", node.URL)
	t.Setenv("FAIRWAY_TOKEN", "")
	t.Setenv("FAIRWAY_TOKEN_FILE", "")

	// Sign in: the command prints the address and the code, and waits
	// until the provider's side approves that code.
	out := &testenv.Buffer{}
	done := make(chan error, 1)
	// No --issuer: the node's metadata names it.
	go func() { done <- runSignInCLI(out, "login", "--resource", signInAudience) }()
	var code string
	deadline := time.Now().Add(10 * time.Second)
	for code == "" || !strings.Contains(out.String(), code) {
		if time.Now().After(deadline) {
			t.Fatalf("no user code printed: %q", out.String())
		}
		if codes := op.PendingUserCodes(); len(codes) == 1 {
			code = codes[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "Signing in at "+op.URL()) {
		t.Errorf("login does not say where it signs in: %q", out.String())
	}
	if !strings.Contains(out.String(), op.URL()+"/activate") {
		t.Errorf("login does not print the verification address: %q", out.String())
	}
	if err := op.Approve(code, testop.Claims{Subject: "emma@esrf", Extra: map[string]any{"eduperson_entitlement": []any{esrfManagerURN}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("login: %v (%s)", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("login did not end after the approval")
	}
	path := filepath.Join(home, "fairway", signin.FileName)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stored sign-in: %v, %v", fi, err)
	}
	stored := readStored(t, path)
	if strings.Contains(out.String(), stored.Token.AccessToken) || strings.Contains(out.String(), stored.Token.RefreshToken) {
		t.Fatal("login printed a token")
	}

	steps := []struct {
		name string
		args []string
		err  string
		want string
	}{
		{"ESRF manager registers an ESRF feed", []string{"feeds", "add", "--id", "esrf", "--facility", "ESRF", "--url", sample, "--format", "oai_dc", "--set", "esrf", "--disabled"}, "", `"facility": "ESRF"`},
		{"ESRF manager registers an ILL feed", []string{"feeds", "add", "--id", "ill", "--facility", "ILL", "--url", sample, "--format", "oai_dc", "--set", "ill", "--disabled"}, `cannot register a feed of facility "ILL"`, ""},
		{"ESRF manager lists destinations", []string{"destinations", "list"}, "only an operator", ""},
		{"ESRF manager changes its feed", []string{"feeds", "update", "esrf", "--every", "2h"}, "", `"every": "2h0m0s"`},
	}
	for _, s := range steps {
		out := &testenv.Buffer{}
		err := runSignInCLI(out, s.args...)
		if s.err != "" {
			if err == nil || !strings.Contains(err.Error(), s.err) {
				t.Fatalf("%s: %v, want %q", s.name, err, s.err)
			}
			continue
		}
		if err != nil || !strings.Contains(out.String(), s.want) {
			t.Fatalf("%s: %v, %s", s.name, err, out.String())
		}
	}

	// An expired access token is refreshed before the request, and the
	// new one stored.
	stored.Token.Expiry = time.Now().Add(-time.Minute)
	writeStored(t, path, stored)
	if err := runSignInCLI(&testenv.Buffer{}, "feeds", "update", "esrf", "--every", "3h"); err != nil {
		t.Fatal(err)
	}
	if op.Refreshes() != 1 {
		t.Errorf("refreshes %d, want 1", op.Refreshes())
	}
	if op.RefreshResource() != signInAudience {
		t.Errorf("the refresh sent the resource %q, want %q", op.RefreshResource(), signInAudience)
	}
	if again := readStored(t, path); again.Token.AccessToken == stored.Token.AccessToken || !again.Token.Expiry.After(time.Now()) {
		t.Errorf("the refreshed token was not stored")
	}
	for _, want := range []string{"msg=audit by.role=facility-manager by.facility=ESRF by.subject=emma@esrf", "fields=[every]", "status=403"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the node's log lacks %q", want)
		}
	}
	if strings.Contains(logs.String(), stored.Token.AccessToken) {
		t.Error("the node logged a token")
	}

	// The sign-in's token goes to its node only: another server gets no
	// token (and the command says why).
	t.Run("another server", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				t.Errorf("the sign-in's token was sent to another server")
			}
			http.Error(w, "{}", http.StatusUnauthorized)
		}))
		defer other.Close()
		t.Setenv("FAIRWAY_SERVER", other.URL)
		err := runSignInCLI(&testenv.Buffer{}, "feeds", "update", "esrf", "--every", "3h")
		if err == nil || !strings.Contains(err.Error(), "not for this node") {
			t.Errorf("a write to another server: %v, want the sign-in refused", err)
		}
	})

	// A read needs no token: it works with a sign-in that expired and
	// cannot be refreshed.
	expired := readStored(t, path)
	expired.Token.Expiry, expired.Token.RefreshToken = time.Now().Add(-time.Minute), ""
	writeStored(t, path, expired)
	out = &testenv.Buffer{}
	if err := runSignInCLI(out, "feeds", "list"); err != nil || !strings.Contains(out.String(), "esrf") {
		t.Errorf("feeds list with an expired sign-in: %v, %s", err, out.String())
	}
	if err := runSignInCLI(&testenv.Buffer{}, "feeds", "update", "esrf", "--every", "3h"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("a write with an expired sign-in: %v, want it expired", err)
	}

	// Logout forgets the sign-in: writes are unauthenticated again.
	out = &testenv.Buffer{}
	if err := runSignInCLI(out, "logout"); err != nil || !strings.Contains(out.String(), "Signed out") {
		t.Fatalf("logout: %v %s", err, out.String())
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the sign-in file is still there: %v", err)
	}
	if err := runSignInCLI(&testenv.Buffer{}, "feeds", "update", "esrf", "--every", "4h"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("after logout: %v, want 401", err)
	}
}

func runSignInCLI(out io.Writer, args ...string) error {
	root := &cobra.Command{Use: "fairway", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(FeedsCommand(), DestinationsCommand(), LoginCommand(), LogoutCommand())
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return root.ExecuteContext(ctx)
}

func readStored(t *testing.T, path string) signin.Stored {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st signin.Stored
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func writeStored(t *testing.T, path string, st signin.Stored) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestNodeIssuer: login without --issuer takes the node's one issuer once
// the metadata's resource is the node asked and the issuer is https (or
// on loopback), and says why not otherwise.
func TestNodeIssuer(t *testing.T) {
	// serve answers metadata whose resource is the server's own URL
	// (self) unless m names another.
	serve := func(m aai.ResourceMetadata, self bool) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if self {
				m.Resource = "http://" + r.Host
			}
			aai.MetadataHandler(m).ServeHTTP(w, r)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	tests := []struct {
		name, server, want, err string
	}{
		{"one", serve(aai.ResourceMetadata{AuthorizationServers: []string{"https://aai.example"}}, true), "https://aai.example", ""},
		{"loopback http issuer", serve(aai.ResourceMetadata{AuthorizationServers: []string{"http://127.0.0.1:9999"}}, true), "http://127.0.0.1:9999", ""},
		{"none", serve(aai.ResourceMetadata{}, true), "", "accepts no sign-in"},
		{"several", serve(aai.ResourceMetadata{AuthorizationServers: []string{"https://a.example", "https://b.example"}}, true), "", "choose one with --issuer"},
		{"another resource", serve(aai.ResourceMetadata{Resource: "https://other.example", AuthorizationServers: []string{"https://aai.example"}}, false), "", "names the resource"},
		{"no resource", serve(aai.ResourceMetadata{AuthorizationServers: []string{"https://aai.example"}}, false), "", "names the resource"},
		{"plain http issuer", serve(aai.ResourceMetadata{AuthorizationServers: []string{"http://aai.example"}}, true), "", "want an https URL"},
		{"look-alike loopback issuer", serve(aai.ResourceMetadata{AuthorizationServers: []string{"http://127.evil.example"}}, true), "", "want an https URL"},
		{"no metadata", notFound.URL, "", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nodeIssuer(context.Background(), tt.server)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("nodeIssuer = %q, %v; want %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("nodeIssuer = %q, %v", got, err)
			}
		})
	}
}
