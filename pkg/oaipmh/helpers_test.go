package oaipmh

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the path of the shared reference data directory
// (../shared/data from the repository root), failing the test when it is absent.
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "data")
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/data not found in any parent directory: the reference data is required")
		}
		dir = parent
	}
}

func sampleDir(t testing.TB, feed string) string {
	t.Helper()
	return filepath.Join(sharedData(t), "oai-samples", feed)
}

func readSample(t testing.TB, feed, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir(t, feed), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
