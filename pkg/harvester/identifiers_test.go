package harvester_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/normaliser"
)

// assertNoIdentifierInIDs checks that no message of the stream carries one
// of the identifiers in its message id or its hash header.
func assertNoIdentifierInIDs(t *testing.T, msgs []jetstream.Msg, ids ...string) {
	t.Helper()
	for _, m := range msgs {
		for _, h := range []string{jetstream.MsgIDHeader, bus.HeaderHash} {
			v := m.Headers().Get(h)
			if len(v) > 256 {
				t.Errorf("%s of a message is %d bytes", h, len(v))
			}
			for _, id := range ids {
				if strings.Contains(v, id) {
					t.Errorf("%s %q holds the identifier %.40q…", h, v, id)
				}
			}
		}
	}
}

// TestLongIdentifierGoesToTheDeadLetters serves a page with one record whose
// identifier is 3000 characters long among normal records, listed with
// ListRecords and with ListIdentifiers + GetRecord: the normal records are
// written, the long one is dead-lettered with its reason, and the run
// completes.
func TestLongIdentifierGoesToTheDeadLetters(t *testing.T) {
	long := "oai:sample.fairway:" + strings.Repeat("x", 3000)
	tests := []struct {
		name     string
		strategy string
		inject   string // after the list element's start tag
		// renamed, when set, is the record whose GetRecord answer names it
		// by the long identifier instead.
		renamed int
	}{
		{
			name: "ListRecords", strategy: harvester.StrategyRecords, inject: "<ListRecords>\n",
		},
		{
			name: "ListIdentifiers", strategy: harvester.StrategyIdentifiers, inject: "<ListIdentifiers>\n",
		},
		{
			name: "a GetRecord answer", strategy: harvester.StrategyIdentifiers, renamed: 12,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastConfig()
			cfg.Strategy = tt.strategy
			hs := newHarness(t, 30, 10, cfg)
			hs.declareDeletedRecord("no") // the run remembers what it sees
			rec := `<record><header><identifier>` + long + `</identifier><datestamp>2025-02-03T00:00:00Z</datestamp></header>` +
				`<metadata><x>long</x></metadata></record>` + "\n"
			if tt.strategy == harvester.StrategyIdentifiers {
				rec = `<header><identifier>` + long + `</identifier><datestamp>2025-02-03T00:00:00Z</datestamp></header>` + "\n"
			}
			written := 30
			if tt.inject != "" {
				hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					body := render(r)
					if n == 2 {
						body = bytes.Replace(body, []byte(tt.inject), []byte(tt.inject+rec), 1)
					}
					send(w, body)
				})
			} else {
				written--
				renamed := hs.corpus.Identifier(tt.renamed)
				get := misbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
					send(w, bytes.Replace(render(r), []byte("<identifier>"+renamed+"</identifier>"), []byte("<identifier>"+long+"</identifier>"), 1))
				})
				hs.srv.getRecord.Store(&get)
			}
			run := hs.harvest(t, harvester.RunRequest{})
			if run.Records != int64(written) || run.Rejected != 1 {
				t.Errorf("run %v: want %d records written and 1 rejected", run, written)
			}
			if tt.inject != "" {
				hs.assertComplete(t)
			} else if _, n := raw(t, hs.bus); n != written {
				t.Errorf("raw stream holds %d messages, want %d", n, written)
			}
			dl := deadLetters(t, hs.bus)
			if len(dl) != 1 || !strings.Contains(dl[0], "3019 bytes, over the limit of 1024") || strings.Contains(dl[0], long) {
				t.Errorf("dead letters %.300q: want the long record with its reason (and not its whole identifier)", dl)
			}
			// The reason names the identifier by the digest the pipeline's
			// keys use.
			if len(dl) == 1 && !strings.Contains(dl[0], "sha256 "+bus.Digest(long)+")") {
				t.Errorf("dead letter %.300q: want the identifier's bus.Digest %s", dl[0], bus.Digest(long))
			}
			ids, _ := hs.storedIDs(t)
			for _, id := range ids {
				if id == long {
					t.Error("the long identifier is remembered as seen")
				}
			}
			assertNoIdentifierInIDs(t, testenv.Messages(t, hs.bus, bus.DeadLetters), long)
		})
	}
}

// TestOversizedRecordDeadLetterID checks that the dead letter of a record
// over the size limit has no identifier in its message id.
func TestOversizedRecordDeadLetterID(t *testing.T) {
	cfg := fastConfig()
	cfg.MaxRecordBytes = 16 << 10
	hs := newHarness(t, 10, 10, cfg)
	big := hs.corpus.Identifier(4)
	hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		body := render(r)
		i := bytes.Index(body, []byte(big))
		end := bytes.Index(body[i:], []byte("</oai_datacite>"))
		pad := "<!--" + strings.Repeat("p", 20<<10) + "-->"
		send(w, append(append(append([]byte(nil), body[:i+end]...), pad...), body[i+end:]...))
	})
	if run := hs.harvest(t, harvester.RunRequest{}); run.Rejected != 1 || run.Records != 9 {
		t.Fatalf("run %v", run)
	}
	msgs := testenv.Messages(t, hs.bus, bus.DeadLetters)
	if len(msgs) != 1 {
		t.Fatalf("%d dead letters", len(msgs))
	}
	assertNoIdentifierInIDs(t, msgs, big)
}

// TestSciCatLongIdentifier serves a dataset whose pid is 3000 characters
// long: it is dead-lettered with its reason, the others are written.
func TestSciCatLongIdentifier(t *testing.T) {
	pid := "20.500.12345/" + strings.Repeat("y", 3000)
	doc := json.RawMessage(fmt.Sprintf(`{"pid":%q,"datasetName":"long pid","isPublished":true}`, pid))
	e := newSciCatEnv(t, 0, scicattest.Config{Datasets: []json.RawMessage{doc}}, harvester.Config{})
	run := e.harvest(t, e.feed(""), harvester.RunRequest{})
	if run.Records != 19 || run.Rejected != 1 {
		t.Errorf("run %v: want the seed's 19 written and 1 rejected", run)
	}
	if n := len(scicatStream(t, e.bus, bus.Raw)); n != 19 {
		t.Errorf("raw stream holds %d", n)
	}
	dead := scicatStream(t, e.bus, bus.DeadLetters)
	if len(dead) != 1 || !strings.Contains(dead[0].headers[bus.HeaderReason], "3013 bytes, over the limit of 1024") {
		t.Fatalf("dead letters %v", dead)
	}
	if !bytes.Equal(dead[0].raw.Payload, doc) {
		t.Errorf("the dead letter lacks the document")
	}
	assertNoIdentifierInIDs(t, testenv.Messages(t, e.bus, bus.DeadLetters), pid)
}

// TestRecordWithEmptyIdentifier serves a record whose header identifier is
// empty but whose DataCite payload has a DOI, and a deleted header without
// identifier: the first is written under an identifier derived from its
// content, flagged in its provenance, and normalises to its DOI; the
// second, which identifies nothing, is dead-lettered.
func TestRecordWithEmptyIdentifier(t *testing.T) {
	hs := newHarness(t, 10, 10, fastConfig())
	blank := 0 // a live record of the corpus
	want := hs.corpus.Record(blank)
	if want.Deleted {
		t.Fatal("pick a live record")
	}
	hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		body := bytes.Replace(render(r), []byte("<identifier>"+want.Identifier+"</identifier>"), []byte("<identifier/>"), 1)
		body = bytes.Replace(body, []byte("<ListRecords>\n"),
			[]byte("<ListRecords>\n<record><header status=\"deleted\"><identifier></identifier><datestamp>2025-02-03</datestamp></header></record>\n"), 1)
		send(w, body)
	})
	run := hs.harvest(t, harvester.RunRequest{})
	if run.Records != 10 || run.Rejected != 1 {
		t.Errorf("run %v: want 10 records written, 1 rejected", run)
	}
	recs, n := raw(t, hs.bus)
	if n != 10 || recs[want.Identifier] != nil {
		t.Fatalf("raw stream holds %d messages (the record under its blanked identifier: %v)", n, recs[want.Identifier] != nil)
	}
	var derived []string
	for id, r := range recs {
		if r.GetProvenance().GetDerivedIdentifier() {
			derived = append(derived, id)
		}
	}
	if len(derived) != 1 {
		t.Fatalf("%d records flagged with a derived identifier, want 1", len(derived))
	}
	r := recs[derived[0]]
	if r.SourceIdentifier != harvester.DerivedIdentifier(r.Payload) || !strings.HasPrefix(r.SourceIdentifier, "fairway:content:") ||
		len(r.SourceIdentifier) != len("fairway:content:")+32 || !strings.Contains(string(r.Payload), want.DOI) {
		t.Errorf("derived record %q: payload %.100q", r.SourceIdentifier, r.Payload)
	}
	d, err := normaliser.Normalise(r, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if d.Key != "doi:"+want.DOI || !d.GetProvenance().GetDerivedIdentifier() {
		t.Errorf("normalised key %q (derived flag %v), want doi:%s", d.Key, d.GetProvenance().GetDerivedIdentifier(), want.DOI)
	}
	dl := deadLetters(t, hs.bus)
	if len(dl) != 1 || !strings.Contains(dl[0], "without an identifier nor metadata") {
		t.Errorf("dead letters %q", dl)
	}
	// The same content gets the same identifier: a second run writes nothing new.
	hs.harvest(t, harvester.RunRequest{Full: true})
	if _, n := raw(t, hs.bus); n != 10 {
		t.Errorf("after a second run the raw stream holds %d", n)
	}
}
