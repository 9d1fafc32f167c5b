package harvester

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/oaipmh"
)

// DefaultMaxIdentifierBytes is the default of Config.MaxIdentifierBytes.
const DefaultMaxIdentifierBytes = 1024

// DerivedIdentifierPrefix starts the source identifier the harvester gives
// a record whose source gave it none (see DerivedIdentifier).
const DerivedIdentifierPrefix = "fairway:content:"

// DerivedIdentifier returns the source identifier of an OAI-PMH record
// whose header identifier is empty but which has metadata:
// DerivedIdentifierPrefix and the first 32 hex digits (128 bits) of the
// SHA-256 of its metadata payload, byte for byte as received. The same
// content always gets the same identifier; changed content gets another.
func DerivedIdentifier(metadata []byte) string {
	sum := sha256.Sum256(metadata)
	return DerivedIdentifierPrefix + hex.EncodeToString(sum[:16])
}

// maxShownIdentifier bounds how much of an identifier a log line or a
// dead letter's reason quotes.
const maxShownIdentifier = 120

// shownID returns an identifier as a reason or a log line quotes it: as it
// is when short, else its start, its length and its digest (bus.Digest, as
// the pipeline's keys and message ids spell it).
func shownID(id string) string {
	if len(id) <= maxShownIdentifier {
		return id
	}
	return fmt.Sprintf("%s… (%d bytes, sha256 %s)", strings.ToValidUTF8(id[:maxShownIdentifier], ""), len(id), bus.Digest(id))
}

// maxStubIdentifier bounds the identifier a dead letter's stub carries
// (the reason has its length and digest).
const maxStubIdentifier = 64 << 10

// stubID returns an identifier as a dead letter's stub carries it.
func stubID(id string) string {
	if len(id) <= maxStubIdentifier {
		return id
	}
	return strings.ToValidUTF8(id[:maxStubIdentifier], "")
}

// rejected is a record of a page that goes to the dead letters.
type rejected struct {
	rec    oaipmh.Record
	reason string
}

// keyPage sorts the records of a page by how they are keyed: the page
// returned holds those written, a record without a header identifier but
// with metadata under its DerivedIdentifier (listed in derived); a record
// with neither an identifier nor metadata (it cannot identify anything),
// or with an identifier over Config.MaxIdentifierBytes, is returned in
// rejects with the reason.
func (h *Harvester) keyPage(p *oaipmh.Page) (page *oaipmh.Page, derived map[string]bool, rejects []rejected) {
	kept := p.Records[:0:0]
	changed := false
	for _, r := range p.Records {
		switch {
		case strings.TrimSpace(r.Identifier) == "":
			if r.Deleted || len(strings.TrimSpace(string(r.Metadata))) == 0 {
				rejects = append(rejects, rejected{rec: r, reason: "record without an identifier nor metadata to derive one from"})
				changed = true
				continue
			}
			r.Identifier = DerivedIdentifier(r.Metadata)
			if derived == nil {
				derived = map[string]bool{}
			}
			derived[r.Identifier] = true
			changed = true
		case len(r.Identifier) > h.cfg.MaxIdentifierBytes:
			rejects = append(rejects, rejected{rec: r, reason: fmt.Sprintf("identifier %s is %d bytes, over the limit of %d",
				shownID(r.Identifier), len(r.Identifier), h.cfg.MaxIdentifierBytes)})
			changed = true
			continue
		}
		kept = append(kept, r)
	}
	if !changed {
		return p, nil, nil
	}
	q := *p
	q.Records = kept
	return &q, derived, rejects
}
