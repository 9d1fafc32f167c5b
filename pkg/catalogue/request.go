package catalogue

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/rdfenc"
	"github.com/panosc/fairway/pkg/readmodel"
)

// errBadRequest marks a request whose parameters cannot be read.
var errBadRequest = errors.New("bad request")

// maxParam bounds the length of one query parameter's value.
const maxParam = 2048

// format returns the serialisation a request asks for, or writes 406 and
// returns false.
func (h *Handler) format(w http.ResponseWriter, r *http.Request) (rdfenc.Format, bool) {
	f, err := rdfenc.Negotiate(r.Header.Get("Accept"), r.URL.Query().Get("format"))
	w.Header().Add("Vary", "Accept")
	if err != nil {
		var offered []string
		for _, f := range rdfenc.Formats {
			offered = append(offered, f.MediaType())
		}
		http.Error(w, fmt.Sprintf("%v; offered: %s (or ?format=%s)", err, strings.Join(offered, ", "), formatNames()), http.StatusNotAcceptable)
		return 0, false
	}
	return f, true
}

func formatNames() string {
	var names []string
	for _, f := range rdfenc.Formats {
		names = append(names, f.String())
	}
	return strings.Join(names, "|")
}

// startDocument sets the headers of an RDF answer in f.
func startDocument(w http.ResponseWriter, f rdfenc.Format) {
	w.Header().Set("Content-Type", f.MediaType()+"; charset=utf-8")
}

// filters reads the filters a page, the export or the changes feed take:
// facility, technique and modifiedSince.
func filters(v url.Values) (readmodel.Query, error) {
	var q readmodel.Query
	for _, name := range []string{"facility", "technique", "modifiedSince", "page", "pageSize", "since", "format", "after"} {
		if vs := v[name]; len(vs) > 1 {
			return q, fmt.Errorf("%w: %s given %d times", errBadRequest, name, len(vs))
		} else if len(vs) == 1 && len(vs[0]) > maxParam {
			return q, fmt.Errorf("%w: %s longer than %d bytes", errBadRequest, name, maxParam)
		}
	}
	q.Facility = strings.TrimSpace(v.Get("facility"))
	q.Technique = strings.TrimSpace(v.Get("technique"))
	if s := strings.TrimSpace(v.Get("modifiedSince")); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return q, fmt.Errorf("%w: modifiedSince: %v", errBadRequest, err)
		}
		q.From = t
	}
	return q, nil
}

// parseTime reads a time as RFC 3339 (2026-01-02T15:04:05Z, fractions and
// offsets allowed) or a day (2026-01-02, from its start in UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a day (YYYY-MM-DD)", s)
}

// paging reads page (from 1) and pageSize.
func (h *Handler) paging(v url.Values) (page, size int, err error) {
	page, size = 1, h.cfg.PageSize
	if s := v.Get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			return 0, 0, fmt.Errorf("%w: page must be a whole number from 1, got %q", errBadRequest, s)
		}
	}
	if s := v.Get("pageSize"); s != "" {
		if size, err = strconv.Atoi(s); err != nil || size < 1 || size > h.cfg.MaxPageSize {
			return 0, 0, fmt.Errorf("%w: pageSize must be a whole number from 1 to %d, got %q", errBadRequest, h.cfg.MaxPageSize, s)
		}
	}
	// Page numbers reach as deep as the index pages by offset; further
	// pages are reached by following hydra:next (a cursor).
	if page-1 > readmodel.MaxOffset/size {
		return 0, 0, fmt.Errorf("%w: page %d of %d is deeper than numbered pages reach (%d datasets): follow hydra:next", errBadRequest, page, size, readmodel.MaxOffset)
	}
	return page, size, nil
}

// badRequest answers 400 with the reason.
func badRequest(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// pageURL returns the URL of another page of the same listing: path on the
// node's base URL, with the request's parameters and page set to n.
func (h *Handler) pageURL(path string, v url.Values, n int) string {
	return h.listingURL(path, v, "page", strconv.Itoa(n))
}

// listingURL returns the URL of path on the node's base URL with the
// request's filters, page size and format, and name set to value.
func (h *Handler) listingURL(path string, v url.Values, name, value string) string {
	c := url.Values{}
	for _, p := range []string{"facility", "technique", "modifiedSince", "pageSize", "format"} {
		if s := v.Get(p); s != "" {
			c.Set(p, s)
		}
	}
	c.Set(name, value)
	return h.baseURL() + path + "?" + c.Encode()
}

// baseURL is the node's public URL, without a trailing slash.
func (h *Handler) baseURL() string {
	return strings.TrimRight(strings.TrimSpace(h.opts.BaseURL), "/")
}
