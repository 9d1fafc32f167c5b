package node

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
)

// TestDatasetsCLI: the owner of a dataset is shown, and only an operator
// transfers it to another facility.
func TestDatasetsCLI(t *testing.T) {
	b := testenv.Bus(t)
	log := slog.New(slog.DiscardHandler)
	s := startTestAPI(t, b, log)
	if _, err := b.Owners().Claim(context.Background(), "doi:10.5072/esrf.1", "ESRF", "esrf-oai"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAIRWAY_SERVER", s.URL)
	t.Setenv("FAIRWAY_TOKEN_FILE", "")

	steps := []struct {
		name, token string
		args        []string
		err         string
		want        []string
	}{
		{"owner by DOI URL", "", []string{"datasets", "owner", "https://doi.org/10.5072/ESRF.1"}, "", []string{`"facility": "ESRF"`, `"feed": "esrf-oai"`}},
		{"owner of an unknown key", "", []string{"datasets", "owner", "doi:10.5072/none"}, "no facility owns", nil},
		{"not a key", "", []string{"datasets", "owner", "hello"}, "neither a DOI nor a dataset key", nil},
		{"a facility may not transfer", cliILLToken, []string{"datasets", "transfer", "doi:10.5072/esrf.1", "--to", "ILL"}, "only an operator", nil},
		{"transfer without --to", cliOperatorToken, []string{"datasets", "transfer", "doi:10.5072/esrf.1"}, "--to", nil},
		{"operator transfers", cliOperatorToken, []string{"datasets", "transfer", "doi:10.5072/esrf.1", "--to", "ILL"}, "", []string{`"facility": "ILL"`, `"previous": "ESRF"`}},
		{"new owner", "", []string{"datasets", "owner", "10.5072/esrf.1"}, "", []string{`"facility": "ILL"`}},
		{"transfer of a key nobody owns", cliOperatorToken, []string{"datasets", "transfer", "src:ESRF:oai:x", "--to", "ILL"}, "no facility owns this dataset: src:esrf:oai:x", nil},
		{"forced transfer of a key nobody owns", cliOperatorToken, []string{"datasets", "transfer", "src:ESRF:oai:x", "--to", "ILL", "--force"}, "", []string{`"key": "src:esrf:oai:x"`, `"facility": "ILL"`}},
		{"transfer to a facility name with a colon", cliOperatorToken, []string{"datasets", "transfer", "src:esrf:oai:x", "--to", "ILL:x"}, "facility", nil},
	}
	for _, st := range steps {
		t.Setenv("FAIRWAY_TOKEN", st.token)
		out, err := runCLI(t, st.args...)
		if st.err != "" {
			if err == nil || !strings.Contains(err.Error(), st.err) {
				t.Errorf("%s: err = %v, want one saying %q", st.name, err, st.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %s:\n%s", st.name, w, out)
			}
		}
	}
}
