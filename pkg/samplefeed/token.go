package samplefeed

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"strconv"
	"strings"
)

// Resumption tokens are "v1." + base64url(prefix|from|until|set|offset|crc),
// where crc covers the fields and the corpus fingerprint: a token is accepted
// only by a server over the same corpus. None of the fields can contain "|":
// prefixes, dates and set specs are validated before a token is issued.

const tokenVersion = "v1."

// fingerprint identifies the corpus a token belongs to.
func fingerprint(c Corpus) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d|%d|%d|%s|%d|%d", c.Seed, c.Size, c.DeletedEvery, c.Facility, c.base().Unix(), int64(c.step()))
	return h.Sum32()
}

func (s *Server) tokenCRC(payload string) uint32 {
	return crc32.ChecksumIEEE([]byte(payload + "|" + strconv.FormatUint(uint64(s.fp), 16)))
}

func (s *Server) encodeToken(q listQuery) string {
	payload := strings.Join([]string{q.prefix, q.from, q.until, q.set, strconv.Itoa(q.offset)}, "|")
	payload += "|" + strconv.FormatUint(uint64(s.tokenCRC(payload)), 16)
	return tokenVersion + base64.RawURLEncoding.EncodeToString([]byte(payload))
}

func (s *Server) decodeToken(tok string) (listQuery, bool) {
	raw, ok := strings.CutPrefix(tok, tokenVersion)
	if !ok {
		return listQuery{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return listQuery{}, false
	}
	fields := strings.Split(string(b), "|")
	if len(fields) != 6 {
		return listQuery{}, false
	}
	payload := strings.Join(fields[:5], "|")
	crc, err := strconv.ParseUint(fields[5], 16, 32)
	if err != nil || uint32(crc) != s.tokenCRC(payload) {
		return listQuery{}, false
	}
	offset, err := strconv.Atoi(fields[4])
	if err != nil || offset <= 0 {
		return listQuery{}, false
	}
	return listQuery{prefix: fields[0], from: fields[1], until: fields[2], set: fields[3], offset: offset}, true
}
