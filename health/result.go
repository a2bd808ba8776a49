package health

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/breakerlab/circuit"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrInvalidConfig is circuit.ErrInvalidConfig, the module's single
	// sentinel for bad configuration: every error from Watch matches it and
	// holds a *circuit.ConfigError per bad argument or option.
	ErrInvalidConfig = circuit.ErrInvalidConfig

	// ErrStopped is returned by CheckNow once Stop has been called. The
	// check, if it ran, was not applied to the breaker.
	ErrStopped = errors.New("health: watcher is stopped")

	// ErrNilContext is returned by CheckNow when ctx is nil.
	ErrNilContext = errors.New("health: CheckNow called with a nil context")

	// ErrCheckTimeout is the Result.Err of a check that did not return
	// within the watcher's timeout. Such a check counts as unhealthy. The
	// error also matches context.DeadlineExceeded.
	ErrCheckTimeout = errors.New("health: check did not return within its timeout")

	// ErrCheckRunning is the Result.Err of a check that was not started
	// because an earlier one, abandoned at its timeout (or when Stop or
	// CheckNow's context ended it), had still not returned by the new
	// check's own timeout. It counts as unhealthy. This keeps a check that
	// ignores its context from piling up one goroutine per interval.
	ErrCheckRunning = errors.New("health: an abandoned earlier check is still running")
)

// timeoutError is the error of a timed-out check: it names the timeout and
// matches both ErrCheckTimeout and context.DeadlineExceeded.
type timeoutError struct{ timeout time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%v (%v)", ErrCheckTimeout, e.timeout)
}

func (e *timeoutError) Unwrap() []error {
	return []error{ErrCheckTimeout, context.DeadlineExceeded}
}

// PanicError is the Result.Err of a check that panicked; such a check
// counts as unhealthy and the panic goes no further. It is also the error
// of a check that called runtime.Goexit, with a nil Value (since Go 1.21 a
// panic(nil) arrives as a *runtime.PanicNilError, so nil means Goexit).
type PanicError struct {
	Value any    // the value passed to panic; nil after runtime.Goexit
	Stack []byte // the stack of the check's goroutine when it panicked
}

// Error returns "health: check panicked: value", or says that the check
// called runtime.Goexit.
func (e *PanicError) Error() string {
	if e.Value == nil {
		return "health: check called runtime.Goexit"
	}
	return fmt.Sprintf("health: check panicked: %v", e.Value)
}

// Action is what a check made the watcher do to the breaker.
type Action int

// The actions a check can lead to.
const (
	// ActionNone: the breaker was left alone.
	ActionNone Action = iota
	// ActionOpen: the run of unhealthy checks had reached the threshold
	// and the breaker was not open, so the watcher opened it with
	// circuit.ReasonHealthCheck.
	ActionOpen
	// ActionHalfOpen: the run of healthy checks while open reached the
	// recovery count and the watcher moved the breaker to half-open with
	// circuit.ReasonHealthRecovered.
	ActionHalfOpen
)

// String returns "none", "open" or "half-open", and "action(N)" for any
// other value.
func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionOpen:
		return "open"
	case ActionHalfOpen:
		return "half-open"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText returns String's text, so that an Action reads as a word in
// JSON and structured logs.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Result describes one applied check. It is a plain value.
type Result struct {
	// Err is nil for a healthy check. Otherwise it is the check's error, a
	// *PanicError, an error matching ErrCheckTimeout, or ErrCheckRunning.
	Err      error
	Start    time.Time     // when the check began, on the watcher's clock
	Duration time.Duration // how long the watcher waited for it

	// The runs of unhealthy and healthy checks in a row, this one
	// included; one of them is always 0.
	ConsecutiveFailures  int
	ConsecutiveSuccesses int

	Action Action // what the watcher did to the breaker
}

// Healthy reports whether the check passed (Err is nil).
func (r Result) Healthy() bool { return r.Err == nil }
