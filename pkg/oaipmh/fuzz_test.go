package oaipmh

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/fetch"
)

// FuzzParsePage checks that ParsePage never panics, that every error it returns
// for in-memory input is fetch.ErrMalformedResponse, and that kept payloads are
// bounded, complete elements of valid UTF-8.
func FuzzParsePage(f *testing.F) {
	for _, feed := range []string{"sickle", "datacite-viringo"} {
		files, err := filepath.Glob(filepath.Join(sampleDir(f, feed), "*.xml"))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed files for %s: %v", feed, err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, 1024)
		}
	}
	f.Add([]byte("<OAI-PMH><ListRecords><record><metadata><a>\x01</a></metadata></record></ListRecords></OAI-PMH>"), 3)
	f.Add([]byte("<?xml version='1.0' encoding='latin1'?><OAI-PMH><GetRecord><record><metadata><a>\xe9</a></metadata></record></GetRecord></OAI-PMH>"), 0)
	f.Fuzz(func(t *testing.T, data []byte, maxRecord int) {
		p, err := ParsePage(bytes.NewReader(data), maxRecord)
		if err != nil {
			if !errors.Is(err, fetch.ErrMalformedResponse) {
				t.Fatalf("error does not wrap fetch.ErrMalformedResponse: %v", err)
			}
			return
		}
		for _, r := range p.Records {
			if r.Metadata == nil {
				continue
			}
			if maxRecord > 0 && len(r.Metadata) > maxRecord {
				t.Fatalf("payload of %d bytes kept with limit %d", len(r.Metadata), maxRecord)
			}
			if r.Metadata[0] != '<' || r.Metadata[len(r.Metadata)-1] != '>' {
				t.Fatalf("payload is not a complete element: %q", r.Metadata)
			}
			if !utf8.Valid(r.Metadata) {
				t.Fatalf("payload is not valid UTF-8: %q", r.Metadata)
			}
		}
		for _, o := range p.Oversized {
			if maxRecord <= 0 || o.Size <= int64(maxRecord) {
				t.Fatalf("oversized record %+v with limit %d", o, maxRecord)
			}
		}
	})
}
