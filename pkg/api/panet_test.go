package api_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/urlguard"
)

// TestPaNETRoutes checks the PaNET and replay routes on a node without a
// release yet: who may write, the body bound, the checks of a release and
// of a replay request.
func TestPaNETRoutes(t *testing.T) {
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	ref, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, method, path, body string
		status                          int
		want                            string
	}{
		{"show without a release", "", "GET", "/api/v1/panet", "", http.StatusOK, `"release": null`},
		{"no release to get", "", "GET", "/api/v1/panet/release", "", http.StatusNotFound, "no PaNET release"},
		{"upload without a token", "", "PUT", "/api/v1/panet/release", string(ref), http.StatusUnauthorized, ""},
		{"upload with a facility token", esrfToken, "PUT", "/api/v1/panet/release", string(ref), http.StatusForbidden, "only an operator"},
		{"upload of a non-release", opToken, "PUT", "/api/v1/panet/release", "<html></html>", http.StatusUnprocessableEntity, "invalid PaNET release"},
		{"upload of nothing", opToken, "PUT", "/api/v1/panet/release", "", http.StatusUnprocessableEntity, "invalid PaNET release"},
		{"upload too large", opToken, "PUT", "/api/v1/panet/release", strings.Repeat(" ", enricher.MaxReleaseSize+1), http.StatusRequestEntityTooLarge, "larger than"},
		{"upload", opToken, "PUT", "/api/v1/panet/release", string(ref), http.StatusOK, `"changed": true`},
		{"upload again", opToken, "PUT", "/api/v1/panet/release", string(ref), http.StatusOK, `"changed": false`},
		{"show", "", "GET", "/api/v1/panet", "", http.StatusOK, enricher.Digest(ref)},
		{"get the release", "", "GET", "/api/v1/panet/release", "", http.StatusOK, "owl:Ontology"},
		{"replay with a facility token", illToken, "POST", "/api/v1/replays", `{"stage":"enricher"}`, http.StatusForbidden, ""},
		{"replay of a stage that reads no stage input", opToken, "POST", "/api/v1/replays", `{"stage":"analytics"}`, http.StatusUnprocessableEntity, "only the normaliser, the enricher and the publisher"},
		{"replay of the normaliser by feed", opToken, "POST", "/api/v1/replays", `{"stage":"normaliser","feed":"f1","dry_run":true}`, http.StatusAccepted, `"feed": "f1"`},
		{"replay of the publisher by sequence", opToken, "POST", "/api/v1/replays", `{"stage":"publisher","since_seq":5,"until_seq":9}`, http.StatusAccepted, `"until_seq": 9`},
		{"replay by feed and facility", opToken, "POST", "/api/v1/replays", `{"stage":"enricher","feed":"f1","facility":"ILL"}`, http.StatusUnprocessableEntity, "not both"},
		{"replay of an empty range", opToken, "POST", "/api/v1/replays", `{"stage":"enricher","since_seq":9,"until_seq":5}`, http.StatusUnprocessableEntity, "after the last"},
		{"replay with an unknown field", opToken, "POST", "/api/v1/replays", `{"stage":"enricher","all":true}`, http.StatusBadRequest, "unknown field"},
		{"replay", opToken, "POST", "/api/v1/replays", `{"stage":"enricher","reason":"test"}`, http.StatusAccepted, `"state": "pending"`},
		{"status of no replay", opToken, "GET", "/api/v1/replays/enricher/none", "", http.StatusNotFound, ""},
		{"status of a bad stage", opToken, "GET", "/api/v1/replays/x.*/none", "", http.StatusNotFound, ""},
		{"status without a token", "", "GET", "/api/v1/replays/enricher/none", "", http.StatusUnauthorized, ""},
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
