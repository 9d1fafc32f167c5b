package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/urlguard"
)

// opsConsumers returns the names of the consumers on the ops stream.
func opsConsumers(t *testing.T, b *bus.Bus) []string {
	t.Helper()
	ctx := context.Background()
	str, err := b.JetStream().Stream(ctx, string(bus.Ops))
	if err != nil {
		t.Fatal(err)
	}
	names := str.ConsumerNames(ctx)
	var out []string
	for n := range names.Name() {
		out = append(out, n)
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunsReleaseTheirConsumers reads the runs of a feed many times (with
// runs and without, and through harvest requests, which read them too):
// every request releases what it read the ops stream with, so the stream
// is left with the consumers it was provisioned with.
func TestRunsReleaseTheirConsumers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	before := opsConsumers(t, e.bus)
	e.runHarvester()
	c := e.client(opToken)
	no := false
	for _, id := range []string{"harvested", "idle"} {
		if _, err := c.CreateFeed(ctx, api.FeedInput{ID: ptr(id), Facility: ptr("ESRF"), URL: &e.sample, Format: ptr("oai_dc"), Enabled: &no}); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := c.Harvest(ctx, "harvested", api.HarvestRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if run, err := c.Follow(ctx, acc, 20*time.Millisecond, nil); err != nil || run.Status != api.StatusComplete {
		t.Fatalf("run %+v, %v", run, err)
	}
	for i := range 20 {
		for _, id := range []string{"harvested", "idle"} {
			runs, err := c.Runs(ctx, id, 10)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{"harvested": 1, "idle": 0}[id]; len(runs) != want {
				t.Fatalf("request %d: %d runs of %s, want %d", i, len(runs), id, want)
			}
		}
	}
	after := opsConsumers(t, e.bus)
	if len(after) != len(before) {
		t.Fatalf("the ops stream has consumers %v after the requests; it had %v before", after, before)
	}
}
