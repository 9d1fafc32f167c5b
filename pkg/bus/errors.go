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
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{mark: ErrPermanent, err: err}
}

// Transient marks err so that errors.Is(err, ErrTransient) holds.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{mark: ErrTransient, err: err}
}
