package scicat

import (
	"errors"
	"strings"
)

// ErrMalformedDataset is wrapped by DocumentID when a document is not a
// JSON object.
var ErrMalformedDataset = errors.New("scicat: malformed dataset document")

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
