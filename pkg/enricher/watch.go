package enricher

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

// watch follows the node's release until ctx ends: every cfg.Watch it
// looks whether the release changed (one request), and it reports the
// release in use often enough for its presence entry not to expire.
func (s *Stage) watch(ctx context.Context) {
	t := time.NewTicker(s.cfg.Watch)
	defer t.Stop()
	s.report(ctx)
	reported := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := s.Refresh(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Debug("PaNET release", "err", err)
		}
		if changed || err != nil || time.Since(reported) >= bus.LeaseTTL/3 {
			s.report(ctx)
			reported = time.Now()
		}
	}
}

// Refresh loads the node's release when it is not the one the stage tags
// with, and reports whether it swapped. A release that cannot be read
// leaves the stage with the one it has; it is logged and reported (see
// Enrichers) once, and not tried again until the node's release changes.
func (s *Stage) Refresh(ctx context.Context) (bool, error) {
	if s.bus == nil {
		return false, nil
	}
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	info, err := StoredRelease(ctx, s.bus)
	if bus.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cur := s.cur.Load()
	s.mu.Lock()
	bad := s.badSeen
	s.mu.Unlock()
	if info.Digest == cur.release.Digest || info.Digest == bad {
		return false, nil
	}
	data, stored, err := ReleaseData(ctx, s.bus)
	if err != nil {
		return false, err
	}
	if d := Digest(data); d != stored.Digest {
		// Replaced while it was read, or damaged: the next look decides.
		return false, fmt.Errorf("enricher: the node's release has digest %s, its record says %s", d, stored.Digest)
	}
	ont, rel, err := ParseRelease(data, stored.Source)
	if err != nil {
		s.mu.Lock()
		s.badSeen, s.loadErr = stored.Digest, err.Error()
		s.mu.Unlock()
		s.log.Error("the node's new PaNET release cannot be loaded; tagging goes on with the release in use",
			"digest", stored.Digest, "in_use", cur.version, "err", err)
		return false, err
	}
	rel.StoredAt = stored.StoredAt
	s.swap(ont, rel)
	s.mu.Lock()
	s.badSeen, s.loadErr = "", ""
	s.mu.Unlock()
	s.log.Info("PaNET release changed", "old_version", cur.release.Version, "old_digest", cur.release.Digest,
		"new_version", rel.Version, "new_digest", rel.Digest, "classes", rel.Classes)
	return true, nil
}

// report records the release in use in bus.BucketPresence.
func (s *Stage) report(ctx context.Context) {
	cur := s.cur.Load()
	s.mu.Lock()
	p := Presence{Holder: s.cfg.Holder, Version: cur.release.Version, Digest: cur.release.Digest, Source: cur.release.Source,
		LoadedAt: cur.loadedAt, Error: s.loadErr, Seen: s.now().UTC()}
	s.mu.Unlock()
	v, err := json.Marshal(p)
	if err == nil {
		_, err = s.bus.State(bus.BucketPresence).Put(ctx, presencePrefix+bus.Digest(s.cfg.Holder), v)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("reporting the PaNET release in use", "err", err)
	}
}
