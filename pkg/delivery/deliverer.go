package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// stagePrefix begins the stage name of every delivery.
const stagePrefix = "push:"

// StageOf names the delivery to destination id in its dead letters and
// logs: "push:<id>".
func StageOf(id string) string { return stagePrefix + id }

// DestinationOf returns the destination whose delivery stage names
// ("push:eosc" → "eosc"), or false for another stage.
func DestinationOf(stage string) (string, bool) { return strings.CutPrefix(stage, stagePrefix) }

// stuckAfter is how many attempts at one dataset fail, while the
// destination takes others, before the dataset is dead-lettered: a
// destination that fails on one record only must not hold its delivery.
const stuckAfter = 10

// maxErrorText bounds the last error a status shows.
const maxErrorText = 512

// deliverer keeps one destination in step with the catalogue: Handle is
// the handler of the bus's delivery of the catalogue to it (see
// bus.Deliver).
type deliverer struct {
	// observer, when set, is told every attempt's outcome (metrics).
	observer Observer
	bus      *bus.Bus
	dest     destinations.Destination
	push     Pusher
	led      *ledger
	log      *slog.Logger
	holder   string
	now      func() time.Time

	mu          sync.Mutex
	c           counters
	rev         uint64 // revision of the counters stored
	dirty       bool
	lastSuccess time.Time
	firstFail   map[uint64]time.Time // per catalogue sequence being retried
}

// newDeliverer returns the deliverer of d over the ledger of b, with the
// counters the ledger holds.
func newDeliverer(ctx context.Context, b *bus.Bus, d destinations.Destination, p Pusher, holder string, log *slog.Logger) (*deliverer, error) {
	led := newLedger(b, d.ID)
	c, rev, err := led.counters(ctx)
	if err != nil {
		return nil, err
	}
	return &deliverer{bus: b, dest: d, push: p, led: led, log: log, holder: holder, now: time.Now, c: c, rev: rev, firstFail: map[uint64]time.Time{}}, nil
}

// Handle handles one catalogue entry for the destination: it pushes a live
// dataset the destination selects unless the destination holds it as it
// is, withdraws a dataset the node delivered there that was deleted or is
// no longer selected, and passes over the rest.
func (d *deliverer) Handle(ctx context.Context, m bus.StoredMessage, attempt int) error {
	err := d.handle(ctx, m, attempt)
	if err == nil || errors.Is(err, bus.ErrPermanent) || ctx.Err() != nil {
		// Settled, or given back: its first failure no longer counts.
		d.mu.Lock()
		delete(d.firstFail, m.Sequence)
		d.mu.Unlock()
	}
	return err
}

func (d *deliverer) handle(ctx context.Context, m bus.StoredMessage, attempt int) error {
	var e fairwayv1.CatalogueEntry
	if err := proto.Unmarshal(m.Data, &e); err != nil {
		d.refused()
		return bus.Permanent(fmt.Errorf("delivery %s: unreadable catalogue entry: %w", d.dest.ID, err))
	}
	key := e.GetKey()
	if key == "" {
		d.refused()
		return bus.Permanent(fmt.Errorf("delivery %s: catalogue entry without a key", d.dest.ID))
	}
	held, rev, holds, err := d.led.get(ctx, key)
	if err != nil {
		return err
	}
	if holds && held.Seq > m.Sequence {
		d.count(func(c *counters) { c.Skipped++ }) // older than what the destination holds
		return nil
	}
	if e.GetDeleted() || !d.dest.Selects(e.GetDataset()) {
		if !holds {
			d.count(func(c *counters) { c.Skipped++ })
			return nil
		}
		if d.dest.DeletePolicy() != destinations.OnDeleteKeep {
			out, err := d.push.Withdraw(ctx, key)
			if err != nil {
				err = d.failed(ctx, m.Sequence, attempt, fmt.Errorf("withdraw %s: %w", key, err))
				d.report(ctx, m.Sequence, &e, attempt, err)
				return err
			}
			d.report(ctx, m.Sequence, &e, attempt, nil)
			d.log.DebugContext(ctx, "withdrawn", "key", key, "outcome", out)
		}
		if err := d.led.remove(ctx, key); err != nil {
			return err
		}
		d.succeeded(m.Sequence, func(c *counters) { c.Deleted++; c.Held-- })
		return nil
	}
	hash := cmp.Or(e.GetContentHash(), m.Header.Get(bus.HeaderHash))
	round := d.round()
	if holds && held.Hash == hash && held.Round == round {
		d.count(func(c *counters) { c.Skipped++ })
		return nil
	}
	out, err := d.push.Push(ctx, &e)
	if err != nil {
		err = d.failed(ctx, m.Sequence, attempt, fmt.Errorf("push %s: %w", key, err))
		d.report(ctx, m.Sequence, &e, attempt, err)
		return err
	}
	d.report(ctx, m.Sequence, &e, attempt, nil)
	if err := d.led.put(ctx, key, Delivered{Hash: hash, Seq: m.Sequence, Round: round, At: d.now().UTC()}, rev); err != nil {
		if errors.Is(err, errLedgerMoved) {
			// Another process delivered the dataset meanwhile (two held
			// the destination for a moment): which version arrived last
			// is unknown, so the entry is marked to be sent again.
			d.log.WarnContext(ctx, "another process delivered the dataset at the same time; it is sent again", "key", key)
			if again, arev, ok, gerr := d.led.get(ctx, key); gerr == nil && ok {
				again.Hash = ""
				_ = d.led.put(ctx, key, again, arev)
			}
		}
		return err
	}
	d.log.DebugContext(ctx, "pushed", "key", key, "outcome", out)
	d.succeeded(m.Sequence, func(c *counters) {
		c.Pushed++
		if !holds {
			c.Held++
		}
	})
	return nil
}

// failed records a push or withdrawal the destination did not take and
// returns the error the delivery acts on.
func (d *deliverer) failed(ctx context.Context, seq uint64, attempt int, err error) error {
	err = classify(err)
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	first, ok := d.firstFail[seq]
	if !ok {
		first = now
		d.firstFail[seq] = now
	}
	if !errors.Is(err, bus.ErrPermanent) && attempt >= stuckAfter && failsAlone(err) && d.lastSuccess.After(first) {
		err = bus.Permanent(fmt.Errorf("failed %d times while the destination took other datasets: %w", attempt, err))
	}
	text := err.Error()
	if len(text) > maxErrorText {
		text = text[:maxErrorText] + "…"
	}
	d.c.LastError, d.c.LastErrorAt, d.dirty = text, now.UTC(), true
	if errors.Is(err, bus.ErrPermanent) {
		d.c.Failed++
		delete(d.firstFail, seq)
		d.log.WarnContext(ctx, "destination refused a dataset", "err", err)
	} else if attempt == 1 || attempt%10 == 0 {
		d.log.WarnContext(ctx, "destination did not take a dataset; retrying", "attempt", attempt, "err", err)
	}
	return err
}

// Observer is told the outcome of every attempt at a push or withdrawal,
// per destination (registered destinations: a bounded set).
type Observer interface {
	Delivered(destination, outcome string)
}

// Outcomes of a push or withdrawal, as delivery reports name them.
const (
	OutcomePushed    = "pushed"
	OutcomeWithdrawn = "withdrawn"
	OutcomeFailed    = "failed"
	OutcomeRefused   = "refused"
)

// report publishes the outcome of an attempt at the catalogue entry at seq
// on the ops stream, for the analytics (bus.DeliveryOutcomeEvent): err nil
// is a push or withdrawal taken, a permanent err a refusal (the entry is
// dead-lettered), another a failure tried again. A report that cannot be
// published is logged: the delivery itself is done or retried either way.
func (d *deliverer) report(ctx context.Context, seq uint64, e *fairwayv1.CatalogueEntry, attempt int, err error) {
	ev := &fairwayv1.DeliveryEvent{
		Destination: d.dest.ID, Key: e.GetKey(), Facility: e.GetDataset().GetDataset().GetFacility(),
		Attempts: int32(min(attempt, math.MaxInt32)), At: timestamppb.New(d.now()), CatalogueSeq: seq,
	}
	switch {
	case err == nil && (e.GetDeleted() || !d.dest.Selects(e.GetDataset())):
		ev.Outcome = OutcomeWithdrawn
	case err == nil:
		ev.Outcome = OutcomePushed
	case errors.Is(err, bus.ErrPermanent):
		ev.Outcome = OutcomeRefused
	default:
		ev.Outcome = OutcomeFailed
	}
	if err != nil {
		ev.Error = err.Error()
		if len(ev.Error) > maxErrorText {
			ev.Error = ev.Error[:maxErrorText] + "…"
		}
		// Protobuf strings are UTF-8: a cut through a character is mended.
		ev.Error = strings.ToValidUTF8(ev.Error, "")
	}
	if d.observer != nil {
		d.observer.Delivered(d.dest.ID, ev.Outcome)
	}
	payload, merr := proto.Marshal(ev)
	if merr == nil {
		merr = d.bus.Publish(ctx, StageOf(d.dest.ID), bus.DeliveryOutcomeEvent(d.dest.ID, seq, ev.Outcome, attempt, payload))
	}
	if merr != nil && ctx.Err() == nil {
		d.log.WarnContext(ctx, "delivery report not published", "key", ev.Key, "outcome", ev.Outcome, "err", merr)
	}
}

// refused counts an entry dead-lettered before it reached the destination.
func (d *deliverer) refused() { d.count(func(c *counters) { c.Failed++ }) }

// succeeded counts a push or withdrawal the destination took.
func (d *deliverer) succeeded(seq uint64, change func(*counters)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	change(&d.c)
	now := d.now()
	d.lastSuccess = now
	d.c.LastDelivery, d.c.LastError, d.c.LastErrorAt = now.UTC(), "", time.Time{}
	delete(d.firstFail, seq)
	d.dirty = true
}

func (d *deliverer) count(change func(*counters)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	change(&d.c)
	d.dirty = true
}

func (d *deliverer) round() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c.Round
}

// flush stores the counters when they changed since the last flush. Once
// another process has stored them (it holds the destination now), they are
// no longer written.
func (d *deliverer) flush(ctx context.Context) error {
	d.mu.Lock()
	if !d.dirty {
		d.mu.Unlock()
		return nil
	}
	c, rev := d.c, d.rev
	c.Holder = d.holder
	d.dirty = false
	d.mu.Unlock()
	next, err := d.led.putCounters(ctx, c, rev)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		if !errors.Is(err, errCountersTaken) {
			d.dirty = true
		}
		return err
	}
	d.rev = next
	return nil
}

// fingerprints return what the ledger of d depends on: target (the
// registration, the kind, the address, the catalogue and the pids: a
// change means the datasets go somewhere else), selection (which datasets
// go there) and shape (what a dataset looks like there).
func fingerprints(d destinations.Destination) (target, selection, shape string) {
	sum := func(parts ...string) string { return bus.Digest(strings.Join(parts, "\x00")) }
	target = sum(d.Created.UTC().Format(time.RFC3339Nano), d.Kind, strings.TrimRight(d.URL, "/"), d.Catalogue, d.PIDPrefix)
	facilities := make([]string, len(d.Facilities))
	for i, f := range d.Facilities {
		facilities[i] = strings.ToLower(f)
	}
	slices.Sort(facilities)
	techniques := make([]string, len(d.Techniques))
	for i, t := range d.Techniques {
		techniques[i] = destinations.TechniqueID(t)
	}
	slices.Sort(techniques)
	selection = sum(strings.Join(facilities, ","), strings.Join(techniques, ","))
	groups := slices.Clone(d.AccessGroups)
	slices.Sort(groups)
	shape = sum(d.OwnerGroup, strings.Join(groups, ","), d.ContactEmail, d.SourceFolder)
	return target, selection, shape
}

// align makes the delivery match the destination's registration before it
// runs: a new target (registered again, another address, catalogue or pid
// prefix) clears the ledger and pushes every dataset there; a new selection
// goes through the catalogue again (what it no longer selects is withdrawn,
// what it now selects is pushed); a new shape pushes every dataset again;
// a replay not applied yet starts where it asks. Each starts the
// destination's consumer again.
func (d *deliverer) align(ctx context.Context, b *bus.Bus, cfg bus.DeliverConfig) error {
	target, selection, shape := fingerprints(d.dest)
	d.mu.Lock()
	c := d.c
	d.mu.Unlock()
	reset, start := false, bus.DeliveryStart{}
	if c.Target != target {
		if c.Target != "" {
			d.log.InfoContext(ctx, "the destination was registered again or points elsewhere: every dataset is pushed there")
		}
		if err := d.led.clear(ctx); err != nil {
			return err
		}
		c = counters{Target: target, Selection: selection, Shape: shape}
		if r := d.dest.Replay; r != nil {
			c.Replay = r.ID // covered by starting over
		}
		reset = true
	}
	if c.Selection != selection {
		d.log.InfoContext(ctx, "the destination selects other datasets: the catalogue is gone through again")
		c.Selection, reset = selection, true
	}
	if c.Shape != shape {
		d.log.InfoContext(ctx, "the destination's datasets look different now: every dataset is pushed again")
		c.Shape, c.Round, reset = shape, "shape-"+shape, true
	}
	if r := d.dest.Replay; r != nil && r.ID != c.Replay {
		c.Replay = r.ID
		if r.All {
			c.Round = r.ID
		}
		if !reset {
			start = bus.DeliveryStart{Seq: r.FromSeq, Time: r.Since}
		}
		reset = true
		d.log.InfoContext(ctx, "replay applied", "replay", r.ID, "from_seq", r.FromSeq, "since", r.Since, "all", r.All)
	}
	if !reset {
		// Entries a stopped process held (pulled, not settled) would come
		// again only after the ack wait: this process holds the
		// destination now, so it starts at the ack floor instead (what
		// was settled beyond it is skipped by the ledger).
		st, err := b.DeliveryState(ctx, cfg.Stream, cfg.Name)
		if err != nil {
			return err
		}
		if !st.Exists || st.InFlight == 0 {
			return nil
		}
		d.log.InfoContext(ctx, "taking over the entries a stopped process held", "from_seq", st.AckFloor+1, "held", st.InFlight)
		start = bus.DeliveryStart{Seq: st.AckFloor + 1}
	}
	if err := b.ResetDelivery(ctx, cfg, start); err != nil {
		return err
	}
	d.mu.Lock()
	d.c, d.dirty = c, true
	d.mu.Unlock()
	return d.flush(ctx)
}

// recount sets the count of datasets the destination holds from the
// ledger.
func (d *deliverer) recount(ctx context.Context) error {
	n, err := d.led.held(ctx)
	if err != nil {
		return err
	}
	d.count(func(c *counters) { c.Held = n })
	return nil
}
