package node

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
)

// Memory defaults of the all-in-one node (see docs/performance.md): the Go
// runtime's soft limit, which covers the embedded NATS server too (it runs
// in the process), and the embedded JetStream's memory store.
const (
	// DefaultMemoryLimitMiB is the Go runtime's soft memory limit of
	// `fairway up` when neither --memory-limit nor GOMEMLIMIT gives one.
	DefaultMemoryLimitMiB = 200
	// DefaultNATSMaxMemoryMiB bounds the embedded JetStream's memory
	// store (no stream of the topology uses it; the server's own default
	// is three quarters of the machine's memory).
	DefaultNATSMaxMemoryMiB = 64
)

// MemoryLimit returns the Go runtime's soft memory limit that cfg asks for,
// in bytes, and whether it asks for one: MemoryLimitMiB when positive, else
// DefaultMemoryLimitMiB for target all; none when it is negative, for the
// other targets by default, or when the environment sets GOMEMLIMIT (the
// runtime has read it) and MemoryLimitMiB is zero.
func (c Config) MemoryLimit() (int64, bool) {
	switch {
	case c.MemoryLimitMiB > 0:
		return int64(c.MemoryLimitMiB) << 20, true
	case c.MemoryLimitMiB < 0, os.Getenv("GOMEMLIMIT") != "":
		return 0, false
	case c.Target == TargetAll || c.Target == "":
		return DefaultMemoryLimitMiB << 20, true
	}
	return 0, false
}

// ApplyMemoryLimit sets the process's Go runtime soft memory limit as cfg
// asks (MemoryLimit) and logs the limit in force. The commands call it
// before Run; it changes the whole process, so Run does not.
func ApplyMemoryLimit(cfg Config, log *slog.Logger) {
	if limit, ok := cfg.MemoryLimit(); ok {
		debug.SetMemoryLimit(limit)
	}
	if cur := debug.SetMemoryLimit(-1); cur != math.MaxInt64 {
		log.Info("Go memory limit", "mib", cur>>20)
	}
}
