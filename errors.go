package circuit

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrOpen is matched by every rejection: errors.Is(err, ErrOpen) is true
	// for the *OpenError that Execute and Allow return while the breaker is
	// open or its half-open probe slots are taken.
	ErrOpen = errors.New("circuit: breaker is open")

	// ErrInvalidConfig is wrapped by every error from Config.Validate and New.
	ErrInvalidConfig = errors.New("circuit: invalid config")

	// ErrNilFunc is returned by Execute when fn is nil. Nothing is recorded
	// and the fallback is not called: the mistake is the caller's.
	ErrNilFunc = errors.New("circuit: Execute called with a nil func")

	// ErrResultFailed is what Metrics.LastFailure and OpenError.Cause show
	// for a call that returned no error but whose result the classifier
	// judged a failure (an HTTP 503 response, say). The caller still gets
	// the call's own nil error.
	ErrResultFailed = errors.New("circuit: the classifier judged the result a failure")

	// ErrNilContext is returned by Execute when ctx is nil. Nothing is
	// recorded and the fallback is not called.
	ErrNilContext = errors.New("circuit: Execute called with a nil context")
)

// OpenError is the error of a rejected call. It satisfies
// errors.Is(err, ErrOpen) and is found with errors.As.
//
// A breaker builds one OpenError per state period (and per change of the
// oldest probe while half-open) and returns the same pointer for every
// rejection meanwhile, so rejecting allocates nothing. Treat it as
// read-only.
type OpenError struct {
	Name string // the breaker's name
	// State is Open, HalfOpen when all probe slots are taken, ForcedOpen,
	// or Closed while a recovered breaker ramps its traffic back up.
	State State
	// Reason says why: the Reason of the transition that opened the
	// breaker (or held it, or made it half-open), or ReasonRamp.
	Reason Reason
	// RetryAt is the earliest time the breaker may admit the call: while
	// Open, the end of the open period; while HalfOpen, the deadline of the
	// oldest probe in flight, by which its slot is free (it may free
	// sooner); during a ramp, its end, when every call is admitted (most
	// are sooner). Zero while ForcedOpen, which lasts until an operator
	// ends it.
	RetryAt time.Time
	// Cause is the last failure recorded before the breaker opened, for
	// diagnosis. It is deliberately not returned by Unwrap: a rejection must
	// not match the dependency's own errors with errors.Is.
	Cause error

	hint time.Duration // what RetryAfter says when RetryAt is zero
}

// RetryAfter returns how long a caller should wait before trying again, as
// of now: the time until RetryAt, never negative. While ForcedOpen, when no
// end is known, it returns the breaker's OpenTimeout as a hint, so that an
// HTTP Retry-After header is never zero for a breaker held open.
func (e *OpenError) RetryAfter(now time.Time) time.Duration {
	if e.RetryAt.IsZero() {
		return max(e.hint, 0)
	}
	return max(e.RetryAt.Sub(now), 0)
}

// Error describes the rejection, naming the breaker and its state.
func (e *OpenError) Error() string {
	name := e.Name
	if name == "" {
		name = "(unnamed)"
	}
	switch e.State {
	case HalfOpen:
		return fmt.Sprintf("circuit: breaker %q is half-open and all probe slots are taken", name)
	case ForcedOpen:
		return fmt.Sprintf("circuit: breaker %q is held open", name)
	case Closed:
		return fmt.Sprintf("circuit: breaker %q is ramping traffic back up after recovering", name)
	}
	return fmt.Sprintf("circuit: breaker %q is open", name)
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// ConfigError names one invalid configuration field. It wraps
// ErrInvalidConfig. Every package of this module reports bad configuration
// with it, so one errors.Is(err, circuit.ErrInvalidConfig) check and one
// errors.As(err, &ce) cover them all.
type ConfigError struct {
	Pkg   string // the reporting package, such as "retry"; "" means "circuit"
	Field string // the field, such as "WindowSize"
	Value any    // the rejected value
	Rule  string // what the value must satisfy, such as "must be at least 1"
}

// Error returns "pkg: invalid config: Field = value: rule", with a value
// that is a string of invalid UTF-8 quoted.
func (e *ConfigError) Error() string {
	pkg := e.Pkg
	if pkg == "" {
		pkg = "circuit"
	}
	if s, ok := e.Value.(string); ok && !utf8.ValidString(s) {
		// Quoted, so that the bad bytes show as escapes.
		return fmt.Sprintf("%s: invalid config: %s = %q: %s", pkg, e.Field, s, e.Rule)
	}
	return fmt.Sprintf("%s: invalid config: %s = %v: %s", pkg, e.Field, e.Value, e.Rule)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// PanicError is the failure recorded when fn panics. The panic itself is
// re-raised with its original value; PanicError is what Metrics.LastFailure
// and OpenError.Cause show afterwards.
type PanicError struct {
	Value any // the value passed to panic
}

// Error returns "circuit: call panicked: value".
func (e *PanicError) Error() string { return fmt.Sprintf("circuit: call panicked: %v", e.Value) }
