package feeds_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
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
		{"upper-case id", func(f *feeds.Feed) { f.ID = "ESRF" }, false},
		{"id with dot", func(f *feeds.Feed) { f.ID = "esrf.dc" }, false},
		{"no facility", func(f *feeds.Feed) { f.Facility = "" }, false},
		{"unknown kind", func(f *feeds.Feed) { f.Kind = "ftp" }, false},
		{"oai without format", func(f *feeds.Feed) { f.Format = "" }, false},
		{"ftp url", func(f *feeds.Feed) { f.URL = "ftp://x/oai" }, false},
		{"relative url", func(f *feeds.Feed) { f.URL = "/oai" }, false},
		{"negative interval", func(f *feeds.Feed) { f.Every = -1 }, false},
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
	r := feeds.NewRegistry(b.KV(bus.BucketFeeds))

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
