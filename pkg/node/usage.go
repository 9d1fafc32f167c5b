package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/usage"
)

// usageParts are what the node's HTTP side needs to take and count usage:
// the intake of POST /api/v1/usage, the recorder of the node's own pages,
// the robots list they share, and the reader of the reports (nil without
// analytics).
type usageParts struct {
	intake     *usage.Intake
	recorder   *usage.Recorder
	classifier *usage.Classifier
	reader     *analytics.Reader
}

// newUsage makes the node's usage parts: the session secret comes from
// DataDir's usage.SecretFile where one is (a node that made it before the
// bus kept it, or one an operator mounted), or else from the bus, shared
// by every replica (bus.SecretUsageSessions); the robots list comes from
// cfg.UsageRobots or the built-in one.
func newUsage(ctx context.Context, cfg Config, b *bus.Bus, log *slog.Logger) (*usageParts, error) {
	secret, err := usageSecret(ctx, cfg.DataDir, b, log)
	if err != nil {
		return nil, err
	}
	hasher, err := usage.NewHasher(secret)
	if err != nil {
		return nil, err
	}
	classifier := usage.DefaultClassifier()
	if cfg.UsageRobots != "" {
		if classifier, err = usage.LoadRobots(cfg.UsageRobots); err != nil {
			return nil, err
		}
		log.Info("robots list loaded", "path", cfg.UsageRobots, "patterns", classifier.Robots())
	}
	rec, err := usage.NewRecorder(usage.RecorderConfig{Hasher: hasher, Classifier: classifier, Logger: log}, usage.BusPublisher(b))
	if err != nil {
		return nil, err
	}
	u := &usageParts{intake: usage.NewIntake(hasher, classifier), recorder: rec, classifier: classifier}
	if !cfg.NoAnalytics {
		if u.reader, err = analytics.NewReader(cfg.ClickHouse); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// usageSecret returns the key of the usage session hashes: dir's
// usage.SecretFile where there is one (offered to the bus, so that
// replicas without a file hash with it too), or else the bus's, which every
// replica shares.
func usageSecret(ctx context.Context, dir string, b *bus.Bus, log *slog.Logger) ([]byte, error) {
	secret, err := usage.ReadSecret(dir)
	switch {
	case err == nil:
		path := filepath.Join(dir, usage.SecretFile)
		shared, err := b.OfferSecret(ctx, bus.SecretUsageSessions, secret)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(shared, secret) {
			log.Warn("the data directory's usage session secret is not the one the other replicas share: a client reaching this replica and another counts as two sessions; remove the file to use the shared one", "path", path)
		} else {
			log.Info("usage session secret read from the data directory", "path", path)
		}
		return secret, nil
	case errors.Is(err, os.ErrNotExist):
		return b.Secret(ctx, bus.SecretUsageSessions, 32)
	default:
		return nil, err
	}
}

func (u *usageParts) close(log *slog.Logger) {
	if n := u.recorder.Dropped(); n > 0 {
		log.Warn("usage events dropped while the node ran", "dropped", n, "sent", u.recorder.Sent())
	}
	if u.reader == nil {
		return
	}
	if err := u.reader.Close(); err != nil {
		log.Warn("closing the usage reports", "err", err)
	}
}
