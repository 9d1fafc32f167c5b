package oaipmh

import "crypto/sha256"

// DefaultTokenHistory is the number of recent resumption tokens a list
// remembers to detect loops (Config.TokenHistory).
const DefaultTokenHistory = 4096

// tokenDigest identifies a resumption token: the first 16 bytes of its
// SHA-256, so that the history's size does not depend on the tokens' sizes.
type tokenDigest [16]byte

// tokenHistory remembers the digests of the last n distinct resumption
// tokens of a list, so that a token handed out again is found (a loop)
// while a list of any length keeps its memory flat: older digests are
// forgotten first.
type tokenHistory struct {
	ring []tokenDigest
	next int // slot of the next digest once the ring is full
	set  map[tokenDigest]struct{}
}

func newTokenHistory(n int) *tokenHistory {
	n = max(n, 1)
	return &tokenHistory{ring: make([]tokenDigest, 0, n), set: make(map[tokenDigest]struct{}, n)}
}

// add records token and reports whether it was already among the tokens
// remembered.
func (h *tokenHistory) add(token string) (repeated bool) {
	sum := sha256.Sum256([]byte(token))
	d := tokenDigest(sum[:16])
	if _, ok := h.set[d]; ok {
		return true
	}
	if len(h.ring) < cap(h.ring) {
		h.ring = append(h.ring, d)
	} else {
		delete(h.set, h.ring[h.next])
		h.ring[h.next] = d
		h.next = (h.next + 1) % len(h.ring)
	}
	h.set[d] = struct{}{}
	return false
}

// len returns the number of digests remembered.
func (h *tokenHistory) len() int { return len(h.set) }
