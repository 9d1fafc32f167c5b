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
	tests := []struct {
		name    string
		file    string // raw content; empty: write st
		st      signin.Stored
		want    string // the token, or "" for a refreshed one
		wantErr error
	}{
		{"valid", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Token: &oauth2.Token{AccessToken: fresh, Expiry: time.Now().Add(time.Hour)}}, fresh, nil},
		{"expired, no refresh token", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Token: &oauth2.Token{AccessToken: fresh, Expiry: time.Now().Add(-time.Hour)}}, "", signin.ErrExpired},
		{"refresh token refused", "", signin.Stored{Issuer: op.URL(), ClientID: "c", Token: &oauth2.Token{AccessToken: fresh, RefreshToken: "unknown", Expiry: time.Now().Add(-time.Hour)}}, "", signin.ErrExpired},
		{"not signed in", "-", signin.Stored{}, "", signin.ErrNotSignedIn},
		{"corrupt file", "{", signin.Stored{}, "", signin.ErrSignIn},
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
			got, err := signin.AccessToken(context.Background(), signin.Config{Dir: dir})
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
