package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

type handled struct {
	stage   Stage
	emitted int
	outcome Outcome
}

type recordingObserver struct{ got []handled }

func (o *recordingObserver) Handled(stage Stage, _ time.Duration, emitted int, outcome Outcome) {
	o.got = append(o.got, handled{stage, emitted, outcome})
}
func (o *recordingObserver) Batch(Stage, int, int, time.Duration, error) {}
func (o *recordingObserver) DeadLettered(Stage)                          {}
func (o *recordingObserver) Replayed(Stage, ReplayOutcome, int)          {}
func (o *recordingObserver) ReplayProgress(Replay, bool)                 {}

func TestObserveMiddleware(t *testing.T) {
	for _, c := range []struct {
		name    string
		emit    int
		err     error
		want    Outcome
		emitted int
	}{
		{"handled", 3, nil, OutcomeOK, 3},
		{"handled, nothing emitted", 0, nil, OutcomeOK, 0},
		{"permanent", 0, Permanent(errors.New("bad record")), OutcomeDeadLettered, 0},
		{"retries exhausted", 0, errors.New("boom"), OutcomeDeadLettered, 0},
		{"transient", 0, Transient(errors.New("later")), OutcomeFailed, 0},
		{"shutdown", 0, fmt.Errorf("stopping: %w", context.Canceled), OutcomeFailed, 0},
		{"emitted then failed", 2, errors.New("boom"), OutcomeDeadLettered, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs := &recordingObserver{}
			h := observe(StageEnricher, obs, slog.New(slog.DiscardHandler))(func(msg *message.Message) ([]*message.Message, error) {
				noteEmitted(msg.Context(), c.emit)
				return nil, c.err
			})
			_, err := h(message.NewMessage("id", []byte("x")))
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v passed on", err, c.err)
			}
			want := []handled{{StageEnricher, c.emitted, c.want}}
			if len(obs.got) != 1 || obs.got[0] != want[0] {
				t.Errorf("observed %+v, want %+v", obs.got, want)
			}
		})
	}
}

func TestNoteEmittedWithoutObserver(t *testing.T) {
	noteEmitted(context.Background(), 5) // no counter in the context: nothing happens
	if _, ok := (&Bus{}).observer().(nopObserver); !ok {
		t.Error("a bus without an observer does not use the no-op one")
	}
}

func TestRecordLogger(t *testing.T) {
	long := strings.Repeat("k", 5000)
	for _, c := range []struct {
		name string
		md   message.Metadata
		want []string
		not  []string
	}{
		{"every field", message.Metadata{HeaderKey: "10.5072/abc", HeaderCorrelation: "run-1", HeaderFeed: "esrf"},
			[]string{"stage=normaliser", "key=10.5072/abc", "correlation_id=run-1", "feed=esrf"}, nil},
		{"no feed", message.Metadata{HeaderKey: "k", HeaderCorrelation: "run-2"}, []string{"key=k", "correlation_id=run-2"}, []string{"feed="}},
		{"long key bounded", message.Metadata{HeaderKey: long}, []string{"key=" + strings.Repeat("k", maxLoggedKey) + "…"}, []string{strings.Repeat("k", maxLoggedKey+1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf strings.Builder
			base := slog.New(slog.NewTextHandler(&buf, nil))
			ctx := withRecordLogger(context.Background(), recordLogger(base, StageNormaliser, c.md))
			Log(ctx, slog.New(slog.DiscardHandler)).Info("about the record")
			for _, w := range c.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log line %q lacks %q", buf.String(), w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(buf.String(), n) {
					t.Errorf("log line %q holds %q", buf.String(), n)
				}
			}
		})
	}
	var buf strings.Builder
	Log(context.Background(), slog.New(slog.NewTextHandler(&buf, nil))).Info("outside")
	if !strings.Contains(buf.String(), "outside") {
		t.Error("outside a handler Log is not the default logger")
	}
}
