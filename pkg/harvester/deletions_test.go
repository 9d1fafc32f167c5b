package harvester_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// keepsNoDeletions makes the harness's repository declare
// deletedRecord "no" (or another value).
func (hs *harness) declareDeletedRecord(value string) {
	f := func(b []byte) []byte {
		return bytes.Replace(b, []byte("<deletedRecord>persistent</deletedRecord>"), []byte("<deletedRecord>"+value+"</deletedRecord>"), 1)
	}
	hs.srv.identify.Store(&f)
}

// shrink makes the repository serve the first size records of the corpus.
func (hs *harness) shrink(t *testing.T, size int) {
	t.Helper()
	hs.srv.setCorpus(t, samplefeed.NewCorpus(hs.corpus.Seed, size), 25)
}

func (hs *harness) harvest(t *testing.T, req harvester.RunRequest) *fairwayv1.HarvestRun {
	t.Helper()
	run, err := hs.h.Harvest(context.Background(), hs.feed, req)
	if err != nil || run.Status != complete {
		t.Fatalf("run %v: %v", run, err)
	}
	return run
}

// storedIDs returns the identifiers the object store keeps as the feed's
// last complete full run, with that run's id.
func (hs *harness) storedIDs(t *testing.T) (ids []string, runID string) {
	t.Helper()
	ctx := context.Background()
	st, err := hs.bus.JetStream().ObjectStore(ctx, string(bus.ObjectStoreSeen))
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.GetBytes(ctx, hs.feed.ID+"/complete")
	if err != nil {
		t.Fatal(err)
	}
	var base struct {
		RunID string   `json:"run_id"`
		IDs   []string `json:"ids"`
	}
	if err := json.Unmarshal(b, &base); err != nil {
		t.Fatal(err)
	}
	infos, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if strings.HasPrefix(info.Name, hs.feed.ID+"/run/") {
			t.Errorf("object %s left behind", info.Name)
		}
	}
	return base.IDs, base.RunID
}

// TestReconcileDeletions harvests a repository that keeps no deletions
// while records disappear from it: a small loss becomes deletion records, a
// large one is held until a run confirms it.
func TestReconcileDeletions(t *testing.T) {
	hs := newHarness(t, 100, 25, fastConfig())
	hs.declareDeletedRecord("no")
	// 100 records, 5 deleted at the source (i%17 == 16): 95 live.
	first := hs.harvest(t, harvester.RunRequest{})
	if first.Deleted != 5 || first.Error != "" {
		t.Fatalf("first run %v", first)
	}
	if ids, _ := hs.storedIDs(t); len(ids) != 95 {
		t.Fatalf("first run remembered %d identifiers, want 95", len(ids))
	}

	// Records 95..99 disappear: 5 of 95 (5%) are deleted.
	hs.shrink(t, 95)
	run := hs.harvest(t, harvester.RunRequest{Full: true})
	if run.Deleted != 5+5 || run.Error != "" {
		t.Fatalf("second run %v: want the 5 deleted at the source and 5 reconciled", run)
	}
	recs, n := raw(t, hs.bus)
	if n != 100+5 {
		t.Errorf("raw stream holds %d messages, want 100 records and 5 deletions", n)
	}
	for i := 95; i < 100; i++ {
		r := recs[hs.corpus.Record(i).Identifier]
		if r == nil || !r.Deleted || r.Payload != nil || r.FeedId != "misfit" || r.Provenance.GetRunId() != run.RunId {
			t.Errorf("record %d: %v, want a deletion by run %s", i, r, run.RunId)
		}
	}
	if ids, runID := hs.storedIDs(t); len(ids) != 90 || runID != run.RunId {
		t.Errorf("remembered %d identifiers of run %s, want 90 of %s", len(ids), runID, run.RunId)
	}

	// Only the first 50 are left: 42 of the 90 live identifiers would go.
	hs.shrink(t, 50)
	held := hs.harvest(t, harvester.RunRequest{Full: true})
	if held.Deleted != 2 || !strings.Contains(held.Error, "deletions held: 42 of the 90") {
		t.Fatalf("third run %v: want the deletions held, with the counts", held)
	}
	if _, n := raw(t, hs.bus); n != 105 {
		t.Errorf("a held run wrote %d messages", n-105)
	}
	if _, runID := hs.storedIDs(t); runID != run.RunId {
		t.Errorf("a held run replaced the reference (run %s)", runID)
	}
	// The operator confirms.
	confirmed := hs.harvest(t, harvester.RunRequest{ConfirmDeletions: true})
	if confirmed.Deleted != 2+42 || confirmed.Error != "" {
		t.Fatalf("confirmed run %v", confirmed)
	}
	recs, n = raw(t, hs.bus)
	if n != 105+42 {
		t.Errorf("raw stream holds %d messages, want 147", n)
	}
	live := 0
	for _, r := range recs {
		if !r.Deleted {
			live++
		}
	}
	if live != 48 {
		t.Errorf("%d records live in the raw stream, want 48", live)
	}
}

// TestReconcileSurvivesACrash interrupts a full run: the identifiers of the
// pages before the crash are remembered, so the resumed run deletes nothing.
func TestReconcileSurvivesACrash(t *testing.T) {
	hs := newHarness(t, 100, 25, fastConfig())
	hs.declareDeletedRecord("transient")
	hs.harvest(t, harvester.RunRequest{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		if n == 4+3 { // the third page of the second run
			cancel()
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		send(w, render(r))
	})
	if _, err := hs.h.Harvest(ctx, hs.feed, harvester.RunRequest{Full: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	resumed := hs.harvest(t, harvester.RunRequest{})
	if resumed.Error != "" || resumed.Pages != 4 {
		t.Fatalf("resumed run %v: want it complete without deletions", resumed)
	}
	cp := hs.checkpoint(t)
	if cp.LastComplete.Reconciled != 0 || !cp.LastComplete.Full || cp.LastComplete.RunID != resumed.RunId {
		t.Errorf("last complete run %+v", cp.LastComplete)
	}
	if ids, runID := hs.storedIDs(t); len(ids) != 95 || runID != resumed.RunId {
		t.Errorf("remembered %d identifiers of run %s, want 95 of the resumed run", len(ids), runID)
	}
}

// TestReconcileOnlyComparesLikeWithLike checks the runs that must not
// delete: after the feed changed, and when the list came back truncated.
func TestReconcileOnlyComparesLikeWithLike(t *testing.T) {
	t.Run("feed changed", func(t *testing.T) {
		hs := newHarness(t, 100, 25, fastConfig())
		hs.declareDeletedRecord("no")
		hs.harvest(t, harvester.RunRequest{})
		hs.feed.Set = "esrf" // one facility of eight
		run := hs.harvest(t, harvester.RunRequest{Full: true})
		if run.Error != "" || hs.checkpoint(t).LastComplete.Reconciled != 0 {
			t.Fatalf("run %v after a change of set", run)
		}
		if ids, runID := hs.storedIDs(t); runID != run.RunId || len(ids) >= 95 {
			t.Errorf("remembered %d identifiers of %s: want the set's, of the new run", len(ids), runID)
		}
	})
	t.Run("truncated list", func(t *testing.T) {
		hs := newHarness(t, 100, 25, fastConfig())
		hs.declareDeletedRecord("no")
		first := hs.harvest(t, harvester.RunRequest{})
		hs.shrink(t, 95)
		hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
			send(w, sizeAttr.ReplaceAll(render(r), []byte(`completeListSize="100"`)))
		})
		run := hs.harvest(t, harvester.RunRequest{Full: true})
		if !strings.Contains(run.Error, "truncated") || !strings.Contains(run.Error, "not reconciled") || run.Deleted != 5 {
			t.Fatalf("run %v: want a truncated list, no reconciliation", run)
		}
		if _, runID := hs.storedIDs(t); runID != first.RunId {
			t.Errorf("a truncated run replaced the reference")
		}
	})
}

// TestScheduledFullRuns checks when a scheduled run lists the whole feed: a
// repository that keeps no deletions gets a full run once FullEvery has
// passed, one that keeps them never does.
func TestScheduledFullRuns(t *testing.T) {
	tests := []struct {
		name          string
		deletedRecord string
		fullEvery     time.Duration
		wantFull      bool
	}{
		{"no deletions, full run recent", "no", time.Hour, false},
		{"no deletions, full run due", "no", time.Millisecond, true},
		{"transient deletions, full run due", "transient", time.Millisecond, true},
		{"persistent deletions", "persistent", time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.FullEvery = tt.fullEvery
			hs := newHarness(t, 20, 10, cfg)
			hs.declareDeletedRecord(tt.deletedRecord)
			hs.harvest(t, harvester.RunRequest{})
			time.Sleep(5 * time.Millisecond)
			hs.harvest(t, harvester.RunRequest{})
			q := hs.srv.listQueries()
			if len(q) < 3 || strings.Contains(q[0], "from=") {
				t.Fatalf("first run is not full: %s", fmtQueries(q))
			}
			if full := !strings.Contains(q[2], "from="); full != tt.wantFull {
				t.Errorf("second run full = %v, want %v: %s", full, tt.wantFull, fmtQueries(q))
			}
			cp := hs.checkpoint(t)
			if cp.LastComplete.Full != tt.wantFull || cp.LastComplete.TrackSeen != (tt.wantFull && tt.deletedRecord != "persistent") {
				t.Errorf("last complete run %+v", cp.LastComplete)
			}
		})
	}
	t.Run("persistent repositories keep no identifiers", func(t *testing.T) {
		hs := newHarness(t, 20, 10, fastConfig())
		hs.harvest(t, harvester.RunRequest{Full: true})
		objs, err := hs.bus.ObjectStore(bus.ObjectStoreSeen).List(context.Background())
		if !errors.Is(err, jetstream.ErrNoObjectsFound) {
			t.Errorf("seen store holds %d objects (%v), want none", len(objs), err)
		}
	})
}
