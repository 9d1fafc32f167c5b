package bus

import (
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
// the first to create it wins and the others read what it wrote.
func (b *Bus) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	if size < MinSecretSize {
		return nil, fmt.Errorf("bus: secret %q of %d bytes: want at least %d", name, size, MinSecretSize)
	}
	st := b.State(BucketSecrets)
	for attempt := 0; attempt < 3; attempt++ {
		e, err := st.Get(ctx, name)
		switch {
		case err == nil:
			if len(e.Value) < MinSecretSize {
				return nil, fmt.Errorf("bus: secret %q holds %d bytes: want at least %d", name, len(e.Value), MinSecretSize)
			}
			return e.Value, nil
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("bus: secret %q: %w", name, err)
		}
		key := make([]byte, size)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("bus: secret %q: %w", name, err)
		}
		if _, err := st.Create(ctx, name, key); err == nil {
			return key, nil
		} else if !errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("bus: secret %q: %w", name, err)
		}
		// Another replica made it meanwhile: read theirs.
	}
	return nil, fmt.Errorf("bus: secret %q: %w", name, ErrConflict)
}
