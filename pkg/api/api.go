// Package api is the node's HTTP API, under /api/v1 — the feed registry and
// its harvest runs, dataset ownership (see datasets.go) and the push
// destinations (see destinations.go) — with its
// access rules (tokens, the Host check of an open node) and the Client the
// CLI uses:
//
//	GET    /api/v1/feeds                 list feeds (?facility=NAME)
//	POST   /api/v1/feeds                 register a feed (checked first)
//	GET    /api/v1/feeds/{id}            one feed
//	PATCH  /api/v1/feeds/{id}            change the fields given (re-checked when the source changes)
//	DELETE /api/v1/feeds/{id}            remove a feed
//	POST   /api/v1/feeds/{id}/check      check the source again and record what it says
//	POST   /api/v1/feeds/{id}/harvest    harvest now ({"full":true}, {"from":"2024-01-01","until":"2024-06-30"}, {"full":true,"confirm_deletions":true})
//	GET    /api/v1/feeds/{id}/runs       last harvest runs, newest first (?limit=N)
//	GET    /api/v1/datasets/owner        which facility owns a dataset (?key=KEY)
//	POST   /api/v1/datasets/transfer     hand a dataset to another facility (operators)
//	GET    /api/v1/destinations          list push destinations (operators, as every destination route)
//	POST   /api/v1/destinations          register a destination (checked first; see destinations.Input)
//	GET    /api/v1/destinations/status   the delivery status of every destination
//	GET    /api/v1/destinations/{id}     one destination
//	PATCH  /api/v1/destinations/{id}     change the fields given (re-checked when its address, kind, catalogue or credentials change)
//	DELETE /api/v1/destinations/{id}     remove a destination
//	GET    /api/v1/destinations/{id}/status   its delivery status
//	POST   /api/v1/destinations/{id}/replay   push again from a position ({"from_seq":N} or {"since":"RFC3339"}, {"all":true}); 202
//	GET    /api/v1/panet                 the node's PaNET release and the release each enricher uses (see panet.go)
//	GET    /api/v1/panet/release         the node's PaNET release (the OWL file)
//	PUT    /api/v1/panet/release         a new PaNET release (operators; parsed and checked first)
//	POST   /api/v1/replays               replay a stage ({"stage":"enricher"}; operators); 202
//	GET    /api/v1/replays/{stage}/{id}  a replay's progress (operators)
//	POST   /api/v1/replays/{stage}/{id}/retry  run a failed replay again (operators); 409 unless failed or retrying
//	POST   /api/v1/usage                 a batch of usage events (see usage.go: facility token for its own datasets, or operator)
//	GET    /api/v1/usage/counts          COUNTER counts per dataset and month; GET /api/v1/usage/reuse, the most reused datasets
//	GET    /api/v1/sushi/status, /api/v1/sushi/reports, /api/v1/sushi/reports/dsr   the COUNTER SUSHI service (Dataset Report)
//	GET    /api/v1/search                datasets by text, technique, facility, instrument, dates, access, licence, quality (see search.go)
//
// Reads are open, except the destinations'. Every write needs
// "Authorization: Bearer <token>": an operator token manages every feed, a
// facility token the feeds of its own facility only. A sign-in token of a
// configured OpenID Provider (see package aai) counts as the token of the
// role its claims map to; one that maps to no role gets 403 with the
// reason. Every write is logged as an "audit" line (see audit.go). Every destination
// route, reads included, needs an operator token (destinations hold
// credentials and the node's topology): a facility token gets 403. An open
// demo node lets destination requests through as it lets its writes.
// Bodies and answers are JSON; an error is {"error": "what is wrong"} with
// status 400 (unreadable request), 401 (no valid token), 403 (token not
// allowed), 404, 409 (id taken, or concurrent change), 422 (invalid feed or destination, or its check failed) or 503
// (a destination route this node cannot serve: no checker, no delivery
// status). A feed's token is accepted on input and never returned: answers
// say "has_token"; a destination's credentials likewise ("has_api_key",
// "has_bearer_token", "has_password").
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/sushi"
	"github.com/panosc/fairway/pkg/usage"
)

// Prefix is the path under which the API is served.
const Prefix = "/api/v1/"

// Config configures the API.
type Config struct {
	// Access decides who may write. Required.
	Access *Access
	// Checker checks a feed's source before it is registered. Required.
	Checker feeds.Checker
	// MaxBodyBytes bounds a request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxRuns bounds ?limit= of the runs endpoint. Default 100.
	MaxRuns int
	// DestinationChecker checks a destination before it is registered or
	// changed. Optional: without it, destination writes answer 503.
	DestinationChecker destinations.Checker
	// Destinations tells how each destination's delivery stands. Optional:
	// without it, the status routes answer 503.
	Destinations StatusReader
	// KnownRuns is how many of a feed's last runs a harvest request
	// returns, for a client to tell them from the run it started.
	// Default 100.
	KnownRuns int
	// Usage validates, classifies and pseudonymises the usage events of
	// POST /api/v1/usage. Optional: without it, that route answers 503.
	Usage *usage.Intake
	// MaxUsageEvents bounds the events of one usage batch. Default
	// DefaultMaxUsageEvents.
	MaxUsageEvents int
	// Reports answers the usage counts, reuse and SUSHI routes. Optional:
	// without it, they answer 503 (SUSHI: exception 1000).
	Reports UsageReports
	// SUSHI describes the node in its COUNTER reports.
	SUSHI sushi.Config
	// Stats answers /api/v1/stats/{name}. Optional: without it, those
	// routes answer 503 (ClickHouse not configured).
	Stats StatsReader
	// Search answers GET /api/v1/search. Optional: without it, that route
	// answers 503.
	Search Searcher
	// ResourceMetadataURL is the URL of the node's OAuth protected
	// resource metadata (RFC 9728), named in the WWW-Authenticate header
	// of every 401 so that a client finds the issuers. Optional.
	ResourceMetadataURL string
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Access == nil {
		return errors.New("api: Access is required")
	}
	if c.Checker == nil {
		return errors.New("api: Checker is required")
	}
	if c.MaxBodyBytes < 0 || c.MaxRuns < 0 || c.KnownRuns < 0 || c.MaxUsageEvents < 0 {
		return errors.New("api: negative limit")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxRuns == 0 {
		c.MaxRuns = 100
	}
	if c.KnownRuns == 0 {
		c.KnownRuns = 100
	}
	if c.MaxUsageEvents == 0 {
		c.MaxUsageEvents = DefaultMaxUsageEvents
	}
}

// Server serves the API; it is an http.Handler for paths under Prefix.
type Server struct {
	cfg Config
	bus *bus.Bus
	reg *feeds.Registry
	// dreg is the destination registry.
	dreg *destinations.Registry
	log  *slog.Logger
	mux  *http.ServeMux
	now  func() time.Time
}

// New returns the API over the registry, harvest requests and runs of b.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &Server{cfg: cfg, bus: b, reg: feeds.NewRegistry(b.State(bus.BucketFeeds), feeds.WithLogger(log)), log: log, mux: http.NewServeMux(), now: time.Now}
	s.dreg = destinations.NewRegistry(b.State(bus.BucketDestinations), destinations.WithLogger(log))
	s.mux.HandleFunc("GET /api/v1/feeds", s.list)
	s.mux.HandleFunc("POST /api/v1/feeds", s.write(s.create))
	s.mux.HandleFunc("GET /api/v1/feeds/{id}", s.get)
	s.mux.HandleFunc("PATCH /api/v1/feeds/{id}", s.write(s.update))
	s.mux.HandleFunc("DELETE /api/v1/feeds/{id}", s.write(s.remove))
	s.mux.HandleFunc("POST /api/v1/feeds/{id}/check", s.write(s.check))
	s.mux.HandleFunc("POST /api/v1/feeds/{id}/harvest", s.write(s.harvest))
	s.mux.HandleFunc("GET /api/v1/feeds/{id}/runs", s.runs)
	s.mux.HandleFunc("GET /api/v1/datasets/owner", s.owner)
	s.mux.HandleFunc("POST /api/v1/datasets/transfer", s.write(s.transfer))
	s.mux.HandleFunc("GET /api/v1/destinations", s.operator(s.listDestinations))
	s.mux.HandleFunc("POST /api/v1/destinations", s.operator(s.createDestination))
	s.mux.HandleFunc("GET /api/v1/destinations/status", s.operator(s.destinationsStatus))
	s.mux.HandleFunc("GET /api/v1/destinations/{id}", s.operator(s.getDestination))
	s.mux.HandleFunc("PATCH /api/v1/destinations/{id}", s.operator(s.updateDestination))
	s.mux.HandleFunc("DELETE /api/v1/destinations/{id}", s.operator(s.removeDestination))
	s.mux.HandleFunc("GET /api/v1/destinations/{id}/status", s.operator(s.destinationStatus))
	s.mux.HandleFunc("POST /api/v1/destinations/{id}/replay", s.operator(s.replayDestination))
	s.routePaNET()
	s.routeDeadLetters()
	s.routeStatus()
	s.mux.HandleFunc("POST /api/v1/usage", s.write(s.postUsage))
	s.mux.HandleFunc("GET /api/v1/usage/counts", s.usageCounts)
	s.mux.HandleFunc("GET /api/v1/usage/reuse", s.usageReuse)
	s.mux.HandleFunc("GET /api/v1/stats/{name}", s.stats)
	s.mux.HandleFunc("GET /api/v1/sushi/status", s.sushiStatus)
	s.mux.HandleFunc("GET /api/v1/sushi/reports", s.sushiReports)
	s.mux.HandleFunc("GET /api/v1/sushi/reports/dsr", s.sushiDSR)
	s.routeSearch()
	s.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fmt.Errorf("%w: %s %s", errNoRoute, r.Method, r.URL.Path))
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Verifier returns the verifier of sign-in tokens, nil when sign-in is
// not configured.
func (s *Server) Verifier() *aai.Verifier { return s.cfg.Access.Verifier() }

// Open reports whether the API lets writes through without a token (the
// demo): such a node must also refuse requests for other hosts
// (LocalHostsOnly).
func (s *Server) Open() bool { return s.cfg.Access.Open() }

var (
	errBadRequest = errors.New("bad request")
	// errForbiddenOrigin refuses a write a browser sends from another site.
	errForbiddenOrigin = fmt.Errorf("%w: cross-origin", ErrForbidden)
	errNoRoute         = errors.New("no such endpoint")
)

// FeedInput is the body of a registration (POST) or a change (PATCH):
// fields left out (or null) are not changed; on registration they take
// their defaults (kind oai-pmh, every 6h, enabled, facility: the facility
// of a facility token).
type FeedInput struct {
	ID        *string         `json:"id,omitempty"`
	Facility  *string         `json:"facility,omitempty"`
	Kind      *string         `json:"kind,omitempty"`
	URL       *string         `json:"url,omitempty"`
	Format    *string         `json:"format,omitempty"`
	Set       *string         `json:"set,omitempty"`
	Every     *feeds.Duration `json:"every,omitempty"`
	RateLimit *feeds.Duration `json:"rate_limit,omitempty"`
	// MaxPages, MaxBytes and MaxDuration cap one harvest run of the feed
	// (0: the harvester's default).
	MaxPages    *int64          `json:"max_pages,omitempty"`
	MaxBytes    *int64          `json:"max_bytes,omitempty"`
	MaxDuration *feeds.Duration `json:"max_duration,omitempty"`
	// Token is the credential for the source (SciCat); "" removes it. It is
	// stored and never returned.
	Token   *string `json:"token,omitempty"`
	Enabled *bool   `json:"enabled,omitempty"`
}

// apply sets the fields of in on f and reports whether one of them changes
// what the source is (so that it must be checked again).
func (in FeedInput) apply(f *feeds.Feed) (sourceChanged bool) {
	set := func(dst *string, v *string, source bool) {
		if v != nil && *dst != *v {
			*dst = *v
			sourceChanged = sourceChanged || source
		}
	}
	set(&f.Facility, in.Facility, false)
	set(&f.Kind, in.Kind, true)
	set(&f.URL, in.URL, true)
	set(&f.Format, in.Format, true)
	set(&f.Set, in.Set, true)
	if in.Every != nil {
		f.Every = *in.Every
	}
	if in.RateLimit != nil {
		f.RateLimit = *in.RateLimit
	}
	if in.MaxPages != nil {
		f.MaxPages = *in.MaxPages
	}
	if in.MaxBytes != nil {
		f.MaxBytes = *in.MaxBytes
	}
	if in.MaxDuration != nil {
		f.MaxDuration = *in.MaxDuration
	}
	if in.Enabled != nil {
		f.Enabled = *in.Enabled
	}
	if in.Token != nil && f.Token.Reveal() != *in.Token {
		f.Token = feeds.Secret(*in.Token)
		sourceChanged = true
	}
	return sourceChanged
}

// Feed is a feed as the API shows it: every field but the token, and
// whether it has one.
type Feed struct {
	ID        string            `json:"id"`
	Facility  string            `json:"facility"`
	Kind      string            `json:"kind"`
	URL       string            `json:"url"`
	Format    string            `json:"format,omitempty"`
	Set       string            `json:"set,omitempty"`
	Every     feeds.Duration    `json:"every"`
	RateLimit feeds.Duration    `json:"rate_limit,omitempty"`
	HasToken  bool              `json:"has_token"`
	Enabled   bool              `json:"enabled"`
	Source    *feeds.SourceInfo `json:"source,omitempty"`
	Created   time.Time         `json:"created"`
	Updated   time.Time         `json:"updated"`

	// MaxPages, MaxBytes and MaxDuration are the feed's caps on one run
	// (absent: the harvester's defaults).
	MaxPages    int64          `json:"max_pages,omitempty"`
	MaxBytes    int64          `json:"max_bytes,omitempty"`
	MaxDuration feeds.Duration `json:"max_duration,omitempty"`
}

// View returns what the API shows of f.
func View(f feeds.Feed) Feed {
	return Feed{
		ID: f.ID, Facility: f.Facility, Kind: f.Kind, URL: f.URL, Format: f.Format, Set: f.Set,
		Every: f.Every, RateLimit: f.RateLimit, HasToken: f.Token != "", Enabled: f.Enabled,
		MaxPages: f.MaxPages, MaxBytes: f.MaxBytes, MaxDuration: f.MaxDuration,
		Source: f.Source, Created: f.Created, Updated: f.Updated,
	}
}

// write wraps a handler that changes something: it authenticates the
// request first.
func (s *Server) write(h func(http.ResponseWriter, *http.Request, Principal) error) http.HandlerFunc {
	return s.writeLimit(s.cfg.MaxBodyBytes, h)
}

// writeLimit is write with a body of at most limit bytes.
func (s *Server) writeLimit(limit int64, h func(http.ResponseWriter, *http.Request, Principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// A web page must not drive the API from a browser (an open demo
		// on loopback has no token to protect it): a browser says where a
		// request comes from, and writes from another site are refused.
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				s.fail(w, r, fmt.Errorf("%w: a write from another origin (%s)", errForbiddenOrigin, o))
				return
			}
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			s.fail(w, r, fmt.Errorf("%w: a write from another site", errForbiddenOrigin))
			return
		}
		p, err := s.cfg.Access.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			switch {
			case errors.Is(err, ErrUnauthenticated):
				code := ""
				if strings.TrimSpace(r.Header.Get("Authorization")) != "" {
					code = "invalid_token"
				}
				w.Header().Set("WWW-Authenticate", s.challenge(code))
			case errors.Is(err, aai.ErrNoRole):
				w.Header().Set("WWW-Authenticate", s.challenge("insufficient_scope"))
			}
			s.fail(w, r, err)
			return
		}
		body := &auditBody{r: http.MaxBytesReader(w, r.Body, limit)}
		r.Body = body
		sw := &statusWriter{ResponseWriter: w}
		if err := h(sw, r, p); err != nil {
			s.fail(sw, r, err)
		}
		s.audit(r, p, sw.status, body)
	}
}

// challenge is the WWW-Authenticate value of a 401, or of a 403 for a
// sign-in token that maps to no role (RFC 6750, with the resource
// metadata of RFC 9728 when the node publishes it); code, when not empty,
// is its error ("invalid_token", "insufficient_scope").
func (s *Server) challenge(code string) string {
	c := `Bearer realm="fairway"`
	if s.cfg.ResourceMetadataURL != "" {
		c += `, resource_metadata="` + s.cfg.ResourceMetadataURL + `"`
	}
	if code != "" {
		c += `, error="` + code + `"`
	}
	return c
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	all, err := s.reg.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	facility := r.URL.Query().Get("facility")
	out := make([]Feed, 0, len(all))
	for _, f := range all {
		if facility == "" || strings.EqualFold(f.Facility, facility) {
			out = append(out, View(f))
		}
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	f, err := s.reg.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, View(f))
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in FeedInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID == nil || *in.ID == "" {
		return fmt.Errorf("%w: id is required", feeds.ErrInvalid)
	}
	f := feeds.Feed{ID: *in.ID, Kind: feeds.KindOAIPMH, Every: feeds.Duration(feeds.DefaultEvery), Enabled: true}
	if !p.Operator {
		f.Facility = p.Facility
	}
	in.apply(&f)
	if !p.CanManage(f.Facility) {
		return fmt.Errorf("%w: %s cannot register a feed of facility %q", ErrForbidden, p, f.Facility)
	}
	if err := capsAllowed(p, feeds.Feed{}, f); err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if _, err := s.reg.Get(r.Context(), f.ID); err == nil {
		return fmt.Errorf("%w: %s", feeds.ErrExists, f.ID)
	} else if !errors.Is(err, feeds.ErrNotFound) {
		return err
	}
	info, err := s.cfg.Checker.Check(r.Context(), f)
	if err != nil {
		return err
	}
	f.Source = &info
	saved, err := s.reg.Create(r.Context(), f)
	if err != nil {
		return err
	}
	s.log.Info("feed registered", "feed", saved.ID, "facility", saved.Facility, "kind", saved.Kind, "url", saved.URL, "by", p)
	s.reply(w, http.StatusCreated, View(saved))
	return nil
}

// capsAllowed refuses a facility's change that raises a cap of its feed's
// runs above the harvester's defaults: a facility may lower its caps, only
// an operator may raise them (else a hostile feed could run forever).
func capsAllowed(p Principal, old, f feeds.Feed) error {
	if p.Operator {
		return nil
	}
	raised := func(was, is, def int64) bool { return is != was && is > def }
	switch {
	case raised(old.MaxPages, f.MaxPages, harvester.DefaultMaxPages):
		return fmt.Errorf("%w: only an operator may raise max_pages above %d", ErrForbidden, harvester.DefaultMaxPages)
	case raised(old.MaxBytes, f.MaxBytes, harvester.DefaultMaxBytes):
		return fmt.Errorf("%w: only an operator may raise max_bytes above %d", ErrForbidden, int64(harvester.DefaultMaxBytes))
	case raised(int64(old.MaxDuration), int64(f.MaxDuration), int64(harvester.DefaultMaxDuration)):
		return fmt.Errorf("%w: only an operator may raise max_duration above %s", ErrForbidden, harvester.DefaultMaxDuration)
	}
	return nil
}

// manageable returns the feed with the request's id if p may manage it.
func (s *Server) manageable(r *http.Request, p Principal) (feeds.Feed, error) {
	f, err := s.reg.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return feeds.Feed{}, err
	}
	if !p.CanManage(f.Facility) {
		return feeds.Feed{}, fmt.Errorf("%w: %s cannot manage feed %s of facility %q", ErrForbidden, p, f.ID, f.Facility)
	}
	return f, nil
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, p Principal) error {
	old, err := s.manageable(r, p)
	if err != nil {
		return err
	}
	var in FeedInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID != nil && *in.ID != old.ID {
		return fmt.Errorf("%w: %s: the id of a feed cannot change", feeds.ErrInvalid, old.ID)
	}
	f := old
	recheck := in.apply(&f)
	if f.Facility != old.Facility && !p.CanManage(f.Facility) {
		return fmt.Errorf("%w: %s cannot move feed %s to facility %q", ErrForbidden, p, f.ID, f.Facility)
	}
	if err := capsAllowed(p, old, f); err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if recheck {
		info, err := s.cfg.Checker.Check(r.Context(), f)
		if err != nil {
			return err
		}
		f.Source = &info
	}
	saved, err := s.reg.Update(r.Context(), f.ID, func(cur *feeds.Feed) error {
		if !cur.Updated.Equal(old.Updated) {
			return fmt.Errorf("%w: %s", feeds.ErrConflict, f.ID)
		}
		*cur = f
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("feed updated", "feed", saved.ID, "facility", saved.Facility, "rechecked", recheck, "by", p)
	s.reply(w, http.StatusOK, View(saved))
	return nil
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request, p Principal) error {
	f, err := s.manageable(r, p)
	if err != nil {
		return err
	}
	if err := s.reg.Delete(r.Context(), f.ID); err != nil {
		return err
	}
	s.log.Info("feed removed", "feed", f.ID, "facility", f.Facility, "by", p)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) check(w http.ResponseWriter, r *http.Request, p Principal) error {
	f, err := s.manageable(r, p)
	if err != nil {
		return err
	}
	info, err := s.cfg.Checker.Check(r.Context(), f)
	if err != nil {
		return err
	}
	saved, err := s.reg.Update(r.Context(), f.ID, func(cur *feeds.Feed) error {
		if cur.Kind != f.Kind || cur.URL != f.URL || cur.Format != f.Format || cur.Set != f.Set || cur.Token != f.Token {
			return fmt.Errorf("%w: %s", feeds.ErrConflict, f.ID)
		}
		cur.Source = &info
		return nil
	})
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, View(saved))
	return nil
}

// HarvestRequest is the body of POST /api/v1/feeds/{id}/harvest (it may be
// empty: an incremental harvest).
type HarvestRequest struct {
	// Full harvests the whole list.
	Full bool `json:"full,omitempty"`
	// From harvests the changes since this date: YYYY-MM-DD or
	// YYYY-MM-DDThh:mm:ssZ (written at the source's granularity).
	From string `json:"from,omitempty"`
	// Until bounds the harvest at this date (same forms as From).
	Until string `json:"until,omitempty"`
	// ConfirmDeletions applies deletions that an earlier run held back
	// because they exceeded the feed's share guard (with Full).
	ConfirmDeletions bool `json:"confirm_deletions,omitempty"`
}

// HarvestAccepted answers a harvest request (status 202).
type HarvestAccepted struct {
	FeedID      string    `json:"feed_id"`
	RequestedAt time.Time `json:"requested_at"`
	Full        bool      `json:"full,omitempty"`
	From        string    `json:"from,omitempty"`
	Until       string    `json:"until,omitempty"`
	// ConfirmDeletions says held deletions will be applied.
	ConfirmDeletions bool `json:"confirm_deletions,omitempty"`
	// PreviousRuns are the ids of the feed's last runs before the request:
	// the run that serves the request is the first one not among them.
	PreviousRuns []string `json:"previous_runs"`
}

func (s *Server) harvest(w http.ResponseWriter, r *http.Request, p Principal) error {
	f, err := s.manageable(r, p)
	if err != nil {
		return err
	}
	var in HarvestRequest
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	from, err := normaliseDate("from", in.From, f.Source)
	if err != nil {
		return err
	}
	until, err := normaliseDate("until", in.Until, f.Source)
	if err != nil {
		return err
	}
	prev, err := harvester.LastRuns(r.Context(), s.bus, f.ID, s.cfg.KnownRuns)
	if err != nil {
		return err
	}
	acc := HarvestAccepted{
		FeedID: f.ID, RequestedAt: s.now().UTC(), Full: in.Full, From: from, Until: until,
		ConfirmDeletions: in.ConfirmDeletions, PreviousRuns: []string{},
	}
	for _, run := range prev {
		acc.PreviousRuns = append(acc.PreviousRuns, run.GetRunId())
	}
	req := harvester.RunRequest{Full: in.Full, From: from, Until: until, ConfirmDeletions: in.ConfirmDeletions}
	if err := harvester.Request(r.Context(), s.bus, f.ID, req); err != nil {
		return err
	}
	s.log.Info("harvest requested", "feed", f.ID, "full", in.Full, "from", from, "until", until,
		"confirm_deletions", in.ConfirmDeletions, "by", p)
	s.reply(w, http.StatusAccepted, acc)
	return nil
}

// normaliseDate checks a requested from or until date and writes it at
// the source's granularity when it is known.
func normaliseDate(name, from string, src *feeds.SourceInfo) (string, error) {
	if from == "" {
		return "", nil
	}
	t, err := time.Parse("2006-01-02", from)
	day := err == nil
	if err != nil {
		if t, err = time.Parse(time.RFC3339, from); err != nil {
			return "", fmt.Errorf("%w: %s %q: want YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ", feeds.ErrInvalid, name, from)
		}
	}
	if day || src != nil && src.Granularity == "YYYY-MM-DD" {
		return t.UTC().Format("2006-01-02"), nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z"), nil
}

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	f, err := s.reg.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, fmt.Errorf("%w: limit %q: want a positive number", errBadRequest, v))
			return
		}
		limit = min(n, s.cfg.MaxRuns)
	}
	runs, err := harvester.LastRuns(r.Context(), s.bus, f.ID, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]Run, 0, len(runs))
	for _, run := range runs {
		out = append(out, RunView(run))
	}
	s.addProgress(r.Context(), f.ID, out)
	s.reply(w, http.StatusOK, out)
}

// addProgress fills the counts of a run under way from the harvester's
// checkpoint, which it saves after every page (a run reports its counts
// only when it ends).
func (s *Server) addProgress(ctx context.Context, feedID string, runs []Run) {
	e, err := s.bus.State(bus.BucketCheckpoints).Get(ctx, feedID)
	if err != nil {
		if !errors.Is(err, bus.ErrNotFound) {
			s.log.Warn("reading harvest progress", "feed", feedID, "err", err)
		}
		return
	}
	var cp harvester.Checkpoint
	if err := json.Unmarshal(e.Value, &cp); err != nil || cp.Current == nil {
		return
	}
	for i := range runs {
		if runs[i].RunID == cp.Current.RunID && runs[i].Status == StatusRunning {
			runs[i].Pages, runs[i].Records = cp.Current.Pages, cp.Current.Records
			runs[i].Deleted, runs[i].Rejected = cp.Current.Deleted, cp.Current.Rejected
			runs[i].Bytes, runs[i].Retries, runs[i].ListSize = cp.Current.Bytes, cp.Current.Retries, cp.Current.ListSize
			if runs[i].StartedAt != nil {
				runs[i].Seconds = s.now().Sub(*runs[i].StartedAt).Seconds()
			}
		}
	}
}

// decode reads a JSON body into v; unknown fields are an error (a typo
// must not pass silently).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %w", errBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body: more than one JSON value", errBadRequest)
	}
	return nil
}

// decodeOptional is decode for a body that may be empty.
func decodeOptional(r *http.Request, v any) error {
	err := decode(r, v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := err.Error()
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, ErrUnauthenticated):
		status = http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, feeds.ErrNotFound), errors.Is(err, destinations.ErrNotFound), errors.Is(err, errNoRoute), errors.Is(err, errNotFound):
		status = http.StatusNotFound
	case errors.Is(err, feeds.ErrExists), errors.Is(err, feeds.ErrConflict),
		errors.Is(err, destinations.ErrExists), errors.Is(err, destinations.ErrConflict), errors.Is(err, bus.ErrNotRetryable):
		status = http.StatusConflict
	case errors.Is(err, feeds.ErrInvalid), errors.Is(err, feeds.ErrCheckFailed),
		errors.Is(err, destinations.ErrInvalid), errors.Is(err, destinations.ErrCheckFailed),
		errors.Is(err, enricher.ErrInvalidRelease), errors.Is(err, errInvalidReplay):
		status = http.StatusUnprocessableEntity
	case errors.As(err, new(unavailable)):
		status = http.StatusServiceUnavailable
	case errors.As(err, &tooBig):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	}
	if status >= 500 {
		s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = http.StatusText(status) + ": " + msg
	} else if status == http.StatusUnauthorized || status == http.StatusForbidden {
		s.log.Warn("api write refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", msg)
	}
	s.reply(w, status, errorBody{Error: msg})
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.log.Debug("api: writing answer", "err", err)
	}
}
