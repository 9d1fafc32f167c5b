// Package oaipmh is an OAI-PMH 2.0 harvesting client.
//
// It has two layers:
//
//   - [ParsePage] reads one OAI-PMH response with a streaming XML decoder. It
//     matches elements by local name only (real feeds declare wrong or no
//     namespaces), tolerates characters that are illegal in XML 1.0, parses
//     dates leniently ([ParseDate]) and returns each record's metadata payload
//     exactly as it appeared in the response.
//   - [Client] issues the protocol requests (Identify, ListMetadataFormats,
//     ListSets, ListRecords, ListIdentifiers, GetRecord) over HTTP, follows
//     resumption tokens, detects token loops, retries transient failures with
//     exponential backoff that honours Retry-After, limits the request rate and
//     bounds the size of pages and records.
//
// Protocol errors reported by a repository are returned as [ProtocolError]
// values that match the sentinel errors of this package with [errors.Is], for
// example errors.Is(err, oaipmh.ErrBadResumptionToken). A page that could not
// be fetched fails with the errors of package fetch, which the SciCat client
// shares: a *fetch.HTTPError (fetch.ErrHTTPStatus), fetch.ErrPageTooLarge,
// fetch.ErrMalformedResponse for a response that is not an OAI-PMH response
// (ParsePage returns it too), fetch.ErrGaveUp once the retries are spent.
package oaipmh
