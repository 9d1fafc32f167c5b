package bus_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// TestCompressedPayloads: a large payload is stored S2-compressed, and
// every reader of the bus (the last entry, a stage, a follower) sees it as
// published, without the encoding header; a payload that cannot be decoded
// is dead-lettered by a stage with its reason and handed over as stored by
// a follower or a reader, never dropped; a payload past the largest message is refused
// however well it compresses.
func TestCompressedPayloads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.BusWith(t, bus.Topology{MaxMsgSize: 64 << 10})
	big := bytes.Repeat([]byte("<record><title>Powder diffraction of a zeolite</title></record>\n"), 128) // 8 KiB

	if err := b.Publish(ctx, "test", bus.Event{Stream: bus.Catalogue, Key: "doi:10.1/a", Hash: "h", Payload: big}); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishBatch(ctx, "harvester", []bus.Event{{Stream: bus.Raw, Key: "src:a", Hash: "h", Payload: big}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []bus.Stream{bus.Catalogue, bus.Raw} {
		str, err := b.JetStream().Stream(ctx, string(s))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := str.GetMsg(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if raw.Header.Get(bus.HeaderEncoding) != bus.EncodingS2 || len(raw.Data) > len(big)/4 {
			t.Errorf("%s stores %d bytes, encoding %q, for %d", s, len(raw.Data), raw.Header.Get(bus.HeaderEncoding), len(big))
		}
	}
	last, err := b.LastEntry(ctx, bus.Catalogue, "doi:10.1/a")
	if err != nil || !bytes.Equal(last.Data, big) || last.Header.Get(bus.HeaderEncoding) != "" {
		t.Fatalf("last entry: %d bytes, encoding %q, %v", len(last.Data), last.Header.Get(bus.HeaderEncoding), err)
	}

	// A stage sees the payload as published; a corrupt one is dead-lettered.
	var mu sync.Mutex
	var seen [][]byte
	h := func(_ context.Context, m *bus.Message) ([]bus.Event, error) {
		mu.Lock()
		seen = append(seen, m.Payload)
		mu.Unlock()
		return []bus.Event{{Stream: bus.Normalised, Key: m.Key, Hash: "n", Payload: m.Payload}}, nil
	}
	done := make(chan error, 1)
	go func() {
		done <- b.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser, RetryInterval: time.Millisecond}, h)
	}()
	corrupt := nats.NewMsg(bus.Subject(bus.Raw, "src:corrupt"))
	corrupt.Data = []byte("not s2 at all, but marked so")
	corrupt.Header.Set(bus.HeaderKey, "src:corrupt")
	corrupt.Header.Set(bus.HeaderEncoding, bus.EncodingS2)
	if _, err := b.JetStream().PublishMsg(ctx, corrupt); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, b, bus.Normalised, 1)
	waitMsgs(t, b, bus.DeadLetters, 1)
	mu.Lock()
	if len(seen) != 1 || !bytes.Equal(seen[0], big) {
		t.Errorf("the handler saw %d payloads, want the published one only", len(seen))
	}
	mu.Unlock()
	out, err := b.LastEntry(ctx, bus.Normalised, "src:a")
	if err != nil || !bytes.Equal(out.Data, big) {
		t.Fatalf("normalised entry: %d bytes, %v", len(out.Data), err)
	}
	letters, err := b.DeadLetters(ctx, "", 0)
	if err != nil || len(letters) != 1 {
		t.Fatalf("dead letters %v, %v", letters, err)
	}
	if d := letters[0]; !strings.Contains(d.Reason, bus.ErrUndecodable.Error()) || !bytes.Equal(d.Payload, corrupt.Data) || d.Key != "src:corrupt" {
		t.Errorf("dead letter: reason %q, payload %q, key %q", d.Reason, d.Payload, d.Key)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A follower is handed both, the corrupt one as stored.
	ctx = context.Background()
	if _, err := b.JetStream().PublishMsg(ctx, func() *nats.Msg {
		m := nats.NewMsg(bus.Subject(bus.Catalogue, "doi:10.1/corrupt"))
		m.Data, m.Header = corrupt.Data, corrupt.Header
		m.Header.Set(bus.HeaderOrigin, "publisher")
		m.Header.Set(bus.HeaderHash, "h")
		return m
	}()); err != nil {
		t.Fatal(err)
	}
	// A reader is handed it as stored too, and reads on past it.
	if m, err := b.LastEntry(ctx, bus.Catalogue, "doi:10.1/corrupt"); err != nil || !bytes.Equal(m.Data, corrupt.Data) ||
		m.Header.Get(bus.HeaderEncoding) != bus.EncodingS2 {
		t.Errorf("last entry of the corrupt one: %q, %v; want it as stored", m.Data, err)
	} else if !bus.Undecoded(m) || bus.LastHash(m, "publisher") != "" {
		t.Errorf("the corrupt entry's hash is taken for its content's: a stage would not replace it")
	}
	read := 0
	if err := b.StreamReader(bus.Catalogue).EachLast(ctx, func(bus.StoredMessage) error { read++; return nil }); err != nil || read != 2 {
		t.Errorf("EachLast read %d of 2: %v", read, err)
	}
	f := startFollow(t, b, bus.FollowConfig{Stream: bus.Catalogue, Name: "encoding"}, 0)
	until(t, f, 2)
	f.stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.msgs) != 2 || !bytes.Equal(f.msgs[0].Data, big) || !bytes.Equal(f.msgs[1].Data, corrupt.Data) ||
		f.msgs[0].Header.Get(bus.HeaderEncoding) != "" || f.msgs[1].Header.Get(bus.HeaderEncoding) != bus.EncodingS2 {
		t.Errorf("the follower was handed %d messages, not the entry decoded and the corrupt one as stored", len(f.msgs))
	}

	// Too large, however well it compresses.
	huge := bytes.Repeat([]byte("a"), 64<<10+1)
	err = b.Publish(context.Background(), "test", bus.Event{Stream: bus.Catalogue, Key: "doi:10.1/huge", Hash: "h", Payload: huge})
	if !errors.Is(err, bus.ErrPermanent) {
		t.Errorf("a payload past the largest message: %v, want a permanent error", err)
	}
	err = b.PublishBatch(context.Background(), "harvester", []bus.Event{{Stream: bus.Raw, Key: "src:huge", Hash: "h", Payload: huge}})
	if !errors.Is(err, bus.ErrPermanent) {
		t.Errorf("a payload past the largest message in a batch: %v, want a permanent error", err)
	}
}
