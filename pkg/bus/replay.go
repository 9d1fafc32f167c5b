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
	"strings"
	"time"
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
)

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
	// Failed is how many keys the handler refused; LastError says why.
	Failed uint64 `json:"failed"`
	// Attempts counts the times a replica took the replay.
	Attempts int `json:"attempts"`
	// LastError is the last error met (a key refused, a publish that
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

// Done reports whether the replay ended.
func (r Replay) Done() bool { return r.State == ReplayDone }

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
}

// Validate reports whether the configuration is usable.
func (c ReplayerConfig) Validate() error {
	if _, ok := InputOf(c.Stage); !ok {
		return fmt.Errorf("%w: %q", ErrNoInput, c.Stage)
	}
	if c.Holder == "" {
		return errors.New("bus: replayer: holder is required")
	}
	if c.Poll < 0 || c.ProgressEvery < 0 {
		return errors.New("bus: replayer: negative interval")
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
// that one: an older version must not overtake it). Keys that h refuses are
// counted, and the replay goes on. A replay cut short (ctx, a failed
// publish) stays running, to be taken again.
func (b *Bus) RunReplay(ctx context.Context, cfg ReplayerConfig, id string, h Handler) (Replay, error) {
	if err := cfg.Validate(); err != nil {
		return Replay{}, err
	}
	cfg.setDefaults(b)
	input, _ := InputOf(cfg.Stage)
	r, _, err := b.replay(ctx, cfg.Stage, id)
	if err != nil {
		return Replay{}, err
	}
	if r.Done() {
		return r, nil
	}
	lctx, release, err := b.lease(ctx, replayLease(cfg.Stage, id), cfg.Holder, cfg.Logger)
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
	if (r.Filter.Feed != "" || r.Filter.Facility != "") && cfg.Origin == nil {
		return r, fmt.Errorf("bus: replay %s of %s: %w", id, cfg.Stage, ErrNoOrigin)
	}
	if cfg.Prepare != nil && !r.DryRun {
		if err := cfg.Prepare(lctx); err != nil {
			return r, fmt.Errorf("bus: replay %s of %s: prepare: %w", id, cfg.Stage, err)
		}
	}
	log := cfg.Logger.With("stage", cfg.Stage, "replay", id)
	reader := b.StreamReader(input)
	total, err := reader.Count(lctx)
	if err != nil {
		return r, err
	}
	now := time.Now().UTC()
	r.State, r.Holder, r.StartedAt, r.FinishedAt = ReplayRunning, cfg.Holder, &now, nil
	r.Total, r.Read, r.Emitted, r.Superseded, r.Failed, r.Matched, r.LastError = total, 0, 0, 0, 0, 0, ""
	r.Attempts++
	if err := b.saveReplay(lctx, r); err != nil {
		return r, err
	}
	log.Info("replay started", "keys", total, "attempt", r.Attempts)
	saved := time.Now()
	err = reader.EachLast(lctx, func(m StoredMessage) error {
		selected := r.Filter.match(m, cfg.Origin)
		if selected {
			r.Matched++
		}
		if !selected || r.DryRun {
			r.Read++
			if time.Since(saved) >= cfg.ProgressEvery {
				saved = time.Now()
				if err := b.saveReplay(lctx, r); err != nil {
					log.Warn("replay: progress", "err", err)
				}
			}
			return nil
		}
		key := m.Header.Get(HeaderKey)
		md := make(map[string]string, len(m.Header))
		for k := range m.Header {
			md[k] = m.Header.Get(k)
		}
		events, herr := h(lctx, &Message{Key: key, Payload: m.Data, Metadata: md})
		r.Read++
		switch {
		case herr != nil:
			r.Failed++
			r.LastError = fmt.Sprintf("%.200s: %.500s", key, herr.Error())
			log.Warn("replay: key refused", "key", key, "err", herr)
		case len(events) > 0:
			// Read again: a newer version of the key may have come in
			// since the read began; it is the live consumer's.
			last, lerr := reader.Last(lctx, key)
			if lerr != nil && !IsNotFound(lerr) {
				return Transient(lerr)
			}
			if lerr != nil || last.Sequence != m.Sequence {
				r.Superseded++
				break
			}
			n, perr := b.PublishCount(lctx, string(cfg.Stage), events...)
			r.Emitted += uint64(n)
			if perr != nil {
				return perr
			}
		}
		if time.Since(saved) >= cfg.ProgressEvery {
			saved = time.Now()
			if err := b.saveReplay(lctx, r); err != nil {
				log.Warn("replay: progress", "err", err)
			}
		}
		return nil
	})
	if err != nil {
		r.LastError = fmt.Sprintf("%.500s", err.Error())
		if serr := b.saveReplay(context.WithoutCancel(ctx), r); serr != nil {
			log.Warn("replay: progress", "err", serr)
		}
		return r, fmt.Errorf("bus: replay %s of %s: %w", id, cfg.Stage, err)
	}
	end := time.Now().UTC()
	r.State, r.FinishedAt = ReplayDone, &end
	if err := b.saveReplay(context.WithoutCancel(ctx), r); err != nil {
		return r, err
	}
	log.Info("replay done", "read", r.Read, "matched", r.Matched, "dry_run", r.DryRun, "emitted", r.Emitted, "superseded", r.Superseded, "failed", r.Failed)
	return r, nil
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

// lease takes key in BucketLeases for holder, or fails with ErrExists when
// another holds it. The returned context ends when the lease is lost (it
// could not be refreshed in time) or ctx ends; release gives it back.
func (b *Bus) lease(ctx context.Context, key, holder string, log *slog.Logger) (context.Context, func(), error) {
	kv := b.State(BucketLeases)
	rev, err := kv.Create(ctx, key, []byte(holder))
	if err != nil {
		return nil, nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(LeaseTTL / 3)
		defer t.Stop()
		refreshed := time.Now()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if late := time.Since(refreshed); late > LeaseTTL/2 {
					log.Warn("lease not refreshed in time; the work stops", "lease", key, "since", late)
					cancel()
					return
				}
				next, err := kv.Update(lctx, key, []byte(holder), rev)
				if err != nil {
					if lctx.Err() == nil {
						log.Warn("lease lost; the work stops", "lease", key, "err", err)
						cancel()
					}
					return
				}
				rev, refreshed = next, time.Now()
			}
		}
	}()
	release := func() {
		cancel()
		<-done
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		_ = kv.DeleteAt(rctx, key, rev)
	}
	return lctx, release, nil
}

// NewHolder returns a name for a replica in leases and replays: the host
// name, the process id and a random suffix.
func NewHolder() string {
	host, _ := os.Hostname()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(rnd[:]))
}
