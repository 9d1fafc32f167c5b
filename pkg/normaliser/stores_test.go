package normaliser_test

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/normaliser"
)

// TestStoresRequired: every store is required, the normalised stream
// included (without it the guard against stale merges would be off).
func TestStoresRequired(t *testing.T) {
	full := func() normaliser.Stores {
		return normaliser.Stores{Keys: &memKeys{m: map[string]string{}}, Owners: &memOwners{m: map[string]bus.Owner{}},
			Sources: newMemSources(), Normalised: newMemStream()}
	}
	tests := []struct {
		name string
		edit func(*normaliser.Stores)
		ok   bool
	}{
		{"all set", func(*normaliser.Stores) {}, true},
		{"no keys", func(s *normaliser.Stores) { s.Keys = nil }, false},
		{"no owners", func(s *normaliser.Stores) { s.Owners = nil }, false},
		{"no sources", func(s *normaliser.Stores) { s.Sources = nil }, false},
		{"no normalised stream", func(s *normaliser.Stores) { s.Normalised = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := full()
			tt.edit(&st)
			_, err := normaliser.NewWithState(normaliser.Config{}, nil, st, slog.New(slog.DiscardHandler))
			if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, normaliser.ErrMissingStore)) {
				t.Errorf("err %v, want ok %t", err, tt.ok)
			}
			if verr := st.Validate(); (verr == nil) != tt.ok {
				t.Errorf("Validate: %v", verr)
			}
		})
	}
}
