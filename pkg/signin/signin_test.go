package signin_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/panosc/fairway/internal/testop"
	"github.com/panosc/fairway/pkg/signin"
)

// TestAccessToken checks what a stored sign-in yields: a valid token as
// is, an expired one refreshed at the provider, and the errors of what
// cannot be used.
func TestAccessToken(t *testing.T) {
	op := testop.Start(t, "https://fairway.test")
	fresh := op.Token(t, testop.Claims{Subject: "emma"})
	const node = "https://fairway.test"
	valid := &oauth2.Token{AccessToken: fresh, Expiry: time.Now().Add(time.Hour)}
	tests := []struct {
		name    string
		file    string // raw content; empty: write st
		st      signin.Stored
		server  string // where the request goes; default node
		want    string // the token, or "" for a refreshed one
		wantErr error
	}{
		{"valid", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: node, Token: valid}, "", fresh, nil},
		{"same origin, written otherwise", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: "HTTPS://Fairway.test:443/", Token: valid}, "https://fairway.test/api", fresh, nil},
		{"loopback over http", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: "http://127.0.0.1:8080", Token: valid}, "http://127.0.0.1:8080", fresh, nil},
		{"another node", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: node, Token: valid}, "https://evil.example", "", signin.ErrOtherServer},
		{"another port", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: node, Token: valid}, "https://fairway.test:8443", "", signin.ErrOtherServer},
		{"plain http", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: "http://fairway.test", Token: valid}, "http://fairway.test", "", signin.ErrOtherServer},
		{"http to a look-alike of loopback", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: "http://127.evil.example", Token: valid}, "http://127.evil.example", "", signin.ErrOtherServer},
		{"no node recorded", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Token: valid}, "", "", signin.ErrOtherServer},
		{"expired, no refresh token", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: node, Token: &oauth2.Token{AccessToken: fresh, Expiry: time.Now().Add(-time.Hour)}}, "", "", signin.ErrExpired},
		{"refresh token refused", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Server: node, Token: &oauth2.Token{AccessToken: fresh, RefreshToken: "unknown", Expiry: time.Now().Add(-time.Hour)}}, "", "", signin.ErrExpired},
		{"not signed in", "-", signin.Stored{}, "", "", signin.ErrNotSignedIn},
		{"corrupt file", "{", signin.Stored{}, "", "", signin.ErrSignIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, signin.FileName)
			switch tt.file {
			case "-":
			case "":
				b, _ := json.Marshal(tt.st)
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			server := tt.server
			if server == "" {
				server = node
			}
			got, err := signin.AccessToken(context.Background(), signin.Config{Dir: dir, Server: server})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("AccessToken = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("AccessToken = %.20q, %v", got, err)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	dir := t.TempDir()
	if had, err := signin.Logout(signin.Config{Dir: dir}); had || err != nil {
		t.Fatalf("Logout without a sign-in = %v, %v", had, err)
	}
	if err := os.WriteFile(filepath.Join(dir, signin.FileName), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if had, err := signin.Logout(signin.Config{Dir: dir}); !had || err != nil {
		t.Fatalf("Logout = %v, %v", had, err)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"https://aai.example/device":   "https://aai.example/device",
		"ABCD-EFGH":                    "ABCD-EFGH",
		"ABCD\x1b[2J\x1b]0;x\x07-EFGH": "ABCD[2J]0;x-EFGH",
		"a\r\nb\tc\u202ed":             "abcd",
	} {
		if got := signin.Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
