// Package oaiprovider serves the live catalogue over OAI-PMH 2.0: the six
// verbs, with the formats oai_dc, oai_datacite (DataCite kernel 4 in
// DataCite's OAI envelope, as the OpenAIRE Guidelines for Data Archives
// harvest it), datacite (the bare kernel-4 resource) and dcat_ap (the
// DCAT-AP description as RDF/XML); the sets openaire_data (every dataset),
// facility:<name> and technique:<PaNET id> (narrower techniques included);
// signed resumption tokens; deleted records kept (persistent). It reads a
// Source, the read model of the catalogue, and never the stream.
//
// Identifiers are oai:<host of BaseURL>:<dataset key>, the key
// percent-encoded where the oai-identifier syntax does not allow a byte.
// Datestamps are the catalogue entries' publication times, to the second.
package oaiprovider

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/readmodel"
)

// Source is what the provider reads; *readmodel.Model satisfies it.
type Source interface {
	// Search returns one page of the records that match q.
	Search(ctx context.Context, q readmodel.Query) (readmodel.Page, error)
	// Get returns the record of a dataset key, or readmodel.ErrNotFound.
	Get(ctx context.Context, key string) (readmodel.Record, error)
	// Facilities returns the facilities with live datasets (the sets).
	Facilities(ctx context.Context) ([]readmodel.Count, error)
	// Techniques returns the techniques with live datasets (the sets).
	Techniques(ctx context.Context) ([]readmodel.Count, error)
	// Earliest returns the smallest datestamp held (Identify).
	Earliest(ctx context.Context) (time.Time, error)
}

var _ Source = (*readmodel.Model)(nil)

// Defaults and bounds of Config.
const (
	DefaultRepositoryName = "Fairway PaNOSC node"
	DefaultPageSize       = 100
	MaxPageSize           = 1000
	DefaultTokenTTL       = time.Hour
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate.
var ErrInvalidConfig = errors.New("oaiprovider: invalid configuration")

// Config configures the provider. Zero values mean the defaults.
type Config struct {
	// BaseURL is the node's public URL (an absolute http(s) URL); the
	// provider's base URL is BaseURL + "/oai", and the host of BaseURL is
	// the repository identifier of the OAI identifiers. Default
	// dcat.DefaultBaseURL. Give the same value as DCAT.BaseURL.
	BaseURL string
	// RepositoryName is Identify's repositoryName. Default
	// DefaultRepositoryName.
	RepositoryName string
	// AdminEmail is Identify's adminEmail. Default admin@<host of BaseURL>
	// when the host holds a dot, else admin@localhost.localdomain (the
	// OAI-PMH schema wants a dot in the domain).
	AdminEmail string
	// PageSize is how many records or headers a ListRecords or
	// ListIdentifiers response holds. Default DefaultPageSize, at most
	// MaxPageSize.
	PageSize int
	// TokenTTL is how long a resumption token stays valid. Default
	// DefaultTokenTTL.
	TokenTTL time.Duration
	// TokenKey signs resumption tokens (HMAC-SHA256), at least 16 bytes.
	// Default: a random key drawn when the provider is made, so that a
	// token outlives no restart (a harvester then gets badResumptionToken
	// and starts its list again). Replicas behind one address must share a
	// key.
	TokenKey []byte
	// DatacentreSymbol is the oai_datacite envelope's datacentreSymbol.
	// Default: the dataset's facility in upper case.
	DatacentreSymbol string
	// DCAT renders the IRIs of datasets without DOI (their identifier in
	// oai_dc and oai_datacite) and the dcat_ap format; the node passes the
	// publisher's options.
	DCAT dcat.Options
	// Viewed, when set, is called after a GetRecord of a dataset (not a
	// deleted record) was answered: the node counts it as a usage
	// investigation. It must not block.
	Viewed func(r *http.Request, key, facility string)
	// TechniqueLabel names a PaNET technique (by IRI) for the setName of
	// its set, "" when unknown (the node can pass the PaNET ontology's
	// labels). Default, and for what it does not know: the label a
	// catalogue entry tagged with the technique carries, else the bare id.
	TechniqueLabel func(iri string) string
	// RenderLag is how long an entry may take from its rendering (its
	// datestamp) to the read model's view of the catalogue stream. The
	// responseDate of an answer is at most the read model's horizon less
	// this, so that a harvester that takes it as its next from misses no
	// entry rendered before it and stored after. Default DefaultRenderLag.
	RenderLag time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultRenderLag is the default of Config.RenderLag.
const DefaultRenderLag = time.Minute

// Horizon is what a Source may add: the time up to which it holds every
// entry of the catalogue stream (readmodel.Model.Horizon).
type Horizon interface {
	Horizon(ctx context.Context) (time.Time, error)
}

// emailSyntax is the OAI-PMH schema's emailType.
var emailSyntax = regexp.MustCompile(`^\S+@(\S+\.)+\S+$`)

// Validate reports whether the configuration, with its defaults, is usable.
func (c Config) Validate() error {
	c = c.withDefaults()
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: BaseURL %q: want an absolute http(s) URL without query or fragment", ErrInvalidConfig, c.BaseURL)
	}
	if !emailSyntax.MatchString(c.AdminEmail) {
		return fmt.Errorf("%w: AdminEmail %q is not an e-mail address the OAI-PMH schema accepts", ErrInvalidConfig, c.AdminEmail)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		return fmt.Errorf("%w: PageSize %d: want 1 to %d", ErrInvalidConfig, c.PageSize, MaxPageSize)
	}
	if c.TokenTTL <= 0 {
		return fmt.Errorf("%w: negative TokenTTL", ErrInvalidConfig)
	}
	if c.RenderLag < 0 {
		return fmt.Errorf("%w: negative RenderLag", ErrInvalidConfig)
	}
	if c.TokenKey != nil && len(c.TokenKey) < 16 {
		return fmt.Errorf("%w: TokenKey shorter than 16 bytes", ErrInvalidConfig)
	}
	if err := c.DCAT.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	c.BaseURL = strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	if c.BaseURL == "" {
		c.BaseURL = dcat.DefaultBaseURL
	}
	if c.RepositoryName == "" {
		c.RepositoryName = DefaultRepositoryName
	}
	if c.AdminEmail == "" {
		host := "localhost.localdomain"
		if u, err := url.Parse(c.BaseURL); err == nil && strings.Contains(u.Hostname(), ".") {
			host = u.Hostname()
		}
		c.AdminEmail = "admin@" + host
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.RenderLag == 0 {
		c.RenderLag = DefaultRenderLag
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Provider is the OAI-PMH provider; it is an http.Handler.
type Provider struct {
	cfg      Config
	src      Source
	log      *slog.Logger
	key      []byte
	baseURL  string // BaseURL + "/oai"
	host     string
	idPrefix string // "oai:" + host + ":"

	mu     sync.Mutex
	labels map[string]techniqueName // technique IRI -> label found in the catalogue
}

// maxLabels bounds the technique labels the provider remembers.
const maxLabels = 10000

// New returns the provider over src.
func New(cfg Config, src Source, log *slog.Logger) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src == nil {
		return nil, fmt.Errorf("%w: no source", ErrInvalidConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	key := cfg.TokenKey
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("oaiprovider: token key: %w", err)
		}
	}
	u, _ := url.Parse(cfg.BaseURL)
	host := strings.ToLower(u.Hostname())
	return &Provider{
		cfg: cfg, src: src, log: log, key: key, baseURL: cfg.BaseURL + "/oai",
		host: host, idPrefix: "oai:" + host + ":", labels: map[string]techniqueName{},
	}, nil
}

// BaseURL returns the provider's base URL (Config.BaseURL + "/oai").
func (p *Provider) BaseURL() string { return p.baseURL }

// Identifier returns the OAI identifier of a dataset key.
func (p *Provider) Identifier(key string) string { return p.identifier(key) }

// Bounds of a request.
const (
	// maxRequest bounds the query string or form body of a request.
	maxRequest = 32 << 10
	// maxArgument bounds an argument's value (but identifiers and tokens).
	maxArgument = 1024
	// maxIdentifier bounds an identifier: the read model keeps keys of up
	// to 4 KiB, and escaping may triple them.
	maxIdentifier = 16 << 10
)

// ServeHTTP answers GET (and HEAD) with the arguments in the query string,
// and POST with them in an application/x-www-form-urlencoded body.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var raw string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		raw = r.URL.RawQuery
	case http.MethodPost:
		ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
		if ct != "application/x-www-form-urlencoded" {
			http.Error(w, "OAI-PMH POST requests are application/x-www-form-urlencoded", http.StatusUnsupportedMediaType)
			return
		}
		body, err := readBounded(r, maxRequest)
		if err != nil {
			raw = strings.Repeat("x", maxRequest+1) // answered as too long
		} else {
			raw = body
			if r.URL.RawQuery != "" {
				raw = r.URL.RawQuery + "&" + body
			}
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	resp := p.respond(r.Context(), raw)
	if resp.unavailable != nil && r.Context().Err() != nil {
		return // the client went away
	}
	if resp.unavailable != nil {
		p.log.Warn("oai-pmh: the read model does not answer", "err", resp.unavailable)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "the catalogue is not available, retry later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	if err := resp.write(w); err != nil {
		p.log.Debug("oai-pmh: writing the response", "err", err)
		return
	}
	if v := resp.Env.viewed; v != nil && p.cfg.Viewed != nil {
		p.cfg.Viewed(r, v.Key, v.Facility)
	}
}

func readBounded(r *http.Request, limit int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > limit {
		return "", errors.New("body too long")
	}
	return string(b), nil
}
