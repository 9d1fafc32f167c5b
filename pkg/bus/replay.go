package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ReplayState is where a replay stands.
type ReplayState string

// The states of a replay.
const (
	// ReplayPending: requested, not taken by a replica yet.
	ReplayPending ReplayState = "pending"
	// ReplayRunning: a replica holds its lease and replays.
	ReplayRunning ReplayState = "running"
	// ReplayDone: every key was replayed.
	ReplayDone ReplayState = "done"
	// ReplayRetrying: an attempt failed (a publish or a dead letter that
	// could not be stored, a handler failing transiently, the ontology
	// that could not be loaded); a replica takes it again, from the
	// start, once RetryAt has passed. Each failure in a row waits longer.
	ReplayRetrying ReplayState = "retrying"
	// ReplayFailed: ReplayerConfig.MaxFailures attempts in a row failed
	// (or the replay can never run: ErrNoOrigin); no replica takes it
	// again unless it is retried (RetryReplay). Nothing is lost: what it
	// published stays, and running it again is idempotent.
	ReplayFailed ReplayState = "failed"
)

// ReplayOutcome is what became of one key a replay read.
type ReplayOutcome string

// The outcomes Observer.Replayed is told.
const (
	// ReplayedChanged: handled, and its changed events published.
	ReplayedChanged ReplayOutcome = "changed"
	// ReplayedUnchanged: handled; its events equal those the stage
	// emitted already, and none was published.
	ReplayedUnchanged ReplayOutcome = "unchanged"
	// ReplayedSuperseded: the key got a newer input message meanwhile;
	// the live consumer handles that one.
	ReplayedSuperseded ReplayOutcome = "superseded"
	// ReplayedRefused: the handler refused it; it is in the dead letters.
	ReplayedRefused ReplayOutcome = "refused"
	// ReplayedSkipped: the replay's filter did not select it (not a
	// refusal: it is not dead-lettered).
	ReplayedSkipped ReplayOutcome = "skipped"
	// ReplayedCounted: a dry run selected it and handed it to no one.
	ReplayedCounted ReplayOutcome = "counted"
)

// HeaderReplay names the replay whose handler refused a dead letter's
// message (the dead letters a replay files; see RunReplay).
const HeaderReplay = "Fairway-Replay"

// Replay is a request to run a stage's handler again over the last message
// of every key of its input stream (a new PaNET release applied to every
// dataset), with its progress. It lives in BucketReplays under
// "<stage>.<id>"; exactly one replica of the stage runs it at a time (it
// holds the lease "replay.<stage>.<id>" in BucketLeases), and a replay
// whose replica stopped before the end is taken again, from the start, by
// the next one: a replay is idempotent, since events whose hash the stage
// emitted already are not published again.
type Replay struct {
	// ID names the replay.
	ID string `json:"id"`
	// Stage is the stage replayed.
	Stage Stage `json:"stage"`
	// Reason says why it was asked for.
	Reason string `json:"reason,omitempty"`
	// By names who asked for it.
	By string `json:"by,omitempty"`
	// State is where it stands.
	State ReplayState `json:"state"`
	// Holder names the replica that runs (or ran) it.
	Holder string `json:"holder,omitempty"`
	// RequestedAt, StartedAt and FinishedAt are when it was asked for,
	// (last) taken and ended.
	RequestedAt time.Time  `json:"requested_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	// Total is how many keys the input held when the replay (last) began.
	Total uint64 `json:"total"`
	// Read is how many keys were replayed so far.
	Read uint64 `json:"read"`
	// Filter narrows the keys replayed; its zero value replays them all.
	Filter ReplayFilter `json:"filter,omitzero"`
	// DryRun counts the keys the filter selects (Matched) and replays
	// none.
	DryRun bool `json:"dry_run,omitempty"`
	// Matched is how many keys read so far the filter selected (and, but
	// for a dry run, were handed to the stage).
	Matched uint64 `json:"matched"`
	// Emitted is how many events were published (the others were
	// unchanged).
	Emitted uint64 `json:"emitted"`
	// Superseded is how many keys got a newer input message while they
	// were replayed: the live consumer handles that one, and the replay
	// emits nothing for the older.
	Superseded uint64 `json:"superseded"`
	// Failed is how many keys the handler refused; each of them is in
	// the dead letters (stage, reason and HeaderReplay), from where it can
	// be redriven once fixed. LastError says why the last one was.
	Failed uint64 `json:"failed"`
	// Attempts counts the times a replica took the replay.
	Attempts int `json:"attempts"`
	// Failures counts the attempts in a row that failed (State retrying,
	// or failed once it reaches ReplayerConfig.MaxFailures); a replay
	// done resets it.
	Failures int `json:"failures,omitempty"`
	// RetryAt is when a retrying replay is taken again.
	RetryAt *time.Time `json:"retry_at,omitempty"`
	// LastError is the last error met (a key refused, an attempt that
	// failed and will be tried again).
	LastError string `json:"last_error,omitempty"`
}

// ReplayFilter selects the keys a replay handles: their last input message
// must match every field set.
type ReplayFilter struct {
	// Feed, when set, is the feed the message came from.
	Feed string `json:"feed,omitempty"`
	// Facility, when set, is the facility it came from.
	Facility string `json:"facility,omitempty"`
	// SinceSeq and UntilSeq, when set, bound the message's sequence in the
	// input stream (both inclusive).
	SinceSeq uint64 `json:"since_seq,omitempty"`
	UntilSeq uint64 `json:"until_seq,omitempty"`
	// Since and Until, when set, bound when it was stored (Since
	// inclusive, Until exclusive).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// ErrNoOrigin is returned for a replay by feed or facility of a stage that
// cannot tell where its messages come from (no ReplayerConfig.Origin).
var ErrNoOrigin = errors.New("bus: the stage cannot tell a message's feed or facility")

// Validate reports whether f can select anything.
func (f ReplayFilter) Validate() error {
	switch {
	case f.Feed != "" && f.Facility != "":
		return errors.New("bus: replay: a feed or a facility, not both")
	case f.UntilSeq > 0 && f.SinceSeq > f.UntilSeq:
		return errors.New("bus: replay: the first sequence is after the last")
	case !f.Until.IsZero() && !f.Since.IsZero() && !f.Since.Before(f.Until):
		return errors.New("bus: replay: the time range is empty")
	case len(f.Feed) > 256 || len(f.Facility) > 256:
		return errors.New("bus: replay: feed or facility longer than 256 bytes")
	}
	return nil
}

// match reports whether f selects m; origin tells m's feed and facility.
func (f ReplayFilter) match(m StoredMessage, origin func(StoredMessage) (feed, facility string)) bool {
	switch {
	case f.SinceSeq > 0 && m.Sequence < f.SinceSeq, f.UntilSeq > 0 && m.Sequence > f.UntilSeq:
		return false
	case !f.Since.IsZero() && m.Time.Before(f.Since), !f.Until.IsZero() && !m.Time.Before(f.Until):
		return false
	case f.Feed == "" && f.Facility == "":
		return true
	}
	feed, facility := origin(m)
	return (f.Feed == "" || feed == f.Feed) && (f.Facility == "" || facility == f.Facility)
}

// ReplayRequest is what a replay is asked for with.
type ReplayRequest struct {
	// Stage to replay.
	Stage Stage
	// Reason and By are kept with the replay.
	Reason, By string
	// Filter narrows the keys replayed.
	Filter ReplayFilter
	// DryRun only counts them.
	DryRun bool
}

// Done reports whether the replay ended: every key was replayed
// (ReplayDone), or it gave up (ReplayFailed).
func (r Replay) Done() bool { return r.State == ReplayDone || r.State == ReplayFailed }

// ErrNotRetryable is returned by RetryReplay for a replay that has not
// failed.
var ErrNotRetryable = errors.New("bus: only a failed or retrying replay can be retried")

// RetryReplay makes a replay that failed (or waits to be retried) pending
// again, with its failures forgotten: a replica takes it within its poll
// interval and runs it from the start.
func (b *Bus) RetryReplay(ctx context.Context, stage Stage, id string) (Replay, error) {
	r, rev, err := b.replay(ctx, stage, id)
	if err != nil {
		return Replay{}, err
	}
	if r.State != ReplayFailed && r.State != ReplayRetrying {
		return r, fmt.Errorf("%w: replay %s is %s", ErrNotRetryable, id, r.State)
	}
	r.State, r.Failures, r.RetryAt, r.FinishedAt = ReplayPending, 0, nil, nil
	v, err := json.Marshal(r)
	if err != nil {
		return Replay{}, fmt.Errorf("bus: replay %s: %w", id, err)
	}
	if _, err := b.State(BucketReplays).Update(ctx, replayKey(stage, id), v, rev); err != nil {
		return Replay{}, err
	}
	return r, nil
}

// ErrNoInput is returned by RequestReplay for a stage that reads no stream.
var ErrNoInput = errors.New("bus: stage reads no stream")

// ReplayKept is how long a finished replay stays in BucketReplays.
const ReplayKept = 7 * 24 * time.Hour

// maxReplayReason bounds the reason a replay keeps.
const maxReplayReason = 512

func replayKey(stage Stage, id string) string { return string(stage) + "." + id }

func replayLease(stage Stage, id string) string { return "replay." + string(stage) + "." + id }

// RequestReplay records a replay of stage and returns it; a replica of the
// stage running RunReplays takes it within its poll interval.
func (b *Bus) RequestReplay(ctx context.Context, stage Stage, reason, by string) (Replay, error) {
	return b.RequestStageReplay(ctx, ReplayRequest{Stage: stage, Reason: reason, By: by})
}

// RequestStageReplay records the replay req asks for and returns it; a
// replica of the stage running RunReplays takes it within its poll
// interval.
func (b *Bus) RequestStageReplay(ctx context.Context, req ReplayRequest) (Replay, error) {
	stage, reason, by := req.Stage, req.Reason, req.By
	if err := req.Filter.Validate(); err != nil {
		return Replay{}, err
	}
	if _, ok := InputOf(stage); !ok {
		return Replay{}, fmt.Errorf("%w: %q", ErrNoInput, stage)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return Replay{}, fmt.Errorf("bus: replay id: %w", err)
	}
	now := time.Now().UTC()
	if len(reason) > maxReplayReason {
		reason = reason[:maxReplayReason]
	}
	r := Replay{
		ID:    now.Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:]),
		Stage: stage, Reason: reason, By: by, State: ReplayPending, RequestedAt: now,
		Filter: req.Filter, DryRun: req.DryRun,
	}
	v, err := json.Marshal(r)
	if err != nil {
		return Replay{}, fmt.Errorf("bus: replay: %w", err)
	}
	if _, err := b.State(BucketReplays).Create(ctx, replayKey(stage, r.ID), v); err != nil {
		return Replay{}, err
	}
	return r, nil
}

// ReplayStatus returns the replay id of stage, or an error satisfying
// errors.Is(err, ErrNotFound).
func (b *Bus) ReplayStatus(ctx context.Context, stage Stage, id string) (Replay, error) {
	r, _, err := b.replay(ctx, stage, id)
	return r, err
}

func (b *Bus) replay(ctx context.Context, stage Stage, id string) (Replay, uint64, error) {
	if _, ok := InputOf(stage); !ok || !validReplayID(id) {
		return Replay{}, 0, mark(ErrNotFound, fmt.Errorf("bus: replay %.100q of %.100q: no such stage or id", id, stage))
	}
	e, err := b.State(BucketReplays).Get(ctx, replayKey(stage, id))
	if err != nil {
		return Replay{}, 0, err
	}
	var r Replay
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return Replay{}, 0, fmt.Errorf("bus: replay %s: %w", id, err)
	}
	return r, e.Revision, nil
}

// validReplayID reports whether id can be part of a KV key.
func validReplayID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Replays returns the replays of stage, oldest first.
func (b *Bus) Replays(ctx context.Context, stage Stage) ([]Replay, error) {
	keys, err := b.State(BucketReplays).KeysMatching(ctx, string(stage)+".*")
	if err != nil {
		return nil, err
	}
	var out []Replay
	for _, k := range keys {
		r, _, err := b.replay(ctx, stage, strings.TrimPrefix(k, string(stage)+"."))
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Replay) int { return a.RequestedAt.Compare(b.RequestedAt) })
	return out, nil
}

// ReplayerConfig configures how a replica of a stage takes replays.
type ReplayerConfig struct {
	// Stage whose replays are taken; its input stream is replayed.
	Stage Stage
	// Holder names this replica in leases and in the replays it runs.
	// Required.
	Holder string
	// Poll is how often the replays bucket is looked at. Default 1s.
	Poll time.Duration
	// ProgressEvery is how often the progress of a replay under way is
	// recorded. Default 1s.
	ProgressEvery time.Duration
	// Logger receives the replays' logs. Default: the bus's.
	Logger *slog.Logger
	// Prepare, when set, runs before each replay the replica takes (the
	// enricher loads the node's newest PaNET release there, so that a
	// replay asked for right after an update uses it); an error stops the
	// replay, to be taken again.
	Prepare func(context.Context) error
	// Origin tells the feed and the facility of an input message, for the
	// replays by feed or facility (which fail with ErrNoOrigin without
	// it); "" when the message does not say.
	Origin func(StoredMessage) (feed, facility string)
	// RetryDelay is how long a replay whose attempt failed waits before it
	// is taken again the first time; each failure in a row doubles the
	// wait (with some jitter), up to MaxRetryDelay. Default 2s.
	RetryDelay time.Duration
	// MaxRetryDelay bounds the growing wait. Default 2m, and never less
	// than RetryDelay.
	MaxRetryDelay time.Duration
	// MaxFailures is how many attempts in a row may fail before the
	// replay stops as failed (ReplayFailed). Default 8: with the default
	// delays, about six minutes of failures.
	MaxFailures int
	// KeyRetries is how often a key whose handler failed with an error
	// neither Permanent nor Transient is handed to it again before it is
	// dead-lettered, as the live stage retries it. Default 3.
	KeyRetries int
}

func (c *ReplayerConfig) setDefaults(b *Bus) {
	if c.Poll == 0 {
		c.Poll = time.Second
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = time.Second
	}
	if c.Logger == nil {
		c.Logger = b.log
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 2 * time.Second
	}
	if c.MaxRetryDelay == 0 {
		c.MaxRetryDelay = 2 * time.Minute
	}
	c.MaxRetryDelay = max(c.MaxRetryDelay, c.RetryDelay)
	if c.MaxFailures == 0 {
		c.MaxFailures = 8
	}
	if c.KeyRetries == 0 {
		c.KeyRetries = 3
	}
}

// retryDelay returns the wait after the failures-th failure in a row
// (backoff/v4: from RetryDelay, doubling, up to MaxRetryDelay).
func (c ReplayerConfig) retryDelay(failures int) time.Duration {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = c.RetryDelay, c.MaxRetryDelay
	bo.Multiplier, bo.RandomizationFactor, bo.MaxElapsedTime = 2, 0.2, 0
	bo.Reset()
	d := c.RetryDelay
	for range max(failures, 1) {
		d = bo.NextBackOff()
	}
	return d
}

// Validate reports whether the configuration is usable.
func (c ReplayerConfig) Validate() error {
	if _, ok := InputOf(c.Stage); !ok {
		return fmt.Errorf("%w: %q", ErrNoInput, c.Stage)
	}
	if c.Holder == "" {
		return errors.New("bus: replayer: holder is required")
	}
	if c.Poll < 0 || c.ProgressEvery < 0 || c.RetryDelay < 0 || c.MaxRetryDelay < 0 || c.MaxFailures < 0 || c.KeyRetries < 0 {
		return errors.New("bus: replayer: negative interval, delay or count")
	}
	return nil
}

// RunReplays takes the stage's replays that no replica runs, one at a
// time, and runs them with h until ctx ends.
func (b *Bus) RunReplays(ctx context.Context, cfg ReplayerConfig, h Handler) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.setDefaults(b)
	t := time.NewTicker(cfg.Poll)
	defer t.Stop()
	for {
		list, err := b.Replays(ctx, cfg.Stage)
		if err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("replays: list", "stage", cfg.Stage, "err", err)
		}
		for _, r := range list {
			if r.Done() {
				if r.FinishedAt != nil && time.Since(*r.FinishedAt) > ReplayKept {
					_ = b.State(BucketReplays).Delete(ctx, replayKey(r.Stage, r.ID))
				}
				continue
			}
			if r.State == ReplayRetrying && r.RetryAt != nil && time.Now().Before(*r.RetryAt) {
				continue
			}
			if _, err := b.RunReplay(ctx, cfg, r.ID, h); err != nil && !errors.Is(err, ErrExists) && ctx.Err() == nil {
				cfg.Logger.Warn("replay stopped; it will be taken again", "stage", cfg.Stage, "replay", r.ID, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunReplay runs the replay id of cfg.Stage with h, if no other replica
// holds it (otherwise the error satisfies errors.Is(err, ErrExists)), and
// returns it as it ended. It reads the last message of every key of the
// stage's input, hands it to h and publishes what h returns, except when
// the key got a newer input message meanwhile (the live consumer handles
// that one: an older version must not overtake it).
//
// A key that h refuses (an error that is not Transient; one neither
// Permanent nor Transient after cfg.KeyRetries more tries) is filed in the
// dead letters with the stage, the reason, HeaderReplay and the subject it
// was read from, so that it can be redriven once fixed, and the replay
// goes on. A key the filter does not select is skipped: that is no
// refusal, and nothing is dead-lettered for it.
//
// An attempt cut short by ctx (a shutdown) stays running, to be taken
// again by the next replica. An attempt that fails otherwise (a publish or
// a dead letter that could not be stored, h failing transiently, Prepare
// failing) leaves the replay retrying: it is taken again, from the start,
// after a wait that grows with each failure in a row, and after
// cfg.MaxFailures of them it stops as failed (RetryReplay runs it again).
func (b *Bus) RunReplay(ctx context.Context, cfg ReplayerConfig, id string, h Handler) (Replay, error) {
	if err := cfg.Validate(); err != nil {
		return Replay{}, err
	}
	cfg.setDefaults(b)
	r, _, err := b.replay(ctx, cfg.Stage, id)
	if err != nil {
		return Replay{}, err
	}
	if r.Done() {
		return r, nil
	}
	lctx, release, err := b.Lease(ctx, replayLease(cfg.Stage, id), cfg.Holder, cfg.Logger)
	if err != nil {
		return r, err
	}
	defer release()
	// Another replica may have finished it between the first read and the
	// lease: read it again under the lease.
	if r, _, err = b.replay(lctx, cfg.Stage, id); err != nil {
		return Replay{}, err
	}
	if r.Done() {
		return r, nil
	}
	obs := b.observer()
	defer func() { obs.ReplayProgress(r, false) }()
	if err := b.runReplay(ctx, lctx, cfg, &r, h); err != nil {
		b.replayStopped(ctx, cfg, &r, err)
		return r, fmt.Errorf("bus: replay %s of %s: %w", id, cfg.Stage, err)
	}
	return r, nil
}

// runReplay is one attempt at r, under the lease of lctx.
func (b *Bus) runReplay(ctx, lctx context.Context, cfg ReplayerConfig, r *Replay, h Handler) error {
	if (r.Filter.Feed != "" || r.Filter.Facility != "") && cfg.Origin == nil {
		return ErrNoOrigin
	}
	if cfg.Prepare != nil && !r.DryRun {
		if err := cfg.Prepare(lctx); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	input, _ := InputOf(cfg.Stage)
	obs := b.observer()
	log := cfg.Logger.With("stage", cfg.Stage, "replay", r.ID)
	reader := b.StreamReader(input)
	total, err := reader.Count(lctx)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	r.State, r.Holder, r.StartedAt, r.FinishedAt, r.RetryAt = ReplayRunning, cfg.Holder, &now, nil, nil
	r.Total, r.Read, r.Emitted, r.Superseded, r.Failed, r.Matched, r.LastError = total, 0, 0, 0, 0, 0, ""
	r.Attempts++
	if err := b.saveReplay(lctx, *r); err != nil {
		return err
	}
	obs.ReplayProgress(*r, true)
	log.Info("replay started", "keys", total, "attempt", r.Attempts)
	saved := time.Now()
	progress := func() {
		if time.Since(saved) < cfg.ProgressEvery {
			return
		}
		saved = time.Now()
		if err := b.saveReplay(lctx, *r); err != nil {
			log.Warn("replay: progress", "err", err)
		}
		obs.ReplayProgress(*r, true)
	}
	err = reader.EachLast(lctx, func(m StoredMessage) error {
		selected := r.Filter.match(m, cfg.Origin)
		if selected {
			r.Matched++
		}
		if !selected || r.DryRun {
			r.Read++
			outcome := ReplayedSkipped
			if selected {
				outcome = ReplayedCounted
			}
			obs.Replayed(cfg.Stage, outcome, 0)
			progress()
			return nil
		}
		key := m.Header.Get(HeaderKey)
		events, herr := b.replayKey(lctx, cfg, m, h)
		switch {
		case herr != nil && !deadLettered(herr):
			// Not the record's fault: the attempt stops, to be taken
			// again later.
			return Transient(fmt.Errorf("key %.200s: %w", key, herr))
		case herr != nil:
			if err := b.deadLetterReplayed(lctx, cfg.Stage, r.ID, m, herr); err != nil {
				return Transient(err)
			}
			r.Read++
			r.Failed++
			r.LastError = fmt.Sprintf("%.200s: %.500s", key, herr.Error())
			log.Warn("replay: key refused; dead-lettered", "key", clipKey(key), "err", herr)
			obs.DeadLettered(cfg.Stage)
			obs.Replayed(cfg.Stage, ReplayedRefused, 0)
		case len(events) > 0:
			// Read again: a newer version of the key may have come in
			// since the read began; it is the live consumer's.
			last, lerr := reader.Last(lctx, key)
			if lerr != nil && !IsNotFound(lerr) {
				return Transient(lerr)
			}
			if lerr != nil || last.Sequence != m.Sequence {
				r.Read++
				r.Superseded++
				obs.Replayed(cfg.Stage, ReplayedSuperseded, 0)
				break
			}
			n, perr := b.PublishCount(lctx, string(cfg.Stage), events...)
			r.Emitted += uint64(n)
			if perr != nil {
				return perr
			}
			r.Read++
			outcome := ReplayedUnchanged
			if n > 0 {
				outcome = ReplayedChanged
			}
			obs.Replayed(cfg.Stage, outcome, n)
		default:
			r.Read++
			obs.Replayed(cfg.Stage, ReplayedUnchanged, 0)
		}
		progress()
		return nil
	})
	if err != nil {
		return err
	}
	end := time.Now().UTC()
	r.State, r.FinishedAt, r.Failures = ReplayDone, &end, 0
	if err := b.saveReplay(context.WithoutCancel(ctx), *r); err != nil {
		return err
	}
	log.Info("replay done", "read", r.Read, "matched", r.Matched, "dry_run", r.DryRun, "emitted", r.Emitted, "superseded", r.Superseded, "failed", r.Failed)
	return nil
}

// replayKey hands m to h, trying again (cfg.KeyRetries times, with a short
// growing wait) while h fails with an error neither Permanent nor
// Transient, as the live stage's retries do.
func (b *Bus) replayKey(ctx context.Context, cfg ReplayerConfig, m StoredMessage, h Handler) ([]Event, error) {
	if Undecoded(m) {
		// Dead-lettered as the live stage would, without the handler.
		_, err := decodePayload(m.Data, m.Header.Get(HeaderEncoding))
		return nil, Permanent(err)
	}
	key := m.Header.Get(HeaderKey)
	md := make(map[string]string, len(m.Header))
	for k := range m.Header {
		md[k] = m.Header.Get(k)
	}
	var events []Event
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = 100*time.Millisecond, time.Second, 0
	err := backoff.Retry(func() error {
		var err error
		events, err = h(ctx, &Message{Key: key, Payload: m.Data, Metadata: md})
		if err != nil && (errors.Is(err, ErrPermanent) || errors.Is(err, ErrTransient) || errors.Is(err, context.Canceled)) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(backoff.WithMaxRetries(bo, uint64(cfg.KeyRetries)), ctx))
	return events, err
}

// maxReplayReasonHeader bounds the reason a replay's dead letter carries.
const maxReplayReasonHeader = 4000

// deadLetterReplayed files m, the input message of a key the replay id of
// stage refused with cause, in the dead letters as the live stage would
// (its headers, the stage, the reason, one attempt, the subject it was read
// from: a redrive sends it back there), with HeaderReplay. Its message id
// names the replay and the input message, so that a replay taken again
// within the dead letters' dedup window does not file it twice.
func (b *Bus) deadLetterReplayed(ctx context.Context, stage Stage, id string, m StoredMessage, cause error) error {
	msg := nats.NewMsg(Subject(DeadLetters, string(stage)))
	msg.Data = m.Data
	for k, vs := range m.Header {
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		for _, v := range vs {
			msg.Header.Add(k, v)
		}
	}
	reason := cause.Error()
	if len(reason) > maxReplayReasonHeader {
		reason = strings.ToValidUTF8(reason[:maxReplayReasonHeader], "")
	}
	msg.Header.Set(HeaderStage, string(stage))
	msg.Header.Set(HeaderReason, reason)
	msg.Header.Set(HeaderAttempts, "1")
	msg.Header.Set(HeaderSubject, m.Subject)
	msg.Header.Set(HeaderReplay, id)
	dedup := "replay:" + id + ":" + strconv.FormatUint(m.Sequence, 10)
	if _, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(dedup)); err != nil {
		return fmt.Errorf("bus: replay %s: dead letter of %.200s: %w", id, m.Header.Get(HeaderKey), err)
	}
	return nil
}

// replayStopped records the attempt at r that failed with err: a shutdown
// leaves it running (the next replica takes it at once); any other error
// leaves it retrying after a growing wait, or failed after
// cfg.MaxFailures in a row (ErrNoOrigin at once: it can never run here).
func (b *Bus) replayStopped(ctx context.Context, cfg ReplayerConfig, r *Replay, err error) {
	log := cfg.Logger.With("stage", cfg.Stage, "replay", r.ID)
	r.LastError = fmt.Sprintf("%.500s", err.Error())
	if ctx.Err() == nil {
		now := time.Now().UTC()
		r.Failures++
		if r.Failures >= cfg.MaxFailures || errors.Is(err, ErrNoOrigin) {
			r.State, r.FinishedAt, r.RetryAt = ReplayFailed, &now, nil
			log.Error("replay failed; it is not taken again unless retried", "failures", r.Failures, "err", err)
		} else {
			at := now.Add(cfg.retryDelay(r.Failures))
			r.State, r.RetryAt = ReplayRetrying, &at
			log.Warn("replay attempt failed; it is taken again later", "failures", r.Failures, "retry_at", at, "err", err)
		}
	}
	if serr := b.saveReplay(context.WithoutCancel(ctx), *r); serr != nil {
		log.Warn("replay: progress", "err", serr)
	}
}

// clipKey bounds a key a log line quotes.
func clipKey(key string) string {
	if len(key) > maxLoggedKey {
		return strings.ToValidUTF8(key[:maxLoggedKey], "") + "…"
	}
	return key
}

// saveReplay records r (its holder alone writes it while it holds the
// lease).
func (b *Bus) saveReplay(ctx context.Context, r Replay) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("bus: replay %s: %w", r.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = b.State(BucketReplays).Put(ctx, replayKey(r.Stage, r.ID), v)
	return err
}

// NewHolder returns a name for a replica in leases and replays: the host
// name, the process id and a random suffix.
func NewHolder() string {
	host, _ := os.Hostname()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(rnd[:]))
}
