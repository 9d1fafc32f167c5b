// Package scicatpush writes the node's datasets to a SciCat backend (the
// DAPHNE destination): it logs in with a functional account, creates each
// dataset with a deterministic pid through the v4 API, updates it when it
// exists already, and unpublishes or deletes it on a tombstone.
//
// The mapping from the canonical dataset to a SciCat v4 dataset, the pid
// rule and the routes are documented in docs/scicat-push.md. Package scicat
// is the harvest side (reading SciCat catalogues); both use package fetch
// for retries that honour Retry-After and for bounded bodies.
package scicatpush
