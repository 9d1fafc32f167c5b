package oaipmh

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
)

func sampleDir(t testing.TB, feed string) string {
	t.Helper()
	return filepath.Join(testenv.SharedData(t), "oai-samples", feed)
}

func readSample(t testing.TB, feed, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir(t, feed), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
