package scicat

import "errors"

// ErrMalformedDataset is wrapped by DocumentID when a document is not a
// JSON object.
var ErrMalformedDataset = errors.New("scicat: malformed dataset document")
