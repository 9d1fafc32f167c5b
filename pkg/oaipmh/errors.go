package oaipmh

import (
	"errors"
	"fmt"

	"github.com/panosc/fairway/pkg/fetch"
)

// OAI-PMH 2.0 error codes (section 3.6 of the protocol).
const (
	CodeBadArgument             = "badArgument"
	CodeBadResumptionToken      = "badResumptionToken"
	CodeBadVerb                 = "badVerb"
	CodeCannotDisseminateFormat = "cannotDisseminateFormat"
	CodeIDDoesNotExist          = "idDoesNotExist"
	CodeNoRecordsMatch          = "noRecordsMatch"
	CodeNoMetadataFormats       = "noMetadataFormats"
	CodeNoSetHierarchy          = "noSetHierarchy"
)

// ProtocolError is an <error> element of an OAI-PMH response. It matches the
// sentinel of its code with errors.Is (two ProtocolErrors match when their codes
// are equal) and it matches [ErrProtocol].
type ProtocolError struct {
	// Code is the value of the code attribute, e.g. "noRecordsMatch".
	Code string
	// Message is the element's text with whitespace collapsed; often empty.
	Message string
}

// Error implements error.
func (e ProtocolError) Error() string {
	if e.Message == "" {
		return "oaipmh: " + e.Code
	}
	return "oaipmh: " + e.Code + ": " + e.Message
}

// Is reports whether target is a ProtocolError with the same code, or ErrProtocol.
func (e ProtocolError) Is(target error) bool {
	if target == ErrProtocol {
		return true
	}
	switch t := target.(type) {
	case ProtocolError:
		return t.Code == e.Code
	case *ProtocolError:
		return t != nil && t.Code == e.Code
	}
	return false
}

// Sentinels for the OAI-PMH error codes; use them with errors.Is.
var (
	ErrBadArgument             error = ProtocolError{Code: CodeBadArgument}
	ErrBadResumptionToken      error = ProtocolError{Code: CodeBadResumptionToken}
	ErrBadVerb                 error = ProtocolError{Code: CodeBadVerb}
	ErrCannotDisseminateFormat error = ProtocolError{Code: CodeCannotDisseminateFormat}
	ErrIDDoesNotExist          error = ProtocolError{Code: CodeIDDoesNotExist}
	ErrNoRecordsMatch          error = ProtocolError{Code: CodeNoRecordsMatch}
	ErrNoMetadataFormats       error = ProtocolError{Code: CodeNoMetadataFormats}
	ErrNoSetHierarchy          error = ProtocolError{Code: CodeNoSetHierarchy}
)

var (
	// ErrProtocol matches every ProtocolError, whatever its code.
	ErrProtocol = errors.New("oaipmh: protocol error")
	// ErrTokenLoop is wrapped when a repository hands out a resumption token it
	// has already handed out during the same list.
	ErrTokenLoop = errors.New("oaipmh: resumption token loop")
	// ErrTokenTooLarge is wrapped when a repository hands out a resumption
	// token longer than Config.MaxTokenBytes (or a list is resumed with
	// one). It matches ErrProtocol: the repository breaks what a client
	// can carry, and asking again yields the same token.
	ErrTokenTooLarge = fmt.Errorf("%w: resumption token too large", ErrProtocol)
	// ErrRecordTooLarge is returned by GetRecord when the record exceeds
	// Config.MaxRecordBytes.
	ErrRecordTooLarge = errors.New("oaipmh: record too large")
)

// httpError is the error of an HTTP response whose status is not a success
// and whose body is not an OAI-PMH error response: a *fetch.HTTPError
// (it matches fetch.ErrHTTPStatus) for the URL as ShownURL quotes it.
func httpError(status int, shown string) error {
	return fmt.Errorf("oaipmh: %w", &fetch.HTTPError{StatusCode: status, URL: shown})
}

// malformed returns an error wrapping fetch.ErrMalformedResponse: a
// response that is not well-formed XML, is truncated, or is not an OAI-PMH
// response at all.
func malformed(format string, args ...any) error {
	return fmt.Errorf("oaipmh: %w: "+format, append([]any{fetch.ErrMalformedResponse}, args...)...)
}

// RecordTooLargeError is returned by GetRecord for a record whose metadata
// exceeds Config.MaxRecordBytes. It matches ErrRecordTooLarge.
type RecordTooLargeError struct {
	// Identifier and Datestamp are the record's header fields.
	Identifier, Datestamp string
	// Size is the size of the metadata payload in bytes.
	Size int64
	// URL is the requested URL, as ShownURL quotes it.
	URL string
}

// Error implements error.
func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("%v: %s: record %s is %d bytes", ErrRecordTooLarge, e.URL, e.Identifier, e.Size)
}

// Is makes errors.Is(err, ErrRecordTooLarge) true.
func (e *RecordTooLargeError) Is(target error) bool { return target == ErrRecordTooLarge }
