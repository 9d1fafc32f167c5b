package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/metadata"
)

// Dataset ownership, under /api/v1/datasets:
//
//	GET  /api/v1/datasets/owner?key=KEY   which facility owns a dataset
//	POST /api/v1/datasets/transfer        {"key": KEY, "to": FACILITY[, "force": true]}: operators only
//
// KEY is a dataset key ("doi:10.5072/abc", "src:esrf:oai:…") or a DOI in
// any of its usual forms.

// Ownership is the answer of the ownership endpoints.
type Ownership struct {
	// Key is the dataset key.
	Key string `json:"key"`
	// Facility owns it.
	Facility string `json:"facility"`
	// Feed first published it (empty after a transfer).
	Feed string `json:"feed,omitempty"`
	// Since is when the facility became the owner.
	Since time.Time `json:"since"`
	// Previous owner, in the answer of a transfer (empty: nobody).
	Previous string `json:"previous,omitempty"`
}

// TransferRequest is the body of a transfer.
type TransferRequest struct {
	// Key of the dataset (or its DOI).
	Key string `json:"key"`
	// To is the facility that owns it from now on.
	To string `json:"to"`
	// Force hands over a key that nobody owns yet (a dataset not yet
	// harvested); without it such a transfer is refused, so that a
	// misspelt key is not silently assigned.
	Force bool `json:"force,omitempty"`
}

var errNoOwner = fmt.Errorf("%w: no facility owns this dataset", errNotFound)

// errNotFound is the not-found of the dataset endpoints (the feed
// endpoints use feeds.ErrNotFound).
var errNotFound = errors.New("not found")

// DatasetKey returns the dataset key that s names: a key as the pipeline
// spells it ("doi:…" with the DOI normalised, "src:…" as it is), or a DOI
// in any usual form.
func DatasetKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("%w: no dataset key", errBadRequest)
	case strings.HasPrefix(s, "src:"):
		// As the normaliser spells it: the facility in lower case.
		facility, id, ok := strings.Cut(strings.TrimPrefix(s, "src:"), ":")
		if !ok || facility == "" || id == "" {
			return "", fmt.Errorf("%w: %.200q: a source key is src:facility:identifier", errBadRequest, s)
		}
		return metadata.DatasetKey("", facility, id), nil
	}
	if doi, ok := metadata.NormaliseDOI(s); ok {
		return metadata.DatasetKey(doi, "", ""), nil
	}
	return "", fmt.Errorf("%w: %.200q is neither a DOI nor a dataset key (doi:… or src:facility:…)", errBadRequest, s)
}

func (s *Server) owner(w http.ResponseWriter, r *http.Request) {
	key, err := DatasetKey(r.URL.Query().Get("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	own, err := s.bus.Owners().Get(r.Context(), key)
	if bus.IsNotFound(err) {
		err = fmt.Errorf("%w: %s", errNoOwner, key)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, Ownership{Key: own.Key, Facility: own.Facility, Feed: own.Feed, Since: own.Since})
}

// transfer hands a dataset to another facility: an operator's decision
// (a facility changed its name, a dataset was first published by the wrong
// feed). Records of the new owner's feeds are accepted from then on; dead
// letters refused before can be redriven.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request, p Principal) error {
	if !p.Operator {
		return fmt.Errorf("%w: only an operator may transfer a dataset", ErrForbidden)
	}
	var in TransferRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	key, err := DatasetKey(in.Key)
	if err != nil {
		return err
	}
	to := strings.TrimSpace(in.To)
	if err := feeds.ValidFacility(to); err != nil {
		return fmt.Errorf("%w: to: %w", errBadRequest, err)
	}
	if !in.Force {
		if _, err := s.bus.Owners().Get(r.Context(), key); bus.IsNotFound(err) {
			return fmt.Errorf("%w: %s (check the key; force hands over a key nobody owns yet)", errNoOwner, key)
		} else if err != nil {
			return err
		}
	}
	prev, err := s.bus.Owners().Transfer(r.Context(), key, to)
	if err != nil {
		return err
	}
	own, err := s.bus.Owners().Get(r.Context(), key)
	if err != nil {
		return err
	}
	s.log.Info("dataset transferred", "key", key, "from", prev, "to", own.Facility, "by", p)
	s.reply(w, http.StatusOK, Ownership{Key: own.Key, Facility: own.Facility, Since: own.Since, Previous: prev})
	return nil
}

// DatasetOwner returns which facility owns a dataset.
func (c *Client) DatasetOwner(ctx context.Context, key string) (Ownership, error) {
	var out Ownership
	return out, c.do(ctx, http.MethodGet, "/api/v1/datasets/owner?key="+url.QueryEscape(key), nil, &out)
}

// TransferDataset makes facility the owner of a dataset (operators only);
// force hands over a key that nobody owns yet.
func (c *Client) TransferDataset(ctx context.Context, key, facility string, force bool) (Ownership, error) {
	var out Ownership
	return out, c.do(ctx, http.MethodPost, "/api/v1/datasets/transfer", TransferRequest{Key: key, To: facility, Force: force}, &out)
}
