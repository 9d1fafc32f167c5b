package oaiprovider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// MaxTokenLength bounds a resumption token the provider accepts and
// writes. A token holds the read model's cursor, which holds a dataset key:
// with the harvester's default bound on source identifiers (1 KiB) tokens
// stay under 4 KiB; the bound covers the longest key the read model keeps.
const MaxTokenLength = 24 << 10

// macLength is how many bytes of the HMAC-SHA256 a token carries.
const macLength = 16

var (
	errTokenMalformed = errors.New("malformed resumption token")
	errTokenForged    = errors.New("resumption token not issued by this repository (or by one before a restart)")
	errTokenExpired   = errors.New("expired resumption token")
	errTokenVerb      = errors.New("resumption token of another verb")
	errTokenTooLong   = errors.New("resumption token too long")
)

// token is what a resumption token carries: the list request it continues
// (verb and arguments as given), the read model's cursor after the last
// record sent, how many records were sent before, and when it expires.
// It travels as base64url(JSON) "." base64url(HMAC-SHA256(key, JSON)[:16]).
type token struct {
	Verb    string `json:"v"`
	Prefix  string `json:"p"`
	Set     string `json:"s,omitempty"`
	From    string `json:"f,omitempty"`
	Until   string `json:"u,omitempty"`
	After   string `json:"a"`
	Cursor  int    `json:"c"`
	Expires int64  `json:"e"`
}

// sign returns the token's text.
func (p *Provider) sign(t token) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, p.key)
	m.Write(b)
	s := base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:macLength])
	if len(s) > MaxTokenLength {
		return "", errTokenTooLong
	}
	return s, nil
}

// open checks a token's text and returns what it carries, for verb, at now.
func (p *Provider) open(s, verb string, now time.Time) (token, error) {
	var t token
	if len(s) > MaxTokenLength {
		return t, errTokenTooLong
	}
	body, mac, ok := strings.Cut(s, ".")
	if !ok {
		return t, errTokenMalformed
	}
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if err1 != nil || err2 != nil || len(sum) != macLength {
		return t, errTokenMalformed
	}
	m := hmac.New(sha256.New, p.key)
	m.Write(b)
	if !hmac.Equal(m.Sum(nil)[:macLength], sum) {
		return t, errTokenForged
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Cursor < 0 || t.Prefix == "" {
		return token{}, errTokenMalformed
	}
	if t.Verb != verb {
		return token{}, errTokenVerb
	}
	if now.Unix() > t.Expires {
		return token{}, errTokenExpired
	}
	return t, nil
}
