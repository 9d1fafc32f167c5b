package feeds_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/scicat"
)

func valid() feeds.Feed {
	return feeds.Feed{ID: "esrf-dc", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: "https://data.esrf.fr/oai", Format: "oai_dc", Enabled: true}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*feeds.Feed)
		ok     bool
	}{
		{"valid", func(*feeds.Feed) {}, true},
		{"scicat without format", func(f *feeds.Feed) { f.Kind, f.Format = feeds.KindSciCat, "" }, true},
		{"scicat published data", func(f *feeds.Feed) { f.Kind, f.Format = feeds.KindSciCat, "publisheddata" }, true},
		{"scicat with an OAI format", func(f *feeds.Feed) { f.Kind, f.Format = feeds.KindSciCat, "oai_dc" }, false},
		{"upper-case id", func(f *feeds.Feed) { f.ID = "ESRF" }, false},
		{"id with dot", func(f *feeds.Feed) { f.ID = "esrf.dc" }, false},
		{"no facility", func(f *feeds.Feed) { f.Facility = "" }, false},
		{"unknown kind", func(f *feeds.Feed) { f.Kind = "ftp" }, false},
		{"oai without format", func(f *feeds.Feed) { f.Format = "" }, false},
		{"ftp url", func(f *feeds.Feed) { f.URL = "ftp://x/oai" }, false},
		{"relative url", func(f *feeds.Feed) { f.URL = "/oai" }, false},
		{"negative interval", func(f *feeds.Feed) { f.Every = -1 }, false},
		{"negative rate limit", func(f *feeds.Feed) { f.RateLimit = -1 }, false},
		{"rate limit", func(f *feeds.Feed) { f.RateLimit = feeds.Duration(time.Second) }, true},
		{"caps", func(f *feeds.Feed) { f.MaxPages, f.MaxBytes, f.MaxDuration = 10, 1<<20, feeds.Duration(time.Hour) }, true},
		{"negative page cap", func(f *feeds.Feed) { f.MaxPages = -1 }, false},
		{"negative byte cap", func(f *feeds.Feed) { f.MaxBytes = -1 }, false},
		{"negative duration cap", func(f *feeds.Feed) { f.MaxDuration = -1 }, false},
		{"credentials in url", func(f *feeds.Feed) { f.URL = "https://u:pw@data.esrf.fr/oai" }, false},
		{"url with fragment", func(f *feeds.Feed) { f.URL = "https://data.esrf.fr/oai#x" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := valid()
			tt.change(&f)
			err := f.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, feeds.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	r := feeds.NewRegistry(b.State(bus.BucketFeeds))

	f := valid()
	f.Every = feeds.Duration(6 * time.Hour)
	saved, err := r.Put(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	f2 := valid()
	f2.ID, f2.Facility = "ill", "ILL"
	if _, err := r.Put(ctx, f2); err != nil {
		t.Fatal(err)
	}
	f.Set = "openaire_data"
	updated, err := r.Put(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if !updated.Created.Equal(saved.Created) || updated.Updated.Before(saved.Updated) {
		t.Errorf("update changed created %v→%v or moved updated back", saved.Created, updated.Created)
	}
	got, err := r.Get(ctx, "esrf-dc")
	if err != nil || got.Set != "openaire_data" || time.Duration(got.Every) != 6*time.Hour {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	all, err := r.List(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "esrf-dc" || all[1].ID != "ill" {
		t.Fatalf("List = %+v, %v", all, err)
	}
	if _, err := r.Put(ctx, feeds.Feed{ID: "Bad"}); !errors.Is(err, feeds.ErrInvalid) {
		t.Fatalf("invalid feed stored: %v", err)
	}
	if err := r.Delete(ctx, "ill"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, "ill"); !errors.Is(err, feeds.ErrNotFound) {
		t.Fatalf("deleted feed: %v", err)
	}
	if err := r.Delete(ctx, "ill"); !errors.Is(err, feeds.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

const secret = "s3cr3t-scicat-token"

// TestTokenNeverShown checks that a feed's token stays out of its JSON,
// of fmt's verbs and of slog's handlers, and that has_token says it is there.
func TestTokenNeverShown(t *testing.T) {
	f := valid()
	f.Kind, f.Format, f.Token = feeds.KindSciCat, "", secret
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["has_token"] != true {
		t.Errorf("JSON %s: want has_token true", b)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("feed", "feed", f, "token", f.Token)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("feed", "feed", f, "token", f.Token)
	outputs := map[string]string{
		"json": string(b), "%v": fmt.Sprintf("%v", f), "%+v": fmt.Sprintf("%+v", f), "%#v": fmt.Sprintf("%#v", f),
		"%s": fmt.Sprintf("%s", f.Token), "%q": fmt.Sprintf("%q", f.Token), "%x": fmt.Sprintf("%x", f.Token),
		"slog": logs.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s shows the token: %s", name, out)
		}
	}
	if f.Token.Reveal() != secret {
		t.Error("Reveal lost the token")
	}
	f.Token = ""
	b, _ = json.Marshal(f)
	if !strings.Contains(string(b), `"has_token":false`) {
		t.Errorf("JSON %s: want has_token false", b)
	}
}

func TestRegistryCreateUpdate(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	kv := b.State(bus.BucketFeeds)
	r := feeds.NewRegistry(kv)

	f := valid()
	f.Kind, f.Format, f.Token = feeds.KindSciCat, "", secret
	created, err := r.Create(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, f); !errors.Is(err, feeds.ErrExists) {
		t.Fatalf("second Create: %v", err)
	}
	got, err := r.Get(ctx, f.ID)
	if err != nil || got.Token.Reveal() != secret {
		t.Fatalf("token not stored: %+v %v", got, err)
	}
	updated, err := r.Update(ctx, f.ID, func(f *feeds.Feed) error {
		f.Every = feeds.Duration(time.Hour)
		f.Source = &feeds.SourceInfo{APIVersion: scicat.APIv4}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !updated.Created.Equal(created.Created) || updated.Token.Reveal() != secret || updated.Source.APIVersion != "v4" {
		t.Fatalf("Update = %+v", updated)
	}
	tests := []struct {
		name   string
		change func(*feeds.Feed) error
		want   error
	}{
		{"invalid result", func(f *feeds.Feed) error { f.Kind = "ftp"; return nil }, feeds.ErrInvalid},
		{"id changed", func(f *feeds.Feed) error { f.ID = "other"; return nil }, feeds.ErrInvalid},
		{"change refused", func(*feeds.Feed) error { return context.Canceled }, context.Canceled},
		{"stored in between", func(f *feeds.Feed) error {
			_, err := r.Put(ctx, *f)
			return err
		}, feeds.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.Update(ctx, f.ID, tt.change); !errors.Is(err, tt.want) {
				t.Fatalf("Update = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := r.Update(ctx, "nope", func(*feeds.Feed) error { return nil }); !errors.Is(err, feeds.ErrNotFound) {
		t.Fatalf("Update of an unknown feed: %v", err)
	}

	// A feed stored before tokens existed still reads.
	if _, err := kv.Put(ctx, "old", []byte(`{"id":"old","facility":"ILL","kind":"oai-pmh","url":"https://x.org/oai","format":"oai_dc","every":"1h0m0s","enabled":true}`)); err != nil {
		t.Fatal(err)
	}
	old, err := r.Get(ctx, "old")
	if err != nil || old.Token != "" || old.Format != "oai_dc" || time.Duration(old.Every) != time.Hour {
		t.Fatalf("old feed = %+v, %v", old, err)
	}
}

// TestListSkipsUndecodableEntries stores entries in the feeds bucket that
// are not feeds (garbage bytes, JSON of another shape, a record under the
// wrong key, a key that is no feed id): List logs each and returns the
// feeds that are there.
func TestListSkipsUndecodableEntries(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	kv := b.State(bus.BucketFeeds)
	log, logs := testenv.CaptureLog()
	r := feeds.NewRegistry(kv, feeds.WithLogger(log))
	for _, id := range []string{"esrf", "ill"} {
		f := valid()
		f.ID = id
		if _, err := r.Put(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	esrf, err := kv.Get(ctx, "esrf")
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"garbage":   {0xff, 0xfe, 0x00, 0x01},
		"array":     []byte(`[1, 2, 3]`),
		"null":      []byte(`null`),
		"elsewhere": esrf.Value, // the record of feed esrf
		"Not.An.Id": []byte(`{}`),
	}
	for k, v := range bad {
		if _, err := kv.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	all, err := r.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(all) != 2 || all[0].ID != "esrf" || all[1].ID != "ill" {
		t.Fatalf("List = %+v; want esrf and ill", all)
	}
	for k := range bad {
		if !strings.Contains(logs.String(), "key="+k) {
			t.Errorf("nothing logged for the entry under %q:\n%s", k, logs)
		}
	}
	if _, err := r.Get(ctx, "garbage"); !errors.Is(err, feeds.ErrUndecodable) {
		t.Errorf("Get(garbage) = %v, want ErrUndecodable", err)
	}
}
