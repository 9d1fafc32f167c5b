package publisher_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/publisher"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestCatalogueEachPassesOverUnreadableEntries: an entry that is not a
// catalogue entry, or whose stored payload cannot be decoded, is passed
// over, and the scan goes on to the others; fn's error ends it as it is.
func TestCatalogueEachPassesOverUnreadableEntries(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	for _, key := range []string{"doi:10.1/a", "doi:10.1/b"} {
		data, err := proto.Marshal(&fairwayv1.CatalogueEntry{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: key, Hash: "h", Payload: data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: "doi:10.1/garbage", Hash: "h", Payload: []byte{0xff, 0xff}}); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(bus.Subject(bus.Catalogue, "doi:10.1/undecodable"))
	m.Data = []byte("not s2")
	m.Header.Set(bus.HeaderKey, "doi:10.1/undecodable")
	m.Header.Set(bus.HeaderEncoding, bus.EncodingS2)
	if _, err := b.JetStream().PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	cat := publisher.NewCatalogue(b)
	var keys []string
	if err := cat.Each(ctx, func(e *fairwayv1.CatalogueEntry) error { keys = append(keys, e.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "doi:10.1/a" || keys[1] != "doi:10.1/b" {
		t.Errorf("entries %q, want the two readable ones", keys)
	}
	stop := errors.New("enough")
	if err := cat.Each(ctx, func(*fairwayv1.CatalogueEntry) error { return stop }); err != stop {
		t.Errorf("Each returned %v, want fn's error as it is", err)
	}
}
