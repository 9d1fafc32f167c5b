package samplefeed

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/oaipmh"
)

// startServer runs s on a loopback port and returns an oaipmh client for it.
func startServer(t *testing.T, s *Server, prefix string) (*oaipmh.Client, string) {
	t.Helper()
	baseURL, stop, err := Start(context.Background(), "127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := stop(ctx); err != nil { // idempotent
			t.Errorf("second stop: %v", err)
		}
	})
	c, err := oaipmh.NewClient(oaipmh.Config{BaseURL: baseURL, MetadataPrefix: prefix},
		oaipmh.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return c, baseURL
}

func TestRoundTripOAIDataCite(t *testing.T) {
	corpus := NewCorpus(2024, 1000)
	s := newTestServer(t, corpus, 100)
	client, baseURL := startServer(t, s, PrefixOAIDataCite)
	ctx := context.Background()

	id, err := client.Identify(ctx)
	if err != nil || id.Granularity != oaipmh.GranularitySeconds || id.BaseURL != baseURL {
		t.Fatalf("Identify = %+v, %v", id, err)
	}

	seen := map[string]bool{}
	pages, deleted := 0, 0
	err = client.ListRecords(ctx, oaipmh.ListRequest{}, func(_ context.Context, p *oaipmh.Page, u string) error {
		pages++
		if !strings.HasPrefix(u, baseURL+"?") {
			t.Errorf("request URL %q", u)
		}
		if p.Token != nil && p.Token.CompleteListSize != 1000 {
			t.Errorf("completeListSize %d", p.Token.CompleteListSize)
		}
		for _, r := range p.Records {
			if seen[r.Identifier] {
				t.Errorf("%s seen twice", r.Identifier)
			}
			seen[r.Identifier] = true
			if r.Deleted {
				deleted++
				if r.Metadata != nil {
					t.Errorf("deleted %s has metadata", r.Identifier)
				}
				continue
			}
			var env oaiDataCite
			if err := xml.Unmarshal(r.Metadata, &env); err != nil {
				t.Fatalf("%s: payload does not parse: %v", r.Identifier, err)
			}
			i, ok := corpus.IndexOf(r.Identifier)
			if !ok {
				t.Fatalf("unknown identifier %s", r.Identifier)
			}
			checkResource(t, corpus.Record(i), env.Resource)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListRecords: %v", err)
	}
	if len(seen) != 1000 || pages != 10 || deleted != 1000/17 {
		t.Errorf("%d records in %d pages, %d deleted; want 1000, 10, %d", len(seen), pages, deleted, 1000/17)
	}
}

func TestRoundTripIncremental(t *testing.T) {
	corpus := NewCorpus(5, 1000)
	s := newTestServer(t, corpus, 100)
	client, _ := startServer(t, s, PrefixOAIDC)
	ctx := context.Background()

	var first, n int
	from := oaipmh.FormatDate(corpus.Datestamp(640), oaipmh.GranularitySeconds)
	err := client.ListIdentifiers(ctx, oaipmh.ListRequest{From: from, Set: "esrf"}, func(_ context.Context, p *oaipmh.Page, _ string) error {
		for _, r := range p.Records {
			if n == 0 {
				first, _ = corpus.IndexOf(r.Identifier)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// esrf holds the indexes 0, 8, 16, …; the first at or after 640 is 640.
	if first != 640 || n != (1000-640+7)/8 {
		t.Errorf("first %d, %d headers", first, n)
	}

	// A GetRecord in oai_dc
	rec, err := client.GetRecord(ctx, corpus.Identifier(1))
	if err != nil || !strings.HasPrefix(string(rec.Metadata), "<oai_dc:dc ") {
		t.Fatalf("GetRecord = %+v, %v", rec, err)
	}
	_, err = client.GetRecord(ctx, "oai:sample.fairway:10.5072/ill.2")
	if !errors.Is(err, oaipmh.ErrIDDoesNotExist) {
		t.Errorf("GetRecord of a foreign identifier: %v", err)
	}

	// Nothing after the last datestamp: noRecordsMatch is an empty success.
	calls := 0
	from = oaipmh.FormatDate(corpus.Datestamp(2000), oaipmh.GranularitySeconds)
	err = client.ListRecords(ctx, oaipmh.ListRequest{From: from}, func(_ context.Context, p *oaipmh.Page, _ string) error {
		calls++
		if len(p.Records) != 0 {
			t.Errorf("%d records", len(p.Records))
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Errorf("ListRecords after the end: %v, %d calls", err, calls)
	}

	sets, err := client.ListSets(ctx)
	if err != nil || len(sets) != len(Facilities) {
		t.Errorf("ListSets = %v, %v", sets, err)
	}
	formats, err := client.ListMetadataFormats(ctx, corpus.Identifier(3))
	if err != nil || len(formats) != 3 {
		t.Errorf("ListMetadataFormats = %v, %v", formats, err)
	}
}

func TestStartErrors(t *testing.T) {
	if _, _, err := Start(context.Background(), "127.0.0.1:0", nil); err == nil {
		t.Error("nil handler accepted")
	}
	if _, _, err := Start(context.Background(), "256.0.0.1:bad", newTestServer(t, NewCorpus(1, 1), 0)); err == nil {
		t.Error("bad address accepted")
	}
}
