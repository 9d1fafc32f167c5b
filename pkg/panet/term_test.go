package panet_test

import (
	"testing"

	"github.com/panosc/fairway/pkg/panet"
)

func TestTermIRI(t *testing.T) {
	const iri = "http://purl.org/pan-science/PaNET/PaNET01168"
	for _, in := range []string{"PaNET01168", " panet01168 ", iri, "https://purl.org/pan-science/PaNET/PaNET01168", "http://purl.org/pan-science/PaNET/PaNET.owl#PaNET01168"} {
		if got, ok := panet.TermIRI(in); !ok || got != iri {
			t.Errorf("TermIRI(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "PaNET", "PaNET1168", "x-ray diffraction", "http://example.org/PaNET01168", "PaNET01168x"} {
		if got, ok := panet.TermIRI(in); ok {
			t.Errorf("TermIRI(%q) = %q, true", in, got)
		}
	}
}
