package readmodel

import (
	"slices"
	"strings"
	"testing"
)

// TestFacetTerm checks that a facet's term gives back its value, is
// shorter for the prefixed IRIs, and sorts as the values do (the facets
// break ties by term).
func TestFacetTerm(t *testing.T) {
	values := []string{
		"", "a", "CC-BY-4.0", "http://publications.europa.eu/resource/authority/access-right/",
		"http://publications.europa.eu/resource/authority/access-right/PUBLIC",
		"http://publications.europa.eu/resource/authority/access-right/RESTRICTED",
		"http://publications.europa.eu/resource/authority/access-righ", "http://publications.europa.eu/resource/authority/access-rights",
		"http://purl.org/pan-science/PaNET", "http://purl.org/pan-science/PaNET/", "http://purl.org/pan-science/PaNET/PaNET01188",
		"http://purl.org/pan-science/PaNET/PaNET01012", "http://purl.org/pan-science/PaNET0", "http://purl.org/other",
		"https://example.org/x", "open", "zzz", "\xff", "b" + "http://purl.org/pan-science/PaNET/",
	}
	for _, v := range values {
		term := facetTerm(v)
		if v == "" {
			term = ""
		}
		if got := facetValue(term); got != v {
			t.Errorf("facetValue(facetTerm(%q)) = %q", v, got)
		}
		for _, p := range facetPrefixes {
			if strings.HasPrefix(v, p) && len(term) != len(v)-len(p)+1 {
				t.Errorf("facetTerm(%q) = %q, want the prefix left out", v, term)
			}
		}
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if a, b := facetTerm(sorted[i-1]), facetTerm(sorted[i]); a >= b {
			t.Errorf("%q < %q but their terms %q >= %q", sorted[i-1], sorted[i], a, b)
		}
	}
}

// TestQualityBand checks the band of a score as the quality facet's bands
// take their bounds in.
func TestQualityBand(t *testing.T) {
	for _, c := range []struct {
		q    float64
		want string
	}{{0, "0.0-0.2"}, {0.19999, "0.0-0.2"}, {0.2, "0.2-0.4"}, {0.4, "0.4-0.6"}, {0.6, "0.6-0.8"}, {0.79, "0.6-0.8"}, {0.8, "0.8-1.0"}, {1, "0.8-1.0"}} {
		if got := qualityBand(c.q); got != c.want {
			t.Errorf("qualityBand(%v) = %q, want %q", c.q, got, c.want)
		}
	}
}
