package normaliser_test

import (
	"errors"
	"testing"

	"github.com/panosc/fairway/pkg/normaliser"
)

// TestNormaliseDerivedIdentifier normalises a raw record whose source gave
// no identifier, so that the harvester derived one from its content and
// flagged it: the dataset is keyed by its DOI as any other, and keeps the
// flag in its provenance; without a DOI it has no identity and is invalid.
func TestNormaliseDerivedIdentifier(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		key     string // "" means invalid
	}{
		{"with a DOI", dataciteRecord("http://datacite.org/schema/kernel-4", "10.17199/ESS.7", "Powder run", ""), "doi:10.17199/ess.7"},
		{"without a DOI", dataciteRecord("http://datacite.org/schema/kernel-4", "", "Powder run", ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := rawRecord("oai_datacite", "fairway:content:0123456789abcdef0123456789abcdef", tt.payload)
			raw.Provenance.DerivedIdentifier = true
			d, err := normaliser.Normalise(raw, normaliseAt)
			if tt.key == "" {
				if !errors.Is(err, normaliser.ErrInvalidRecord) {
					t.Fatalf("err = %v, want ErrInvalidRecord", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Key != tt.key || d.SourceIdentifier != raw.SourceIdentifier || !d.GetProvenance().GetDerivedIdentifier() {
				t.Errorf("key %q, source identifier %q, derived %v; want key %q", d.Key, d.SourceIdentifier, d.GetProvenance().GetDerivedIdentifier(), tt.key)
			}
		})
	}
}
