package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

func TestSubjectTokens(t *testing.T) {
	seen := map[string]string{}
	for _, key := range []string{"doi:10.5072/esrf.1", "src:ill:oai:ill.eu:a.b*c>d e", "", "ü/ß", strings.Repeat("x", 5000)} {
		subj := bus.Subject(bus.Catalogue, key)
		tok := subj[len("fairway.catalogue."):]
		if strings.ContainsAny(tok, ". *>") || len(tok) != 32 {
			t.Errorf("subject %q for %.40q: want one token of 32 characters", subj, key)
		}
		if other, dup := seen[subj]; dup {
			t.Errorf("keys %.40q and %.40q share subject %q", key, other, subj)
		}
		seen[subj] = key
		if id := bus.MsgID("normaliser", key, strings.Repeat("h", 500)); len(id) > 150 {
			t.Errorf("message id of %.40q is %d bytes", key, len(id))
		}
	}
}

// TestHugeKey: an event about a key of thousands of bytes (a hostile OAI
// identifier) is stored, remembered and found again, and the connection
// stays up: subjects and KV keys are digests, not the key.
func TestHugeKey(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	key := "src:hostile:" + strings.Repeat("a", 6000)
	ev := bus.Event{Stream: bus.Catalogue, Key: key, Hash: "h1", Payload: []byte("one"), SkipUnchanged: true}
	for range 2 { // the second is unchanged: its hash is the catalogue's last entry's, skipped
		if err := b.Publish(ctx, "test", ev); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	m, err := b.LastEntry(ctx, bus.Catalogue, key)
	if err != nil || string(m.Data) != "one" || m.Header.Get(bus.HeaderKey) != key {
		t.Fatalf("last entry: %v", err)
	}
	if !b.Conn().IsConnected() {
		t.Fatal("connection lost")
	}
	if n := len(testenv.Messages(t, b, bus.Catalogue)); n != 1 {
		t.Fatalf("%d catalogue messages, want 1", n)
	}
}

func TestProvisionIdempotentAndDedup(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	if err := b.Provision(ctx); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	ev := bus.Event{Stream: bus.Catalogue, Key: "doi:10.1/a", Hash: "h1", Payload: []byte("one")}
	for range 3 {
		if err := b.Publish(ctx, "test", ev); err != nil {
			t.Fatal(err)
		}
	}
	ev2 := ev
	ev2.Hash, ev2.Payload = "h2", []byte("two")
	if err := b.Publish(ctx, "test", ev2); err != nil {
		t.Fatal(err)
	}
	s, err := b.JetStream().Stream(ctx, string(bus.Catalogue))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Three identical publishes are one message; the catalogue keeps only the
	// last message per dataset.
	if info.State.LastSeq != 2 || info.State.Msgs != 1 {
		t.Fatalf("last seq %d, msgs %d; want 2 and 1", info.State.LastSeq, info.State.Msgs)
	}
	m, err := b.LastEntry(ctx, bus.Catalogue, "doi:10.1/a")
	if err != nil || string(m.Data) != "two" {
		t.Fatalf("last entry %v %v", m, err)
	}
	if _, err := b.LastEntry(ctx, bus.Catalogue, "nope"); !bus.IsNotFound(err) {
		t.Fatalf("missing entry error = %v", err)
	}
}

// TestProvisionDeletesRetiredConsumers: a consumer an older topology
// provisioned and no stage reads any more (the analytics writer's
// citations consumer, whose table the catalogue consumer now writes) is
// deleted by Provision, and Provision runs again when it is gone.
func TestProvisionDeletesRetiredConsumers(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	const retired = "analytics-citations"
	if _, err := b.JetStream().CreateOrUpdateConsumer(ctx, string(bus.Catalogue), jetstream.ConsumerConfig{
		Durable: retired, AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := b.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), retired); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Fatalf("the retired consumer after Provision: %v, want not found", err)
		}
	}
	if _, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), string(bus.StageAnalytics)); err != nil {
		t.Fatalf("the analytics consumer: %v", err)
	}
}

func TestRunRoutesFailuresToDeadLetters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	var transientOnce atomic.Bool
	h := func(ctx context.Context, m *bus.Message) ([]bus.Event, error) {
		switch string(m.Payload) {
		case "bad":
			return nil, bus.Permanent(errors.New("cannot parse record"))
		case "panic":
			panic("boom")
		case "flaky":
			if !transientOnce.Swap(true) {
				return nil, bus.Transient(errors.New("destination down"))
			}
		}
		return []bus.Event{{Stream: bus.Normalised, Key: m.Key, Hash: "x", Payload: append([]byte("n:"), m.Payload...)}}, nil
	}
	done := make(chan error, 1)
	go func() {
		done <- b.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser, RetryInterval: time.Millisecond, TransientDelay: 100 * time.Millisecond}, h)
	}()
	inputs := []string{"good1", "bad", "panic", "flaky", "good2"}
	for i, p := range inputs {
		ev := bus.Event{Stream: bus.Raw, Key: fmt.Sprintf("k%d", i), Hash: "h", Payload: []byte(p)}
		if err := b.Publish(ctx, "harvester", ev); err != nil {
			t.Fatal(err)
		}
	}
	waitMsgs(t, b, bus.Normalised, 3)
	waitMsgs(t, b, bus.DeadLetters, 2)
	letters := testenv.Messages(t, b, bus.DeadLetters)
	reasons := map[string]string{}
	for _, m := range letters {
		reasons[string(m.Data())] = m.Headers().Get(bus.HeaderReason)
		if m.Headers().Get(bus.HeaderStage) != string(bus.StageNormaliser) {
			t.Errorf("dead letter without stage: %v", m.Headers())
		}
		if m.Headers().Get(bus.HeaderSubject) == "" || m.Headers().Get(bus.HeaderAttempts) == "" {
			t.Errorf("dead letter without subject or attempts: %v", m.Headers())
		}
	}
	if !strings.Contains(reasons["bad"], "cannot parse record") {
		t.Errorf("reason for bad = %q", reasons["bad"])
	}
	if !strings.Contains(reasons["panic"], "boom") {
		t.Errorf("reason for panic = %q", reasons["panic"])
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func waitMsgs(t *testing.T, b *bus.Bus, s bus.Stream, n uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		str, err := b.JetStream().Stream(context.Background(), string(s))
		if err != nil {
			t.Fatal(err)
		}
		info, err := str.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d messages, want %d", s, info.State.Msgs, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPublishBatch(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	var evs []bus.Event
	for i := range 1500 {
		evs = append(evs, bus.Event{Stream: bus.Raw, Key: fmt.Sprintf("f:%d", i), Hash: "h", Payload: []byte("x")})
	}
	// Twice: the second batch is dropped by message-id dedup.
	for range 2 {
		if err := b.PublishBatch(ctx, "harvester", evs); err != nil {
			t.Fatal(err)
		}
	}
	waitMsgs(t, b, bus.Raw, 1500)
	m, err := b.LastEntry(ctx, bus.Raw, "f:7")
	if err != nil || m.Header.Get(bus.HeaderKey) != "f:7" || m.Header.Get(bus.HeaderOrigin) != "harvester" {
		t.Fatalf("entry %v, %v", m, err)
	}
	// SkipUnchanged: a second origin's unchanged events are not sent again.
	skip := []bus.Event{{Stream: bus.Raw, Key: "k", Hash: "h1", Payload: []byte("1"), SkipUnchanged: true}}
	for range 2 {
		if err := b.PublishBatch(ctx, "scicat", skip); err != nil {
			t.Fatal(err)
		}
	}
	skip[0].Hash = "h2"
	if err := b.PublishBatch(ctx, "scicat", skip); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, b, bus.Raw, 1502)
}

// TestRedrive dead-letters a message, fixes the cause, and redrives it: the
// stage handles it again and the dead letters are empty.
func TestRedrive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	var fixed atomic.Bool
	h := func(ctx context.Context, m *bus.Message) ([]bus.Event, error) {
		if !fixed.Load() {
			return nil, bus.Permanent(errors.New("mapping cannot read it"))
		}
		return []bus.Event{{Stream: bus.Normalised, Key: m.Key, Hash: "n", Payload: m.Payload}}, nil
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser}, h) }()
	if err := b.Publish(ctx, "harvester", bus.Event{Stream: bus.Raw, Key: "f:1", Hash: "h", Payload: []byte("rec")}); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, b, bus.DeadLetters, 1)
	letters, err := b.DeadLetters(ctx, string(bus.StageNormaliser), 0)
	if err != nil || len(letters) != 1 {
		t.Fatalf("dead letters %v, %v", letters, err)
	}
	d := letters[0]
	if d.Stage != "normaliser" || d.Key != "f:1" || string(d.Payload) != "rec" || !strings.Contains(d.Reason, "cannot read") || d.Attempts < 1 {
		t.Fatalf("dead letter %+v", d)
	}
	if other, _ := b.DeadLetters(ctx, "enricher", 0); len(other) != 0 {
		t.Fatalf("enricher has %d dead letters", len(other))
	}
	fixed.Store(true)
	if err := b.Redrive(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitMsgs(t, b, bus.Normalised, 1)
	waitMsgs(t, b, bus.DeadLetters, 0)
	if err := b.Redrive(ctx, bus.DeadLetter{Seq: 99}); !errors.Is(err, bus.ErrNotRedrivable) {
		t.Fatalf("redrive without subject: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestChangeBackWithinDedupWindow changes a dataset A, B, then back to A
// within the dedup window: the last version stored must be A again.
func TestChangeBackWithinDedupWindow(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	for _, v := range []string{"A", "B", "A"} {
		ev := bus.Event{Stream: bus.Normalised, Key: "doi:10.1/x", Hash: v, Payload: []byte(v), SkipUnchanged: true}
		if err := b.Publish(ctx, "normaliser", ev); err != nil {
			t.Fatal(err)
		}
	}
	m, err := b.LastEntry(ctx, bus.Normalised, "doi:10.1/x")
	if err != nil || string(m.Data) != "A" {
		t.Fatalf("last version %q (%v), want A", m.Data, err)
	}
}

// TestSkipUnchangedByLastMessage: in a stream that keeps every key's last
// message, that message is the memory of SkipUnchanged (no hashes bucket
// entry is written); only the origin's own last message counts, and a hash
// the origin read itself (LastHash) is used as it is.
func TestSkipUnchangedByLastMessage(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	const key = "doi:10.1/skip"
	cases := []struct {
		name   string
		origin string
		hash   string
		last   *string
		stored int // enriched messages about key after the event
	}{
		{"first", "enricher", "A", nil, 1},
		{"unchanged", "enricher", "A", nil, 1},
		{"changed", "enricher", "B", nil, 2},
		{"another origin's hash", "other", "B", nil, 3},
		{"own hash read before another origin wrote", "enricher", "B", nil, 4},
		{"unchanged again", "enricher", "B", nil, 4},
		{"hash the origin read", "enricher", "C", ptr("C"), 4},
		{"hash the origin read differs", "enricher", "C", ptr("B"), 5},
	}
	for _, c := range cases {
		ev := bus.Event{Stream: bus.Enriched, Key: key, Hash: c.hash, Payload: []byte(c.name), SkipUnchanged: true, LastHash: c.last}
		if err := b.Publish(ctx, c.origin, ev); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		info, err := b.JetStream().Stream(ctx, string(bus.Enriched))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.CachedInfo().State.LastSeq; got != uint64(c.stored) {
			t.Errorf("%s: last sequence %d, want %d", c.name, got, c.stored)
		}
	}
	if keys, err := b.State(bus.BucketHashes).Keys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("hashes bucket holds %v (%v), want nothing", keys, err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestLost: a connection the server closes for good (here by a control line
// over its limit, as a raw identifier in a subject once did) is reported,
// so that the process can stop and be restarted; Close is not.
func TestLost(t *testing.T) {
	b := testenv.Bus(t)
	select {
	case <-b.Lost():
		t.Fatal("lost before anything happened")
	default:
	}
	_ = b.Conn().Publish("fairway.test."+strings.Repeat("x", 8000), nil)
	_ = b.Conn().Flush()
	select {
	case <-b.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("closed connection not reported")
	}
	if err := b.Err(); !errors.Is(err, bus.ErrConnectionLost) {
		t.Fatalf("Err() = %v, want ErrConnectionLost", err)
	}
}

func TestCloseIsNotLost(t *testing.T) {
	b := testenv.Bus(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waits for the closed handlers, which run asynchronously.
	if err := b.Err(); err != nil {
		t.Fatalf("Close reported as lost: %v", err)
	}
}

// TestOldLayoutRefused: a stream written by a version that spelled keys in
// subjects is not mixed with digest subjects.
func TestOldLayoutRefused(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	cfg := bus.Topology{}.StreamConfig(bus.Catalogue)
	cfg.Metadata = nil
	if _, err := b.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx); err != nil {
		t.Fatalf("empty stream without marker: %v", err)
	}
	if _, err := b.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := b.JetStream().Publish(ctx, "fairway.catalogue.ZG9pOjEwLjEvYQ", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx); !errors.Is(err, bus.ErrOldLayout) {
		t.Fatalf("Provision = %v, want ErrOldLayout", err)
	}
}

// TestConnectErrorHidesPassword: a URL's password never reaches an error.
func TestConnectErrorHidesPassword(t *testing.T) {
	_, err := bus.Connect(context.Background(), bus.Config{URL: "nats://fairway:s3cret-pw@127.0.0.1:1", ConnectTimeout: time.Second})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("Connect = %v: want an error without the password", err)
	}
}

// TestConfigValidate: zero means the default; a value the user gave that
// cannot work is refused, by Connect and Run alike.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  bus.Config
		ok   bool
	}{
		{"zero: defaults", bus.Config{}, true},
		{"three replicas", bus.Config{Topology: bus.Topology{Replicas: 3}}, true},
		{"six replicas", bus.Config{Topology: bus.Topology{Replicas: 6}}, false},
		{"negative replicas", bus.Config{Topology: bus.Topology{Replicas: -1}}, false},
		{"negative ack wait", bus.Config{Topology: bus.Topology{AckWait: -time.Second}}, false},
		{"negative message size", bus.Config{Topology: bus.Topology{MaxMsgSize: -1}}, false},
		{"negative connect timeout", bus.Config{ConnectTimeout: -time.Second}, false},
		{"negative pending publishes", bus.Config{MaxPendingPublishes: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	for _, rc := range []bus.RunConfig{{Stage: bus.StageNormaliser, Concurrency: -1}, {Stage: bus.StageNormaliser, MaxRetries: -2}} {
		if err := rc.Validate(); err == nil {
			t.Errorf("RunConfig %+v accepted", rc)
		}
	}
	if err := (bus.BatchConfig{Stage: bus.StageAnalytics, Size: -1}).Validate(); err == nil {
		t.Error("a negative batch size accepted")
	}
}
