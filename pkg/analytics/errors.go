package analytics

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// unavailableCodes are ClickHouse exception codes that say "not now" or
// "not like this server is set up" rather than "not this data": the same
// statement can succeed later, once the server is less busy or an operator
// fixed its users or schema, so a writer should keep its data and retry.
var unavailableCodes = map[int32]bool{
	60:  true, // UNKNOWN_TABLE: the schema was dropped under the store
	81:  true, // UNKNOWN_DATABASE
	159: true, // TIMEOUT_EXCEEDED
	164: true, // READONLY
	173: true, // CANNOT_ALLOCATE_MEMORY
	192: true, // UNKNOWN_USER
	193: true, // WRONG_PASSWORD
	194: true, // REQUIRED_PASSWORD
	195: true, // IP_ADDRESS_NOT_ALLOWED
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	236: true, // ABORTED
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	243: true, // NOT_ENOUGH_SPACE
	252: true, // TOO_MANY_PARTS
	279: true, // ALL_CONNECTION_TRIES_FAILED
	394: true, // QUERY_WAS_CANCELLED
	439: true, // CANNOT_SCHEDULE_TASK
	497: true, // ACCESS_DENIED
	516: true, // AUTHENTICATION_FAILED
}

// wrap annotates err from operation op, adding ErrUnavailable when it says
// that ClickHouse cannot be reached, or cannot or will not take the work now.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("analytics: %s: %w", op, err)
}

// unavailable reports whether err is a connection failure, a timeout or a
// server refusal listed in unavailableCodes. A cancelled context is none of
// these: the caller gave up.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var exc *clickhouse.Exception
	if errors.As(err, &exc) {
		return unavailableCodes[exc.Code]
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}
