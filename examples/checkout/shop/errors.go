package shop

import (
	"errors"
	"fmt"
	"time"

	"github.com/breakerlab/circuit"
)

// ErrUnavailable is matched (errors.Is) by every *UnavailableError.
var ErrUnavailable = errors.New("shop: checkout temporarily unavailable")

// UnavailableError is returned by Checkout when a critical dependency's
// circuit is open (or half-open with every probe slot taken): the checkout
// was refused at once, without waiting on the dependency. Serve it as HTTP
// 503 with a Retry-After header of RetryAfter.
//
// It matches ErrUnavailable, and unwraps to the breaker's *circuit.OpenError,
// so errors.Is(err, circuit.ErrOpen) holds too.
type UnavailableError struct {
	Dependency Dependency // the critical dependency whose circuit refused the call
	// RetryAfter is how long until the breaker admits a probe, in whole
	// seconds rounded up, and at least one second: the time left until
	// OpenError.RetryAt on the breaker's clock. A half-open breaker has no
	// RetryAt (a probe slot may free at any moment), which gives one second.
	RetryAfter time.Duration
	Cause      *circuit.OpenError
}

// Error returns "shop: checkout temporarily unavailable, retry after N s
// (dependency circuit is state)".
func (e *UnavailableError) Error() string {
	state := "open"
	if e.Cause != nil {
		state = e.Cause.State.String()
	}
	return fmt.Sprintf("shop: checkout temporarily unavailable, retry after %d s (%s circuit is %s)",
		int64(e.RetryAfter/time.Second), e.Dependency, state)
}

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the breaker's *circuit.OpenError.
func (e *UnavailableError) Unwrap() error {
	if e.Cause == nil {
		return nil
	}
	return e.Cause
}

// RetryAfter returns oe.RetryAfter(now) in whole seconds, rounded up and at
// least one, as an HTTP Retry-After header wants it. It is the arithmetic
// behind UnavailableError.RetryAfter.
func RetryAfter(oe *circuit.OpenError, now time.Time) time.Duration {
	d := oe.RetryAfter(now)
	secs := (d + time.Second - 1) / time.Second
	if secs < 1 {
		secs = 1
	}
	return secs * time.Second
}
