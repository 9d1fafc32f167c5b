// Package destinations is the registry of push destinations: where the
// node pushes its catalogue (a piveau hub-repo such as EOSC's, a SciCat
// backend such as DAPHNE's), which datasets go there and what a withdrawn
// dataset does there; its validation, its storage in a state bucket of the
// bus, and the check that a destination answers and takes its credentials
// before it is registered. Package delivery keeps the destinations in step.
package destinations

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/piveau"
	"github.com/panosc/fairway/pkg/scicatpush"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Kinds of destination.
const (
	// KindPiveau is a piveau hub-repo (data.europa.eu, the EOSC catalogue).
	KindPiveau = "piveau"
	// KindSciCat is a SciCat backend (DAPHNE).
	KindSciCat = "scicat"
)

// What a destination does with a dataset that was withdrawn from the
// catalogue, or that it no longer selects (OnDelete).
const (
	// OnDeleteRemove deletes the dataset at the destination (the default
	// of a piveau hub).
	OnDeleteRemove = "delete"
	// OnDeleteUnpublish keeps the dataset but unpublishes it (SciCat only;
	// its default).
	OnDeleteUnpublish = "unpublish"
	// OnDeleteKeep leaves the dataset at the destination as it was.
	OnDeleteKeep = "keep"
)

// Defaults of a destination's tunables.
const (
	// DefaultInFlight is how many datasets are pushed to one destination
	// at once.
	DefaultInFlight = 32
	// MaxInFlight bounds InFlight.
	MaxInFlight = 256
)

var (
	// ErrNotFound is returned for a destination id that is not registered.
	ErrNotFound = errors.New("destination not found")
	// ErrInvalid wraps every validation failure.
	ErrInvalid = errors.New("invalid destination")
	// ErrExists is returned when creating a destination whose id is taken.
	ErrExists = errors.New("destination already registered")
	// ErrConflict is returned when a destination changed while it was
	// updated.
	ErrConflict = errors.New("destination changed concurrently")
	// ErrUndecodable is returned for an entry of the bucket that is not a
	// destination record.
	ErrUndecodable = errors.New("undecodable destination record")
)

// MaxIDLen bounds a destination id, so that its consumer of the catalogue
// is named by it ("push-" and the id, at most 64 characters).
const MaxIDLen = 59

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,58}$`)

// ValidID reports whether id can name a destination: 1-59 of a-z 0-9 - _,
// starting with a letter or digit.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Destination is one place the catalogue is pushed to.
//
// Its JSON encoding (what the API and the CLI show) never holds a
// credential: it says has_api_key, has_bearer_token and has_password
// instead. The registry stores the credentials beside it.
type Destination struct {
	// ID is the destination's unique, lower-case name (a-z, 0-9, -, _).
	ID string `json:"id"`
	// Kind is "piveau" or "scicat".
	Kind string `json:"kind"`
	// URL is the base of the destination's API: {URL}/catalogues/… for a
	// piveau hub-repo, {URL}/api/v4/… for SciCat.
	URL string `json:"url"`

	// Catalogue is the piveau catalogue the datasets go to. Required for
	// piveau.
	Catalogue string `json:"catalogue,omitempty"`
	// CreateCatalogue makes the node create the piveau catalogue when the
	// hub does not have it; otherwise a missing catalogue is an error.
	CreateCatalogue bool `json:"create_catalogue,omitempty"`
	// APIKey (X-API-Key) or BearerToken authenticates to a piveau hub:
	// exactly one of the two.
	APIKey      feeds.Secret `json:"-"`
	BearerToken feeds.Secret `json:"-"`

	// Username and Password of SciCat's functional account. Required for
	// scicat.
	Username string       `json:"username,omitempty"`
	Password feeds.Secret `json:"-"`
	// OwnerGroup, AccessGroups, ContactEmail, SourceFolder and PIDPrefix
	// fill the fields SciCat requires (see scicatpush.Config); empty means
	// scicatpush's defaults.
	OwnerGroup   string   `json:"owner_group,omitempty"`
	AccessGroups []string `json:"access_groups,omitempty"`
	ContactEmail string   `json:"contact_email,omitempty"`
	SourceFolder string   `json:"source_folder,omitempty"`
	PIDPrefix    string   `json:"pid_prefix,omitempty"`

	// Facilities selects the datasets of these facilities (compared
	// without regard to case); empty means every facility.
	Facilities []string `json:"facilities,omitempty"`
	// Techniques selects the datasets tagged with one of these PaNET
	// techniques or a narrower one (IRIs or ids such as PaNET01168); empty
	// means every dataset. With both, a dataset must match both.
	Techniques []string `json:"techniques,omitempty"`
	// OnDelete is what a withdrawn dataset, or one the destination no
	// longer selects, does there: "delete", "unpublish" (SciCat) or
	// "keep". Empty means the kind's default: delete for piveau,
	// unpublish for scicat.
	OnDelete string `json:"on_delete,omitempty"`
	// InFlight is how many datasets are pushed at once. 0 means
	// DefaultInFlight.
	InFlight int `json:"in_flight,omitempty"`
	// Enabled destinations are kept in step; a disabled one lags.
	Enabled bool `json:"enabled"`
	// Replay is the last replay asked for (see Replay); nil before the
	// first.
	Replay *Replay `json:"replay,omitempty"`
	// Created and Updated are set by the registry.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Replay asks for a destination's consumer of the catalogue to start again
// from a position: what the destination already holds at its current
// version is skipped unless All is set.
type Replay struct {
	// ID tells one request from the next; the delivery applies each once.
	ID string `json:"id"`
	// FromSeq is the catalogue sequence to start at; 0 with a zero Since
	// means the start of the catalogue.
	FromSeq uint64 `json:"from_seq,omitempty"`
	// Since starts at the first entry published at or after it.
	Since time.Time `json:"since,omitzero"`
	// All pushes again every dataset from there on, even those the ledger
	// says the destination holds as they are.
	All bool `json:"all,omitempty"`
	// Requested is when it was asked for.
	Requested time.Time `json:"requested"`
}

// MarshalJSON encodes the destination without its credentials.
func (d Destination) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		plain
		HasAPIKey      bool `json:"has_api_key,omitempty"`
		HasBearerToken bool `json:"has_bearer_token,omitempty"`
		HasPassword    bool `json:"has_password,omitempty"`
	}{plain(d), d.APIKey != "", d.BearerToken != "", d.Password != ""})
}

// plain is Destination without its methods, so that it encodes field by
// field.
type plain Destination

// Input is a destination as the API receives it: its fields and its
// credentials in clear.
type Input struct {
	plain
	APIKey      string `json:"api_key,omitempty"`
	BearerToken string `json:"bearer_token,omitempty"`
	Password    string `json:"password,omitempty"`
}

// NewInput returns the input that registers d, credentials included.
func NewInput(d Destination) Input {
	return Input{plain: plain(d), APIKey: d.APIKey.Reveal(), BearerToken: d.BearerToken.Reveal(), Password: d.Password.Reveal()}
}

// Destination returns the destination in, with its credentials.
func (in Input) Destination() Destination {
	d := Destination(in.plain)
	d.APIKey, d.BearerToken, d.Password = feeds.Secret(in.APIKey), feeds.Secret(in.BearerToken), feeds.Secret(in.Password)
	return d
}

// DeletePolicy returns OnDelete or the kind's default.
func (d Destination) DeletePolicy() string {
	if d.OnDelete != "" {
		return d.OnDelete
	}
	if d.Kind == KindSciCat {
		return OnDeleteUnpublish
	}
	return OnDeleteRemove
}

// Parallel returns InFlight or its default.
func (d Destination) Parallel() int { return cmp.Or(d.InFlight, DefaultInFlight) }

// Validate checks the destination's fields.
func (d Destination) Validate() error {
	if !ValidID(d.ID) {
		return fmt.Errorf("%w: id %.80q: use 1-59 of a-z 0-9 - _", ErrInvalid, d.ID)
	}
	u, err := url.Parse(d.URL)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s: url: %v", ErrInvalid, d.ID, err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("%w: %s: url %q: want an http or https URL", ErrInvalid, d.ID, u.Redacted())
	case u.User != nil:
		return fmt.Errorf("%w: %s: url: put credentials in the destination's key, token or password, not in its URL", ErrInvalid, d.ID)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%w: %s: url %q: the base of an API has no query or fragment", ErrInvalid, d.ID, u.Redacted())
	}
	switch d.Kind {
	case KindPiveau:
		if d.Catalogue == "" {
			return fmt.Errorf("%w: %s: a piveau destination needs a catalogue", ErrInvalid, d.ID)
		}
		if (d.APIKey == "") == (d.BearerToken == "") {
			return fmt.Errorf("%w: %s: a piveau destination needs an API key or a bearer token (one of the two)", ErrInvalid, d.ID)
		}
		if d.Username != "" || d.Password != "" {
			return fmt.Errorf("%w: %s: a piveau destination takes an API key or a bearer token, not a username and password", ErrInvalid, d.ID)
		}
		if d.OnDelete == OnDeleteUnpublish {
			return fmt.Errorf("%w: %s: a piveau hub cannot unpublish: on_delete is delete or keep", ErrInvalid, d.ID)
		}
		if _, err := piveau.New(d.PiveauConfig()); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, d.ID, err)
		}
	case KindSciCat:
		if d.Username == "" || d.Password == "" {
			return fmt.Errorf("%w: %s: a scicat destination needs a username and a password", ErrInvalid, d.ID)
		}
		if d.APIKey != "" || d.BearerToken != "" || d.Catalogue != "" || d.CreateCatalogue {
			return fmt.Errorf("%w: %s: catalogue, API key and bearer token are for piveau destinations", ErrInvalid, d.ID)
		}
		if err := d.SciCatConfig().Validate(); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, d.ID, err)
		}
	default:
		return fmt.Errorf("%w: %s: kind %q: want piveau or scicat", ErrInvalid, d.ID, d.Kind)
	}
	switch d.OnDelete {
	case "", OnDeleteRemove, OnDeleteUnpublish, OnDeleteKeep:
	default:
		return fmt.Errorf("%w: %s: on_delete %q: want delete, unpublish or keep", ErrInvalid, d.ID, d.OnDelete)
	}
	if d.InFlight < 0 || d.InFlight > MaxInFlight {
		return fmt.Errorf("%w: %s: in_flight %d: want 1 to %d (0: %d)", ErrInvalid, d.ID, d.InFlight, MaxInFlight, DefaultInFlight)
	}
	for _, f := range d.Facilities {
		if err := feeds.ValidFacility(f); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, d.ID, err)
		}
	}
	for _, t := range d.Techniques {
		if TechniqueID(t) == "" {
			return fmt.Errorf("%w: %s: technique %.80q: want a PaNET IRI or id (PaNET01168)", ErrInvalid, d.ID, t)
		}
	}
	return nil
}

var panetID = regexp.MustCompile(`^PaNET[0-9]{5}$`)

// TechniqueID returns the PaNET id of a technique given as an IRI or an id
// (PaNET01168), or "".
func TechniqueID(t string) string {
	t = strings.TrimSpace(t)
	if i := strings.LastIndexAny(t, "/#"); i >= 0 {
		t = t[i+1:]
	}
	if panetID.MatchString(t) {
		return t
	}
	return ""
}

// Selects reports whether the destination takes dataset d: its facility is
// one of Facilities and one of its techniques, or a broader one, is one of
// Techniques (each condition holds when its list is empty).
func (d Destination) Selects(e *fairwayv1.EnrichedDataset) bool {
	if len(d.Facilities) > 0 {
		facility := e.GetDataset().GetFacility()
		if !slices.ContainsFunc(d.Facilities, func(f string) bool { return strings.EqualFold(f, facility) }) {
			return false
		}
	}
	if len(d.Techniques) == 0 {
		return true
	}
	want := make(map[string]bool, len(d.Techniques))
	for _, t := range d.Techniques {
		want[TechniqueID(t)] = true
	}
	for _, t := range e.GetTechniques() {
		if want[TechniqueID(t.GetIri())] || want[t.GetId()] {
			return true
		}
		for _, b := range t.GetBroader() {
			if want[TechniqueID(b)] {
				return true
			}
		}
	}
	return false
}

// PiveauConfig returns the configuration of the piveau client of a piveau
// destination (without an HTTP client, logger or transport: the caller
// adds them).
func (d Destination) PiveauConfig() piveau.Config {
	return piveau.Config{
		BaseURL: d.URL, Catalogue: d.Catalogue, APIKey: d.APIKey.Reveal(), BearerToken: d.BearerToken.Reveal(),
		CreateCatalogue: d.CreateCatalogue,
	}
}

// SciCatConfig returns the configuration of the SciCat client of a scicat
// destination (without an HTTP client, logger or transport: the caller
// adds them).
func (d Destination) SciCatConfig() scicatpush.Config {
	tomb := scicatpush.Unpublish
	if d.DeletePolicy() == OnDeleteRemove {
		tomb = scicatpush.Remove
	}
	return scicatpush.Config{
		BaseURL: d.URL, Username: d.Username, Password: d.Password.Reveal(),
		OwnerGroup: d.OwnerGroup, AccessGroups: d.AccessGroups, ContactEmail: d.ContactEmail,
		SourceFolder: d.SourceFolder, PIDPrefix: d.PIDPrefix, Tombstones: tomb,
	}
}

// Status is what `fairway destinations status` shows of a destination.
type Status struct {
	// ID of the destination.
	ID string `json:"id"`
	// Kind and URL, as registered.
	Kind string `json:"kind"`
	URL  string `json:"url"`
	// Enabled as registered.
	Enabled bool `json:"enabled"`
	// Running says a node keeps the destination in step now; Holder names
	// it.
	Running bool   `json:"running"`
	Holder  string `json:"holder,omitempty"`
	// Held is how many datasets the node has delivered to the destination
	// and not withdrawn (the ledger's entries).
	Held int64 `json:"held"`
	// Pushed, Deleted, Skipped and Failed count what the delivery did since
	// the destination was registered: datasets created or updated there,
	// withdrawn there, passed over (unchanged, not selected, never
	// delivered), and refused for good (in the dead letters).
	Pushed  int64 `json:"pushed"`
	Deleted int64 `json:"deleted"`
	Skipped int64 `json:"skipped"`
	Failed  int64 `json:"failed"`
	// Pending is how many catalogue entries are still to be handled.
	Pending uint64 `json:"pending"`
	// OldestPending is when the oldest catalogue entry still to handle was
	// published (zero when none waits): the lag in time.
	OldestPending time.Time `json:"oldest_pending,omitzero"`
	// Position is the catalogue sequence up to which every entry was
	// handled; CatalogueLast is the catalogue's last sequence.
	Position      uint64 `json:"position"`
	CatalogueLast uint64 `json:"catalogue_last"`
	// LastDelivery is when the destination last took a push or deletion.
	LastDelivery time.Time `json:"last_delivery,omitzero"`
	// LastError is the destination's last failure, LastErrorAt when it
	// happened (empty once a push succeeds after it).
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Replay is the id of the last replay applied.
	Replay string `json:"replay,omitempty"`
	// DeadLetters is how many of the destination's refusals wait in the
	// dead letters.
	DeadLetters int `json:"dead_letters"`
}
