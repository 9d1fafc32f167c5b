package panoscapi

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	deep := strings.Repeat(`{"and":[`, MaxDepth+1) + `{"a":1}` + strings.Repeat(`]}`, MaxDepth+1)
	many := `{"where":{"or":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, MaxConditions+1), ",") + `]}}`
	for _, tc := range []struct {
		name, in string
		want     string // Where.String() of a valid filter
		limit    int
		skip     int
		includes int
		bad      string // part of the error of a bad one
	}{
		{name: "empty", in: "", want: "{}"},
		{name: "empty where takes all", in: `{"where":{}}`, want: "{}"},
		{name: "empty where in an and", in: `{"where":{"and":[{},{"a":1}]}}`, want: "({} and a eq 1)"},
		{name: "plain value", in: `{"where":{"title":"PaNOSC"}}`, want: "title eq PaNOSC"},
		{name: "operators", in: `{"where":{"and":[{"size":{"gt":10}},{"pid":{"inq":["a","b"]}}]}}`, want: "(size gt 10 and pid inq [a b])"},
		{name: "two keys are an and", in: `{"where":{"isPublic":true,"size":{"lte":5}}}`, want: "(isPublic eq true and size lte 5)"},
		{name: "limit and skip", in: `{"limit":5,"skip":10}`, want: "{}", limit: 5, skip: 10},
		{name: "include forms", in: `{"include":["files",{"relation":"techniques","scope":{"where":{"name":"x"}}},{"documents":"members"}]}`, want: "{}", includes: 3},
		{name: "between", in: `{"where":{"value":{"between":[880,990]}}}`, want: "value between [880 990]"},
		{name: "not JSON", in: `{"where":`, bad: "not JSON"},
		{name: "trailing text", in: `{} {}`, bad: "after"},
		{name: "unknown key", in: `{"whre":{}}`, bad: "unknown filter key"},
		{name: "unknown operator", in: `{"where":{"a":{"regexp":"x"}}}`, bad: "unknown operator"},
		{name: "two operators", in: `{"where":{"a":{"gt":1,"lt":2}}}`, bad: "exactly one operator"},
		{name: "between needs two", in: `{"where":{"a":{"between":[1]}}}`, bad: "two values"},
		{name: "inq needs an array", in: `{"where":{"a":{"inq":"x"}}}`, bad: "array"},
		{name: "limit too large", in: `{"limit":100000}`, bad: "at most"},
		{name: "negative skip", in: `{"skip":-1}`, bad: "≥ 0"},
		{name: "object value", in: `{"where":{"a":{"eq":{"b":1}}}}`, bad: "a value is"},
		{name: "too deep", in: `{"where":` + deep + `}`, bad: "deeper"},
		{name: "too many conditions", in: many, bad: "conditions"},
		{name: "too long", in: `{"where":{"a":"` + strings.Repeat("x", MaxFilterBytes) + `"}}`, bad: "longer"},
		{name: "fields unsupported", in: `{"fields":["pid"]}`, bad: "not supported"},
		{name: "filter not an object", in: `[1]`, bad: "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.in)
			if tc.bad != "" {
				if !errors.Is(err, ErrFilter) || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("error %v, want ErrFilter with %q", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Where.String(); got != tc.want {
				t.Errorf("where %s, want %s", got, tc.want)
			}
			if f.Limit != tc.limit || f.Skip != tc.skip || len(f.Include) != tc.includes {
				t.Errorf("limit %d skip %d includes %d", f.Limit, f.Skip, len(f.Include))
			}
		})
	}
}

// paramDataset is a dataset with parameters as the PaNOSC examples query
// them.
func paramDataset(pid string, params ...[3]any) *object {
	o := newObject(map[string]any{"pid": pid, "title": "Dataset " + pid, "size": 10.0,
		"creationDate": time.Date(2020, 5, 5, 15, 1, 2, 0, time.UTC)}, datasetRels, "instrument")
	for _, p := range params {
		o.rels["parameters"] = append(o.rels["parameters"], newObject(map[string]any{"name": p[0], "value": p[1], "unit": p[2]}, nil))
	}
	return o
}

func TestSelect(t *testing.T) {
	objs := []*object{
		paramDataset("d1", [3]any{"photon_energy", 930.0, "eV"}, [3]any{"sample_state", "solid", nil}),
		paramDataset("d2", [3]any{"photon_energy", 1200.0, "eV"}, [3]any{"chemical_formula", "Cu", nil}),
		paramDataset("d3", [3]any{"temperature", 20.0, "celsius"}),
		paramDataset("d4"),
	}
	for _, tc := range []struct {
		name, filter string
		want         string
	}{
		{"all", ``, "d1 d2 d3 d4"},
		// The examples of the API's dataset queries.
		{"photon energy 880-990 eV", `{"include":[{"relation":"parameters","scope":{"where":{"and":[{"name":"photon_energy"},{"value":{"between":[880,990]}},{"unit":"eV"}]}}}]}`, "d1"},
		{"solid sample or copper", `{"include":[{"relation":"parameters","scope":{"where":{"or":[{"and":[{"name":"sample_state"},{"value":"solid"}]},{"and":[{"name":"chemical_formula"},{"value":"Cu"}]}]}}}]}`, "d1 d2"},
		{"temperature below 80 celsius", `{"include":[{"relation":"parameters","scope":{"where":{"and":[{"name":"temperature"},{"value":{"lt":80}},{"unit":"celsius"}]}}}]}`, "d3"},
		{"two parameter includes both hold", `{"include":[{"relation":"parameters","scope":{"where":{"name":"photon_energy"}}},{"relation":"parameters","scope":{"where":{"value":"solid"}}}]}`, "d1"},
		{"include without where keeps all", `{"include":["parameters"]}`, "d1 d2 d3 d4"},
		{"pid inq", `{"where":{"pid":{"inq":["d2","d4","x"]}}}`, "d2 d4"},
		{"pid nin", `{"where":{"pid":{"nin":["d2","d4"]}}}`, "d1 d3"},
		{"neq", `{"where":{"pid":{"neq":"d1"}}}`, "d2 d3 d4"},
		{"like", `{"where":{"title":{"like":"Dataset d_"}}}`, "d1 d2 d3 d4"},
		{"like is case-sensitive", `{"where":{"title":{"like":"dataset%"}}}`, ""},
		{"ilike", `{"where":{"title":{"ilike":"%SET D3"}}}`, "d3"},
		{"nlike", `{"where":{"title":{"nlike":"%d1"}}}`, "d2 d3 d4"},
		{"date gte", `{"where":{"creationDate":{"gte":"2020-05-05"}}}`, "d1 d2 d3 d4"},
		{"date lt", `{"where":{"creationDate":{"lt":"2020-01-01T00:00:00Z"}}}`, ""},
		{"number gt", `{"where":{"size":{"gt":9.5}}}`, "d1 d2 d3 d4"},
		{"missing field", `{"where":{"nosuch":"x"}}`, ""},
		{"missing field is null", `{"where":{"nosuch":null}}`, "d1 d2 d3 d4"},
		{"type mismatch never matches", `{"where":{"size":{"gt":"big"}}}`, ""},
		{"skip and limit", `{"skip":1,"limit":2}`, "d2 d3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				s, err := selectObject(o, &f)
				if err != nil {
					t.Fatal(err)
				}
				if s != nil {
					got = append(got, s.obj.props["pid"].(string))
				}
			}
			got = page(got, f.Skip, f.Limit)
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func TestSelectIncludedShown(t *testing.T) {
	f, err := ParseFilter(`{"include":[{"relation":"parameters","scope":{"where":{"name":"photon_energy"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := selectObject(paramDataset("d1", [3]any{"photon_energy", 930.0, "eV"}, [3]any{"sample_state", "solid", nil}), &f)
	if err != nil || s == nil {
		t.Fatal(s, err)
	}
	js := s.JSON()
	ps, _ := js["parameters"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["name"] != "photon_energy" {
		t.Errorf("parameters shown %v, want the photon energy only", js["parameters"])
	}
	if _, ok := js["files"]; ok {
		t.Error("files shown without an include")
	}
	if js["creationDate"] != "2020-05-05T15:01:02Z" {
		t.Errorf("creationDate %v", js["creationDate"])
	}
	f, _ = ParseFilter(`{"include":["nosuch"]}`)
	if _, err := selectObject(paramDataset("d1"), &f); !errors.Is(err, ErrFilter) {
		t.Errorf("unknown relation: %v, want ErrFilter", err)
	}
}

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"abc", "abc", true}, {"abc", "a%", true}, {"abc", "%c", true}, {"abc", "%b%", true}, {"abc", "a_c", true},
		{"abc", "a_", false}, {"", "%", true}, {"", "_", false}, {"aaa", "%a%a%a%", true}, {"aa", "%a%a%a%", false},
		{strings.Repeat("a", 1000), strings.Repeat("%a", 50) + "b", false},
	} {
		if got := like(tc.s, tc.p, false); got != tc.want {
			t.Errorf("like(%q, %q) = %v", tc.s, tc.p, got)
		}
	}
}
