package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/urlguard"
)

// TestDeadLetterRoutes checks the dead-letter and status routes: only an
// operator reads or acts, bad sequences, times and bodies are refused, an
// action must say what it acts on, a payload larger than the bound is cut,
// and pages follow one another.
func TestDeadLetterRoutes(t *testing.T) {
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	ctx := context.Background()
	big := strings.Repeat("x", api.MaxDeadLetterPayload+10)
	for i := range 3 {
		payload := fmt.Sprint("payload ", i)
		if i == 2 {
			payload = big
		}
		ev := bus.DeadLetterEvent("harvester", fmt.Sprint("h", i), []byte(payload), fmt.Sprint("reason ", i), map[string]string{bus.HeaderDatasetKey: fmt.Sprintf("feed%d:rec", i%2)})
		if err := e.bus.Publish(ctx, "harvester", ev); err != nil {
			t.Fatal(err)
		}
	}
	// A dead letter of a stage downstream names its feed in a header.
	if err := e.bus.Publish(ctx, "enricher", bus.DeadLetterEvent("enricher", "e1", []byte("ds"), "enricher reason", map[string]string{bus.HeaderFeed: "feedX", bus.HeaderDatasetKey: "doi:10.1/x"})); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, method, path, body string
		status                          int
		want                            string
	}{
		{"list without a token", "", "GET", "/api/v1/deadletters", "", http.StatusUnauthorized, ""},
		{"list with a facility token", illToken, "GET", "/api/v1/deadletters", "", http.StatusForbidden, ""},
		{"list", opToken, "GET", "/api/v1/deadletters", "", http.StatusOK, `"reason": "reason 2"`},
		{"a page of one", opToken, "GET", "/api/v1/deadletters?limit=1", "", http.StatusOK, `"next": 1`},
		{"the next page", opToken, "GET", "/api/v1/deadletters?limit=1&after=1", "", http.StatusOK, `"reason": "reason 1"`},
		{"by feed", opToken, "GET", "/api/v1/deadletters?feed=feed1", "", http.StatusOK, `"feed": "feed1"`},
		{"by the feed a header names", opToken, "GET", "/api/v1/deadletters?feed=feedX", "", http.StatusOK, `"reason": "enricher reason"`},
		{"by error", opToken, "GET", "/api/v1/deadletters?error=REASON%200", "", http.StatusOK, `"seq": 1`},
		{"a bad time", opToken, "GET", "/api/v1/deadletters?since=yesterday", "", http.StatusBadRequest, "RFC 3339"},
		{"a bad limit", opToken, "GET", "/api/v1/deadletters?limit=-1", "", http.StatusBadRequest, "limit"},
		{"show", opToken, "GET", "/api/v1/deadletters/1", "", http.StatusOK, `"history"`},
		{"show a large payload", opToken, "GET", "/api/v1/deadletters/3", "", http.StatusOK, `"truncated": true`},
		{"show a bad sequence", opToken, "GET", "/api/v1/deadletters/x", "", http.StatusBadRequest, "sequence"},
		{"show no dead letter", opToken, "GET", "/api/v1/deadletters/99", "", http.StatusNotFound, ""},
		{"redrive with a facility token", illToken, "POST", "/api/v1/deadletters/redrive", `{"all":true}`, http.StatusForbidden, ""},
		{"redrive of nothing said", opToken, "POST", "/api/v1/deadletters/redrive", `{}`, http.StatusBadRequest, "say which"},
		{"redrive of the harvester's", opToken, "POST", "/api/v1/deadletters/redrive", `{"filter":{"stage":"harvester"}}`, http.StatusOK, `"left": 3`},
		{"purge dry run", opToken, "POST", "/api/v1/deadletters/purge", `{"filter":{"feed":"feed0"},"dry_run":true}`, http.StatusOK, `"matched": 2`},
		{"purge by feed", opToken, "POST", "/api/v1/deadletters/purge", `{"filter":{"feed":"feed0"}}`, http.StatusOK, `"done": 2`},
		{"purge of a purged one", opToken, "POST", "/api/v1/deadletters/purge", `{"seq":1}`, http.StatusNotFound, ""},
		{"left", opToken, "GET", "/api/v1/deadletters", "", http.StatusOK, `"reason": "reason 1"`},
		{"status with a facility token", illToken, "GET", "/api/v1/status", "", http.StatusForbidden, ""},
		{"status", opToken, "GET", "/api/v1/status", "", http.StatusOK, `"dead_letters_total": 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.do(tt.token, tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s = %d %.300s; want %d with %q", tt.method, tt.path, status, body, tt.status, tt.want)
			}
		})
	}
}
