package destinations_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
)

// closedURL returns an http URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestCheck(t *testing.T) {
	hub := piveautest.Start(piveautest.Config{APIKey: apiKey, Catalogues: []string{"panosc"}})
	defer hub.Close()
	sc := scicattest.Start(scicattest.Config{Users: map[string]string{"fairway": password}})
	defer sc.Close()
	notHub := httptest.NewServer(http.NotFoundHandler())
	defer notHub.Close()
	closed := closedURL(t)
	allow := urlguard.Policy{AllowPrivate: true}

	piv := func(url, catalogue, key string, create bool) destinations.Destination {
		return destinations.Destination{ID: "eosc", Kind: destinations.KindPiveau, URL: url, Catalogue: catalogue,
			APIKey: feeds.Secret(key), CreateCatalogue: create}
	}
	sci := func(url, user, pw string) destinations.Destination {
		return destinations.Destination{ID: "daphne", Kind: destinations.KindSciCat, URL: url, Username: user, Password: feeds.Secret(pw)}
	}
	tests := []struct {
		name    string
		policy  urlguard.Policy
		dest    destinations.Destination
		want    error  // nil: the check passes
		reason  string // in the error's text
		created string // a catalogue the check must have created
	}{
		{"piveau: good key", allow, piv(hub.URL, "panosc", apiKey, false), nil, "", ""},
		{"piveau: bad key", allow, piv(hub.URL, "panosc", "wrong-key-0123456789", false), destinations.ErrCheckFailed, "refused the API key", ""},
		{"piveau: catalogue missing", allow, piv(hub.URL, "absent", apiKey, false), destinations.ErrCheckFailed, `catalogue "absent" is missing at the hub ` + hub.URL + ": use --create-catalogue", ""},
		{"piveau: catalogue created", allow, piv(hub.URL, "fresh", apiKey, true), nil, "", "fresh"},
		{"piveau: not a hub", allow, piv(notHub.URL, "panosc", apiKey, false), destinations.ErrCheckFailed, "is not a piveau hub-repo", ""},
		{"piveau: nothing listening", allow, piv(closed, "panosc", apiKey, false), destinations.ErrCheckFailed, "does not answer", ""},
		{"piveau: loopback refused", urlguard.Policy{}, piv(hub.URL, "panosc", apiKey, false), urlguard.ErrForbiddenAddress, "--allow-private-feeds", ""},
		{"piveau: invalid", allow, piv(hub.URL, "", apiKey, false), destinations.ErrInvalid, "needs a catalogue", ""},
		{"scicat: good login", allow, sci(sc.URL, "fairway", password), nil, "", ""},
		{"scicat: bad password", allow, sci(sc.URL, "fairway", "wrong-password-0123"), destinations.ErrCheckFailed, `SciCat login refused for user "fairway"`, ""},
		{"scicat: unknown user", allow, sci(sc.URL, "nobody", password), destinations.ErrCheckFailed, `SciCat login refused for user "nobody"`, ""},
		{"scicat: not SciCat", allow, sci(notHub.URL, "fairway", password), destinations.ErrCheckFailed, "is not a SciCat backend", ""},
		{"scicat: nothing listening", allow, sci(closed, "fairway", password), destinations.ErrCheckFailed, "does not answer", ""},
		{"scicat: loopback refused", urlguard.Policy{}, sci(sc.URL, "fairway", password), urlguard.ErrForbiddenAddress, "address not allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := captureLog()
			c, err := destinations.NewChecker(destinations.CheckerConfig{Policy: tt.policy, Timeout: 10 * time.Second, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(context.Background(), tt.dest)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
			} else {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Check = %v, want %v", err, tt.want)
				}
				if !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("Check = %q, want it to say %q", err, tt.reason)
				}
			}
			if tt.created != "" && !hub.HasCatalogue(tt.created) {
				t.Errorf("catalogue %s not created", tt.created)
			}
			for _, s := range []string{apiKey, password, "wrong-key-0123456789", "wrong-password-0123"} {
				if err != nil && strings.Contains(err.Error(), s) {
					t.Errorf("the error quotes a credential: %v", err)
				}
				if strings.Contains(logs.String(), s) {
					t.Errorf("the log quotes a credential: %s", logs)
				}
			}
		})
	}
	if hub.HasCatalogue("absent") {
		t.Error("the check created a catalogue without --create-catalogue")
	}
}

// TestCheckRedactsEchoedCredentials: a server that quotes what it was sent
// does not get a credential into the check's error.
func TestCheckRedactsEchoedCredentials(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"bad credentials ` + password + `"}`))
	}))
	defer echo.Close()
	log, logs := captureLog()
	c, err := destinations.NewChecker(destinations.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	d := daphne()
	d.URL = echo.URL
	err = c.Check(context.Background(), d)
	if !errors.Is(err, destinations.ErrCheckFailed) {
		t.Fatalf("Check = %v, want ErrCheckFailed", err)
	}
	if strings.Contains(err.Error(), password) || strings.Contains(logs.String(), password) {
		t.Errorf("the password is quoted: %v\n%s", err, logs)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("Check = %v, want the echoed password redacted", err)
	}
}

func TestCheckerConfigValidate(t *testing.T) {
	if _, err := destinations.NewChecker(destinations.CheckerConfig{Timeout: -time.Second}); err == nil {
		t.Error("a negative timeout is accepted")
	}
}
