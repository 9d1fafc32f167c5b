// Package testenv holds what tests across packages share: the location of
// the reference data beside the checkout and an embedded JetStream bus.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// SharedData returns the path of shared/data/<parts...>, found by walking up
// from this file; the test fails when it is not there.
func SharedData(t testing.TB, parts ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for range 8 {
		p := filepath.Join(append([]string{dir, "shared", "data"}, parts...)...)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		dir = filepath.Dir(dir)
	}
	t.Fatalf("shared/data/%s not found above the checkout", filepath.Join(parts...))
	return ""
}

// PaNET returns the path of the reference PaNET OWL file.
func PaNET(t testing.TB) string {
	return SharedData(t, "panet", "PaNET-v1.3.0-reasoned.owl")
}

// Bus starts an embedded JetStream server with a file store in a temporary
// directory and returns a provisioned bus on it; both stop with the test.
func Bus(t testing.TB) *bus.Bus {
	return BusWith(t, bus.Topology{})
}

// BusWith is Bus with a topology of the test's own (a short dedup window,
// say).
func BusWith(t testing.TB, topology bus.Topology) *bus.Bus {
	t.Helper()
	ns, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	b, err := bus.Connect(context.Background(), bus.Config{InProcess: ns, Logger: slog.New(slog.DiscardHandler), Topology: topology})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Decoded returns m with its payload as it was published (Data decodes
// what bus.HeaderEncoding says; the headers are m's).
func Decoded(t testing.TB, m jetstream.Msg) jetstream.Msg {
	t.Helper()
	data, err := bus.Payload(m.Headers(), m.Data())
	if err != nil {
		t.Fatalf("message on %s: %v", m.Subject(), err)
	}
	return decodedMsg{Msg: m, data: data}
}

// Payload returns the payload of m, read from a stream with a direct get,
// as it was published (see bus.HeaderEncoding).
func Payload(t testing.TB, m *jetstream.RawStreamMsg) []byte {
	t.Helper()
	data, err := bus.Payload(m.Header, m.Data)
	if err != nil {
		t.Fatalf("message %d on %s: %v", m.Sequence, m.Subject, err)
	}
	return data
}

type decodedMsg struct {
	jetstream.Msg
	data []byte
}

func (m decodedMsg) Data() []byte { return m.data }

// Messages returns every message stream s holds now, in order, their
// payloads as published (Decoded).
func Messages(t testing.TB, b *bus.Bus, s bus.Stream) []jetstream.Msg {
	t.Helper()
	ctx := context.Background()
	c, err := b.JetStream().OrderedConsumer(ctx, string(s), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for {
		batch, err := c.FetchNoWait(500)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			out = append(out, Decoded(t, m))
			n++
		}
		if n == 0 {
			return out
		}
	}
}

// MetadataPayloads returns the element inside each <metadata> of an OAI-PMH
// response, byte for byte as in the document — what a harvester hands on.
func MetadataPayloads(t testing.TB, rel ...string) [][]byte {
	t.Helper()
	doc, err := os.ReadFile(SharedData(t, rel...))
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out [][]byte
	inMetadata, depth, start := false, 0, int64(0)
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v: %v", rel, err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			switch {
			case inMetadata:
				if depth == 0 {
					start = off
				}
				depth++
			case x.Name.Local == "metadata":
				inMetadata = true
			}
		case xml.EndElement:
			if !inMetadata {
				continue
			}
			if depth == 0 {
				inMetadata = false
				continue
			}
			depth--
			if depth == 0 {
				out = append(out, doc[start:d.InputOffset()])
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%v: no <metadata> payload", rel)
	}
	return out
}

// Buffer is a bytes.Buffer safe for concurrent writers: a log sink, or a
// process's output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// CaptureLog returns a debug-level logger writing into the returned buffer,
// for tests that assert on what is (and is not) logged.
func CaptureLog() (*slog.Logger, *Buffer) {
	buf := &Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// SciCatSeed returns the documents of a scicatlive seed file of the
// reference data (Dataset.json, PublishedData.json), one raw JSON object
// each, as the seed holds them.
func SciCatSeed(t testing.TB, name string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(SharedData(t, "scicat-samples", "scicatlive-seed", name))
	if err != nil {
		t.Fatal(err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(b, &docs); err != nil {
		t.Fatal(err)
	}
	return docs
}

// NodeJetStream connects to the NATS a node exposes at addr (host:port)
// with the credentials file it wrote, as an operator's client would, and
// returns its JetStream; the connection closes with the test.
func NodeJetStream(t testing.TB, addr, credentialsFile string) jetstream.JetStream {
	t.Helper()
	creds, err := natsembed.ReadCredentials(credentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://"+addr, creds.Option())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
