package normaliser_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const goodDataCite = `<resource xmlns="http://datacite.org/schema/kernel-4">
  <identifier identifierType="DOI">10.5072/TEST.%s</identifier>
  <creators><creator><creatorName>Doe, Jane</creatorName></creator></creators>
  <titles><title>Powder diffraction of %s</title></titles>
  <publisher>ESRF</publisher><publicationYear>2024</publicationYear>
  <resourceType resourceTypeGeneral="Dataset">Dataset</resourceType>
</resource>`

func raw(t *testing.T, id, format, payload string, deleted bool) bus.Event {
	t.Helper()
	b, err := proto.Marshal(&fairwayv1.RawRecord{
		FeedId: "f1", Facility: "ESRF", SourceKind: "oai-pmh", SourceIdentifier: id,
		MetadataFormat: format, Payload: []byte(payload), Deleted: deleted,
	})
	if err != nil {
		t.Fatal(err)
	}
	return bus.Event{Stream: bus.Raw, Key: "f1:" + id, Hash: fmt.Sprintf("%s/%t", id, deleted), Payload: b}
}

// TestUnreadableRecordGoesToDeadLetters runs the stage on a real JetStream:
// the record it cannot parse lands in the dead letters with its reason, the
// others go through, and a deletion finds the key of the dataset it withdraws.
func TestUnreadableRecordGoesToDeadLetters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	st, err := normaliser.New(normaliser.Config{}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()

	events := []bus.Event{
		raw(t, "oai:x:1", "oai_datacite", strings.ReplaceAll(goodDataCite, "%s", "1"), false),
		raw(t, "oai:x:2", "oai_datacite", "<resource><titles><title>broken", false),
		raw(t, "oai:x:3", "oai_datacite", strings.ReplaceAll(goodDataCite, "%s", "3"), false),
		raw(t, "oai:x:4", "marcxml", "<record/>", false),
	}
	if err := b.Publish(ctx, "harvester", events...); err != nil {
		t.Fatal(err)
	}
	// Same record again, unchanged: nothing new downstream.
	if err := b.Publish(ctx, "harvester2", events[0]); err != nil {
		t.Fatal(err)
	}
	// Then, once it went through, record 1 is withdrawn at the source (a
	// stage with several workers does not order two messages about one key).
	waitFor(t, b, bus.Normalised, 2)
	if err := b.Publish(ctx, "harvester", raw(t, "oai:x:1", "oai_datacite", "", true)); err != nil {
		t.Fatal(err)
	}

	// The stream keeps the last version of each dataset: record 1's is now
	// its tombstone, under the DOI key it was published with.
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, err := b.LastEntry(ctx, bus.Normalised, "doi:10.5072/test.1")
		if err != nil {
			t.Fatal(err)
		}
		var ds fairwayv1.Dataset
		if err := proto.Unmarshal(m.Data, &ds); err != nil {
			t.Fatal(err)
		}
		if ds.Deleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no tombstone under the DOI key of the withdrawn dataset")
		}
		time.Sleep(20 * time.Millisecond)
	}
	normalised := waitFor(t, b, bus.Normalised, 2)
	keys := map[string]bool{}
	for _, m := range normalised {
		var ds fairwayv1.Dataset
		if err := proto.Unmarshal(m.Data(), &ds); err != nil {
			t.Fatal(err)
		}
		keys[ds.Key] = true
	}
	if !keys["doi:10.5072/test.1"] || !keys["doi:10.5072/test.3"] {
		t.Errorf("normalised keys %v", keys)
	}
	letters := waitFor(t, b, bus.DeadLetters, 2)
	reasons := map[string]string{}
	for _, m := range letters {
		var r fairwayv1.RawRecord
		if err := proto.Unmarshal(m.Data(), &r); err != nil {
			t.Fatalf("dead letter does not keep the original message: %v", err)
		}
		reasons[r.SourceIdentifier] = m.Headers().Get(bus.HeaderReason)
		if m.Headers().Get(bus.HeaderStage) != "normaliser" {
			t.Errorf("dead letter stage %q", m.Headers().Get(bus.HeaderStage))
		}
	}
	if !strings.Contains(reasons["oai:x:2"], "oai:x:2") || reasons["oai:x:2"] == "" {
		t.Errorf("reason for the broken record: %q", reasons["oai:x:2"])
	}
	if !strings.Contains(strings.ToLower(reasons["oai:x:4"]), "format") {
		t.Errorf("reason for the unknown format: %q", reasons["oai:x:4"])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until stream s holds n messages and returns them.
func waitFor(t *testing.T, b *bus.Bus, s bus.Stream, n int) []jetstream.Msg {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		str, err := b.JetStream().Stream(ctx, string(s))
		if err != nil {
			t.Fatal(err)
		}
		info, err := str.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if int(info.State.Msgs) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d messages, want %d", s, info.State.Msgs, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Give a stray extra message the chance to show up.
	time.Sleep(300 * time.Millisecond)
	c, err := b.JetStream().OrderedConsumer(ctx, string(s), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(n+10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, testenv.Decoded(t, m))
	}
	if len(out) != n {
		t.Fatalf("%s holds %d messages, want exactly %d", s, len(out), n)
	}
	return out
}

// TestForeignDatasetRefused: a dataset key belongs to the facility whose feed
// first published it; another facility's record or deletion for it is
// refused (a permanent error naming the owner), feeds of the same facility
// share it, and an operator's transfer moves it.
func TestForeignDatasetRefused(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st, err := normaliser.New(normaliser.Config{}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	const key = "doi:10.5072/test.1"
	const noDOI = `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>No DOI yet</dc:title></oai_dc:dc>`
	recordAs := func(feed, facility, id, format, payload string, deleted bool) *bus.Message {
		p, err := proto.Marshal(&fairwayv1.RawRecord{
			FeedId: feed, Facility: facility, SourceKind: "oai-pmh", SourceIdentifier: id,
			MetadataFormat: format, Payload: []byte(payload), Deleted: deleted,
		})
		if err != nil {
			t.Fatal(err)
		}
		return &bus.Message{Key: feed + ":" + id, Payload: p}
	}
	record := func(feed, facility, id string, deleted bool) *bus.Message {
		payload := ""
		if !deleted {
			payload = strings.ReplaceAll(goodDataCite, "%s", "1")
		}
		return recordAs(feed, facility, id, "oai_datacite", payload, deleted)
	}
	steps := []struct {
		name     string
		msg      *bus.Message
		transfer string // transfer the key to this facility first
		refused  string // the error names this owner; "" means accepted
		want     []string
	}{
		{name: "first publisher owns it", msg: record("esrf-oai", "ESRF", "oai:esrf:1", false), want: []string{key}},
		{name: "another facility's record", msg: record("hostile", "ILL", "oai:ill:9", false), refused: "ESRF"},
		{name: "its deletion finds nothing to withdraw", msg: record("hostile", "ILL", "oai:ill:9", true), want: []string{"src:ill:oai:ill:9"}},
		{name: "another feed of the owner", msg: record("esrf-scicat", "esrf", "pid:1", false), want: []string{key}},
		{name: "a record under its own key", msg: recordAs("ill-oai", "ILL", "oai:ill:5", "oai_dc", noDOI, false), want: []string{"src:ill:oai:ill:5"}},
		{name: "the same record claiming the owner's DOI later", msg: record("ill-oai", "ILL", "oai:ill:5", false), refused: "ESRF"},
		{name: "its deletion withdraws only its own key", msg: record("ill-oai", "ILL", "oai:ill:5", true), want: []string{"src:ill:oai:ill:5"}},
		{name: "after a transfer, the new owner", msg: record("hostile", "ILL", "oai:ill:9", false), transfer: "ILL", want: []string{key}},
		{name: "after a transfer, the old owner's deletion", msg: record("esrf-oai", "ESRF", "oai:esrf:1", true), refused: "ILL"},
	}
	for _, s := range steps {
		if s.transfer != "" {
			if _, err := b.Owners().Transfer(ctx, key, s.transfer); err != nil {
				t.Fatalf("%s: transfer: %v", s.name, err)
			}
		}
		events, err := st.Handle(ctx, s.msg)
		if s.refused != "" {
			if !errors.Is(err, bus.ErrForeignDataset) || !errors.Is(err, bus.ErrPermanent) || !strings.Contains(err.Error(), s.refused) {
				t.Errorf("%s: err = %v, want a permanent ErrForeignDataset naming %s", s.name, err, s.refused)
			}
			if len(events) != 0 {
				t.Errorf("%s: refused record emitted %d events", s.name, len(events))
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		var got []string
		for _, ev := range events {
			got = append(got, ev.Key)
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: events about %v, want %v", s.name, got, s.want)
		}
	}
	own, err := b.Owners().Get(ctx, key)
	if err != nil || own.Facility != "ILL" {
		t.Errorf("owner %+v, %v; want ILL", own, err)
	}
}

func TestKeyTooLong(t *testing.T) {
	b := testenv.Bus(t)
	st, err := normaliser.New(normaliser.Config{}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	id := "oai:x:" + strings.Repeat("9", 3000)
	ev := raw(t, id, "oai_dc", `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>t</dc:title></oai_dc:dc>`, false)
	_, err = st.Handle(context.Background(), &bus.Message{Key: ev.Key, Payload: ev.Payload})
	if !errors.Is(err, normaliser.ErrKeyTooLong) || !errors.Is(err, bus.ErrPermanent) {
		t.Fatalf("err = %v, want a permanent ErrKeyTooLong", err)
	}
}
