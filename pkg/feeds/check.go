package feeds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/oaipmh"
	"github.com/panosc/fairway/pkg/scicat"
	"github.com/panosc/fairway/pkg/urlguard"
)

// ErrCheckFailed is wrapped by every error of a check that reached a verdict
// on the source: it is unreachable, refuses the node, or does not offer
// what the feed asks for. The error's text says what is wrong.
var ErrCheckFailed = errors.New("feed check failed")

// Checker checks that a feed's source answers and offers what the feed
// asks for, and returns what it learnt of the source.
type Checker interface {
	Check(ctx context.Context, f Feed) (SourceInfo, error)
}

// CheckerConfig configures a SourceChecker.
type CheckerConfig struct {
	// Policy says which addresses a feed may reach; its zero value refuses
	// loopback, private and link-local addresses.
	Policy urlguard.Policy
	// Timeout bounds one check. Default 30s.
	Timeout time.Duration
	// HTTPClient is the base client; the checker guards it with Policy.
	// Default http.DefaultClient.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default "fairway-feed-check".
	UserAgent string
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c CheckerConfig) Validate() error {
	if c.Timeout < 0 {
		return errors.New("feeds: checker: negative timeout")
	}
	return nil
}

// SourceChecker is the Checker that asks the sources themselves: for an
// OAI-PMH feed, Identify and ListMetadataFormats (the feed's format must be
// offered) and, for a feed with a set, ListSets (the set must exist); for a
// SciCat feed, one dataset from the v4 API, else from the v3 API.
type SourceChecker struct {
	cfg  CheckerConfig
	http *http.Client
	log  *slog.Logger
}

// NewChecker returns a SourceChecker.
func NewChecker(cfg CheckerConfig) (*SourceChecker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "fairway-feed-check"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &SourceChecker{cfg: cfg, http: cfg.Policy.HTTPClient(cfg.HTTPClient), log: cfg.Logger}, nil
}

// Check checks f's source. An error wrapping ErrCheckFailed says what is
// wrong with the source; errors.Is also matches urlguard.ErrForbiddenAddress
// when the feed's address is refused.
func (c *SourceChecker) Check(ctx context.Context, f Feed) (SourceInfo, error) {
	if err := f.Validate(); err != nil {
		return SourceInfo{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := c.cfg.Policy.CheckURL(ctx, f.URL); err != nil {
		return SourceInfo{}, fmt.Errorf("%w: %s: address not allowed: %w", ErrCheckFailed, f.ID, err)
	}
	var info SourceInfo
	var err error
	switch f.Kind {
	case KindOAIPMH:
		info, err = c.checkOAI(ctx, f)
	case KindSciCat:
		info, err = c.checkSciCat(ctx, f)
	default:
		return SourceInfo{}, fmt.Errorf("%w: %s: kind %q", ErrInvalid, f.ID, f.Kind)
	}
	if err != nil {
		c.log.Info("feed check failed", "feed", f.ID, "kind", f.Kind, "url", f.URL, "err", err)
		return SourceInfo{}, fmt.Errorf("%w: %s: %w", ErrCheckFailed, f.ID, err)
	}
	info.CheckedAt = time.Now().UTC()
	c.log.Info("feed checked", "feed", f.ID, "kind", f.Kind, "url", f.URL)
	return info, nil
}

func (c *SourceChecker) checkOAI(ctx context.Context, f Feed) (SourceInfo, error) {
	client, err := oaipmh.NewClient(oaipmh.Config{
		BaseURL: f.URL, MetadataPrefix: f.Format, Set: f.Set, Transport: fetch.Transport{
			PageTimeout: c.cfg.Timeout, MaxRetries: -1, MaxPageBytes: 16 << 20, UserAgent: c.cfg.UserAgent,
			RateLimit: time.Duration(f.RateLimit),
		},
	}, oaipmh.WithHTTPClient(c.http), oaipmh.WithLogger(c.log))
	if err != nil {
		return SourceInfo{}, err
	}
	id, err := client.Identify(ctx)
	if err != nil {
		return SourceInfo{}, fmt.Errorf("no OAI-PMH repository answers at %s: Identify: %w", f.URL, err)
	}
	if id.ProtocolVersion != "" && id.ProtocolVersion != "2.0" {
		return SourceInfo{}, fmt.Errorf("%s speaks OAI-PMH %s; want 2.0", f.URL, id.ProtocolVersion)
	}
	formats, err := client.ListMetadataFormats(ctx, "")
	if err != nil {
		return SourceInfo{}, fmt.Errorf("%s: ListMetadataFormats: %w", f.URL, err)
	}
	var offered []string
	for _, m := range formats {
		offered = append(offered, m.MetadataPrefix)
	}
	if !slices.Contains(offered, f.Format) {
		return SourceInfo{}, fmt.Errorf("metadata format %q is not offered by %s (it offers %s)", f.Format, f.URL, strings.Join(offered, ", "))
	}
	if f.Set != "" {
		sets, err := client.ListSets(ctx)
		if errors.Is(err, oaipmh.ErrNoSetHierarchy) {
			return SourceInfo{}, fmt.Errorf("set %q: %s has no sets", f.Set, f.URL)
		}
		if err != nil {
			return SourceInfo{}, fmt.Errorf("%s: ListSets: %w", f.URL, err)
		}
		if !slices.ContainsFunc(sets, func(s oaipmh.Set) bool { return s.SetSpec == f.Set }) {
			return SourceInfo{}, fmt.Errorf("set %q is not offered by %s (%d sets listed)", f.Set, f.URL, len(sets))
		}
	}
	return SourceInfo{
		RepositoryName: id.RepositoryName, Granularity: id.Granularity,
		EarliestDatestamp: id.EarliestDatestamp, DeletedRecord: id.DeletedRecord,
	}, nil
}

// checkSciCat asks f's SciCat catalogue for one published dataset, as the
// harvester's client lists them (see scicat.Client.Probe), and records the
// API version that answered.
func (c *SourceChecker) checkSciCat(ctx context.Context, f Feed) (SourceInfo, error) {
	client, err := scicat.NewClient(scicat.Config{
		BaseURL: f.URL, Token: f.Token.Reveal(), Transport: fetch.Transport{
			PageTimeout: c.cfg.Timeout, MaxRetries: -1, MaxPageBytes: 8 << 20, UserAgent: c.cfg.UserAgent,
		},
	}, scicat.WithHTTPClient(c.http), scicat.WithLogger(c.log))
	if err != nil {
		return SourceInfo{}, err
	}
	version, err := client.Probe(ctx)
	switch {
	case err == nil:
		return SourceInfo{APIVersion: version}, nil
	case errors.Is(err, fetch.ErrUnauthorized) && f.Token == "":
		return SourceInfo{}, fmt.Errorf("the API wants a token: %w", err)
	case errors.Is(err, fetch.ErrUnauthorized):
		return SourceInfo{}, fmt.Errorf("the API refused the feed's token: %w", err)
	case urlguard.Refused(err) || ctx.Err() != nil:
		return SourceInfo{}, err
	}
	return SourceInfo{}, fmt.Errorf("no SciCat API answers at %s: %w", f.URL, err)
}
