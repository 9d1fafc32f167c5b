package search_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/search"
)

// TestRelease follows the node's PaNET release on the bus: none at
// first, the release once it is stored.
func TestRelease(t *testing.T) {
	b := testenv.Bus(t)
	r := search.NewRelease(b, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 50*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	time.Sleep(100 * time.Millisecond)
	if r.Matcher() != nil {
		t.Fatal("a matcher before any release")
	}
	data, err := os.ReadFile(testenv.PaNET(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enricher.PutRelease(context.Background(), b, data, "test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for r.Matcher() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the release was not loaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := r.Matcher().Ontology().Class("PaNET01129"); !ok {
		t.Error("no tomography in the release loaded")
	}
}
