package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

func publishEntries(t *testing.T, b *bus.Bus, from, to int, deleted bool) {
	t.Helper()
	for i := from; i < to; i++ {
		key := fmt.Sprintf("doi:10.5072/sink.%d", i)
		e := &fairwayv1.CatalogueEntry{
			Key: key, Deleted: deleted, ContentHash: fmt.Sprintf("h%d-%t", i, deleted),
			Dataset: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{
				Key: key, Doi: key[4:], Title: "Dataset " + key, Facility: "ESRF", Deleted: deleted,
			}},
		}
		payload, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(context.Background(), "publisher", bus.Event{Stream: bus.Catalogue, Key: key, Hash: e.ContentHash, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSinkLagsWhileClickHouseIsDownAndCatchesUp starts the analytics writer
// while ClickHouse cannot be reached: the catalogue goes on, the writer's
// consumer lags, and once ClickHouse answers every dataset is counted once.
func TestSinkLagsWhileClickHouseIsDownAndCatchesUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	store := openTestStore(t, Config{})

	// An address where nothing listens yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := ln.Addr().String()
	ln.Close()

	sink, err := NewSink(SinkConfig{
		Store:      Config{Addr: downAddr, Database: store.Database(), DialTimeout: 500 * time.Millisecond, FlushInterval: 200 * time.Millisecond},
		RetryDelay: 200 * time.Millisecond,
	}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sink.Run(ctx) }()

	publishEntries(t, b, 0, 20, false)
	time.Sleep(time.Second)
	cons, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), string(bus.StageAnalytics))
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 0 {
		t.Fatalf("analytics acknowledged up to %d while ClickHouse was down", info.AckFloor.Stream)
	}

	// ClickHouse comes back at that address.
	startProxy(t, downAddr, testAddr())
	waitLive(t, store, 20)

	// Withdrawals and re-publications afterwards are counted once.
	publishEntries(t, b, 0, 5, true)
	publishEntries(t, b, 20, 25, false)
	waitLive(t, store, 20)
	waitAcked(t, cons, 30)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitLive(t *testing.T, s *Store, want uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := s.LiveCount(context.Background())
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("live count %d (%v), want %d", n, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitAcked(t *testing.T, c jetstream.Consumer, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := c.Info(context.Background())
		if err == nil && info.AckFloor.Stream >= seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ack floor %v (%v), want %d", info, err, seq)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
