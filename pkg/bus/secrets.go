package bus

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
)

// SecretUsageSessions names the secret that keys the usage session hashes
// (see usage.Hasher): every replica of a node that counts usage must hash
// one client to one session, so they share it through the bus.
const SecretUsageSessions = "usage-sessions"

// MinSecretSize is the shortest secret Secret makes or accepts.
const MinSecretSize = 16

// Secret returns the node's secret called name from BucketSecrets, making
// one of size random bytes (at least MinSecretSize) the first time it is
// asked for. Every replica that asks for the same name gets the same bytes:
// the first to create it wins and the others read what it wrote. While
// JetStream is briefly unavailable it tries again (see MaxUnavailable).
func (b *Bus) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	if size < MinSecretSize {
		return nil, fmt.Errorf("bus: secret %q of %d bytes: want at least %d", name, size, MinSecretSize)
	}
	return b.secret(ctx, name, func() ([]byte, error) {
		key := make([]byte, size)
		_, err := rand.Read(key)
		return key, err
	})
}

// OfferSecret stores value as the secret called name unless the bus holds
// one already, and returns the one it holds: value, or another replica's,
// which the caller tells apart with bytes.Equal.
func (b *Bus) OfferSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if len(value) < MinSecretSize {
		return nil, fmt.Errorf("bus: secret %q of %d bytes: want at least %d", name, len(value), MinSecretSize)
	}
	return b.secret(ctx, name, func() ([]byte, error) { return bytes.Clone(value), nil })
}

// secret reads the secret called name, or creates it with what newValue
// returns if there is none.
func (b *Bus) secret(ctx context.Context, name string, newValue func() ([]byte, error)) (key []byte, err error) {
	st := b.State(BucketSecrets)
	err = whileUnavailable(ctx, b.log, func() error {
		for attempt := 0; attempt < 3; attempt++ {
			e, err := st.Get(ctx, name)
			switch {
			case err == nil:
				if len(e.Value) < MinSecretSize {
					return fmt.Errorf("bus: secret %q holds %d bytes: want at least %d", name, len(e.Value), MinSecretSize)
				}
				key = e.Value
				return nil
			case !errors.Is(err, ErrNotFound):
				return fmt.Errorf("bus: secret %q: %w", name, err)
			}
			value, err := newValue()
			if err != nil {
				return fmt.Errorf("bus: secret %q: %w", name, err)
			}
			if _, err := st.Create(ctx, name, value); err == nil {
				key = value
				return nil
			} else if !errors.Is(err, ErrExists) {
				return fmt.Errorf("bus: secret %q: %w", name, err)
			}
			// Another replica made it meanwhile: read theirs.
		}
		return fmt.Errorf("bus: secret %q: %w", name, ErrConflict)
	})
	return key, err
}
