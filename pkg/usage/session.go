package usage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Hasher turns what identifies a client (an IP address and user agent, a
// facility's session key) into a pseudonymous session key: an HMAC-SHA-256
// with the node's secret, so that nobody without the secret can test a
// guessed address against the stored keys.
type Hasher struct {
	secret []byte
}

// MinSecretBytes is the shortest secret a Hasher takes.
const MinSecretBytes = 16

// NewHasher returns a hasher keyed with secret.
func NewHasher(secret []byte) (*Hasher, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("usage: session secret of %d bytes: want at least %d", len(secret), MinSecretBytes)
	}
	return &Hasher{secret: append([]byte(nil), secret...)}, nil
}

// Sum returns the session key of the parts (32 hexadecimal digits).
func (h *Hasher) Sum(parts ...string) string {
	m := hmac.New(sha256.New, h.secret)
	for _, p := range parts {
		m.Write([]byte(strconv.Itoa(len(p))))
		m.Write([]byte{':'})
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ClientSession returns the session key of a client of the node's own
// pages: its address (without port) and user agent, in the clock hour of
// t, as COUNTER builds a session when there is no cookie. Neither is kept.
func (h *Hasher) ClientSession(remoteAddr, userAgent string, t time.Time) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	return h.Sum("client", host, userAgent, t.UTC().Format("2006010215"))
}

// SecretFile is the file of the data directory that may hold the session
// secret (in hex, at least MinSecretBytes): a node reads it when it is
// there, and otherwise uses the secret its bus keeps for every replica.
const SecretFile = "usage-secret"

// ReadSecret reads the session secret from dir/SecretFile; an error
// satisfying errors.Is(err, os.ErrNotExist) says there is none.
func ReadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, SecretFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < MinSecretBytes {
		return nil, fmt.Errorf("usage: %s: not a secret of at least %d bytes in hex", path, MinSecretBytes)
	}
	return key, nil
}
