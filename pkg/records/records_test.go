package records_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/records"
)

// note is the record of the tests: Key is its credential, stored beside
// its fields but never in its own JSON.
type note struct {
	ID      string    `json:"id"`
	Text    string    `json:"text"`
	Key     string    `json:"-"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

type plainNote note

type storedNote struct {
	plainNote
	Key string `json:"key,omitempty"`
}

var (
	errNotFound    = errors.New("note not found")
	errExists      = errors.New("note already stored")
	errConflict    = errors.New("note changed concurrently")
	errInvalid     = errors.New("invalid note")
	errUndecodable = errors.New("undecodable note record")
)

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// clock is a settable time.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func (c *clock) tick() time.Time { c.t = c.t.Add(time.Minute); return c.t }

func newStore(t *testing.T) (*records.Store[note], *bus.State, *clock, *testenv.Buffer) {
	t.Helper()
	kv := testenv.Bus(t).State(bus.BucketFeeds)
	log, logs := testenv.CaptureLog()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))}
	s := records.New(kv, records.Config[note]{
		Noun:    "note",
		Prefix:  "notes",
		ID:      func(n note) string { return n.ID },
		ValidID: idPattern.MatchString,
		Validate: func(n note) error {
			if !idPattern.MatchString(n.ID) {
				return fmt.Errorf("%w: id %q", errInvalid, n.ID)
			}
			if n.Text == "" {
				return fmt.Errorf("%w: %s: no text", errInvalid, n.ID)
			}
			return nil
		},
		Stamps: func(n *note) (*time.Time, *time.Time) { return &n.Created, &n.Updated },
		Encode: func(n note) ([]byte, error) {
			if n.Text == "unencodable" {
				return nil, errors.New("cannot encode")
			}
			return json.Marshal(storedNote{plainNote(n), n.Key})
		},
		Decode: func(b []byte) (note, error) {
			var s storedNote
			if err := json.Unmarshal(b, &s); err != nil {
				return note{}, err
			}
			n := note(s.plainNote)
			n.Key = s.Key
			return n, nil
		},
		Errors: records.Errors{NotFound: errNotFound, Exists: errExists, Conflict: errConflict,
			Invalid: errInvalid, Undecodable: errUndecodable},
		Now:    c.now,
		Logger: log,
	})
	return s, kv, c, logs
}

func TestStoreErrors(t *testing.T) {
	ctx := context.Background()
	s, kv, _, _ := newStore(t)
	if _, err := s.Create(ctx, note{ID: "a", Text: "first", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"garbage": "{not json", "null": "null", "elsewhere": `{"id":"a","text":"x"}`} {
		if _, err := kv.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	long := strings.Repeat("x", 200)
	tests := []struct {
		name string
		op   func() error
		want error  // nil: no error
		text string // the error's message contains it
	}{
		{"create again", func() error { _, err := s.Create(ctx, note{ID: "a", Text: "again"}); return err }, errExists, "note already stored: a"},
		{"create invalid", func() error { _, err := s.Create(ctx, note{ID: "b"}); return err }, errInvalid, "no text"},
		{"put invalid", func() error { _, err := s.Put(ctx, note{ID: "Bad", Text: "x"}); return err }, errInvalid, `id "Bad"`},
		{"put unencodable", func() error { _, err := s.Put(ctx, note{ID: "c", Text: "unencodable"}); return err }, nil, "notes: encode c: cannot encode"},
		{"get unknown", func() error { _, err := s.Get(ctx, "nowhere"); return err }, errNotFound, "note not found: nowhere"},
		{"get invalid id", func() error { _, err := s.Get(ctx, "Not An ID"); return err }, errNotFound, `"Not An ID"`},
		{"get long invalid id", func() error { _, err := s.Get(ctx, long); return err }, errNotFound, `: "` + strings.Repeat("x", 80) + `"`},
		{"get garbage", func() error { _, err := s.Get(ctx, "garbage"); return err }, errUndecodable, "notes: undecodable note record under garbage"},
		{"get null", func() error { _, err := s.Get(ctx, "null"); return err }, errUndecodable, `it holds note ""`},
		{"get a record under another id", func() error { _, err := s.Get(ctx, "elsewhere"); return err }, errUndecodable, `it holds note "a"`},
		{"update unknown", func() error { _, err := s.Update(ctx, "nowhere", func(*note) error { return nil }); return err }, errNotFound, ""},
		{"update garbage", func() error { _, err := s.Update(ctx, "garbage", func(*note) error { return nil }); return err }, errUndecodable, ""},
		{"update refused", func() error {
			_, err := s.Update(ctx, "a", func(n *note) error { n.Text = ""; return boom })
			return err
		}, boom, "boom"},
		{"update changing the id", func() error { _, err := s.Update(ctx, "a", func(n *note) error { n.ID = "b"; return nil }); return err }, errInvalid, "the id of a note cannot change"},
		{"update to invalid", func() error {
			_, err := s.Update(ctx, "a", func(n *note) error { n.Text = ""; return nil })
			return err
		}, errInvalid, "no text"},
		{"update unencodable", func() error {
			_, err := s.Update(ctx, "a", func(n *note) error { n.Text = "unencodable"; return nil })
			return err
		}, nil, "notes: encode a"},
		{"update racing a put", func() error {
			_, err := s.Update(ctx, "a", func(n *note) error {
				if _, err := s.Put(ctx, note{ID: "a", Text: "in between"}); err != nil {
					t.Fatal(err)
				}
				n.Text = "lost"
				return nil
			})
			return err
		}, errConflict, "note changed concurrently: a"},
		{"delete unknown", func() error { return s.Delete(ctx, "nowhere") }, errNotFound, ""},
		{"delete garbage", func() error { return s.Delete(ctx, "garbage") }, errUndecodable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			switch {
			case err == nil:
				t.Fatalf("no error, want %v", tt.want)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("error %v, want one wrapping %v", err, tt.want)
			case !strings.Contains(err.Error(), tt.text):
				t.Fatalf("error %q, want one containing %q", err, tt.text)
			}
		})
	}
	// Nothing that failed was stored: a holds what the racing Put stored.
	if got, err := s.Get(ctx, "a"); err != nil || got.Text != "in between" {
		t.Fatalf("a = %+v, %v", got, err)
	}
	for _, id := range []string{"b", "c"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, errNotFound) {
			t.Errorf("Get(%s) = %v, want not found", id, err)
		}
	}
	if _, err := kv.Get(ctx, "garbage"); err != nil {
		t.Errorf("Delete removed the undecodable entry: %v", err)
	}
}

func TestStoreStamps(t *testing.T) {
	ctx := context.Background()
	s, kv, c, _ := newStore(t)
	t0 := c.now().UTC()
	tests := []struct {
		name             string
		op               func() (note, error)
		created, updated time.Time
		text             string
	}{
		{"create", func() (note, error) {
			return s.Create(ctx, note{ID: "a", Text: "one", Key: "s3cr3t", Created: time.Unix(1, 0), Updated: time.Unix(2, 0)})
		}, t0, t0, "one"},
		{"put keeps created", func() (note, error) { return s.Put(ctx, note{ID: "a", Text: "two", Key: "s3cr3t"}) }, t0, t0.Add(time.Minute), "two"},
		{"update keeps created", func() (note, error) {
			return s.Update(ctx, "a", func(n *note) error { n.Text, n.Created = "three", time.Unix(3, 0); return nil })
		}, t0, t0.Add(2 * time.Minute), "three"},
		{"put of a new id", func() (note, error) { return s.Put(ctx, note{ID: "b", Text: "four", Key: "s3cr3t"}) }, t0.Add(3 * time.Minute), t0.Add(3 * time.Minute), "four"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i > 0 {
				c.tick()
			}
			got, err := tt.op()
			if err != nil {
				t.Fatal(err)
			}
			if !got.Created.Equal(tt.created) || !got.Updated.Equal(tt.updated) || got.Created.Location() != time.UTC {
				t.Errorf("returned created %v, updated %v; want %v, %v in UTC", got.Created, got.Updated, tt.created, tt.updated)
			}
			stored, err := s.Get(ctx, got.ID)
			if err != nil || !stored.Created.Equal(tt.created) || !stored.Updated.Equal(tt.updated) || stored.Text != tt.text || stored.Key != "s3cr3t" {
				t.Errorf("stored %+v, %v", stored, err)
			}
			e, err := kv.Get(ctx, got.ID)
			if err != nil || !strings.Contains(string(e.Value), `"key":"s3cr3t"`) {
				t.Errorf("stored entry %s, %v: want the credential beside the fields", e.Value, err)
			}
		})
	}
}

func TestStoreList(t *testing.T) {
	ctx := context.Background()
	s, kv, _, logs := newStore(t)
	if all, err := s.List(ctx); err != nil || len(all) != 0 {
		t.Fatalf("List of an empty bucket = %+v, %v", all, err)
	}
	for _, id := range []string{"m", "z", "a"} {
		if _, err := s.Put(ctx, note{ID: id, Text: id, Key: "s3cr3t"}); err != nil {
			t.Fatal(err)
		}
	}
	bad := []struct {
		key, value, log string
	}{
		{"garbage", "\xff\xfe\x00", "note registry: skipping an entry that is no note record"},
		{"array", "[1, 2]", "note registry: skipping an entry that is no note record"},
		{"null", "null", "note registry: skipping an entry that is no note record"},
		{"elsewhere", `{"id":"a","text":"a","key":"s3cr3t"}`, "note registry: skipping an entry that is no note record"},
		{"Not.An.Id", "{}", "note registry: skipping an entry whose key is no note id"},
	}
	for _, b := range bad {
		if _, err := kv.Put(ctx, b.key, []byte(b.value)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range all {
		if n.Key != "s3cr3t" {
			t.Errorf("listed %s without its credential", n.ID)
		}
		ids = append(ids, n.ID)
	}
	if strings.Join(ids, ",") != "a,m,z" {
		t.Errorf("List = %v, want a,m,z", ids)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "s3cr3t") {
			t.Errorf("a credential reached the log: %s", line)
		}
	}
	for _, b := range bad {
		t.Run(b.key, func(t *testing.T) {
			found := false
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "key="+b.key) && strings.Contains(line, b.log) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %q logged for key %s:\n%s", b.log, b.key, logs)
			}
		})
	}
	if err := s.Delete(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if all, err := s.List(ctx); err != nil || len(all) != 2 {
		t.Errorf("List after a delete = %+v, %v", all, err)
	}
}
