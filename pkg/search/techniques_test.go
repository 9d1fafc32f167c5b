package search_test

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/panosc/fairway/internal/searchtest"
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

// TestReleaseFreesOld loads a release, searches with it, then loads
// another: nothing of search keeps the first alive.
func TestReleaseFreesOld(t *testing.T) {
	for _, req := range []search.Request{
		{Technique: "PaNET01129"},
		{Query: "tomography"},
	} {
		r := search.NewRelease(nil, slog.New(slog.DiscardHandler))
		first := searchtest.Ontology(t).Ontology()
		model := searchtest.Model(t, searchtest.Entries(first, searchtest.Catalogue))
		r.Set(first)
		s, err := search.New(search.Config{Techniques: r}, model)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(context.Background(), req)
		if err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		if res.Total == 0 {
			t.Fatalf("%+v: nothing found", req)
		}
		old := weak.Make(first)
		first = nil
		r.Set(searchtest.Ontology(t).Ontology())
		if _, err := s.Search(context.Background(), req); err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		for range 5 {
			runtime.GC()
		}
		if old.Value() != nil {
			t.Errorf("%+v: the first release is still in memory", req)
		}
	}
}
