package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
)

// StatusReader tells how a destination's delivery stands (package
// delivery provides it).
type StatusReader interface {
	Status(ctx context.Context, d destinations.Destination) (destinations.Status, error)
}

// unavailable is an error that answers 503: the node lacks what the
// request needs.
type unavailable string

func (e unavailable) Error() string { return string(e) }

var (
	// errNoChecker refuses destination writes on a node without a checker.
	errNoChecker error = unavailable("this node cannot check destinations, so it does not register or change them")
	// errNoStatus refuses status requests on a node without a delivery.
	errNoStatus error = unavailable("no delivery status here")
)

// reservedDestinationIDs cannot name a destination: they are routes under
// /api/v1/destinations/.
var reservedDestinationIDs = map[string]bool{"status": true}

// Destination is what the API shows of a destination: its fields, and
// has_api_key, has_bearer_token and has_password instead of its
// credentials (the embedded Destination never holds one).
type Destination struct {
	destinations.Destination
	HasAPIKey      bool `json:"has_api_key,omitempty"`
	HasBearerToken bool `json:"has_bearer_token,omitempty"`
	HasPassword    bool `json:"has_password,omitempty"`
}

// plainDestination is destinations.Destination without its methods, so
// that it encodes field by field (its credentials are json:"-").
type plainDestination destinations.Destination

// MarshalJSON encodes the view with its has_ flags.
func (d Destination) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		plainDestination
		HasAPIKey      bool `json:"has_api_key,omitempty"`
		HasBearerToken bool `json:"has_bearer_token,omitempty"`
		HasPassword    bool `json:"has_password,omitempty"`
	}{plainDestination(d.Destination), d.HasAPIKey, d.HasBearerToken, d.HasPassword})
}

// DestinationView returns what the API shows of d: d without its
// credentials, and whether it has them.
func DestinationView(d destinations.Destination) Destination {
	v := Destination{Destination: d, HasAPIKey: d.APIKey != "", HasBearerToken: d.BearerToken != "", HasPassword: d.Password != ""}
	v.APIKey, v.BearerToken, v.Password = "", "", ""
	return v
}

// DestinationPatch is the body of PATCH /api/v1/destinations/{id}: fields
// left out (or null) are not changed, so that the credentials are kept
// when not given. Setting one of api_key and bearer_token (not empty)
// without the other removes the other. A change of kind, url, catalogue,
// create_catalogue, username or a credential checks the destination again.
type DestinationPatch struct {
	ID              *string   `json:"id,omitempty"`
	Kind            *string   `json:"kind,omitempty"`
	URL             *string   `json:"url,omitempty"`
	Catalogue       *string   `json:"catalogue,omitempty"`
	CreateCatalogue *bool     `json:"create_catalogue,omitempty"`
	APIKey          *string   `json:"api_key,omitempty"`
	BearerToken     *string   `json:"bearer_token,omitempty"`
	Username        *string   `json:"username,omitempty"`
	Password        *string   `json:"password,omitempty"`
	OwnerGroup      *string   `json:"owner_group,omitempty"`
	AccessGroups    *[]string `json:"access_groups,omitempty"`
	ContactEmail    *string   `json:"contact_email,omitempty"`
	SourceFolder    *string   `json:"source_folder,omitempty"`
	PIDPrefix       *string   `json:"pid_prefix,omitempty"`
	Facilities      *[]string `json:"facilities,omitempty"`
	Techniques      *[]string `json:"techniques,omitempty"`
	OnDelete        *string   `json:"on_delete,omitempty"`
	InFlight        *int      `json:"in_flight,omitempty"`
	Enabled         *bool     `json:"enabled,omitempty"`
}

// Empty reports whether the patch changes nothing.
func (p DestinationPatch) Empty() bool { return p == (DestinationPatch{}) }

// apply sets the fields of p on d and reports whether one of them changes
// what the check looks at.
func (p DestinationPatch) apply(d *destinations.Destination) (recheck bool) {
	str := func(dst *string, v *string, check bool) {
		if v != nil && *dst != *v {
			*dst = *v
			recheck = recheck || check
		}
	}
	secret := func(dst *feeds.Secret, v *string) {
		if v != nil && dst.Reveal() != *v {
			*dst = feeds.Secret(*v)
			recheck = true
		}
	}
	list := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = append([]string(nil), (*v)...)
		}
	}
	str(&d.Kind, p.Kind, true)
	str(&d.URL, p.URL, true)
	str(&d.Catalogue, p.Catalogue, true)
	if p.CreateCatalogue != nil && d.CreateCatalogue != *p.CreateCatalogue {
		d.CreateCatalogue = *p.CreateCatalogue
		recheck = recheck || d.CreateCatalogue
	}
	if p.APIKey != nil && *p.APIKey != "" && p.BearerToken == nil {
		d.BearerToken = ""
	}
	if p.BearerToken != nil && *p.BearerToken != "" && p.APIKey == nil {
		d.APIKey = ""
	}
	secret(&d.APIKey, p.APIKey)
	secret(&d.BearerToken, p.BearerToken)
	str(&d.Username, p.Username, true)
	secret(&d.Password, p.Password)
	str(&d.OwnerGroup, p.OwnerGroup, false)
	list(&d.AccessGroups, p.AccessGroups)
	str(&d.ContactEmail, p.ContactEmail, false)
	str(&d.SourceFolder, p.SourceFolder, false)
	str(&d.PIDPrefix, p.PIDPrefix, false)
	list(&d.Facilities, p.Facilities)
	list(&d.Techniques, p.Techniques)
	str(&d.OnDelete, p.OnDelete, false)
	if p.InFlight != nil {
		d.InFlight = *p.InFlight
	}
	if p.Enabled != nil {
		d.Enabled = *p.Enabled
	}
	return recheck
}

// ReplayRequest is the body of POST /api/v1/destinations/{id}/replay. An
// empty one replays from the start of the catalogue.
type ReplayRequest struct {
	// FromSeq is the catalogue sequence to start at.
	FromSeq uint64 `json:"from_seq,omitempty"`
	// Since starts at the first entry published at or after this time
	// (RFC 3339). Exclusive with FromSeq.
	Since string `json:"since,omitempty"`
	// All pushes again what the destination already holds as it is.
	All bool `json:"all,omitempty"`
}

// operator wraps a destination handler: like a write, it authenticates the
// request (reads included), and only an operator may go on — destinations
// hold credentials and the node's topology.
func (s *Server) operator(h func(http.ResponseWriter, *http.Request, Principal) error) http.HandlerFunc {
	return s.write(func(w http.ResponseWriter, r *http.Request, p Principal) error {
		if !p.Operator {
			return fmt.Errorf("%w: %s: destinations hold credentials and the node's topology, so only an operator token may read or change them", ErrForbidden, p)
		}
		return h(w, r, p)
	})
}

func (s *Server) listDestinations(w http.ResponseWriter, r *http.Request, _ Principal) error {
	all, err := s.dreg.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]Destination, 0, len(all))
	for _, d := range all {
		out = append(out, DestinationView(d))
	}
	s.reply(w, http.StatusOK, out)
	return nil
}

func (s *Server) getDestination(w http.ResponseWriter, r *http.Request, _ Principal) error {
	d, err := s.dreg.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, DestinationView(d))
	return nil
}

func (s *Server) createDestination(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.DestinationChecker == nil {
		return errNoChecker
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("%w: body: %w", errBadRequest, err)
	}
	var in destinations.Input
	if err := decodeBytes(body, &in); err != nil {
		return err
	}
	// What the Input's types cannot tell: whether enabled was given (its
	// default is true), and fields that are not the client's to set.
	var given struct {
		Enabled *bool           `json:"enabled"`
		Replay  json.RawMessage `json:"replay"`
	}
	_ = json.Unmarshal(body, &given)
	d := in.Destination()
	if d.ID == "" {
		return fmt.Errorf("%w: id is required", destinations.ErrInvalid)
	}
	if reservedDestinationIDs[d.ID] {
		return fmt.Errorf("%w: id %q is reserved (it is a route of the API)", destinations.ErrInvalid, d.ID)
	}
	if len(given.Replay) > 0 && string(given.Replay) != "null" {
		return fmt.Errorf("%w: replay is asked for with POST /api/v1/destinations/%s/replay", destinations.ErrInvalid, d.ID)
	}
	d.Replay, d.Created, d.Updated = nil, time.Time{}, time.Time{}
	d.Enabled = given.Enabled == nil || *given.Enabled
	if err := d.Validate(); err != nil {
		return err
	}
	if _, err := s.dreg.Get(r.Context(), d.ID); err == nil {
		return fmt.Errorf("%w: %s", destinations.ErrExists, d.ID)
	} else if !errors.Is(err, destinations.ErrNotFound) {
		return err
	}
	if err := s.cfg.DestinationChecker.Check(r.Context(), d); err != nil {
		return err
	}
	saved, err := s.dreg.Create(r.Context(), d)
	if err != nil {
		return err
	}
	s.log.Info("destination registered", "destination", saved.ID, "kind", saved.Kind, "url", saved.URL, "enabled", saved.Enabled, "by", p)
	s.reply(w, http.StatusCreated, DestinationView(saved))
	return nil
}

func (s *Server) updateDestination(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.DestinationChecker == nil {
		return errNoChecker
	}
	old, err := s.dreg.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var in DestinationPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID != nil && *in.ID != old.ID {
		return fmt.Errorf("%w: %s: the id of a destination cannot change", destinations.ErrInvalid, old.ID)
	}
	d := old
	recheck := in.apply(&d)
	if err := d.Validate(); err != nil {
		return err
	}
	if recheck {
		if err := s.cfg.DestinationChecker.Check(r.Context(), d); err != nil {
			return err
		}
	}
	saved, err := s.dreg.Update(r.Context(), d.ID, func(cur *destinations.Destination) error {
		if !cur.Updated.Equal(old.Updated) {
			return fmt.Errorf("%w: %s", destinations.ErrConflict, d.ID)
		}
		d.Replay = cur.Replay
		*cur = d
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("destination updated", "destination", saved.ID, "kind", saved.Kind, "url", saved.URL, "rechecked", recheck, "by", p)
	s.reply(w, http.StatusOK, DestinationView(saved))
	return nil
}

func (s *Server) removeDestination(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if err := s.dreg.Delete(r.Context(), id); err != nil {
		return err
	}
	s.log.Info("destination removed", "destination", id, "by", p)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) destinationStatus(w http.ResponseWriter, r *http.Request, _ Principal) error {
	d, err := s.dreg.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.cfg.Destinations == nil {
		return errNoStatus
	}
	st, err := s.cfg.Destinations.Status(r.Context(), d)
	if err != nil {
		return fmt.Errorf("status of destination %s: %w", d.ID, err)
	}
	s.reply(w, http.StatusOK, st)
	return nil
}

func (s *Server) destinationsStatus(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if s.cfg.Destinations == nil {
		return errNoStatus
	}
	all, err := s.dreg.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]destinations.Status, 0, len(all))
	for _, d := range all {
		st, err := s.cfg.Destinations.Status(r.Context(), d)
		if err != nil {
			return fmt.Errorf("status of destination %s: %w", d.ID, err)
		}
		out = append(out, st)
	}
	s.reply(w, http.StatusOK, out)
	return nil
}

func (s *Server) replayDestination(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if _, err := s.dreg.Get(r.Context(), id); err != nil {
		return err
	}
	var in ReplayRequest
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	rp := destinations.Replay{FromSeq: in.FromSeq, All: in.All, Requested: s.now().UTC()}
	if in.Since != "" {
		if in.FromSeq != 0 {
			return fmt.Errorf("%w: from_seq and since exclude each other", errBadRequest)
		}
		t, err := time.Parse(time.RFC3339, in.Since)
		if err != nil {
			return fmt.Errorf("%w: since %.80q: want an RFC 3339 time (2026-01-02T15:04:05Z)", errBadRequest, in.Since)
		}
		rp.Since = t.UTC()
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("replay id: %w", err)
	}
	rp.ID = hex.EncodeToString(b[:])
	saved, err := s.dreg.Update(r.Context(), id, func(d *destinations.Destination) error {
		d.Replay = &rp
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("destination replay requested", "destination", id, "replay", rp.ID, "from_seq", rp.FromSeq,
		"since", rp.Since, "all", rp.All, "by", p)
	s.reply(w, http.StatusAccepted, DestinationView(saved))
	return nil
}

// decodeBytes is decode for a body already read.
func decodeBytes(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %w", errBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body: more than one JSON value", errBadRequest)
	}
	return nil
}

func destinationPath(id string, rest ...string) string {
	return "/api/v1/destinations/" + url.PathEscape(id) + strings.Join(rest, "")
}

// ListDestinations returns the registered destinations (operators only).
func (c *Client) ListDestinations(ctx context.Context) ([]Destination, error) {
	var out []Destination
	return out, c.send(ctx, http.MethodGet, "/api/v1/destinations", nil, &out, true)
}

// GetDestination returns one destination (operators only).
func (c *Client) GetDestination(ctx context.Context, id string) (Destination, error) {
	var out Destination
	return out, c.send(ctx, http.MethodGet, destinationPath(id), nil, &out, true)
}

// CreateDestination registers a destination; the node checks it first.
func (c *Client) CreateDestination(ctx context.Context, in destinations.Input) (Destination, error) {
	var out Destination
	return out, c.send(ctx, http.MethodPost, "/api/v1/destinations", in, &out, true)
}

// UpdateDestination changes the fields of p that are set.
func (c *Client) UpdateDestination(ctx context.Context, id string, p DestinationPatch) (Destination, error) {
	var out Destination
	return out, c.send(ctx, http.MethodPatch, destinationPath(id), p, &out, true)
}

// DeleteDestination removes a destination.
func (c *Client) DeleteDestination(ctx context.Context, id string) error {
	return c.send(ctx, http.MethodDelete, destinationPath(id), nil, nil, true)
}

// DestinationStatus returns how the delivery to one destination stands.
func (c *Client) DestinationStatus(ctx context.Context, id string) (destinations.Status, error) {
	var out destinations.Status
	return out, c.send(ctx, http.MethodGet, destinationPath(id, "/status"), nil, &out, true)
}

// DestinationsStatus returns how the delivery to every destination stands.
func (c *Client) DestinationsStatus(ctx context.Context) ([]destinations.Status, error) {
	var out []destinations.Status
	return out, c.send(ctx, http.MethodGet, "/api/v1/destinations/status", nil, &out, true)
}

// ReplayDestination asks for a destination to be pushed again from a
// position of the catalogue.
func (c *Client) ReplayDestination(ctx context.Context, id string, req ReplayRequest) (Destination, error) {
	var out Destination
	return out, c.send(ctx, http.MethodPost, destinationPath(id, "/replay"), req, &out, true)
}
