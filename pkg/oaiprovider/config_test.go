package oaiprovider_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/panosc/fairway/pkg/oaiprovider"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  oaiprovider.Config
		ok   bool
	}{
		{"zero", oaiprovider.Config{}, true},
		{"full", oaiprovider.Config{BaseURL: "https://node.example.org/", AdminEmail: "data@example.org", PageSize: 1000, TokenKey: make([]byte, 16)}, true},
		{"relative base URL", oaiprovider.Config{BaseURL: "/node"}, false},
		{"base URL with a query", oaiprovider.Config{BaseURL: "https://node.example.org/?x=1"}, false},
		{"ftp base URL", oaiprovider.Config{BaseURL: "ftp://node.example.org"}, false},
		{"e-mail without domain dot", oaiprovider.Config{AdminEmail: "admin@localhost"}, false},
		{"page too large", oaiprovider.Config{PageSize: oaiprovider.MaxPageSize + 1}, false},
		{"negative page", oaiprovider.Config{PageSize: -1}, false},
		{"negative TTL", oaiprovider.Config{TokenTTL: -1}, false},
		{"short key", oaiprovider.Config{TokenKey: []byte("short")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, oaiprovider.ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
		})
	}
	if _, err := oaiprovider.New(oaiprovider.Config{}, nil, nil); !errors.Is(err, oaiprovider.ErrInvalidConfig) {
		t.Errorf("New without source: %v", err)
	}
}

// TestUnavailable: when the read model fails, the answer is 503 with
// Retry-After, which harvesters honour, rather than an OAI-PMH error that
// would end their harvest.
func TestUnavailable(t *testing.T) {
	n := newNode(t, oaiprovider.Config{})
	n.corpus(2)
	if err := n.model.Close(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"verb=Identify", "verb=ListRecords&metadataPrefix=oai_dc", "verb=ListSets"} {
		resp, err := http.Get(n.srv.URL + "/oai?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: status %d, Retry-After %q", q, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
}

// TestTechniqueLabel: the node's labels (from the PaNET ontology) name the
// technique sets no entry names.
func TestTechniqueLabel(t *testing.T) {
	n := newNode(t, oaiprovider.Config{TechniqueLabel: func(iri string) string {
		if iri == panetNS+"PaNET01012" {
			return "imaging"
		}
		return ""
	}})
	n.corpus(2)
	r, _ := n.get("verb=ListSets")
	names := map[string]string{}
	for _, s := range r.ListSets.Sets {
		names[s.Spec] = s.Name
	}
	if names["technique:PaNET01012"] != "imaging" || names["technique:PaNET01188"] != "tomography" || names["technique:PaNET00001"] != "PaNET00001" {
		t.Errorf("set names %v", names)
	}
}
