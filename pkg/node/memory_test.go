package node

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		gomem     string
		want      int64
		wantLimit bool
	}{
		{"all: the default", Config{Target: TargetAll}, "", DefaultMemoryLimitMiB << 20, true},
		{"all: given", Config{Target: TargetAll, MemoryLimitMiB: 300}, "", 300 << 20, true},
		{"all: GOMEMLIMIT wins over the default", Config{Target: TargetAll}, "1GiB", 0, false},
		{"all: the flag wins over GOMEMLIMIT", Config{Target: TargetAll, MemoryLimitMiB: 150}, "1GiB", 150 << 20, true},
		{"all: none", Config{Target: TargetAll, MemoryLimitMiB: -1}, "", 0, false},
		{"a service: none by default", Config{Target: TargetNormaliser}, "", 0, false},
		{"a service: given", Config{Target: TargetNormaliser, MemoryLimitMiB: 100}, "", 100 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.gomem)
			got, ok, _ := tc.cfg.memoryLimit()
			if got != tc.want || ok != tc.wantLimit {
				t.Errorf("memoryLimit() = %d, %v; want %d, %v", got, ok, tc.want, tc.wantLimit)
			}
		})
	}
}

func TestAdaptiveMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		gomem string
		want  bool
	}{
		{"all: the default adapts", Config{Target: TargetAll}, "", true},
		{"all: a given limit stays", Config{Target: TargetAll, MemoryLimitMiB: 300}, "", false},
		{"all: GOMEMLIMIT stays", Config{Target: TargetAll}, "1GiB", false},
		{"all: none", Config{Target: TargetAll, MemoryLimitMiB: -1}, "", false},
		{"a service: none", Config{Target: TargetNormaliser}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.gomem)
			if got := tc.cfg.AdaptiveMemoryLimit(); got != tc.want {
				t.Errorf("AdaptiveMemoryLimit() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAdaptiveLimit(t *testing.T) {
	const floor = 200 << 20
	for _, tc := range []struct {
		name     string
		live     uint64
		headroom int
		want     int64
	}{
		{"nothing live: the floor", 0, 50, floor},
		{"live under the floor's reach: the floor", 100 << 20, 50, floor},
		{"live and headroom past the floor", 300 << 20, 50, 450 << 20},
		{"no headroom", 300 << 20, 0, 300 << 20},
		{"a live heap past any limit does not overflow", math.MaxUint64, 50, math.MaxInt64/2 + math.MaxInt64/2/100*50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := adaptiveLimit(floor, tc.live, tc.headroom); got != tc.want {
				t.Errorf("adaptiveLimit(%d) = %d, want %d", tc.live, got, tc.want)
			}
		})
	}
}

func TestNextLimit(t *testing.T) {
	const floor = 200 << 20
	for _, tc := range []struct {
		name      string
		cur, want int64
		move      bool
	}{
		{"the same", 300 << 20, 300 << 20, false},
		{"up by less than a sixteenth", 320 << 20, 330 << 20, false},
		{"up by more", 320 << 20, 350 << 20, true},
		{"down by less than a sixteenth", 320 << 20, 310 << 20, false},
		{"down by more", 320 << 20, 280 << 20, true},
		{"back to the floor from just above it", floor + 1<<20, floor, true},
		{"at the floor already", floor, floor, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextLimit(tc.cur, tc.want, floor); got != tc.move {
				t.Errorf("nextLimit(%d, %d) = %v, want %v", tc.cur>>20, tc.want>>20, got, tc.move)
			}
		})
	}
}

// TestFollowLiveHeap raises the process's soft limit above a small floor
// to the live heap and half more once a collection finds more live than
// the floor allows, and lowers it back to the floor once that is gone.
func TestFollowLiveHeap(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	const floor = 16 << 20
	debug.SetMemoryLimit(floor)
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20) // 64 MiB live, past the 16 MiB floor
	}
	runtime.GC()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		followLiveHeap(ctx, floor, 50, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	liveHeap := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	waitLimit := func(ok func(cur, want int64) bool, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			time.Sleep(30 * time.Millisecond) // a few of the follower's checks
			cur, want := debug.SetMemoryLimit(-1), adaptiveLimit(floor, liveHeap(), 50)
			if ok(cur, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("soft limit %d MiB for a live heap of %d MiB: want %s", cur>>20, liveHeap()>>20, what)
			}
		}
	}
	within := func(cur, want int64) bool { return cur >= want-want/16-1 && cur <= want+want/16+1 }
	waitLimit(func(cur, want int64) bool { return want >= 96<<20 && within(cur, want) }, "the live heap and half more, within a sixteenth")
	runtime.KeepAlive(live)
	live = nil
	waitLimit(func(cur, want int64) bool { return want == floor && cur == floor }, "the floor once the live heap is gone")
}

// TestApplyMemoryLimit sets the limit asked for: a given one, and none for
// a negative one, even over GOMEMLIMIT's.
func TestApplyMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	for _, tc := range []struct {
		name  string
		cfg   Config
		gomem string
		want  int64
	}{
		{"given", Config{Target: TargetNormaliser, MemoryLimitMiB: 300}, "", 300 << 20},
		{"none over GOMEMLIMIT", Config{Target: TargetAll, MemoryLimitMiB: -1}, "1GiB", math.MaxInt64},
		{"the floor of the default", Config{Target: TargetAll}, "", DefaultMemoryLimitMiB << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.gomem)
			debug.SetMemoryLimit(123 << 20)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ApplyMemoryLimit(ctx, tc.cfg, slog.New(slog.DiscardHandler))
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("limit %d, want %d", got, tc.want)
			}
		})
	}
}
