package bus_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/nats-io/nats.go/jetstream"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// follow runs b.Follow with cfg until stop, recording what h is handed.
type follow struct {
	mu      sync.Mutex
	seqs    []uint64
	msgs    []bus.StoredMessage
	batches []int
	fail    int // batches to fail before the handler works
	failed  int
	stop    func()
}

func (f *follow) handler(_ context.Context, msgs []bus.StoredMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed < f.fail {
		f.failed++
		return errors.New("store away")
	}
	f.batches = append(f.batches, len(msgs))
	for _, m := range msgs {
		f.seqs = append(f.seqs, m.Sequence)
	}
	f.msgs = append(f.msgs, msgs...)
	return nil
}

func (f *follow) handed() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.seqs...)
}

func startFollow(t *testing.T, b *bus.Bus, cfg bus.FollowConfig, fail int) *follow {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &follow{fail: fail}
	done := make(chan error, 1)
	go func() { done <- b.Follow(ctx, cfg, f.handler) }()
	once := sync.Once{}
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("follow: %v", err)
			}
		})
	}
	t.Cleanup(f.stop)
	return f
}

func publishN(t *testing.T, b *bus.Bus, from, n int) uint64 {
	t.Helper()
	var events []bus.Event
	for i := from; i < from+n; i++ {
		events = append(events, bus.Event{Stream: bus.Catalogue, Key: fmt.Sprintf("k%d", i), Hash: fmt.Sprint(i), Payload: []byte(fmt.Sprint(i))})
	}
	if err := b.PublishBatch(context.Background(), "publisher", events); err != nil {
		t.Fatal(err)
	}
	seq, err := b.LastSequence(context.Background(), bus.Catalogue)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// until waits for f to be handed seq.
func until(t *testing.T, f *follow, seq uint64) []uint64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := f.handed()
		if len(got) > 0 && got[len(got)-1] >= seq {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("handed %v, waiting for %d", got, seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inOrder reports whether seqs are first, first+1, … last.
func inOrder(seqs []uint64, first, last uint64) bool {
	if uint64(len(seqs)) != last-first+1 {
		return false
	}
	for i, s := range seqs {
		if s != first+uint64(i) {
			return false
		}
	}
	return true
}

func TestFollow(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	cfg := bus.FollowConfig{Stream: bus.Catalogue, Name: bus.FollowerName("test"), Batch: 7, Wait: 100 * time.Millisecond, RetryDelay: 50 * time.Millisecond}

	t.Run("in order, in batches, then live", func(t *testing.T) {
		publishN(t, b, 0, 30)
		f := startFollow(t, b, cfg, 0)
		until(t, f, 30)
		last := publishN(t, b, 30, 20)
		got := until(t, f, last)
		if !inOrder(got, 1, last) {
			t.Errorf("handed %v", got)
		}
		for _, n := range f.batches {
			if n > cfg.Batch {
				t.Errorf("batch of %d, at most %d", n, cfg.Batch)
			}
		}
		f.stop()
		info, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), cfg.Name)
		if err != nil {
			t.Fatal(err)
		}
		if ci := info.CachedInfo(); ci.AckFloor.Stream != last || ci.NumAckPending != 0 || ci.Config.InactiveThreshold != 72*time.Hour {
			t.Errorf("consumer ack floor %d, pending %d, inactive %s", ci.AckFloor.Stream, ci.NumAckPending, ci.Config.InactiveThreshold)
		}
	})

	t.Run("a positioned consumer is kept", func(t *testing.T) {
		before, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), cfg.Name)
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.StartSeq = 51
		f := startFollow(t, b, c, 0)
		last := publishN(t, b, 50, 5)
		if got := until(t, f, last); !inOrder(got, 51, last) {
			t.Errorf("handed %v", got)
		}
		f.stop()
		after, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), cfg.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !after.CachedInfo().Created.Equal(before.CachedInfo().Created) {
			t.Error("the consumer was created again though it stood where the follower started")
		}
	})

	t.Run("a consumer elsewhere is repositioned", func(t *testing.T) {
		// The follower lost what it had (its folder removed): it starts at
		// 20 though the consumer acknowledged 55.
		c := cfg
		c.StartSeq = 20
		f := startFollow(t, b, c, 0)
		if got := until(t, f, 55); !inOrder(got, 20, 55) {
			t.Errorf("handed %v", got)
		}
	})

	t.Run("a failed batch comes again, in order", func(t *testing.T) {
		c := cfg
		c.Name = bus.FollowerName("failing")
		f := startFollow(t, b, c, 3)
		last := publishN(t, b, 55, 10)
		got := until(t, f, last)
		if !inOrder(got, 1, last) || f.failed != 3 {
			t.Errorf("handed %v after %d failures", got, f.failed)
		}
	})

	t.Run("a removed consumer is created again", func(t *testing.T) {
		c := cfg
		c.Name = bus.FollowerName("removed")
		f := startFollow(t, b, c, 0)
		until(t, f, 65)
		if err := b.DeleteConsumer(ctx, bus.Catalogue, c.Name); err != nil {
			t.Fatal(err)
		}
		last := publishN(t, b, 65, 3)
		if got := until(t, f, last); !inOrder(got, 1, last) {
			t.Errorf("handed %v", got)
		}
	})

	t.Run("another reader of the consumer is noticed", func(t *testing.T) {
		c := cfg
		c.Name = bus.FollowerName("shared")
		f := startFollow(t, b, c, 0)
		first := until(t, f, 68)
		cons, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), c.Name)
		if err != nil {
			t.Fatal(err)
		}
		// Another process pulls from the same consumer while messages come.
		stolen := make(chan int, 1)
		go func() {
			n := 0
			for range 5 {
				batch, err := cons.Fetch(3, jetstream.FetchMaxWait(300*time.Millisecond))
				if err != nil {
					continue
				}
				for m := range batch.Messages() {
					_ = m.Ack()
					n++
				}
			}
			stolen <- n
		}()
		var last uint64
		for i := range 10 {
			last = publishN(t, b, 100+3*i, 3)
			time.Sleep(30 * time.Millisecond)
		}
		t.Logf("the other reader took %d deliveries", <-stolen)
		got := until(t, f, last)
		if !inOrder(got, first[0], last) {
			t.Errorf("handed %v", got)
		}
	})

	t.Run("stream state", func(t *testing.T) {
		st, err := b.StreamState(ctx, bus.Catalogue)
		if err != nil {
			t.Fatal(err)
		}
		if st.First != 1 || st.Last != 98 || st.Msgs != 98 || st.Created.IsZero() {
			t.Errorf("%+v", st)
		}
	})
}

// TestFollowLinger: a follower that lingers hands over what trickles in
// meanwhile in one batch, one that does not hands it over as it comes; a
// full batch does not wait.
func TestFollowLinger(t *testing.T) {
	tests := []struct {
		name    string
		linger  time.Duration
		batches func([]int) bool
	}{
		{"no linger: as it comes", 0, func(b []int) bool { return len(b) >= 2 }},
		{"linger: one batch", 3 * time.Second, func(b []int) bool { return len(b) == 1 && b[0] == 6 }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := testenv.Bus(t)
			cfg := bus.FollowConfig{Stream: bus.Catalogue, Name: bus.FollowerName(fmt.Sprint("linger", i)), Batch: 10,
				Wait: 100 * time.Millisecond, Linger: tc.linger}
			f := startFollow(t, b, cfg, 0)
			publishN(t, b, 0, 3)
			time.Sleep(300 * time.Millisecond)
			last := publishN(t, b, 3, 3)
			if got := until(t, f, last); !inOrder(got, 1, last) {
				t.Errorf("handed %v", got)
			}
			f.mu.Lock()
			batches := append([]int(nil), f.batches...)
			f.mu.Unlock()
			if !tc.batches(batches) {
				t.Errorf("batches %v", batches)
			}
			// A full batch is handed over at once, however long the linger.
			began := time.Now()
			last = publishN(t, b, 6, 10)
			until(t, f, last)
			if d := time.Since(began); d > 2*time.Second {
				t.Errorf("a full batch took %s", d)
			}
		})
	}
}

func TestFollowConfigValidate(t *testing.T) {
	ok := bus.FollowConfig{Stream: bus.Catalogue, Name: "readmodel-node"}
	tests := []struct {
		name string
		cfg  bus.FollowConfig
		ok   bool
	}{
		{"defaults", ok, true},
		{"no stream", bus.FollowConfig{Name: "x"}, false},
		{"no name", bus.FollowConfig{Stream: bus.Catalogue}, false},
		{"dotted name", bus.FollowConfig{Stream: bus.Catalogue, Name: "a.b"}, false},
		{"long name", bus.FollowConfig{Stream: bus.Catalogue, Name: strings.Repeat("a", 65)}, false},
		{"huge batch", bus.FollowConfig{Stream: bus.Catalogue, Name: "x", Batch: 10001}, false},
		{"negative wait", bus.FollowConfig{Stream: bus.Catalogue, Name: "x", Wait: -1}, false},
		{"negative linger", bus.FollowConfig{Stream: bus.Catalogue, Name: "x", Linger: -1}, false},
		{"the read model's linger", bus.FollowConfig{Stream: bus.Catalogue, Name: "x", Linger: 500 * time.Millisecond}, true},
		{"linger near the ack wait", bus.FollowConfig{Stream: bus.Catalogue, Name: "x", Linger: 3 * time.Minute}, false},
		{"wait and linger past half a short ack wait", bus.FollowConfig{Stream: bus.Catalogue, Name: "x", Wait: 2 * time.Second, Linger: 3 * time.Second, AckWait: 10 * time.Second}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestFollowerName(t *testing.T) {
	for _, replica := range []string{"node", "pub-2", "a.b", "with space", strings.Repeat("x", 100), "", "ünï"} {
		name := bus.FollowerName(replica)
		if err := (bus.FollowConfig{Stream: bus.Catalogue, Name: name}).Validate(); err != nil {
			t.Errorf("%q: %s: %v", replica, name, err)
		}
	}
	if bus.FollowerName("node") != "readmodel-node" || bus.FollowerName("a.b") == bus.FollowerName("a_b") {
		t.Errorf("names %s %s %s", bus.FollowerName("node"), bus.FollowerName("a.b"), bus.FollowerName("a_b"))
	}
}
