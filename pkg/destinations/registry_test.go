package destinations_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
)

const (
	apiKey   = "k3y-of-the-hub-0123456789"
	password = "pa55-of-daphne-0123456789"
)

func eosc() destinations.Destination {
	return destinations.Destination{ID: "eosc", Kind: destinations.KindPiveau, URL: "https://hub.example.org",
		Catalogue: "panosc", APIKey: apiKey, Facilities: []string{"ESRF"}, Enabled: true}
}

func daphne() destinations.Destination {
	return destinations.Destination{ID: "daphne", Kind: destinations.KindSciCat, URL: "https://scicat.example.org",
		Username: "fairway", Password: password, OwnerGroup: "daphne", Enabled: true}
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	kv := b.State(bus.BucketDestinations)
	log, logs := testenv.CaptureLog()
	r := destinations.NewRegistry(kv, destinations.WithLogger(log))

	saved, err := r.Create(ctx, eosc())
	if err != nil {
		t.Fatal(err)
	}
	if saved.Created.IsZero() || !saved.Updated.Equal(saved.Created) {
		t.Errorf("Create set created %v, updated %v", saved.Created, saved.Updated)
	}
	if _, err := r.Create(ctx, eosc()); !errors.Is(err, destinations.ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if _, err := r.Create(ctx, destinations.Destination{ID: "x", Kind: "ftp"}); !errors.Is(err, destinations.ErrInvalid) {
		t.Errorf("Create of an invalid destination = %v, want ErrInvalid", err)
	}
	if _, err := r.Put(ctx, daphne()); err != nil {
		t.Fatal(err)
	}

	// The credentials are stored beside the record and come back.
	got, err := r.Get(ctx, "eosc")
	if err != nil || got.APIKey.Reveal() != apiKey || got.Catalogue != "panosc" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	got, err = r.Get(ctx, "daphne")
	if err != nil || got.Password.Reveal() != password || got.Username != "fairway" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := r.Get(ctx, "nowhere"); !errors.Is(err, destinations.ErrNotFound) {
		t.Errorf("Get of an unknown id = %v, want ErrNotFound", err)
	}
	if _, err := r.Get(ctx, "Not An ID"); !errors.Is(err, destinations.ErrNotFound) {
		t.Errorf("Get of an invalid id = %v, want ErrNotFound", err)
	}

	// Put keeps Created.
	time.Sleep(2 * time.Millisecond)
	d := eosc()
	d.Catalogue = "other"
	put, err := r.Put(ctx, d)
	if err != nil || !put.Created.Equal(saved.Created) || !put.Updated.After(saved.Updated) {
		t.Fatalf("Put = %+v, %v; created %v", put, err, saved.Created)
	}

	// Update: the change is stored; an error of change stores nothing; the
	// id cannot change; the result is validated.
	replay := &destinations.Replay{ID: "r1", FromSeq: 7, Requested: time.Now().UTC()}
	upd, err := r.Update(ctx, "eosc", func(d *destinations.Destination) error { d.Replay = replay; return nil })
	if err != nil || upd.Replay == nil || upd.Replay.ID != "r1" || upd.APIKey.Reveal() != apiKey {
		t.Fatalf("Update = %+v, %v", upd, err)
	}
	boom := errors.New("boom")
	if _, err := r.Update(ctx, "eosc", func(d *destinations.Destination) error { d.URL = "x"; return boom }); !errors.Is(err, boom) {
		t.Errorf("Update with a failing change = %v", err)
	}
	if _, err := r.Update(ctx, "eosc", func(d *destinations.Destination) error { d.ID = "other"; return nil }); !errors.Is(err, destinations.ErrInvalid) {
		t.Errorf("Update changing the id = %v, want ErrInvalid", err)
	}
	if _, err := r.Update(ctx, "eosc", func(d *destinations.Destination) error { d.Catalogue = ""; return nil }); !errors.Is(err, destinations.ErrInvalid) {
		t.Errorf("Update to an invalid destination = %v, want ErrInvalid", err)
	}
	if _, err := r.Update(ctx, "nowhere", func(*destinations.Destination) error { return nil }); !errors.Is(err, destinations.ErrNotFound) {
		t.Errorf("Update of an unknown id = %v, want ErrNotFound", err)
	}
	// A change stored between the read and the write of Update is a
	// conflict, not lost.
	_, err = r.Update(ctx, "eosc", func(d *destinations.Destination) error {
		if _, err := r.Put(ctx, eosc()); err != nil {
			t.Fatal(err)
		}
		d.InFlight = 4
		return nil
	})
	if !errors.Is(err, destinations.ErrConflict) {
		t.Errorf("Update racing a Put = %v, want ErrConflict", err)
	}
	if got, _ := r.Get(ctx, "eosc"); got.InFlight != 0 || got.Catalogue != "panosc" {
		t.Errorf("after the conflict: %+v, want the Put's destination", got)
	}

	// The record in the bucket holds the credentials, but not the JSON of
	// the destination; List skips what is no destination and logs it.
	e, err := kv.Get(ctx, "eosc")
	if err != nil || !strings.Contains(string(e.Value), apiKey) {
		t.Fatalf("stored record %s, %v: want the key beside the fields", e.Value, err)
	}
	if _, err := kv.Put(ctx, "junk", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "wrong", []byte(`{"id":"other"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "UPPER", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	all, err := r.List(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "daphne" || all[1].ID != "eosc" {
		t.Fatalf("List = %+v, %v", all, err)
	}
	for _, k := range []string{"junk", "wrong", "UPPER"} {
		if !strings.Contains(logs.String(), "key="+k) {
			t.Errorf("List did not log skipping %s: %s", k, logs)
		}
	}
	if strings.Contains(logs.String(), apiKey) || strings.Contains(logs.String(), password) {
		t.Errorf("a credential reached the log: %s", logs)
	}

	if err := r.Delete(ctx, "eosc"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, "eosc"); !errors.Is(err, destinations.ErrNotFound) {
		t.Errorf("deleted destination: %v", err)
	}
	if err := r.Delete(ctx, "eosc"); !errors.Is(err, destinations.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}
