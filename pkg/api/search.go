package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/panosc/fairway/pkg/search"
)

// The search route:
//
//	GET /api/v1/search?q=…&technique=…&facility=…&instrument=…&from=…&until=…&access=…&licence=…&min_quality=…&sort=relevance|date&limit=…&cursor=…
//
// answers a search.Result: the query it ran, the filters it applied (the
// technique resolved), the total, the facets, the hits and the next
// cursor; a search that matches nothing is 200 with total 0 and a reason.
// An invalid request is 400 with the reason; an unknown technique is 400
// with the techniques it may have meant ("near"). A search is not counted
// as usage of the datasets it lists.

// Searcher answers searches (search.Searcher).
type Searcher interface {
	// Search runs req.
	Search(ctx context.Context, req search.Request) (search.Result, error)
}

// errNoSearch answers a search on a node without a searcher.
var errNoSearch error = unavailable("this node does not serve search")

// searchParams are the parameters GET /api/v1/search reads.
var searchParams = []string{"q", "technique", "facility", "instrument", "from", "until", "access", "licence", "min_quality", "sort", "limit", "cursor"}

// searchAliases are other spellings of some parameters.
var searchAliases = map[string]string{"license": "licence", "access_rights": "access", "query": "q"}

// UnknownTechniqueBody is the answer to a search whose technique names no
// PaNET technique (400).
type UnknownTechniqueBody struct {
	Error     string             `json:"error"`
	Technique string             `json:"technique"`
	Near      []search.Technique `json:"near"`
}

func (s *Server) routeSearch() {
	s.mux.HandleFunc("GET /api/v1/search", s.search)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Search == nil {
		s.fail(w, r, errNoSearch)
		return
	}
	req, err := searchRequest(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.cfg.Search.Search(r.Context(), req)
	var unknown *search.UnknownTechniqueError
	switch {
	case errors.As(err, &unknown):
		near := unknown.Near
		if near == nil {
			near = []search.Technique{}
		}
		s.reply(w, http.StatusBadRequest, UnknownTechniqueBody{Error: err.Error(), Technique: unknown.Technique, Near: near})
		return
	case errors.Is(err, search.ErrInvalid):
		s.fail(w, r, fmt.Errorf("%w: %w", errBadRequest, err))
		return
	case errors.Is(err, search.ErrUnavailable):
		s.fail(w, r, unavailable(err.Error()))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, res)
}

// searchRequest reads the parameters of GET /api/v1/search: each at most
// once, none unknown.
func searchRequest(v url.Values) (search.Request, error) {
	var req search.Request
	one := map[string]string{}
	for name, values := range v {
		key := name
		if a, ok := searchAliases[name]; ok {
			key = a
		}
		if !slices.Contains(searchParams, key) {
			return req, fmt.Errorf("%w: unknown parameter %.40q (known: %s)", errBadRequest, name, strings.Join(searchParams, ", "))
		}
		if _, dup := one[key]; dup || len(values) != 1 {
			return req, fmt.Errorf("%w: parameter %s given more than once", errBadRequest, key)
		}
		one[key] = values[0]
	}
	req.Query, req.Technique, req.Facility, req.Instrument = one["q"], one["technique"], one["facility"], one["instrument"]
	req.Access, req.Licence, req.Sort, req.Cursor = one["access"], one["licence"], one["sort"], one["cursor"]
	var err error
	if req.From, err = search.ParseDate(one["from"], false); err != nil {
		return req, fmt.Errorf("%w: from: %w", errBadRequest, err)
	}
	if req.Until, err = search.ParseDate(one["until"], true); err != nil {
		return req, fmt.Errorf("%w: until: %w", errBadRequest, err)
	}
	if l, ok := one["limit"]; ok {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > search.MaxLimit {
			return req, fmt.Errorf("%w: limit %.40q: want 1 to %d", errBadRequest, l, search.MaxLimit)
		}
		req.Limit = n
	}
	if mq, ok := one["min_quality"]; ok {
		f, err := strconv.ParseFloat(mq, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return req, fmt.Errorf("%w: min_quality %.40q: want a number from 0 to 1", errBadRequest, mq)
		}
		req.MinQuality = f
	}
	return req, nil
}
