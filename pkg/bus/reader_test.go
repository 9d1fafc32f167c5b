package bus_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// consumerNames returns the consumers on stream s.
func consumerNames(t *testing.T, b *bus.Bus, s bus.Stream) []string {
	t.Helper()
	str, err := b.JetStream().Stream(context.Background(), string(s))
	if err != nil {
		t.Fatal(err)
	}
	names := str.ConsumerNames(context.Background())
	var out []string
	for n := range names.Name() {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestStreamReader reads the ops stream, which keeps every message: the
// last message about a key, the last of every key in stream order, every
// message about one key, without leaving a history reader's consumer
// behind.
func TestStreamReader(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	r := b.StreamReader(bus.Ops)
	if err := r.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.EachLast(ctx, func(bus.StoredMessage) error { t.Fatal("a message in an empty stream"); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ key, payload string }{{"run.a", "a1"}, {"run.b", "b1"}, {"run.a", "a2"}, {"run.c", "c1"}} {
		if err := b.Publish(ctx, "test", bus.Event{Stream: bus.Ops, Key: m.key, Hash: m.payload, Payload: []byte(m.payload)}); err != nil {
			t.Fatal(err)
		}
	}
	last, err := r.Last(ctx, "run.a")
	if err != nil || string(last.Data) != "a2" || last.Sequence != 3 || last.Header.Get(bus.HeaderKey) != "run.a" ||
		last.Subject != bus.Subject(bus.Ops, "run.a") || last.Time.IsZero() {
		t.Fatalf("last of run.a: %+v, %v", last, err)
	}
	if _, err := r.Last(ctx, "run.none"); !errors.Is(err, bus.ErrNotFound) || !errors.Is(err, jetstream.ErrMsgNotFound) || !bus.IsNotFound(err) {
		t.Fatalf("last of a key without messages: %v", err)
	}

	collect := func(read func(func(bus.StoredMessage) error) error) ([]string, []uint64) {
		t.Helper()
		var data []string
		var seqs []uint64
		if err := read(func(m bus.StoredMessage) error {
			data, seqs = append(data, string(m.Data)), append(seqs, m.Sequence)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return data, seqs
	}
	stop := errors.New("stop")
	tests := []struct {
		name     string
		read     func(func(bus.StoredMessage) error) error
		want     []string
		wantSeqs []uint64
	}{
		{"the last of every key", func(fn func(bus.StoredMessage) error) error { return r.EachLast(ctx, fn) }, []string{"b1", "a2", "c1"}, []uint64{2, 3, 4}},
		{"every message about a key", func(fn func(bus.StoredMessage) error) error { return r.History(ctx, "run.a", fn) }, []string{"a1", "a2"}, []uint64{1, 3}},
		{"a key without messages", func(fn func(bus.StoredMessage) error) error { return r.History(ctx, "run.none", fn) }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, seqs := collect(tt.read)
			if !slices.Equal(data, tt.want) || !slices.Equal(seqs, tt.wantSeqs) {
				t.Fatalf("read %v at %v, want %v at %v", data, seqs, tt.want, tt.wantSeqs)
			}
			n := 0
			err := tt.read(func(bus.StoredMessage) error { n++; return stop })
			if len(tt.want) > 0 && (err != stop || n != 1) {
				t.Fatalf("after the callback failed: %v, %d calls; want its error as it is, after one call", err, n)
			}
		})
	}
	// History deletes its consumer (EachLast's ordered consumers expire
	// on their own).
	before := consumerNames(t, b, bus.Ops)
	for _, key := range []string{"run.a", "run.b", "run.none"} {
		if err := r.History(ctx, key, func(bus.StoredMessage) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if after := consumerNames(t, b, bus.Ops); !slices.Equal(after, before) {
		t.Fatalf("consumers on the ops stream %v, want %v", after, before)
	}
}

// TestDeadLetterEvent builds the dead letters a stage files itself.
func TestDeadLetterEvent(t *testing.T) {
	tests := []struct {
		name     string
		metadata map[string]string
		want     map[string]string
	}{
		{"no more headers", nil, map[string]string{bus.HeaderStage: "harvester", bus.HeaderReason: "too large"}},
		{"a correlation id", map[string]string{bus.HeaderCorrelation: "run-1"},
			map[string]string{bus.HeaderStage: "harvester", bus.HeaderReason: "too large", bus.HeaderCorrelation: "run-1"}},
		{"stage and reason win", map[string]string{bus.HeaderStage: "other", bus.HeaderReason: "other"},
			map[string]string{bus.HeaderStage: "harvester", bus.HeaderReason: "too large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			given := maps.Clone(tt.metadata)
			ev := bus.DeadLetterEvent("harvester", "run-1.3.oversized.x", []byte("stub"), "too large", tt.metadata)
			if ev.Stream != bus.DeadLetters || ev.Key != "harvester" || ev.Hash != "run-1.3.oversized.x" || string(ev.Payload) != "stub" || ev.SkipUnchanged {
				t.Fatalf("event %+v", ev)
			}
			if !maps.Equal(ev.Metadata, tt.want) {
				t.Fatalf("headers %v, want %v", ev.Metadata, tt.want)
			}
			if !maps.Equal(tt.metadata, given) {
				t.Fatalf("the metadata given changed: %v", tt.metadata)
			}
		})
	}
}

// TestStreamReaderLastOneRequest: once the stream is looked up, Last asks
// the server once (the message), not twice (the stream's info, then the
// message); readers used at once share the handle safely.
func TestStreamReaderLastOneRequest(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	if err := b.Publish(ctx, "test", bus.Event{Stream: bus.Ops, Key: "run.a", Hash: "a1", Payload: []byte("a1")}); err != nil {
		t.Fatal(err)
	}
	r := b.StreamReader(bus.Ops)
	if _, err := r.Last(ctx, "run.a"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
	}{{"a message", "run.a"}, {"no message", "run.none"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.Conn().Stats().OutMsgs
			if _, err := r.Last(ctx, tt.key); err != nil && !errors.Is(err, bus.ErrNotFound) {
				t.Fatal(err)
			}
			if n := b.Conn().Stats().OutMsgs - before; n != 1 {
				t.Errorf("Last sent %d requests, want 1", n)
			}
		})
	}
	var wg sync.WaitGroup
	fresh := b.StreamReader(bus.Ops)
	for range 8 {
		wg.Go(func() {
			if m, err := fresh.Last(ctx, "run.a"); err != nil || string(m.Data) != "a1" {
				t.Errorf("concurrent Last: %q, %v", m.Data, err)
			}
		})
	}
	wg.Wait()
}
