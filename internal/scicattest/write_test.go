package scicattest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func do(t *testing.T, method, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

const validRaw = `{"pid":"20.500.1/a b","type":"raw","owner":"o","contactEmail":"a@b.org","sourceFolder":"/x",
"creationTime":"2024-01-02T03:04:05Z","datasetName":"n","ownerGroup":"g","accessGroups":[],
"principalInvestigator":"p","creationLocation":"l","isPublished":true}`

func TestWriteSide(t *testing.T) {
	s := Start(Config{Users: map[string]string{"u": "pw"}})
	defer s.Close()
	ds := s.URL + "/api/v4/datasets"
	one := ds + "/" + url.PathEscape("20.500.1/a b")

	if code, _ := do(t, "POST", s.URL+"/api/v3/auth/login", "", `{"username":"u","password":"no"}`); code != 401 {
		t.Errorf("wrong password: %d", code)
	}
	code, login := do(t, "POST", s.URL+"/api/v3/auth/login", "", `{"username":"u","password":"pw"}`)
	token, _ := login["access_token"].(string)
	if code != 201 || token == "" {
		t.Fatalf("login: %d %v", code, login)
	}
	if code, _ := do(t, "POST", ds, "", validRaw); code != 403 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := do(t, "POST", ds, "forged", validRaw); code != 401 {
		t.Errorf("forged token: %d", code)
	}
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"empty", `{}`, []string{"owner must be a string", "contactEmail must be an email", "sourceFolder must be a string",
			"creationTime must be a valid ISO 8601 date string", "type must be one of the following values: raw, derived",
			"datasetName must be a string", "ownerGroup must be a string", "accessGroups must be an array"}},
		{"raw without PI", strings.Replace(validRaw, `"principalInvestigator":"p",`, "", 1), []string{"principalInvestigator must be a string"}},
		{"derived without inputs", strings.Replace(validRaw, `"type":"raw"`, `"type":"derived","investigator":"i"`, 1),
			[]string{"inputDatasets must be an array", "usedSoftware must be an array"}},
		{"bad email", strings.Replace(validRaw, "a@b.org", "nobody", 1), []string{"contactEmail must be an email"}},
	} {
		code, ans := do(t, "POST", ds, token, tc.body)
		msgs, _ := ans["message"].([]any)
		joined := ""
		for _, m := range msgs {
			joined += m.(string) + "|"
		}
		if code != 400 || ans["error"] != "Bad Request" {
			t.Errorf("%s: %d %v", tc.name, code, ans)
		}
		for _, w := range tc.want {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: %q lacks %q", tc.name, joined, w)
			}
		}
	}
	if code, _ := do(t, "POST", ds, token, validRaw); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if code, ans := do(t, "POST", ds, token, validRaw); code != 409 || ans["statusCode"] != 409.0 {
		t.Errorf("second create: %d %v", code, ans)
	}
	if code, ans := do(t, "PATCH", one, token, `{"isPublished":false}`); code != 200 || ans["isPublished"] != false || ans["owner"] != "o" {
		t.Errorf("patch: %d %v", code, ans)
	}
	if code, _ := do(t, "PATCH", one, token, `{"contactEmail":"x"}`); code != 400 {
		t.Errorf("bad patch: %d", code)
	}
	if code, ans := do(t, "GET", one, token, ""); code != 200 || ans["pid"] != "20.500.1/a b" {
		t.Errorf("get: %d %v", code, ans)
	}
	s.ExpireTokens()
	if code, _ := do(t, "GET", one, token, ""); code != 401 {
		t.Errorf("expired token: %d", code)
	}
	_, login = do(t, "POST", s.URL+"/api/v3/auth/login", "", `{"username":"u","password":"pw"}`)
	token, _ = login["access_token"].(string)
	if code, _ := do(t, "DELETE", one, token, ""); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := do(t, "DELETE", one, token, ""); code != 404 {
		t.Errorf("second delete: %d", code)
	}
	if code, _ := do(t, "PATCH", one, token, `{}`); code != 404 {
		t.Errorf("patch of a deleted dataset: %d", code)
	}
	s.SetDown(true)
	if code, _ := do(t, "GET", one, token, ""); code != 0 {
		t.Errorf("down: answered %d", code)
	}
	s.SetDown(false)
	c := s.Counts()
	if c[RouteLogin] != 3 || c[RouteCreate] != 8 || c[RoutePatch] != 3 || c[RouteDelete] != 2 || c[RouteGetDataset] < 3 {
		// net/http may resend a GET the server hung up on: 3 or more.
		t.Errorf("counts %v", c)
	}
}
