package natsembed

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
)

// CredentialsFile is the default name of the credentials file of a
// listening server (beside its store, or in a node's data directory).
const CredentialsFile = "nats-credentials"

// DefaultUser is the user name of generated credentials.
const DefaultUser = "fairway"

// ErrCredentials wraps every problem with a credentials file.
var ErrCredentials = errors.New("natsembed: credentials")

// Credentials are the user and password that clients of a listening
// server present. The file holds them as two lines:
//
//	user=fairway
//	password=…
//
// Blank lines and lines starting with # are ignored.
type Credentials struct {
	// User is the user name.
	User string
	// Password is the password; it is never logged.
	Password string
}

// Option returns the nats.go connection option that presents c.
func (c Credentials) Option() nats.Option { return nats.UserInfo(c.User, c.Password) }

// String names the credentials for logs without their password.
func (c Credentials) String() string { return "user " + c.User }

// ReadCredentials reads a credentials file. A file that others than its
// owner may read or write is refused (chmod 600 it). An error never quotes
// the password.
func ReadCredentials(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	} else if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return Credentials{}, fmt.Errorf("%w: %s is open to others (mode %04o): chmod 600 it", ErrCredentials, path, perm)
	}
	var c Credentials
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case ok && key == "user":
			c.User = value
		case ok && key == "password":
			c.Password = value
		case ok:
			return Credentials{}, fmt.Errorf("%w: %s:%d: unknown key %q (want user or password)", ErrCredentials, path, n, key)
		default:
			// Not quoted: the line may be a password.
			return Credentials{}, fmt.Errorf("%w: %s:%d: want user=… or password=…", ErrCredentials, path, n)
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, fmt.Errorf("%w: %s: %w", ErrCredentials, path, err)
	}
	if c.User == "" || c.Password == "" {
		return Credentials{}, fmt.Errorf("%w: %s: both user and password are required", ErrCredentials, path)
	}
	return c, nil
}

// ensureCredentials reads the credentials at path, or generates new ones
// there (mode 0600) when the file does not exist.
func ensureCredentials(path string) (Credentials, error) {
	c, err := ReadCredentials(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return c, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Credentials{}, fmt.Errorf("%w: generate: %w", ErrCredentials, err)
	}
	// URL-safe base64: the password also fits a URL's userinfo unescaped.
	c = Credentials{User: DefaultUser, Password: base64.RawURLEncoding.EncodeToString(b)}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	_, err = fmt.Fprintf(f, "# NATS credentials of the embedded server (fairway up --nats-listen)\nuser=%s\npassword=%s\n", c.User, c.Password)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // a half-written file would stop every later start
		return Credentials{}, fmt.Errorf("%w: %s: %w", ErrCredentials, path, err)
	}
	return c, nil
}
