package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
)

// StatsReader answers the statistics of /api/v1/stats/{name}.
type StatsReader interface {
	Stats(ctx context.Context, name string, q analytics.StatsQuery) (*analytics.StatsResult, error)
}

var _ StatsReader = (*analytics.Reader)(nil)

var errNoStats error = unavailable("this node has no statistics: ClickHouse is not configured (analytics are off)")

// statsQuery reads the parameters of a statistic: facility, technique,
// since, until (YYYY-MM-DD, YYYY-MM or RFC 3339) and limit.
func statsQuery(v url.Values) (analytics.StatsQuery, error) {
	q := analytics.StatsQuery{Facility: v.Get("facility"), Technique: v.Get("technique")}
	var err error
	if q.Since, err = timeParam(v.Get("since"), "since"); err != nil {
		return q, err
	}
	if q.Until, err = timeParam(v.Get("until"), "until"); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > analytics.MaxStatsLimit {
			return q, fmt.Errorf("%w: limit %.20q: want 1 to %d", errBadRequest, s, analytics.MaxStatsLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// timeParam reads a time given as YYYY-MM-DD, YYYY-MM or RFC 3339; empty
// is the zero time.
func timeParam(s, name string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s %.40q: want YYYY-MM-DD, YYYY-MM or RFC 3339", errBadRequest, name, s)
}

// wantsCSV reports whether the request asks for CSV: ?format=csv, or an
// Accept header that names text/csv before (or without) JSON.
func wantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, fmt.Errorf("%w: format %.20q: want json or csv", errBadRequest, f)
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/csv":
			return true, nil
		case "application/json", "*/*":
			return false, nil
		}
	}
	return false, nil
}

// stats serves GET /api/v1/stats/{name}: open to read, as the catalogue
// is (the statistics count public metadata and COUNTER totals only).
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	asCSV, err := wantsCSV(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := statsQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.Stats == nil {
		s.fail(w, r, errNoStats)
		return
	}
	res, err := s.cfg.Stats.Stats(r.Context(), r.PathValue("name"), q)
	if err != nil {
		switch {
		case errors.Is(err, analytics.ErrUnknownStat), errors.Is(err, analytics.ErrUnknownTechnique):
			err = fmt.Errorf("%w: %w", errNotFound, err)
		default:
			err = reportError(err)
		}
		s.fail(w, r, err)
		return
	}
	if !asCSV {
		s.reply(w, http.StatusOK, res)
		return
	}
	var buf bytes.Buffer
	if err := WriteStatsCSV(&buf, res); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", res.Stat+".csv"))
	_, _ = w.Write(buf.Bytes())
}

// WriteStatsCSV writes a statistic as CSV: a header of the column names,
// then one line per row.
func WriteStatsCSV(w io.Writer, res *analytics.StatsResult) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = c.Name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, row := range res.Rows {
		if err := cw.Write(StatsCells(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// StatsCells renders a row's values as text.
func StatsCells(row []any) []string {
	out := make([]string, len(row))
	for i, v := range row {
		switch x := v.(type) {
		case float64:
			out[i] = strconv.FormatFloat(x, 'f', -1, 64)
		case nil:
		default:
			out[i] = fmt.Sprint(x)
		}
	}
	return out
}

// Stats asks the node for the statistic name with params (facility,
// technique, since, until, limit). Numbers come back as json.Number.
func (c *Client) Stats(ctx context.Context, name string, params url.Values) (*analytics.StatsResult, error) {
	var raw json.RawMessage
	path := "/api/v1/stats/" + url.PathEscape(name)
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	if err := c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var res analytics.StatsResult
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("api: stats %s: answer: %w", name, err)
	}
	return &res, nil
}
