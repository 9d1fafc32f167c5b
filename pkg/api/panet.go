package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/panet"
)

// The PaNET and replay routes:
//
//	GET  /api/v1/panet                   the node's release and the release each running enricher uses
//	GET  /api/v1/panet/release           the node's release, the OWL file itself
//	PUT  /api/v1/panet/release           make the body (an OWL file, at most enricher.MaxReleaseSize) the node's release (operators)
//	POST /api/v1/replays                 replay a stage (normaliser, enricher, publisher): {"stage":"enricher","reason":"…",
//	                                     "feed"|"facility":"…","since_seq":N,"until_seq":N,"since":"RFC 3339","until":"…","dry_run":true}; 202 (operators)
//	GET  /api/v1/replays/{stage}/{id}    a replay's progress (operators)
//	POST /api/v1/replays/{stage}/{id}/retry  take a failed (or retrying) replay again at once, its failures
//	                                     forgotten (operators); 409 for a replay that has not failed

// PaNETView answers GET /api/v1/panet.
type PaNETView struct {
	// Release is the node's release; nil when none is stored yet.
	Release *enricher.Release `json:"release"`
	// Enrichers are the running enrichers and the release each uses.
	Enrichers []enricher.Presence `json:"enrichers"`
}

// PaNETUpdate answers PUT /api/v1/panet/release.
type PaNETUpdate struct {
	// Previous is the release the node had (nil: none).
	Previous *enricher.Release `json:"previous"`
	// Release is the node's release now.
	Release enricher.Release `json:"release"`
	// Changed is false when the body was the node's release already.
	Changed bool `json:"changed"`
	// Summary says what the new release changes for tagging.
	Summary panet.Summary `json:"summary"`
}

// StageReplayRequest is the body of POST /api/v1/replays.
type StageReplayRequest struct {
	// Stage to replay (enricher).
	Stage string `json:"stage"`
	// Reason is kept with the replay.
	Reason string `json:"reason,omitempty"`
	// Feed or Facility, when set, replays only the keys whose last input
	// message comes from it.
	Feed     string `json:"feed,omitempty"`
	Facility string `json:"facility,omitempty"`
	// SinceSeq and UntilSeq bound the input message's stream sequence
	// (inclusive).
	SinceSeq uint64 `json:"since_seq,omitempty"`
	UntilSeq uint64 `json:"until_seq,omitempty"`
	// Since and Until bound when it was stored (Since inclusive, Until
	// exclusive).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// DryRun only counts the keys the replay would hand to the stage.
	DryRun bool `json:"dry_run,omitempty"`
}

// ReplayableStages are the stages POST /api/v1/replays replays.
var ReplayableStages = []bus.Stage{bus.StageNormaliser, bus.StageEnricher, bus.StagePublisher}

// errInvalidReplay refuses a replay of a stage that cannot be replayed.
var errInvalidReplay = errors.New("invalid replay")

func (s *Server) routePaNET() {
	s.mux.HandleFunc("GET /api/v1/panet", s.showPaNET)
	s.mux.HandleFunc("GET /api/v1/panet/release", s.getPaNETRelease)
	s.mux.HandleFunc("PUT /api/v1/panet/release", s.writeLimit(enricher.MaxReleaseSize, s.onlyOperator(s.putPaNETRelease)))
	s.mux.HandleFunc("POST /api/v1/replays", s.write(s.onlyOperator(s.requestReplay)))
	s.mux.HandleFunc("GET /api/v1/replays/{stage}/{id}", s.write(s.onlyOperator(s.replayStatus)))
	s.mux.HandleFunc("POST /api/v1/replays/{stage}/{id}/retry", s.write(s.onlyOperator(s.retryReplay)))
}

// onlyOperator refuses every principal but an operator.
func (s *Server) onlyOperator(h func(http.ResponseWriter, *http.Request, Principal) error) func(http.ResponseWriter, *http.Request, Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p Principal) error {
		if !p.Operator {
			return fmt.Errorf("%w: %s: only an operator token may change the node's ontology or replay a stage", ErrForbidden, p)
		}
		return h(w, r, p)
	}
}

func (s *Server) showPaNET(w http.ResponseWriter, r *http.Request) {
	var out PaNETView
	rel, err := enricher.StoredRelease(r.Context(), s.bus)
	switch {
	case err == nil:
		out.Release = &rel
	case !bus.IsNotFound(err):
		s.fail(w, r, err)
		return
	}
	if out.Enrichers, err = enricher.Enrichers(r.Context(), s.bus); err != nil {
		s.fail(w, r, err)
		return
	}
	if out.Enrichers == nil {
		out.Enrichers = []enricher.Presence{}
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) getPaNETRelease(w http.ResponseWriter, r *http.Request) {
	data, rel, err := enricher.ReleaseData(r.Context(), s.bus)
	if bus.IsNotFound(err) {
		err = fmt.Errorf("%w: the node has no PaNET release yet", errNotFound)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/rdf+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("ETag", `"`+rel.Digest+`"`)
	_, _ = w.Write(data)
}

func (s *Server) putPaNETRelease(w http.ResponseWriter, r *http.Request, p Principal) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	next, _, err := enricher.ParseRelease(data, "")
	if err != nil {
		return err
	}
	var out PaNETUpdate
	var prev *panet.Ontology
	if old, rel, err := enricher.ReleaseData(r.Context(), s.bus); err == nil {
		out.Previous = &rel
		if prev, _, err = enricher.ParseRelease(old, rel.Source); err != nil {
			prev = nil // an unreadable release is replaced: everything is new
		}
	} else if !bus.IsNotFound(err) {
		return err
	}
	if out.Release, err = enricher.PutRelease(r.Context(), s.bus, data, "upload by "+p.String()); err != nil {
		return err
	}
	out.Changed = out.Previous == nil || out.Previous.Digest != out.Release.Digest
	out.Summary = panet.Diff(prev, next)
	s.log.Info("PaNET release stored", "version", out.Release.Version, "digest", out.Release.Digest, "changed", out.Changed, "by", p)
	s.reply(w, http.StatusOK, out)
	return nil
}

func (s *Server) requestReplay(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in StageReplayRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if !slices.Contains(ReplayableStages, bus.Stage(in.Stage)) {
		return fmt.Errorf("%w: stage %.100q: only the normaliser, the enricher and the publisher can be replayed (a destination: POST /api/v1/destinations/{id}/replay)", errInvalidReplay, in.Stage)
	}
	f := bus.ReplayFilter{Feed: in.Feed, Facility: in.Facility, SinceSeq: in.SinceSeq, UntilSeq: in.UntilSeq, Since: in.Since, Until: in.Until}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errInvalidReplay, err)
	}
	rep, err := s.bus.RequestStageReplay(r.Context(), bus.ReplayRequest{Stage: bus.Stage(in.Stage), Reason: in.Reason, By: p.String(), Filter: f, DryRun: in.DryRun})
	if err != nil {
		return err
	}
	s.log.Info("replay requested", "stage", rep.Stage, "replay", rep.ID, "reason", rep.Reason, "by", p)
	s.reply(w, http.StatusAccepted, rep)
	return nil
}

func (s *Server) replayStatus(w http.ResponseWriter, r *http.Request, _ Principal) error {
	rep, err := s.bus.ReplayStatus(r.Context(), bus.Stage(r.PathValue("stage")), r.PathValue("id"))
	if bus.IsNotFound(err) {
		return fmt.Errorf("%w: no replay %s of %s", errNotFound, r.PathValue("id"), r.PathValue("stage"))
	}
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, rep)
	return nil
}

func (s *Server) retryReplay(w http.ResponseWriter, r *http.Request, p Principal) error {
	rep, err := s.bus.RetryReplay(r.Context(), bus.Stage(r.PathValue("stage")), r.PathValue("id"))
	if bus.IsNotFound(err) {
		return fmt.Errorf("%w: no replay %s of %s", errNotFound, r.PathValue("id"), r.PathValue("stage"))
	}
	if err != nil {
		return err
	}
	s.log.Info("replay retried", "stage", rep.Stage, "replay", rep.ID, "by", p)
	s.reply(w, http.StatusAccepted, rep)
	return nil
}
