package fetch

import (
	"errors"
	"fmt"
	"net/http"
)

// The errors of a page that could not be fetched, whichever client fetched
// it; check them with errors.Is. Their text names no package: a client
// prefixes the errors it makes with its own name ("oaipmh: …", "scicat: …").
var (
	// ErrHTTPStatus matches every *HTTPError.
	ErrHTTPStatus = errors.New("unexpected HTTP status")
	// ErrUnauthorized matches an *HTTPError with status 401 or 403: the
	// credentials are missing, wrong or expired. It is not retried.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrPageTooLarge is wrapped when a response exceeds the transport's
	// MaxPageBytes (see LimitedReader).
	ErrPageTooLarge = errors.New("page too large")
	// ErrMalformedResponse is wrapped when a response is not what the
	// protocol promises: not well-formed, truncated, or of another shape
	// (an OAI-PMH page that is not XML, a SciCat page that is not a JSON
	// array).
	ErrMalformedResponse = errors.New("malformed response")
)

// HTTPError is an HTTP response whose status is not a success (and, for
// OAI-PMH, whose body is not an OAI-PMH error response).
type HTTPError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// URL is the requested URL, as the client quotes it (bounded, without
	// credentials).
	URL string
	// Body is the start of the response body when the client keeps it
	// (SciCat: up to 256 bytes, which usually say what the server
	// disliked); empty otherwise.
	Body string
}

// Error implements error: "HTTP <status> from <URL>", then ": <Body>" when
// there is one.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d from %s", e.StatusCode, e.URL)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Is makes errors.Is(err, ErrHTTPStatus) true for every *HTTPError, and
// errors.Is(err, ErrUnauthorized) for statuses 401 and 403.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrHTTPStatus:
		return true
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	}
	return false
}
