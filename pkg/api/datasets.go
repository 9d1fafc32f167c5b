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
	"github.com/panosc/fairway/pkg/datacite"
)

// Dataset ownership, under /api/v1/datasets:
//
//	GET  /api/v1/datasets/owner?key=KEY   which facility owns a dataset
//	POST /api/v1/datasets/transfer        {"key": KEY, "to": FACILITY}: operators only
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
		return s, nil
	}
	if doi, ok := datacite.NormaliseDOI(s); ok {
		return "doi:" + doi, nil
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
	if strings.TrimSpace(in.To) == "" {
		return fmt.Errorf("%w: no facility to transfer to (\"to\")", errBadRequest)
	}
	prev, err := s.bus.Owners().Transfer(r.Context(), key, strings.TrimSpace(in.To))
	if err != nil {
		return err
	}
	own, err := s.bus.Owners().Get(r.Context(), key)
	if err != nil {
		return err
	}
	s.log.Info("dataset transferred", "key", key, "from", prev, "to", own.Facility, "by", p.String())
	s.reply(w, http.StatusOK, Ownership{Key: own.Key, Facility: own.Facility, Since: own.Since, Previous: prev})
	return nil
}

// DatasetOwner returns which facility owns a dataset.
func (c *Client) DatasetOwner(ctx context.Context, key string) (Ownership, error) {
	var out Ownership
	return out, c.do(ctx, http.MethodGet, "/api/v1/datasets/owner?key="+url.QueryEscape(key), nil, &out)
}

// TransferDataset makes facility the owner of a dataset (operators only).
func (c *Client) TransferDataset(ctx context.Context, key, facility string) (Ownership, error) {
	var out Ownership
	return out, c.do(ctx, http.MethodPost, "/api/v1/datasets/transfer", TransferRequest{Key: key, To: facility}, &out)
}
