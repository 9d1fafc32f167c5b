package api

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Run states as the API shows them.
const (
	StatusRunning  = "running"
	StatusComplete = "complete"
	StatusFailed   = "failed"
)

// Run is a harvest run as the API shows it. Counts of a run under way are
// its progress so far.
type Run struct {
	RunID        string     `json:"run_id"`
	FeedID       string     `json:"feed_id"`
	Facility     string     `json:"facility,omitempty"`
	Status       string     `json:"status"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	From         string     `json:"from,omitempty"`
	ResponseDate *time.Time `json:"response_date,omitempty"`
	Pages        int64      `json:"pages"`
	Records      int64      `json:"records"`
	Deleted      int64      `json:"deleted"`
	Rejected     int64      `json:"rejected"`
	// Bytes of the pages received.
	Bytes int64 `json:"bytes"`
	// Retries of failed requests.
	Retries int64 `json:"retries"`
	// ListSize is the size of the complete list when the source announced
	// it (0: unknown): the progress of a run under way is Records of it.
	ListSize int64 `json:"list_size,omitempty"`
	// Seconds the run took (so far, for a run under way).
	Seconds float64 `json:"seconds,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Done reports whether the run has ended, complete or failed.
func (r Run) Done() bool { return r.Status == StatusComplete || r.Status == StatusFailed }

// sameState reports whether r and o are the same run in the same state.
func (r Run) sameState(o Run) bool {
	return r.RunID == o.RunID && r.Status == o.Status && r.Pages == o.Pages && r.Records == o.Records &&
		r.Deleted == o.Deleted && r.Rejected == o.Rejected && r.Error == o.Error && r.ListSize == o.ListSize
}

// RunView returns what the API shows of a run report.
func RunView(r *fairwayv1.HarvestRun) Run {
	v := Run{
		RunID: r.GetRunId(), FeedID: r.GetFeedId(), Facility: r.GetFacility(), From: r.GetFrom(),
		Pages: r.GetPages(), Records: r.GetRecords(), Deleted: r.GetDeleted(), Rejected: r.GetRejected(), Error: r.GetError(),
		Bytes: r.GetBytes(), Retries: r.GetRetries(), ListSize: r.GetListSize(),
		Status:    strings.ToLower(strings.TrimPrefix(r.GetStatus().String(), "HARVEST_STATUS_")),
		StartedAt: timeOf(r.GetStartedAt()), FinishedAt: timeOf(r.GetFinishedAt()), ResponseDate: timeOf(r.GetResponseDate()),
	}
	if v.StartedAt != nil && v.FinishedAt != nil {
		v.Seconds = v.FinishedAt.Sub(*v.StartedAt).Seconds()
	}
	return v
}

func timeOf(t *timestamppb.Timestamp) *time.Time {
	if t == nil || !t.IsValid() {
		return nil
	}
	v := t.AsTime().UTC()
	return &v
}
