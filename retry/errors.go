package retry

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/breakerlab/circuit"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrBudgetExhausted is reachable with errors.Is from the *Error of a
	// call that stopped because its Budget refused a retry.
	ErrBudgetExhausted = errors.New("retry: retry budget exhausted")

	// ErrInvalidConfig is circuit.ErrInvalidConfig, the module's single
	// sentinel for bad configuration: every error from New, NewBudget, and
	// Do with invalid options matches it, and holds a *circuit.ConfigError
	// per bad field.
	ErrInvalidConfig = circuit.ErrInvalidConfig

	// ErrNilFunc is returned when fn is nil; nothing is called.
	ErrNilFunc = errors.New("retry: nil func")

	// ErrNilContext is returned when ctx is nil; nothing is called.
	ErrNilContext = errors.New("retry: nil context")

	// ErrNilPolicy is returned by Execute on a nil *Policy.
	ErrNilPolicy = errors.New("retry: nil policy")
)

// Reason says why a call stopped retrying.
type Reason int

// The reasons a call gives up.
const (
	// ReasonMaxAttempts: every allowed attempt failed.
	ReasonMaxAttempts Reason = iota
	// ReasonNotRetryable: the WithRetryIf predicate refused the error.
	ReasonNotRetryable
	// ReasonBreakerOpen: a circuit breaker rejected the call
	// (circuit.ErrOpen). Retrying would only hammer a breaker that is
	// protecting a failing dependency, so it is never done.
	ReasonBreakerOpen
	// ReasonCanceled: the attempt returned context.Canceled, the caller's
	// decision to stop, which is never retried.
	ReasonCanceled
	// ReasonContextDone: the call's context ended, before an attempt or
	// during a backoff. Error.Cause holds ctx.Err().
	ReasonContextDone
	// ReasonBudgetExhausted: the Budget refused a retry. Error.Cause is
	// ErrBudgetExhausted.
	ReasonBudgetExhausted
)

var reasonNames = [...]string{
	ReasonMaxAttempts:     "max-attempts",
	ReasonNotRetryable:    "not-retryable",
	ReasonBreakerOpen:     "breaker-open",
	ReasonCanceled:        "canceled",
	ReasonContextDone:     "context-done",
	ReasonBudgetExhausted: "budget-exhausted",
}

// String returns the reason in kebab case, such as "breaker-open", and
// "reason(N)" for an unknown value.
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText returns String's text, so that a Reason reads as a word in
// JSON and structured logs.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Error is the error of a call that did not succeed. It says how many
// attempts were made and why retrying stopped, and unwraps to the last
// attempt's error (and to Cause), so errors.Is and errors.As reach both.
type Error struct {
	// Attempts is how many times fn was called, including the first; 0
	// when the context was done before the first attempt.
	Attempts int
	// Err is the last attempt's error; when Attempts is 0, the context's
	// error.
	Err error
	// Reason is why no further attempt was made.
	Reason Reason
	// Cause is what stopped the retries when it is not Err itself:
	// ErrBudgetExhausted, or the context's error when the context ended
	// during a backoff. Otherwise nil.
	Cause error
}

// Error returns, for example, "retry: 3 attempts, gave up (max-attempts):
// connection refused".
func (e *Error) Error() string {
	attempts := "attempts"
	if e.Attempts == 1 {
		attempts = "attempt"
	}
	msg := fmt.Sprintf("retry: %d %s, gave up (%s)", e.Attempts, attempts, e.Reason)
	if e.Cause != nil && e.Cause != e.Err {
		msg += ": " + e.Cause.Error()
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns Err and Cause (whichever are set), for errors.Is and
// errors.As.
func (e *Error) Unwrap() []error {
	switch {
	case e.Cause == nil || e.Cause == e.Err:
		if e.Err == nil {
			return nil
		}
		return []error{e.Err}
	case e.Err == nil:
		return []error{e.Cause}
	}
	return []error{e.Err, e.Cause}
}
