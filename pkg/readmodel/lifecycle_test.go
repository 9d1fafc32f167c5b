package readmodel_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// numbered returns n entries k00, k01, … of facility, datestamps a minute
// apart.
func numbered(n int, facility string) []*fairwayv1.CatalogueEntry {
	out := make([]*fairwayv1.CatalogueEntry, n)
	for i := range out {
		out[i] = entry(ds{key: fmt.Sprintf("k%02d", i), facility: facility, title: "dataset", at: day1.Add(time.Duration(i) * time.Minute),
			techniques: []*fairwayv1.Technique{technique("PaNET01188", "PaNET01012")}})
	}
	return out
}

// answers is what a model says to a set of queries: every record's key and
// sequence, and the facets.
func answers(t *testing.T, m *readmodel.Model) string {
	t.Helper()
	ctx := context.Background()
	out := ""
	for _, q := range []readmodel.Query{
		{Deleted: readmodel.WithDeleted, Order: readmodel.BySeq}, {Facility: "esrf"}, {Technique: "PaNET01012", Order: readmodel.ByDatestamp},
		{Deleted: readmodel.DeletedOnly},
	} {
		err := m.Each(ctx, q, func(r readmodel.Record) error {
			out += fmt.Sprintf("%s@%d/%v/%s ", r.Key, r.Seq, r.Deleted, r.Datestamp.Format(time.RFC3339))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out += "| "
	}
	f, err := m.Facilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tq, err := m.Techniques(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.Earliest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return out + fmt.Sprint(f, tq, e)
}

func TestTombstoneReplacesLiveEntry(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	m := start(t, b, t.TempDir(), "node")
	caughtUp(t, m.Model, publish(t, b, numbered(3, "esrf")...))
	seq := publish(t, b, entry(ds{key: "k01", facility: "esrf", deleted: true, at: day2}))
	caughtUp(t, m.Model, seq)

	if got := all(t, m.Model, readmodel.Query{}); !slices.Equal(got, []string{"k00", "k02"}) {
		t.Errorf("live %q", got)
	}
	if got := all(t, m.Model, readmodel.Query{Deleted: readmodel.DeletedOnly}); !slices.Equal(got, []string{"k01"}) {
		t.Errorf("deleted %q", got)
	}
	r, err := m.Get(ctx, "k01")
	if err != nil || !r.Deleted || r.Seq != seq || !r.Entry.GetDeleted() || !r.Datestamp.Equal(day2) {
		t.Errorf("tombstone %+v, %v", r, err)
	}
	changes, err := m.Search(ctx, readmodel.Query{AfterSeq: 3, Deleted: readmodel.WithDeleted, Order: readmodel.BySeq})
	if err != nil || !slices.Equal(keys(changes.Records), []string{"k01"}) {
		t.Errorf("changes after 3: %+v, %v", changes, err)
	}
	f, err := m.Facilities(ctx)
	if err != nil || !slices.Equal(f, []readmodel.Count{{Value: "esrf", Count: 2}}) {
		t.Errorf("facilities %v, %v", f, err)
	}
	// And back: a new version of the dataset is live again.
	caughtUp(t, m.Model, publish(t, b, entry(ds{key: "k01", facility: "esrf", at: day3})))
	if got := all(t, m.Model, readmodel.Query{}); !slices.Equal(got, []string{"k00", "k01", "k02"}) {
		t.Errorf("live after the new version %q", got)
	}
}

// TestCursorPaging pages through the catalogue while datasets are deleted
// and inserted between two pages: every dataset that stayed comes exactly
// once, a deleted one not yet reached never comes, and one inserted after
// the cursor does.
func TestCursorPaging(t *testing.T) {
	for _, order := range []readmodel.Order{readmodel.ByKey, readmodel.ByDatestamp} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			b := testenv.Bus(t)
			ctx := context.Background()
			m := start(t, b, t.TempDir(), "node")
			caughtUp(t, m.Model, publish(t, b, numbered(10, "esrf")...))
			q := readmodel.Query{Order: order, Limit: 3}
			page, err := m.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			seen := keys(page.Records)
			if !slices.Equal(seen, []string{"k00", "k01", "k02"}) || page.Total != 10 || page.Next == "" {
				t.Fatalf("first page %q total %d next %q", seen, page.Total, page.Next)
			}
			// Between two pages: k01 (seen) and k05 (not yet) are deleted,
			// k00a is inserted before the cursor, k07a after it, and k02,
			// the page's last, is written again in place.
			caughtUp(t, m.Model, publish(t, b,
				entry(ds{key: "k02", facility: "esrf", title: "again", at: day1.Add(2 * time.Minute)}),
				entry(ds{key: "k01", facility: "esrf", deleted: true, at: day1.Add(time.Minute)}),
				entry(ds{key: "k05", facility: "esrf", deleted: true, at: day1.Add(5 * time.Minute)}),
				entry(ds{key: "k00a", facility: "esrf", at: day1.Add(30 * time.Second)}),
				entry(ds{key: "k07a", facility: "esrf", at: day1.Add(7*time.Minute + 30*time.Second)}),
			))
			pages := 1
			for q.After = page.Next; q.After != ""; q.After = page.Next {
				if page, err = m.Search(ctx, q); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, keys(page.Records)...)
				if pages++; pages > 10 {
					t.Fatal("cursor does not end")
				}
			}
			want := []string{"k00", "k01", "k02", "k03", "k04", "k06", "k07", "k07a", "k08", "k09"}
			if !slices.Equal(seen, want) {
				t.Errorf("paged %q, want %q", seen, want)
			}
			if page.Total != 10 {
				t.Errorf("total now %d, want 10 live", page.Total)
			}
		})
	}
	t.Run("cursor of another order", func(t *testing.T) {
		b := testenv.Bus(t)
		m := start(t, b, t.TempDir(), "node")
		caughtUp(t, m.Model, publish(t, b, numbered(3, "esrf")...))
		page, err := m.Search(context.Background(), readmodel.Query{Limit: 1})
		if err != nil || page.Next == "" {
			t.Fatal(page, err)
		}
		if _, err := m.Search(context.Background(), readmodel.Query{Limit: 1, Order: readmodel.BySeq, After: page.Next}); !errors.Is(err, readmodel.ErrBadQuery) {
			t.Errorf("cursor of ByKey used BySeq: %v", err)
		}
	})
	t.Run("cursor of another query", func(t *testing.T) {
		b := testenv.Bus(t)
		m := start(t, b, t.TempDir(), "node")
		caughtUp(t, m.Model, publish(t, b, numbered(3, "esrf")...))
		ctx := context.Background()
		made := readmodel.Query{Limit: 1, Facility: "esrf"}
		page, err := m.Search(ctx, made)
		if err != nil || page.Next == "" {
			t.Fatal(page, err)
		}
		for _, q := range []readmodel.Query{
			{Facility: "psi"}, {}, {Facility: "esrf", Text: "x"}, {Facility: "esrf", MinQuality: 0.5},
			{Facility: "esrf", Deleted: readmodel.WithDeleted}, {Facility: "esrf", Until: day3},
			{Facility: "esrf", AnyTechnique: []string{"PaNET01012"}},
		} {
			q.Limit, q.After = 1, page.Next
			if _, err := m.Search(ctx, q); !errors.Is(err, readmodel.ErrBadQuery) {
				t.Errorf("cursor of %+v taken by %+v: %v", made, q, err)
			}
		}
		// The same query, in another case and with another page size, takes it.
		if _, err := m.Search(ctx, readmodel.Query{Limit: 2, Facility: "ESRF", After: page.Next}); err != nil {
			t.Errorf("cursor refused by its own query: %v", err)
		}
	})
}

// corpusOf publishes a small catalogue with updates and a deletion.
func corpusOf(t *testing.T, b *bus.Bus) uint64 {
	publish(t, b, numbered(20, "esrf")...)
	return publish(t, b,
		entry(ds{key: "ill/1", facility: "ILL", at: day2}),
		entry(ds{key: "k03", facility: "esrf", deleted: true, at: day3}),
		entry(ds{key: "k04", facility: "psi", at: day3, techniques: []*fairwayv1.Technique{technique("PaNET01012")}}),
	)
}

func TestRebuild(t *testing.T) {
	b := testenv.Bus(t)
	seq := corpusOf(t, b)
	dir := filepath.Join(t.TempDir(), "readmodel")
	m := start(t, b, dir, "node")
	caughtUp(t, m.Model, seq)
	want := answers(t, m.Model)
	m.stop()

	records := filepath.Join(dir, "records.db")
	setMeta := func(key, value string) func(t *testing.T) {
		return func(t *testing.T) {
			db, err := bolt.Open(records, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte(key), []byte(value)) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		spoil func(t *testing.T)
	}{
		{"folder removed", func(t *testing.T) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"schema version changed", setMeta("schema", "0")},
		{"records unreadable", func(t *testing.T) {
			if err := os.WriteFile(records, []byte("not a bbolt file, not at all, not in the least"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"index unreadable", func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(dir, "index.bleve")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "index.bleve"), []byte("junk"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"of another stream", setMeta("stream", "2001-01-01T00:00:00Z")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spoil(t)
			m := start(t, b, dir, "node")
			caughtUp(t, m.Model, seq)
			if got := answers(t, m.Model); got != want {
				t.Errorf("rebuilt model answers\n%s\nwant\n%s", got, want)
			}
			msgs, err := b.StreamReader(bus.Catalogue).Count(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if m.Applied() != msgs {
				t.Errorf("applied %d entries, the stream holds %d: not rebuilt from the first", m.Applied(), msgs)
			}
			m.stop()
		})
	}
}

// TestRestartResumes stops the model, writes entries while it is down,
// and starts it again on its folder: it applies exactly what it missed.
func TestRestartResumes(t *testing.T) {
	b := testenv.Bus(t)
	dir := t.TempDir()
	m := start(t, b, dir, "node")
	caughtUp(t, m.Model, publish(t, b, numbered(10, "esrf")...))
	m.stop()

	seq := publish(t, b,
		entry(ds{key: "k02", facility: "esrf", title: "second version", at: day2}),
		entry(ds{key: "k10", facility: "esrf", at: day2}),
		entry(ds{key: "k11", facility: "ill", at: day2}),
	)
	lag := func(m *readmodel.Model) uint64 {
		l, err := m.Lag(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	m2, err := readmodel.Open(context.Background(), readmodel.Config{Dir: dir}, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Position() != 10 || lag(m2) != 3 {
		t.Errorf("reopened at %d with lag %d, want 10 and 3", m2.Position(), lag(m2))
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	m = start(t, b, dir, "node")
	caughtUp(t, m.Model, seq)
	if m.Applied() != 3 || lag(m.Model) != 0 {
		t.Errorf("applied %d after the restart, want the 3 written while it was down; lag %d", m.Applied(), lag(m.Model))
	}
	got := all(t, m.Model, readmodel.Query{})
	if len(got) != 12 {
		t.Errorf("after the restart %d datasets, want 12: %q", len(got), got)
	}
	r, err := m.Get(context.Background(), "k02")
	if err != nil || r.Entry.GetDataset().GetDataset().GetTitle() != "second version" {
		t.Errorf("k02 %+v, %v", r, err)
	}

	// The records behind the index (a crash between the two commits): the
	// smaller position is applied again, to the same answers.
	want := answers(t, m.Model)
	m.stop()
	db, err := bolt.Open(filepath.Join(dir, "records.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("position"), []byte{0, 0, 0, 0, 0, 0, 0, 8})
	})
	if err2 := db.Close(); err == nil {
		err = err2
	}
	if err != nil {
		t.Fatal(err)
	}
	m = start(t, b, dir, "node")
	caughtUp(t, m.Model, seq)
	// k08 and k09 at 9 and 10, then the three written while it was down.
	if m.Applied() != 5 {
		t.Errorf("applied %d again from position 8, want the 5 entries after it", m.Applied())
	}
	if got := answers(t, m.Model); got != want {
		t.Errorf("after re-applying\n%s\nwant\n%s", got, want)
	}
}

func TestCorruptEntrySkipped(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	m := start(t, b, t.TempDir(), "node")
	caughtUp(t, m.Model, publish(t, b, numbered(3, "esrf")...))
	bad := publishRaw(t, b, "k01", []byte("\xff\xff not protobuf"))
	noKey := publish(t, b, &fairwayv1.CatalogueEntry{ContentHash: "x"}) // no key: under the empty key
	seq := publish(t, b, entry(ds{key: "k03", facility: "esrf"}))
	caughtUp(t, m.Model, seq)
	if m.Skipped() != 2 {
		t.Errorf("skipped %d, want 2", m.Skipped())
	}
	if bad >= noKey || m.Position() != seq {
		t.Errorf("position %d, want %d", m.Position(), seq)
	}
	// The stream's live entry of k01 is the unreadable one: the model no
	// longer shows the version it replaced (a rebuild would not either).
	if _, err := m.Get(ctx, "k01"); !errors.Is(err, readmodel.ErrNotFound) {
		t.Errorf("k01 after its unreadable entry: %v", err)
	}
	if got := all(t, m.Model, readmodel.Query{}); !slices.Equal(got, []string{"k00", "k02", "k03"}) {
		t.Errorf("live %q", got)
	}
	// The count survives a restart.
	dir := t.TempDir()
	m2 := start(t, b, dir, "second")
	caughtUp(t, m2.Model, seq)
	m2.stop()
	m3 := start(t, b, dir, "second")
	if m3.Skipped() != 2 {
		t.Errorf("skipped after a restart %d, want 2", m3.Skipped())
	}
}

func TestReplicas(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	first := publish(t, b, numbered(50, "esrf")...)
	a := start(t, b, t.TempDir(), "a")
	caughtUp(t, a.Model, first)
	c := start(t, b, t.TempDir(), "c.with dots*")
	seq := publish(t, b, entry(ds{key: "z", facility: "ill"}))
	for _, m := range []*running{a, c} {
		caughtUp(t, m.Model, seq)
		if got := all(t, m.Model, readmodel.Query{}); len(got) != 51 {
			t.Errorf("replica holds %d datasets, want 51", len(got))
		}
	}
	for _, name := range []string{bus.FollowerName("a"), bus.FollowerName("c.with dots*")} {
		info, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), name)
		if err != nil {
			t.Fatalf("consumer %s: %v", name, err)
		}
		if got := info.CachedInfo().Config.InactiveThreshold; got != 72*time.Hour {
			t.Errorf("%s: inactive threshold %s", name, got)
		}
	}
}

// TestCountsFollowChanges moves datasets between facilities and
// techniques, deletes and revives them, some twice in one batch, and
// checks the live counts against the live records themselves.
func TestCountsFollowChanges(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	m := start(t, b, t.TempDir(), "node")
	facs := []string{"ESRF", "ill", "PSI"}
	techs := [][]*fairwayv1.Technique{
		{technique("PaNET01188", "PaNET01012")}, {technique("PaNET01012")}, nil, {technique("PaNET00002"), technique("PaNET01188", "PaNET01012")},
	}
	var seq uint64
	for round := range 4 {
		var batch []*fairwayv1.CatalogueEntry
		for i := range 15 {
			d := ds{key: fmt.Sprintf("k%02d", i), facility: facs[(i+round)%3], techniques: techs[(i*round)%4], deleted: (i+round)%5 == 0}
			batch = append(batch, entry(d))
			if i%4 == round {
				d.facility, d.deleted = facs[(i+round+1)%3], false
				batch = append(batch, entry(d)) // a second version in the same batch
			}
		}
		seq = publish(t, b, batch...)
	}
	caughtUp(t, m.Model, seq)
	wantF, wantT := map[string]uint64{}, map[string]uint64{}
	err := m.Each(ctx, readmodel.Query{}, func(r readmodel.Record) error {
		wantF[r.Facility]++
		for _, iri := range r.Techniques {
			wantT[iri]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(wantF) != 3 || len(wantT) != 3 {
		t.Fatalf("the test's catalogue lost its variety: %v %v", wantF, wantT)
	}
	for name, get := range map[string]func(context.Context) ([]readmodel.Count, error){"facilities": m.Facilities, "techniques": m.Techniques} {
		counts, err := get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := wantF
		if name == "techniques" {
			want = wantT
		}
		got := map[string]uint64{}
		for _, c := range counts {
			got[c.Value] = c.Count
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s %v, the live records say %v", name, got, want)
		}
	}
}

// TestHostileEntries feeds entries no real feed should give: megabytes of
// text, thousands of keywords, a key over the limit, a datestamp past what
// the index holds, odd characters. The model neither panics nor stops.
func TestHostileEntries(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	m := start(t, b, t.TempDir(), "node")
	big := entry(ds{key: "big", facility: "  ESRF ", title: strings.Repeat("ä", 10000)})
	big.Dataset.Dataset.Description = strings.Repeat("word ", 400000)
	for i := range 5000 {
		big.Dataset.Dataset.Subjects = append(big.Dataset.Dataset.Subjects, &fairwayv1.Subject{Value: fmt.Sprint("kw", i)})
	}
	future := entry(ds{key: "future \x00 ☃ <>&\"", facility: "ill"})
	future.PublishedAt = timestamppb.New(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	long := entry(ds{key: strings.Repeat("k", 5000), facility: "ill"})
	seq := publish(t, b, big, future, long, entry(ds{key: "after", facility: "psi"}))
	caughtUp(t, m.Model, seq)
	if m.Skipped() != 1 {
		t.Errorf("skipped %d, want the over-long key", m.Skipped())
	}
	r, err := m.Get(ctx, "big")
	if err != nil || r.Facility != "esrf" || len(r.Entry.GetDataset().GetDataset().GetDescription()) != 2000000 {
		t.Errorf("big: %v", err)
	}
	r, err = m.Get(ctx, future.Key)
	if err != nil || r.Datestamp.Year() == 9999 || r.Datestamp.IsZero() {
		t.Errorf("future: %+v, %v", r.Datestamp, err)
	}
	if got := all(t, m.Model, readmodel.Query{Text: "word"}); !slices.Equal(got, []string{"big"}) {
		t.Errorf("text search %q", got)
	}
	for _, q := range []readmodel.Query{
		{Text: strings.Repeat("*:&|()[]{}~^\"\\ ", 60)}, {Facility: "\x00\xff☃"}, {Technique: "PaNET" + strings.Repeat("9", 100)},
		{Text: "the of and"}, {Feed: strings.Repeat("f", 4000)},
	} {
		if _, err := m.Search(ctx, q); err != nil && !errors.Is(err, readmodel.ErrBadQuery) {
			t.Errorf("%.60v: %v", q, err)
		}
	}
}

// TestReadsWhileApplying reads while batches are applied: every dataset is
// written again and again, its facility alternating, and a query by
// facility must never answer a record of the other one (the version the
// index matched is the version it returns).
func TestReadsWhileApplying(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	m := startWith(t, b, readmodel.Config{Dir: t.TempDir(), BatchSize: 50})
	const n, rounds = 100, 12
	facs := []string{"esrf", "ill"}
	go func() {
		for r := range rounds {
			var batch []*fairwayv1.CatalogueEntry
			for i := range n {
				batch = append(batch, entry(ds{key: fmt.Sprintf("k%03d", i), facility: facs[(i+r)%2]}))
			}
			publish(t, b, batch...)
		}
	}()
	reads := 0
	for m.Position() < n*rounds {
		for _, f := range facs {
			page, err := m.Search(ctx, readmodel.Query{Facility: f, Limit: 1000, KeysOnly: reads%2 == 0})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Records {
				if r.Facility != f {
					t.Fatalf("a query for %s answered %s of %s (seq %d)", f, r.Key, r.Facility, r.Seq)
				}
			}
			reads++
		}
	}
	caughtUp(t, m.Model, n*rounds)
	if got := all(t, m.Model, readmodel.Query{Facility: "ill"}); len(got) != n/2 {
		t.Errorf("%d datasets at ill at the end, want %d", len(got), n/2)
	}
	t.Logf("%d reads while applying", reads)
}

// TestStreamCreatedAgain removes the catalogue stream under a model (the
// node's NATS folder lost) and fills a new one with more entries than the
// model had applied: the model is rebuilt, not resumed.
func TestStreamCreatedAgain(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	dir := t.TempDir()
	m := start(t, b, dir, "node")
	caughtUp(t, m.Model, publish(t, b, numbered(3, "esrf")...))
	m.stop()
	if err := b.JetStream().DeleteStream(ctx, string(bus.Catalogue)); err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	var fresh []*fairwayv1.CatalogueEntry
	for i := range 5 {
		fresh = append(fresh, entry(ds{key: fmt.Sprintf("n%d", i), facility: "ill"}))
	}
	seq := publish(t, b, fresh...)
	m = start(t, b, dir, "node")
	caughtUp(t, m.Model, seq)
	if got := all(t, m.Model, readmodel.Query{Deleted: readmodel.WithDeleted}); !slices.Equal(got, []string{"n0", "n1", "n2", "n3", "n4"}) {
		t.Errorf("after the stream was created again %q", got)
	}
}
