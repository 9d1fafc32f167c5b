package destinations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/piveau"
	"github.com/panosc/fairway/pkg/scicatpush"
	"github.com/panosc/fairway/pkg/urlguard"
)

// ErrCheckFailed is wrapped by every error of a check that reached a
// verdict on the destination: its address is not allowed, it does not
// answer, it is not what its kind says, it lacks the catalogue, or it
// refuses the credentials. The error's text says what is wrong, in words
// an operator acts on, and never holds a credential.
var ErrCheckFailed = errors.New("destination check failed")

// Checker checks that a destination answers and takes its credentials
// before it is registered.
type Checker interface {
	Check(ctx context.Context, d Destination) error
}

// Defaults of CheckerConfig.
const (
	// DefaultCheckTimeout bounds one check.
	DefaultCheckTimeout = 30 * time.Second
	// DefaultCheckRetries is how often a check retries a request that
	// found the destination busy or unreachable.
	DefaultCheckRetries = 2
	// DefaultCheckUserAgent is sent with every request of a check.
	DefaultCheckUserAgent = "fairway-destination-check"
)

// CheckerConfig configures a SourceChecker.
type CheckerConfig struct {
	// Policy says which addresses a destination may reach; its zero value
	// refuses loopback, private and link-local addresses (as for feeds).
	Policy urlguard.Policy
	// Timeout bounds one check. Default DefaultCheckTimeout.
	Timeout time.Duration
	// Retries is how often a request that found the destination busy or
	// unreachable is retried. Default DefaultCheckRetries; negative
	// disables retries.
	Retries int
	// HTTPClient is the base client; the checker guards it with Policy.
	// Default http.DefaultClient.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default DefaultCheckUserAgent.
	UserAgent string
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c CheckerConfig) Validate() error {
	if c.Timeout < 0 {
		return errors.New("destinations: checker: negative timeout")
	}
	return nil
}

// SourceChecker is the Checker that asks the destinations themselves,
// through the clients the delivery uses: piveau.Client.Check for a piveau
// hub-repo (which creates the catalogue when CreateCatalogue is set) and
// scicatpush.Client.Check for SciCat (a login, then one dataset of the v4
// API). Every request obeys the address policy.
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
		cfg.Timeout = DefaultCheckTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultCheckRetries
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultCheckUserAgent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &SourceChecker{cfg: cfg, http: urlguard.SameHostRedirects(cfg.Policy.HTTPClient(cfg.HTTPClient)), log: cfg.Logger}, nil
}

// transport is the clients' transport of a check: few, short retries
// within the check's timeout.
func (c *SourceChecker) transport() fetch.Transport {
	return fetch.Transport{
		PageTimeout: c.cfg.Timeout, MaxRetries: c.cfg.Retries, RetryInitialInterval: 250 * time.Millisecond,
		RetryMaxInterval: 2 * time.Second, RetryAfterCap: 5 * time.Second, MaxPageBytes: 8 << 20, UserAgent: c.cfg.UserAgent,
	}
}

// Check checks d. An error wrapping ErrCheckFailed says what is wrong;
// errors.Is also matches urlguard.ErrForbiddenAddress when the address is
// refused, and ErrInvalid when d is not valid (nothing is asked then).
func (c *SourceChecker) Check(ctx context.Context, d Destination) error {
	if err := d.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var err error
	if perr := c.cfg.Policy.CheckURL(ctx, d.URL); perr != nil {
		err = notAllowed(perr)
	} else {
		switch d.Kind {
		case KindPiveau:
			err = c.checkPiveau(ctx, d)
		case KindSciCat:
			err = c.checkSciCat(ctx, d)
		default:
			return fmt.Errorf("%w: %s: kind %q", ErrInvalid, d.ID, d.Kind)
		}
	}
	if err != nil {
		err = redact(fmt.Errorf("%w: %s: %w", ErrCheckFailed, d.ID, err), d)
		c.log.Info("destination check failed", "destination", d.ID, "kind", d.Kind, "url", d.URL, "err", err.Error())
		return err
	}
	c.log.Info("destination checked", "destination", d.ID, "kind", d.Kind, "url", d.URL)
	return nil
}

// notAllowed says that the policy refused the address, and how to allow
// it.
func notAllowed(err error) error {
	return fmt.Errorf("address not allowed (a loopback, private or link-local address needs --allow-private-feeds or allow_networks in the tokens file): %w", err)
}

func (c *SourceChecker) checkPiveau(ctx context.Context, d Destination) error {
	cfg := d.PiveauConfig()
	cfg.Transport, cfg.HTTPClient, cfg.Logger = c.transport(), c.http, c.log
	client, err := piveau.New(cfg)
	if err != nil {
		return err
	}
	err = client.Check(ctx)
	cred := "API key"
	if d.APIKey == "" {
		cred = "bearer token"
	}
	switch {
	case err == nil:
		return nil
	case urlguard.Refused(err):
		return notAllowed(err)
	case errors.Is(err, piveau.ErrCatalogueNotFound):
		return fmt.Errorf("catalogue %q is missing at the hub %s: use --create-catalogue, or create it at the hub: %w", d.Catalogue, d.URL, err)
	case errors.Is(err, piveau.ErrUnauthorized):
		return fmt.Errorf("the hub %s refused the %s (for catalogue %q): %w", d.URL, cred, d.Catalogue, err)
	case errors.Is(err, piveau.ErrNotFound):
		return fmt.Errorf("%s is not a piveau hub-repo (it answers 404 without \"Catalogue not found\"): is --url the root of the hub-repo API? %w", d.URL, err)
	case errors.Is(err, piveau.ErrRetryLater), ctx.Err() != nil:
		return fmt.Errorf("the hub %s does not answer: %w", d.URL, err)
	}
	return fmt.Errorf("%s does not answer as a piveau hub-repo: %w", d.URL, err)
}

func (c *SourceChecker) checkSciCat(ctx context.Context, d Destination) error {
	cfg := d.SciCatConfig()
	cfg.Transport, cfg.HTTPClient, cfg.Logger = c.transport(), c.http, c.log
	client, err := scicatpush.New(cfg)
	if err != nil {
		return err
	}
	err = client.Check(ctx)
	var se *scicatpush.Error
	login := errors.As(err, &se) && se.Path == "/api/v3/auth/login"
	switch {
	case err == nil:
		return nil
	case urlguard.Refused(err):
		return notAllowed(err)
	case login && errors.Is(err, scicatpush.ErrUnauthorized):
		return fmt.Errorf("SciCat login refused for user %q at %s: check --username and --password-file: %w", d.Username, d.URL, err)
	case login && errors.Is(err, scicatpush.ErrNotFound):
		return fmt.Errorf("%s is not a SciCat backend (no /api/v3/auth/login): is --url the base of the SciCat API? %w", d.URL, err)
	case errors.Is(err, scicatpush.ErrUnauthorized):
		return fmt.Errorf("SciCat at %s logged user %q in but refused its token on the datasets: does the account have the right to write datasets? %w", d.URL, d.Username, err)
	case errors.Is(err, scicatpush.ErrNotFound):
		return fmt.Errorf("%s has no SciCat v4 datasets API (/api/v4/datasets): want a SciCat backend of version 4: %w", d.URL, err)
	case errors.Is(err, scicatpush.ErrRetryLater), ctx.Err() != nil:
		return fmt.Errorf("SciCat at %s does not answer: %w", d.URL, err)
	}
	return fmt.Errorf("%s does not answer as a SciCat backend: %w", d.URL, err)
}

// redactedError is an error whose text had the credentials of a
// destination removed; it unwraps to the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact removes d's credentials from err's text (a server may quote what
// it was sent).
func redact(err error, d Destination) error {
	msg := err.Error()
	for _, s := range []string{d.APIKey.Reveal(), d.BearerToken.Reveal(), d.Password.Reveal()} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return &redactedError{msg: msg, err: err}
}
