package fetch

import (
	"log/slog"
	"net/http"

	"github.com/go-resty/resty/v2"
)

// Option customises a harvest client (oaipmh.Client, scicat.Client).
type Option func(*Options)

// Options are what the Options of a harvest client set.
type Options struct {
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger
	// HTTPClient makes the requests, e.g. one whose dialer refuses private
	// addresses (urlguard). Its Timeout should be 0: the client's page
	// timeout applies. Default a new http.Client.
	HTTPClient *http.Client
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *Options) { o.Logger = l }
}

// WithHTTPClient sets the underlying *http.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *Options) { o.HTTPClient = hc }
}

// NewResty returns the resty client and logger of a harvest client:
// resty's own retries are off (Do owns them), bodies are handed over raw
// for streaming, resty's logs go to log, and every request carries
// userAgent. log is the options' logger with the component and base URL.
func NewResty(opts []Option, component, baseURL, userAgent string) (*resty.Client, *slog.Logger) {
	o := Options{Logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	var rc *resty.Client
	if o.HTTPClient != nil {
		rc = resty.NewWithClient(o.HTTPClient)
	} else {
		rc = resty.New()
	}
	log := o.Logger.With(slog.String("component", component), slog.String("base_url", baseURL))
	rc.SetRetryCount(0)
	rc.SetDoNotParseResponse(true)
	rc.SetLogger(RestyLogger{L: log})
	rc.SetHeader("User-Agent", userAgent)
	return rc, log
}
