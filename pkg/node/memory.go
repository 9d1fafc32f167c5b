package node

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory defaults of the all-in-one node (see docs/performance.md): the Go
// runtime's soft limit, which covers the embedded NATS server too (it runs
// in the process), and the embedded JetStream's memory store.
const (
	// DefaultMemoryLimitMiB is the floor of the Go runtime's soft memory
	// limit of `fairway up` when neither --memory-limit nor GOMEMLIMIT
	// gives one. The limit rises above it with the live heap
	// (DefaultMemoryHeadroomPercent).
	DefaultMemoryLimitMiB = 200
	// DefaultMemoryHeadroomPercent is how far the heap of `fairway up`
	// may grow past what the last collection found live, as a share of
	// it, once that is more than the floor allows: the default soft limit
	// is the larger of DefaultMemoryLimitMiB and the live heap plus this
	// share. The live heap grows with the catalogue (the embedded server
	// indexes every subject of every dataset), and a fixed limit under
	// it would have the collector run without pause.
	DefaultMemoryHeadroomPercent = 50
	// DefaultNATSMaxMemoryMiB bounds the embedded JetStream's memory
	// store (no stream of the topology uses it; the server's own default
	// is three quarters of the machine's memory).
	DefaultNATSMaxMemoryMiB = 64
)

// AdaptiveMemoryLimit reports whether the soft limit of cfg is the default
// of target all, which rises with the live heap: a limit the operator gave
// (the flag or GOMEMLIMIT) stays as given.
func (c Config) AdaptiveMemoryLimit() bool {
	_, _, adaptive := c.memoryLimit()
	return adaptive
}

// memoryLimit returns the Go runtime's soft memory limit that cfg asks
// for, in bytes, whether it asks for one, and whether it is the adaptive
// default: MemoryLimitMiB when positive, else DefaultMemoryLimitMiB for
// target all (the floor of the adaptive limit); none when it is negative,
// for the other targets by default, or when the environment sets
// GOMEMLIMIT (the runtime has read it) and MemoryLimitMiB is zero.
func (c Config) memoryLimit() (limit int64, ok, adaptive bool) {
	switch {
	case c.MemoryLimitMiB > 0:
		return int64(c.MemoryLimitMiB) << 20, true, false
	case c.MemoryLimitMiB < 0, os.Getenv("GOMEMLIMIT") != "":
		return 0, false, false
	case c.Target == TargetAll || c.Target == "":
		return DefaultMemoryLimitMiB << 20, true, true
	}
	return 0, false, false
}

// ApplyMemoryLimit sets the process's Go runtime soft memory limit as cfg
// asks (a negative MemoryLimitMiB lifts any limit, GOMEMLIMIT's
// too) and logs the limit in force; when the limit is the adaptive default
// (AdaptiveMemoryLimit), it moves it with the live heap until ctx ends. The
// commands call it before Run; it changes the whole process, so Run does
// not.
func ApplyMemoryLimit(ctx context.Context, cfg Config, log *slog.Logger) {
	limit, ok, adaptive := cfg.memoryLimit()
	switch {
	case ok:
		debug.SetMemoryLimit(limit)
	case cfg.MemoryLimitMiB < 0:
		debug.SetMemoryLimit(math.MaxInt64)
	}
	if cur := debug.SetMemoryLimit(-1); cur != math.MaxInt64 {
		log.Info("Go memory limit", "mib", cur>>20, "adaptive", adaptive)
	}
	if adaptive {
		go followLiveHeap(ctx, limit, DefaultMemoryHeadroomPercent, time.Second, log)
	}
}

// adaptiveLimit is the soft limit for a live heap of live bytes: the floor,
// or the live heap with headroom percent more (0 to 100) when that is
// larger.
func adaptiveLimit(floor int64, live uint64, headroom int) int64 {
	want := int64(min(live, math.MaxInt64/2))
	want += want / 100 * int64(min(max(headroom, 0), 100))
	return max(floor, want)
}

// nextLimit says whether a soft limit of cur should move to want: when it
// changes by more than a sixteenth, so that it does not chase every
// collection's noise, or when want is back at the floor.
func nextLimit(cur, want, floor int64) bool {
	d := want - cur
	return d > cur/16 || -d > cur/16 || (want == floor && cur != floor)
}

// followLiveHeap checks every interval whether a collection ran and, if
// one did, moves the soft limit to adaptiveLimit of the live heap it found
// (nextLimit), until ctx ends.
func followLiveHeap(ctx context.Context, floor int64, headroom int, interval time.Duration, log *slog.Logger) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	cur, cycles := floor, uint64(0)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindUint64 {
			log.Warn("Go memory limit stays at its floor: the runtime does not report its live heap", "mib", floor>>20)
			return
		}
		n := samples[0].Value.Uint64()
		if n == cycles {
			continue
		}
		cycles = n
		live := samples[1].Value.Uint64()
		if want := adaptiveLimit(floor, live, headroom); nextLimit(cur, want, floor) {
			debug.SetMemoryLimit(want)
			log.Debug("Go memory limit follows the live heap", "mib", want>>20, "live_mib", live>>20)
			cur = want
		}
	}
}
