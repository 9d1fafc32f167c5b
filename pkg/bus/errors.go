package bus

import "errors"

var (
	// ErrPermanent marks a handler error that no retry can fix (a record
	// that cannot be parsed): the message goes straight to the dead letters.
	ErrPermanent = errors.New("permanent failure")
	// ErrTransient marks a handler error caused by something outside the
	// message (a destination that is down): the message is never dead
	// lettered for it, it waits and is delivered again.
	ErrTransient = errors.New("transient failure")
	// ErrUnknownStage is returned for a stage the topology does not define.
	ErrUnknownStage = errors.New("unknown stage")
)

type markedError struct {
	mark error
	err  error
}

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return []error{e.mark, e.err} }

// Permanent marks err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error { return mark(ErrPermanent, err) }

// Transient marks err so that errors.Is(err, ErrTransient) holds.
func Transient(err error) error { return mark(ErrTransient, err) }

// Errors of the state buckets, stream readers and object stores. Each one
// returned wraps the JetStream error it stands for as well, so that
// errors.Is holds for both.
var (
	// ErrNotFound is returned for a key, message or object that does not
	// exist (or was deleted).
	ErrNotFound = errors.New("not found")
	// ErrExists is returned by State.Create for a key that exists.
	ErrExists = errors.New("key exists")
	// ErrConflict is returned by State.Update and State.DeleteAt when the
	// key was written since the revision given.
	ErrConflict = errors.New("revision conflict")
	// ErrNotProvisioned is returned by a State of a bucket the server does
	// not have (a client that does not provision, on a node set up by an
	// older build).
	ErrNotProvisioned = errors.New("bucket not provisioned")
)

// mark returns err marked with sentinel (nil for a nil err).
func mark(sentinel, err error) error {
	if err == nil {
		return nil
	}
	return &markedError{mark: sentinel, err: err}
}
