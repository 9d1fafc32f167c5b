package node

import (
	"log/slog"

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
// DataDir (made the first time), the robots list from cfg.UsageRobots or
// the built-in one.
func newUsage(cfg Config, b *bus.Bus, log *slog.Logger) (*usageParts, error) {
	secret, err := usage.LoadSecret(cfg.DataDir)
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
