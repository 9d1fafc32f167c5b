package api_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/api"
)

const (
	opToken   = "operator-token-0123456789"
	esrfToken = "esrf-token-0123456789abc"
	illToken  = "ill-token-0123456789abcd"
)

func tokensFile() api.TokensFile {
	return api.TokensFile{Operator: []string{opToken}, Facilities: map[string][]string{"ESRF": {esrfToken}, "ILL": {illToken}}}
}

func TestNewAccess(t *testing.T) {
	tests := []struct {
		name string
		file api.TokensFile
		env  []string
		ok   bool
	}{
		{"valid", tokensFile(), nil, true},
		{"env operator token", api.TokensFile{}, []string{"from-the-environment-0123"}, true},
		{"short token", api.TokensFile{Operator: []string{"short"}}, nil, false},
		{"token with a space", api.TokensFile{Operator: []string{"abcdefgh ijklmnopqrs"}}, nil, false},
		{"one token, two facilities", api.TokensFile{Facilities: map[string][]string{"A": {esrfToken}, "B": {esrfToken}}}, nil, false},
		{"facility token is also the operator's", api.TokensFile{Facilities: map[string][]string{"A": {opToken}}}, []string{opToken}, false},
		{"facility without a name", api.TokensFile{Facilities: map[string][]string{" ": {esrfToken}}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.NewAccess(tt.file, tt.env...)
			if tt.ok != (err == nil) {
				t.Fatalf("NewAccess = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && (!errors.Is(err, api.ErrTokens) || strings.Contains(err.Error(), esrfToken) || strings.Contains(err.Error(), opToken)) {
				t.Fatalf("error %q: want ErrTokens, without the token", err)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	a, err := api.NewAccess(tokensFile())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		header string
		want   api.Principal
		ok     bool
	}{
		{"Bearer " + opToken, api.Principal{Operator: true}, true},
		{"bearer " + esrfToken, api.Principal{Facility: "ESRF"}, true},
		{"Bearer  " + illToken + " ", api.Principal{Facility: "ILL"}, true},
		{"", api.Principal{}, false},
		{opToken, api.Principal{}, false},
		{"Basic " + opToken, api.Principal{}, false},
		{"Bearer " + opToken + "x", api.Principal{}, false},
		{"Bearer " + opToken[:len(opToken)-1], api.Principal{}, false},
		{"Bearer ", api.Principal{}, false},
	}
	for _, tt := range tests {
		p, err := a.Authenticate(context.Background(), tt.header)
		if tt.ok && !strings.HasPrefix(p.Subject, "token:") {
			t.Errorf("Authenticate(%q): subject %q, want token:<digest>", tt.header, p.Subject)
		}
		p.Subject = ""
		if tt.ok != (err == nil) || p != tt.want {
			t.Errorf("Authenticate(%q) = %v, %v; want %v ok=%v", tt.header, p, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("error %v is not ErrUnauthenticated", err)
		}
	}
	if p, err := api.OpenAccess().Authenticate(context.Background(), ""); err != nil || !p.Operator {
		t.Errorf("open access: %v, %v", p, err)
	}
}

func TestPrincipalCanManage(t *testing.T) {
	op, esrf := api.Principal{Operator: true}, api.Principal{Facility: "ESRF"}
	tests := []struct {
		p        api.Principal
		facility string
		want     bool
	}{
		{op, "ESRF", true}, {op, "ILL", true}, {esrf, "ESRF", true},
		{esrf, "ILL", false}, {esrf, "esrf", true}, {esrf, "", false}, {api.Principal{}, "", false},
	}
	for _, tt := range tests {
		if got := tt.p.CanManage(tt.facility); got != tt.want {
			t.Errorf("%v.CanManage(%q) = %v", tt.p, tt.facility, got)
		}
	}
}

func TestSetupAccess(t *testing.T) {
	dir := t.TempDir()
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{{URL: "https://aai.example", Audience: "https://fairway.test",
		Operators: aai.Rule{Subjects: []string{"olga"}}}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cfg       api.AccessConfig
		open      bool
		writable  bool   // some token lets writes through
		generated bool   // a token is in dir/operator-token
		log       string // in the log
	}{
		{"tokens configured", api.AccessConfig{Tokens: tokensFile(), DataDir: dir, OpenOnLoopback: true, Listen: "127.0.0.1:8080"}, false, true, false, "need a bearer token"},
		{"environment token", api.AccessConfig{OperatorToken: opToken, DataDir: dir}, false, true, false, "need a bearer token"},
		{"demo on loopback", api.AccessConfig{OpenOnLoopback: true, Listen: "127.0.0.1:8080", DataDir: dir}, true, true, false, "open"},
		{"no token, no data dir", api.AccessConfig{Listen: "127.0.0.1:8080"}, false, false, false, "every write is refused"},
		{"demo on every interface", api.AccessConfig{OpenOnLoopback: true, Listen: ":8080", DataDir: dir}, false, true, true, "generated an operator token"},
		{"generated before", api.AccessConfig{Listen: "127.0.0.1:8080", DataDir: dir}, false, true, true, "generated before"},
		{"sign-in beside the generated token", api.AccessConfig{Listen: ":8080", DataDir: dir, OIDC: v}, false, true, true, "generated before"},
		{"sign-in on a demo", api.AccessConfig{OpenOnLoopback: true, Listen: "127.0.0.1:8080", DataDir: dir, OIDC: v}, false, true, true, "sign-in is configured"},
		{"sign-in, no data dir", api.AccessConfig{Listen: ":8080", OIDC: v}, false, true, false, "writes need a sign-in token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := testenv.CaptureLog()
			a, err := api.SetupAccess(tt.cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			if a.Open() != tt.open || a.Empty() == tt.writable && !tt.open {
				t.Fatalf("open=%v empty=%v; want open=%v writable=%v", a.Open(), a.Empty(), tt.open, tt.writable)
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Fatalf("log %q does not say %q", logs.String(), tt.log)
			}
			path := filepath.Join(dir, api.OperatorTokenFile)
			b, err := os.ReadFile(path)
			if tt.generated {
				if err != nil {
					t.Fatal(err)
				}
				tok := strings.TrimSpace(string(b))
				if p, err := a.Authenticate(context.Background(), "Bearer "+tok); err != nil || !p.Operator {
					t.Fatalf("generated token: %v %v", p, err)
				}
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
					t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
				}
				if strings.Contains(logs.String(), tok) || !strings.Contains(logs.String(), path) {
					t.Fatalf("log must say where the token is, not what it is: %s", logs.String())
				}
			}
		})
	}
}

func TestLoadTokensFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"operator":["`+opToken+`"],"facilities":{"ESRF":["`+esrfToken+`"]},"allow_private_feeds":true,"allow_networks":["10.20.0.0/16"]}`)
	f, err := api.LoadTokensFile(good)
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := f.Networks()
	if len(f.Operator) != 1 || len(f.Facilities["ESRF"]) != 1 || !f.AllowPrivateFeeds || len(nets) != 1 {
		t.Fatalf("loaded %+v", f)
	}
	for name, content := range map[string]string{
		"typo.json":    `{"operators":["` + opToken + `"]}`,
		"network.json": `{"allow_networks":["10.20.0.0"]}`,
		"broken.json":  `{"operator":[`,
	} {
		if _, err := api.LoadTokensFile(write(name, content)); !errors.Is(err, api.ErrTokens) {
			t.Errorf("%s: %v, want ErrTokens", name, err)
		}
	}
	if _, err := api.LoadTokensFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
	if f, err := api.LoadTokensFile(""); err != nil || len(f.Operator) != 0 {
		t.Errorf("no file: %+v %v", f, err)
	}
}
