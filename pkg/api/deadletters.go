package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

// The dead-letter routes (operators only):
//
//	GET  /api/v1/deadletters?stage=&feed=&error=&since=&until=&after=&limit=   a page of dead letters, oldest first
//	GET  /api/v1/deadletters/{seq}       one dead letter: the original message's headers and payload, its error history
//	POST /api/v1/deadletters/redrive     send back those a DeadLetterAction selects
//	POST /api/v1/deadletters/purge       remove those a DeadLetterAction selects

// MaxDeadLetterPage bounds ?limit= of the dead-letter listing.
const MaxDeadLetterPage = 1000

// MaxDeadLetterPayload bounds the payload a dead letter's detail carries.
const MaxDeadLetterPayload = 64 << 10

// maxActionErrors bounds the errors a redrive or purge answer quotes.
const maxActionErrors = 20

// DeadLetter is a dead letter in a listing.
type DeadLetter struct {
	// Seq is its sequence in the dead-letter stream.
	Seq uint64 `json:"seq"`
	// Stage that gave up.
	Stage string `json:"stage"`
	// Feed it came from, when known.
	Feed string `json:"feed,omitempty"`
	// Key of the dataset or record.
	Key string `json:"key"`
	// Reason the stage gave.
	Reason string `json:"reason"`
	// Attempts the stage made.
	Attempts int `json:"attempts"`
	// Time it was dead-lettered.
	Time time.Time `json:"time"`
	// Redrivable tells whether a redrive can send it back.
	Redrivable bool `json:"redrivable"`
	// Failures counts the times it was dead-lettered (more than one when
	// a redrive failed again).
	Failures int `json:"failures"`
}

// DeadLetterDetail answers GET /api/v1/deadletters/{seq}.
type DeadLetterDetail struct {
	DeadLetter
	// Subject it was read from.
	Subject string `json:"subject,omitempty"`
	// Headers of the original message.
	Headers map[string]string `json:"headers"`
	// Payload is the original payload, at most MaxDeadLetterPayload bytes.
	Payload []byte `json:"payload"`
	// PayloadSize is its whole size.
	PayloadSize int `json:"payload_size"`
	// Truncated says Payload was cut.
	Truncated bool `json:"truncated,omitempty"`
	// History is every failure, the oldest first, this one last.
	History []bus.Failure `json:"history"`
}

// DeadLetterPage answers GET /api/v1/deadletters.
type DeadLetterPage struct {
	// Letters of this page.
	Letters []DeadLetter `json:"letters"`
	// Next, when not 0, is the ?after= of the next page.
	Next uint64 `json:"next,omitempty"`
}

// DeadLetterAction is the body of the redrive and purge routes: one dead
// letter (Seq), those Filter selects, or All. A filter that selects
// everything must say All, so that an empty body never empties the
// dead letters.
type DeadLetterAction struct {
	// Seq, when set, is the one dead letter acted on.
	Seq uint64 `json:"seq,omitempty"`
	// Filter selects the dead letters acted on.
	Filter bus.DeadLetterFilter `json:"filter,omitzero"`
	// All must be true to act on every dead letter.
	All bool `json:"all,omitempty"`
	// DryRun counts what would be acted on and does nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// DeadLetterResult answers the redrive and purge routes.
type DeadLetterResult struct {
	// Matched is how many dead letters the action selected.
	Matched int `json:"matched"`
	// Done is how many were redriven or purged.
	Done int `json:"done"`
	// Left is how many stay (they could not be redriven).
	Left int `json:"left"`
	// Errors says why, for the first of those.
	Errors []string `json:"errors,omitempty"`
}

func (s *Server) routeDeadLetters() {
	s.mux.HandleFunc("GET /api/v1/deadletters", s.write(s.onlyOperator(s.listDeadLetters)))
	s.mux.HandleFunc("GET /api/v1/deadletters/{seq}", s.write(s.onlyOperator(s.showDeadLetter)))
	s.mux.HandleFunc("POST /api/v1/deadletters/redrive", s.write(s.onlyOperator(s.redriveDeadLetters)))
	s.mux.HandleFunc("POST /api/v1/deadletters/purge", s.write(s.onlyOperator(s.purgeDeadLetters)))
}

func deadLetterView(d bus.DeadLetter) DeadLetter {
	return DeadLetter{
		Seq: d.Seq, Stage: d.Stage, Feed: d.Feed(), Key: d.Key, Reason: d.Reason, Attempts: d.Attempts, Time: d.Time.UTC(),
		Redrivable: d.Subject != "", Failures: len(d.History()),
	}
}

// deadLetterFilter reads a filter from a query.
func deadLetterFilter(q url.Values) (bus.DeadLetterFilter, error) {
	f := bus.DeadLetterFilter{Stage: q.Get("stage"), Feed: q.Get("feed"), Error: q.Get("error")}
	for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			p, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, fmt.Errorf("%w: ?%s= is not an RFC 3339 time", errBadRequest, name)
			}
			*t = p
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return f, fmt.Errorf("%w: ?after= is not a sequence", errBadRequest)
		}
		f.After = n
	}
	return f, nil
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request, _ Principal) error {
	f, err := deadLetterFilter(r.URL.Query())
	if err != nil {
		return err
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return fmt.Errorf("%w: ?limit= is not a positive number", errBadRequest)
		}
		limit = min(limit, MaxDeadLetterPage)
	}
	out, err := ListDeadLetters(r.Context(), s.bus, f, limit)
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, out)
	return nil
}

// ListDeadLetters returns a page of at most limit dead letters that f
// selects (what GET /api/v1/deadletters answers); limit is at most
// MaxDeadLetterPage, which a limit of 0 means.
func ListDeadLetters(ctx context.Context, b *bus.Bus, f bus.DeadLetterFilter, limit int) (DeadLetterPage, error) {
	if limit <= 0 || limit > MaxDeadLetterPage {
		limit = MaxDeadLetterPage
	}
	out := DeadLetterPage{Letters: []DeadLetter{}}
	err := b.EachDeadLetter(ctx, f, func(d bus.DeadLetter) error {
		if len(out.Letters) == limit {
			out.Next = out.Letters[limit-1].Seq
			return errPageFull
		}
		out.Letters = append(out.Letters, deadLetterView(d))
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return out, err
	}
	return out, nil
}

// errPageFull stops a walk when the page is full.
var errPageFull = errors.New("page full")

func deadLetter(ctx context.Context, b *bus.Bus, seq uint64) (bus.DeadLetter, error) {
	d, err := b.DeadLetter(ctx, seq)
	if bus.IsNotFound(err) {
		return d, fmt.Errorf("%w: no dead letter %d", errNotFound, seq)
	}
	return d, err
}

func (s *Server) showDeadLetter(w http.ResponseWriter, r *http.Request, _ Principal) error {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return fmt.Errorf("%w: %.40q is not a dead letter's sequence", errBadRequest, r.PathValue("seq"))
	}
	out, err := ShowDeadLetter(r.Context(), s.bus, seq)
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, out)
	return nil
}

// ShowDeadLetter returns the dead letter seq with its message and history
// (what GET /api/v1/deadletters/{seq} answers).
func ShowDeadLetter(ctx context.Context, b *bus.Bus, seq uint64) (DeadLetterDetail, error) {
	d, err := deadLetter(ctx, b, seq)
	if err != nil {
		return DeadLetterDetail{}, err
	}
	out := DeadLetterDetail{
		DeadLetter: deadLetterView(d), Subject: d.Subject, Headers: d.Headers(),
		Payload: d.Payload, PayloadSize: len(d.Payload), History: d.History(),
	}
	if len(out.Payload) > MaxDeadLetterPayload {
		out.Payload, out.Truncated = out.Payload[:MaxDeadLetterPayload], true
	}
	return out, nil
}

// eachSelected calls fn with every dead letter a selects.
func eachSelected(ctx context.Context, b *bus.Bus, a DeadLetterAction, fn func(bus.DeadLetter) error) error {
	switch {
	case a.Seq != 0:
		d, err := deadLetter(ctx, b, a.Seq)
		if err != nil {
			return err
		}
		return fn(d)
	case a.Filter.Empty() && a.Filter.After == 0 && !a.All:
		return fmt.Errorf("%w: say which dead letters: a seq, a filter, or all", errBadRequest)
	}
	return b.EachDeadLetter(ctx, a.Filter, fn)
}

// actOnDeadLetters runs act on every dead letter a selects (none when a
// is a dry run), reading the dead letters in pages: there is no cap.
func actOnDeadLetters(ctx context.Context, b *bus.Bus, a DeadLetterAction, act func(context.Context, bus.DeadLetter) error) (DeadLetterResult, error) {
	var out DeadLetterResult
	err := eachSelected(ctx, b, a, func(d bus.DeadLetter) error {
		out.Matched++
		if a.DryRun {
			return nil
		}
		if err := act(ctx, d); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			out.Left++
			if len(out.Errors) < maxActionErrors {
				out.Errors = append(out.Errors, fmt.Sprintf("%d: %.500s", d.Seq, err.Error()))
			}
			return nil
		}
		out.Done++
		return nil
	})
	return out, err
}

// RedriveDeadLetters sends back to their stage the dead letters a selects
// (what POST /api/v1/deadletters/redrive does).
func RedriveDeadLetters(ctx context.Context, b *bus.Bus, a DeadLetterAction) (DeadLetterResult, error) {
	return actOnDeadLetters(ctx, b, a, b.Redrive)
}

// PurgeDeadLetters removes the dead letters a selects (what POST
// /api/v1/deadletters/purge does).
func PurgeDeadLetters(ctx context.Context, b *bus.Bus, a DeadLetterAction) (DeadLetterResult, error) {
	return actOnDeadLetters(ctx, b, a, func(ctx context.Context, d bus.DeadLetter) error { return b.PurgeDeadLetter(ctx, d.Seq) })
}

func (s *Server) deadLetterAction(w http.ResponseWriter, r *http.Request, p Principal, verb string, fn func(context.Context, *bus.Bus, DeadLetterAction) (DeadLetterResult, error)) error {
	var a DeadLetterAction
	if err := decode(r, &a); err != nil {
		return err
	}
	out, err := fn(r.Context(), s.bus, a)
	if err != nil {
		return err
	}
	s.log.Info("dead letters "+verb, "matched", out.Matched, "done", out.Done, "left", out.Left, "dry_run", a.DryRun, "by", p)
	s.reply(w, http.StatusOK, out)
	return nil
}

func (s *Server) redriveDeadLetters(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.deadLetterAction(w, r, p, "redriven", RedriveDeadLetters)
}

func (s *Server) purgeDeadLetters(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.deadLetterAction(w, r, p, "purged", PurgeDeadLetters)
}

// DeadLetters returns a page of the dead letters f selects.
func (c *Client) DeadLetters(ctx context.Context, f bus.DeadLetterFilter, limit int) (DeadLetterPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"stage": f.Stage, "feed": f.Feed, "error": f.Error} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	if f.After > 0 {
		q.Set("after", strconv.FormatUint(f.After, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out DeadLetterPage
	err := c.send(ctx, http.MethodGet, "/api/v1/deadletters?"+q.Encode(), nil, &out, true)
	return out, err
}

// DeadLetter returns the dead letter seq with its message and history.
func (c *Client) DeadLetter(ctx context.Context, seq uint64) (DeadLetterDetail, error) {
	var out DeadLetterDetail
	err := c.send(ctx, http.MethodGet, "/api/v1/deadletters/"+strconv.FormatUint(seq, 10), nil, &out, true)
	return out, err
}

// RedriveDeadLetters sends back the dead letters a selects.
func (c *Client) RedriveDeadLetters(ctx context.Context, a DeadLetterAction) (DeadLetterResult, error) {
	var out DeadLetterResult
	err := c.do(ctx, http.MethodPost, "/api/v1/deadletters/redrive", a, &out)
	return out, err
}

// PurgeDeadLetters removes the dead letters a selects.
func (c *Client) PurgeDeadLetters(ctx context.Context, a DeadLetterAction) (DeadLetterResult, error) {
	var out DeadLetterResult
	err := c.do(ctx, http.MethodPost, "/api/v1/deadletters/purge", a, &out)
	return out, err
}
