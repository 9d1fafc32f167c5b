package api

import (
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

func TestAnalyticsState(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	idle := bus.ConsumerStatus{Name: "analytics", Lag: 40}
	for _, c := range []struct {
		name string
		cs   []bus.ConsumerStatus
		want string
	}{
		{"no analytics consumer", nil, AnalyticsAbsent},
		{"consumers no writer ever read (--no-analytics)", []bus.ConsumerStatus{idle, idle}, AnalyticsDisabled},
		{"read long ago", []bus.ConsumerStatus{{Name: "analytics", LastActive: now.Add(-time.Hour)}}, AnalyticsDisabled},
		{"a writer's pull request waits", []bus.ConsumerStatus{idle, {Name: "analytics-ops", Waiting: 1}}, AnalyticsActive},
		{"a writer holds a batch", []bus.ConsumerStatus{{Name: "analytics", AckPending: 12}}, AnalyticsActive},
		{"acknowledged a minute ago", []bus.ConsumerStatus{{Name: "analytics", LastActive: now.Add(-time.Minute)}}, AnalyticsActive},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := analyticsState(c.cs, now); got != c.want {
				t.Errorf("analyticsState = %q, want %q", got, c.want)
			}
		})
	}
}
