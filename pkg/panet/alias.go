package panet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrInvalidAliases is returned when an alias dictionary cannot be read.
var ErrInvalidAliases = errors.New("panet: invalid alias dictionary")

// Alias gives more names to a PaNET class: an entry of an alias dictionary
// in the shape of the ESRF list (esrf-ontologies' PaNET-aliases.json): a
// JSON array of {"iri": …, "names": […], "description": …}. The matcher
// takes the names as synonyms of the class.
type Alias struct {
	// IRI is the class IRI (a bare id is accepted too).
	IRI string `json:"iri"`
	// Names are the other names of the class: acronyms and phrases.
	Names []string `json:"names"`
	// Description is a free text; it is not matched.
	Description string `json:"description,omitempty"`
}

// ParseAliases reads an alias dictionary. An entry without an IRI is an
// error; one naming a class the ontology does not have is kept here and
// ignored by NewMatcher.
func ParseAliases(r io.Reader) ([]Alias, error) {
	var out []Alias
	if err := json.NewDecoder(r).Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidAliases, err)
	}
	for i, a := range out {
		if a.IRI == "" {
			return nil, fmt.Errorf("%w: entry %d has no iri", ErrInvalidAliases, i)
		}
	}
	return out, nil
}

// LoadAliases reads the alias dictionaries at paths, in order, and returns
// their entries together. A missing file gives an error that satisfies
// errors.Is(err, fs.ErrNotExist).
func LoadAliases(paths ...string) ([]Alias, error) {
	var out []Alias
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("panet: aliases: %w", err)
		}
		as, err := ParseAliases(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("panet: aliases %s: %w", p, err)
		}
		out = append(out, as...)
	}
	return out, nil
}
