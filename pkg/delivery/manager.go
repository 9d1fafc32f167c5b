// Package delivery keeps every registered push destination in step with
// the live catalogue: one durable consumer of the catalogue per
// destination (its ack floor says how far the destination is), a ledger
// per destination of what each dataset it holds was sent as (so that an
// unchanged dataset is not sent again, and only what the node delivered is
// withdrawn there), retries that honour the destination's Retry-After, the
// dead letters for what it refuses, and the status the operator reads.
// One process at a time delivers to a destination (a lease in the bus);
// every replica of the node may run a Manager.
package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/urlguard"
)

// Config configures a Manager.
type Config struct {
	// Holder names this process in the destinations' leases and status.
	// Default the host name and the process id.
	Holder string
	// Policy says which addresses a destination may reach (as for feeds:
	// its zero value refuses loopback, private and link-local addresses).
	Policy urlguard.Policy
	// Clients are what every destination's client shares; their HTTP
	// client is guarded by Policy.
	Clients ClientOptions
	// Poll is how often the registry is read for destinations added,
	// changed or removed. Default 2s.
	Poll time.Duration
	// RetryInitial and RetryMax bound the backoff of a push that failed.
	// Defaults 1s and 5m.
	RetryInitial, RetryMax time.Duration
	// AckWait is how long the server waits for a push before delivering
	// its entry again. Default 2m.
	AckWait time.Duration
	// FlushEvery is how often a delivery's counters are stored for the
	// status to read. Default 1s.
	FlushEvery time.Duration
	// SweepEvery is how often what removed destinations left (their
	// consumer of the catalogue, their ledger) is removed. Default 30s.
	SweepEvery time.Duration
	// Observer, when set, is told every push's outcome (metrics).
	Observer Observer
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c Config) Validate() error {
	if c.Poll < 0 || c.RetryInitial < 0 || c.RetryMax < 0 || c.AckWait < 0 || c.SweepEvery < 0 || c.FlushEvery < 0 {
		return errors.New("delivery: negative poll, retry interval, ack wait or sweep interval")
	}
	if c.RetryMax > 0 && c.RetryInitial > c.RetryMax {
		return errors.New("delivery: first retry interval over the longest")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Holder == "" {
		host, _ := os.Hostname()
		c.Holder = cmp.Or(host, "node") + "-" + strconv.Itoa(os.Getpid())
	}
	c.Poll = cmp.Or(c.Poll, 2*time.Second)
	c.RetryInitial = cmp.Or(c.RetryInitial, time.Second)
	c.RetryMax = cmp.Or(c.RetryMax, 5*time.Minute)
	c.AckWait = cmp.Or(c.AckWait, 2*time.Minute)
	c.SweepEvery = cmp.Or(c.SweepEvery, 30*time.Second)
	c.FlushEvery = cmp.Or(c.FlushEvery, time.Second)
}

// Manager runs the delivery of every enabled destination whose lease it
// takes, and restarts one when its registration changes.
type Manager struct {
	cfg Config
	b   *bus.Bus
	reg *destinations.Registry
	log *slog.Logger
}

// New returns a manager of the destinations registered in b.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	m := &Manager{cfg: cfg}
	if err := m.deliverConfig(destinations.Destination{ID: "x"}).Validate(); err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	if cfg.RetryInitial > cfg.RetryMax {
		return nil, errors.New("delivery: first retry interval over the longest")
	}
	cfg.Clients.HTTPClient = urlguard.SameHostRedirects(cfg.Policy.HTTPClient(cfg.Clients.HTTPClient))
	if cfg.Clients.Logger == nil {
		cfg.Clients.Logger = log
	}
	return &Manager{cfg: cfg, b: b, reg: destinations.NewRegistry(b.State(bus.BucketDestinations), destinations.WithLogger(log)), log: log}, nil
}

// running is one destination's delivery in this process.
type running struct {
	dest   destinations.Destination
	cancel context.CancelFunc
	done   chan struct{}
}

// Run keeps the destinations in step until ctx ends, then stops every
// delivery (what is in flight is given back to the catalogue's consumers)
// and returns nil.
func (m *Manager) Run(ctx context.Context) error {
	runs := map[string]*running{}
	stop := func(id string) {
		r := runs[id]
		r.cancel()
		<-r.done
		delete(runs, id)
	}
	defer func() {
		for id := range runs {
			stop(id)
		}
	}()
	tick := time.NewTicker(m.cfg.Poll)
	defer tick.Stop()
	var lastSweep time.Time
	for {
		list, err := m.reg.List(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("destinations: registry", "err", err)
		}
		if err == nil {
			want := map[string]destinations.Destination{}
			for _, d := range list {
				if d.Enabled {
					want[d.ID] = d
				}
			}
			for id, r := range runs {
				d, ok := want[id]
				if !ok || !reflect.DeepEqual(d, r.dest) {
					stop(id)
				}
			}
			for id, d := range want {
				if _, ok := runs[id]; !ok {
					rctx, cancel := context.WithCancel(ctx)
					r := &running{dest: d, cancel: cancel, done: make(chan struct{})}
					runs[id] = r
					go func() {
						defer close(r.done)
						m.keep(rctx, d)
					}()
				}
			}
			if time.Since(lastSweep) >= m.cfg.SweepEvery {
				lastSweep = time.Now()
				m.sweep(ctx, list)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// keep delivers to d whenever this process holds its lease, until ctx
// ends.
func (m *Manager) keep(ctx context.Context, d destinations.Destination) {
	log := m.log.With("destination", d.ID)
	for ctx.Err() == nil {
		lctx, release, err := m.lease(ctx, d.ID)
		if errors.Is(err, bus.ErrExists) {
			sleepCtx(ctx, 5*m.cfg.Poll) // another process delivers to it
			continue
		}
		if err != nil {
			log.Warn("destination lease", "err", err)
			sleepCtx(ctx, 5*m.cfg.Poll)
			continue
		}
		if err := m.deliver(lctx, d, log); err != nil && ctx.Err() == nil {
			log.Warn("delivery stopped; starting again", "err", err)
			sleepCtx(ctx, 5*m.cfg.Poll)
		}
		release()
	}
}

// deliver runs the delivery of d until ctx ends.
func (m *Manager) deliver(ctx context.Context, d destinations.Destination, log *slog.Logger) error {
	p, err := NewPusher(d, m.cfg.Clients)
	if err != nil {
		return err
	}
	dl, err := newDeliverer(ctx, m.b, d, p, m.cfg.Holder, log)
	if err == nil {
		dl.observer = m.cfg.Observer
	}
	if err != nil {
		return err
	}
	cfg := m.deliverConfig(d)
	if err := dl.align(ctx, m.b, cfg); err != nil {
		return err
	}
	if err := dl.recount(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	fctx, stopFlush := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(m.cfg.FlushEvery)
		defer t.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-t.C:
				if err := dl.flush(fctx); err != nil && fctx.Err() == nil {
					log.Debug("destination counters", "err", err)
				}
			}
		}
	}()
	log.Info("delivering", "kind", d.Kind, "url", d.URL, "in_flight", cfg.InFlight)
	err = m.b.Deliver(ctx, cfg, dl.Handle)
	stopFlush()
	wg.Wait()
	fl, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if ferr := dl.flush(fl); ferr != nil {
		log.Warn("destination counters not stored", "err", ferr)
	}
	log.Info("delivery stopped")
	return err
}

func (m *Manager) deliverConfig(d destinations.Destination) bus.DeliverConfig {
	return bus.DeliverConfig{
		Stream: bus.Catalogue, Name: bus.DeliveryName(d.ID), Stage: StageOf(d.ID), InFlight: d.Parallel(),
		AckWait: m.cfg.AckWait, RetryInitial: m.cfg.RetryInitial, RetryMax: m.cfg.RetryMax,
	}
}

// leaseKey is the key of destination id's lease in bus.BucketLeases.
func leaseKey(id string) string { return "push." + id }

// lease takes destination id's lease (bus.Lease), or fails with
// bus.ErrExists when another process holds it. The returned context ends
// when the lease is lost (it could not be refreshed, or not in time) or ctx
// ends; release gives it back.
func (m *Manager) lease(ctx context.Context, id string) (context.Context, func(), error) {
	return m.b.Lease(ctx, leaseKey(id), m.cfg.Holder, m.log.With("destination", id))
}

// sweep removes the consumer and the ledger of every destination that is
// no longer registered.
func (m *Manager) sweep(ctx context.Context, list []destinations.Destination) {
	names, err := m.b.ConsumerNames(ctx, bus.Catalogue)
	if err != nil {
		m.log.Debug("destinations: consumers", "err", err)
		return
	}
	known := map[string]bool{}
	for _, d := range list {
		known[bus.DeliveryName(d.ID)] = true
	}
	for _, name := range names {
		if !strings.HasPrefix(name, bus.DeliveryPrefix) || known[name] {
			continue
		}
		id := strings.TrimPrefix(name, bus.DeliveryPrefix)
		if !destinations.ValidID(id) {
			continue
		}
		// Only a destination that is gone: one whose record the list
		// skipped (undecodable) keeps what it has.
		if _, err := m.reg.Get(ctx, id); !errors.Is(err, destinations.ErrNotFound) {
			continue
		}
		if err := m.Forget(ctx, id); err != nil {
			m.log.Warn("destinations: removing what a removed destination left", "destination", id, "err", err)
			continue
		}
		m.log.Info("destination removed: its consumer and ledger are gone", "destination", id)
	}
}

// Forget removes what the node keeps of destination id's delivery: its
// consumer of the catalogue and its ledger. The destination's datasets
// stay where they are.
func (m *Manager) Forget(ctx context.Context, id string) error {
	if err := m.b.DeleteConsumer(ctx, bus.Catalogue, bus.DeliveryName(id)); err != nil {
		return err
	}
	if err := newLedger(m.b, id).purge(ctx); err != nil {
		return fmt.Errorf("delivery: %s: %w", id, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
