package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/delivery"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/harvester"
)

// The status route (operators only: it names the destinations and their
// errors):
//
//	GET /api/v1/status    the one screen an operator looks at first (NodeStatus)

// NodeStatus answers GET /api/v1/status.
type NodeStatus struct {
	// Time the status was taken.
	Time time.Time `json:"time"`
	// Streams and their durable consumers.
	Streams []bus.StreamStatus `json:"streams"`
	// Stages are the pipeline stages' consumers with their lag and
	// dead letters, in pipeline order.
	Stages []StageStatus `json:"stages"`
	// ReadModels are the read models' followers of the catalogue;
	// ReadModelLag the largest lag among them.
	ReadModels   []bus.ConsumerStatus `json:"read_models"`
	ReadModelLag uint64               `json:"read_model_lag"`
	// Analytics are the analytics writer's consumers; AnalyticsLag the sum
	// of their lags; AnalyticsState says whether a writer reads them
	// (AnalyticsActive, AnalyticsDisabled or AnalyticsAbsent): the lag of
	// consumers no writer reads is no delay of the analytics but their
	// absence.
	Analytics      []bus.ConsumerStatus `json:"analytics"`
	AnalyticsLag   uint64               `json:"analytics_lag"`
	AnalyticsState string               `json:"analytics_state"`
	// Feeds and their last runs.
	Feeds []FeedStatus `json:"feeds"`
	// Destinations and how their delivery stands (nil when the node does
	// not say: no status reader).
	Destinations []destinations.Status `json:"destinations"`
	// DeadLetters counts the dead letters by the stage that gave up on
	// them ("other": a stage this node does not know); DeadLettersTotal is
	// their sum.
	DeadLetters      map[string]uint64 `json:"dead_letters"`
	DeadLettersTotal uint64            `json:"dead_letters_total"`
}

// The analytics states of NodeStatus.
const (
	// AnalyticsActive: a writer reads the analytics consumers (in this
	// process or in an analytics service elsewhere).
	AnalyticsActive = "active"
	// AnalyticsDisabled: the consumers exist and no writer reads them
	// (the node runs with --no-analytics and no analytics service runs
	// elsewhere, or the writer has not reached ClickHouse since it
	// started).
	AnalyticsDisabled = "disabled"
	// AnalyticsAbsent: the node has no analytics consumer.
	AnalyticsAbsent = "absent"
)

// AnalyticsRecent is how long after its last acknowledgement an analytics
// consumer counts as read by a writer when no pull request of one waits
// (a writer between two subscriptions, after a failed batch).
const AnalyticsRecent = 5 * time.Minute

// analyticsState tells from the analytics consumers whether a writer reads
// them: one of them has a pull request waiting (a writer's subscription
// asks for work), messages delivered and not yet acknowledged (a writer
// holds a batch, or retries one), or acknowledged within AnalyticsRecent.
func analyticsState(cs []bus.ConsumerStatus, now time.Time) string {
	if len(cs) == 0 {
		return AnalyticsAbsent
	}
	for _, c := range cs {
		if c.Waiting > 0 || c.AckPending > 0 || (!c.LastActive.IsZero() && now.Sub(c.LastActive) < AnalyticsRecent) {
			return AnalyticsActive
		}
	}
	return AnalyticsDisabled
}

// StageStatus is how a pipeline stage stands.
type StageStatus struct {
	// Stage and the stream it reads.
	Stage  string     `json:"stage"`
	Stream bus.Stream `json:"stream"`
	// Pending, AckPending and Lag (their sum) of its consumer.
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
	Lag        uint64 `json:"lag"`
	// DeadLetters waiting that it gave up on.
	DeadLetters uint64 `json:"dead_letters"`
}

// FeedStatus is a feed and its last run.
type FeedStatus struct {
	ID       string `json:"id"`
	Facility string `json:"facility"`
	Enabled  bool   `json:"enabled"`
	// LastRun is its last harvest run (nil: never harvested).
	LastRun *Run `json:"last_run"`
}

func (s *Server) routeStatus() {
	s.mux.HandleFunc("GET /api/v1/status", s.write(s.onlyOperator(s.status)))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, _ Principal) error {
	out, err := s.Status(r.Context())
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, out)
	return nil
}

// Status takes the node's status.
func (s *Server) Status(ctx context.Context) (NodeStatus, error) {
	out := NodeStatus{
		Time: time.Now().UTC(), Stages: []StageStatus{}, ReadModels: []bus.ConsumerStatus{}, Analytics: []bus.ConsumerStatus{},
		Feeds: []FeedStatus{}, DeadLetters: map[string]uint64{},
	}
	var err error
	if out.Streams, err = s.bus.Status(ctx); err != nil {
		return out, err
	}
	pipeline := []bus.Stage{bus.StageNormaliser, bus.StageEnricher, bus.StagePublisher}
	byName := map[string]bus.ConsumerStatus{}
	for _, st := range out.Streams {
		if st.Name == bus.DeadLetters {
			out.DeadLettersTotal = st.Messages
		}
		for _, c := range st.Consumers {
			byName[c.Name] = c
			switch {
			case strings.HasPrefix(c.Name, bus.ReadModelPrefix):
				out.ReadModels = append(out.ReadModels, c)
				out.ReadModelLag = max(out.ReadModelLag, c.Lag)
			case strings.HasPrefix(c.Name, string(bus.StageAnalytics)):
				out.Analytics = append(out.Analytics, c)
				out.AnalyticsLag += c.Lag
			}
		}
	}
	out.AnalyticsState = analyticsState(out.Analytics, out.Time)
	// Dead letters are counted by subject (one per stage that gave up).
	stages := []string{harvester.Origin}
	for _, c := range bus.Consumers {
		stages = append(stages, string(c.Stage))
	}
	all, err := s.dreg.List(ctx)
	if err != nil {
		return out, err
	}
	for _, d := range all {
		stages = append(stages, delivery.StageOf(d.ID))
	}
	var counted uint64
	for _, stage := range stages {
		n, err := s.bus.DeadLetterCount(ctx, stage)
		if err != nil {
			return out, err
		}
		if n > 0 {
			out.DeadLetters[stage] = n
			counted += n
		}
	}
	if out.DeadLettersTotal > counted {
		out.DeadLetters["other"] = out.DeadLettersTotal - counted
	}
	for _, stage := range pipeline {
		in, _ := bus.InputOf(stage)
		c := byName[string(stage)]
		out.Stages = append(out.Stages, StageStatus{
			Stage: string(stage), Stream: in, Pending: c.Pending, AckPending: c.AckPending, Lag: c.Lag,
			DeadLetters: out.DeadLetters[string(stage)],
		})
	}
	feeds, err := s.reg.List(ctx)
	if err != nil {
		return out, err
	}
	for _, f := range feeds {
		fs := FeedStatus{ID: f.ID, Facility: f.Facility, Enabled: f.Enabled}
		runs, err := harvester.LastRuns(ctx, s.bus, f.ID, 1)
		if err != nil {
			return out, err
		}
		if len(runs) > 0 {
			v := []Run{RunView(runs[0])}
			s.addProgress(ctx, f.ID, v)
			fs.LastRun = &v[0]
		}
		out.Feeds = append(out.Feeds, fs)
	}
	slices.SortFunc(out.Feeds, func(a, b FeedStatus) int { return strings.Compare(a.ID, b.ID) })
	if s.cfg.Destinations != nil {
		out.Destinations = []destinations.Status{}
		for _, d := range all {
			st, err := s.cfg.Destinations.Status(ctx, d)
			if err != nil {
				return out, err
			}
			out.Destinations = append(out.Destinations, st)
		}
	}
	return out, nil
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (NodeStatus, error) {
	var out NodeStatus
	return out, c.send(ctx, http.MethodGet, "/api/v1/status", nil, &out, true)
}
