package circuit

import (
	"fmt"
	"strconv"
	"time"
)

// State is the position of a breaker in its three-state machine.
// The zero value is Closed.
type State int

// The three states of a breaker.
const (
	// Closed lets every call through and watches the outcomes.
	Closed State = iota
	// Open rejects every call at once until OpenTimeout has passed.
	Open
	// HalfOpen lets a limited number of probe calls through to test
	// whether the dependency has recovered.
	HalfOpen
)

// numStates is the number of States; it sizes Metrics.TransitionCounts.
const numStates = 3

// String returns "closed", "open" or "half-open", and "state(N)" for a
// value outside the three states.
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its String form, so JSON and logs show
// "half-open" rather than 2.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "closed", "open" or "half-open". Any other text is
// an error naming it, and leaves s unchanged.
func (s *State) UnmarshalText(text []byte) error {
	for c := Closed; c < numStates; c++ {
		if string(text) == c.String() {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("circuit: unknown state %q (valid: closed, open, half-open)", text)
}

// Reason says why a transition happened. It is carried by every Transition
// so that an operator can tell what tripped or recovered a breaker.
type Reason int

// The reasons a breaker changes state.
const (
	// ReasonConsecutiveFailures: closed -> open, the run of failures reached
	// Config.ConsecutiveFailures.
	ReasonConsecutiveFailures Reason = iota
	// ReasonErrorRate: closed -> open, the window's error rate reached
	// Config.ErrorRateThreshold.
	ReasonErrorRate
	// ReasonLatency: closed -> open, the window's latency percentile reached
	// Config.LatencyThreshold; or half-open -> open, a probe succeeded but
	// took at least Config.LatencyThreshold.
	ReasonLatency
	// ReasonTimeoutElapsed: open -> half-open, Config.OpenTimeout passed.
	ReasonTimeoutElapsed
	// ReasonProbeFailed: half-open -> open, a probe call failed.
	ReasonProbeFailed
	// ReasonProbesSucceeded: half-open -> closed, Config.SuccessThreshold
	// probes in a row succeeded.
	ReasonProbesSucceeded
	// ReasonManual: the breaker was opened by Trip.
	ReasonManual
	// ReasonReset: the breaker was closed by Reset.
	ReasonReset
	// ReasonProbeTimeout: half-open -> open, a probe did not report within
	// Config.OpenTimeout of its admission and counts as a failed probe. This
	// is what keeps a half-open breaker from wedging on an abandoned call.
	ReasonProbeTimeout
	// ReasonHealthCheck: a health checker saw the dependency unhealthy and
	// opened the breaker (see ForceOpen and the health package).
	ReasonHealthCheck
	// ReasonHealthRecovered: a health checker saw the dependency healthy
	// again and moved an open breaker to half-open early (see ForceHalfOpen).
	ReasonHealthRecovered
)

var reasonNames = [...]string{
	ReasonConsecutiveFailures: "consecutive-failures",
	ReasonErrorRate:           "error-rate",
	ReasonLatency:             "latency",
	ReasonTimeoutElapsed:      "timeout-elapsed",
	ReasonProbeFailed:         "probe-failed",
	ReasonProbesSucceeded:     "probes-succeeded",
	ReasonManual:              "manual",
	ReasonReset:               "reset",
	ReasonProbeTimeout:        "probe-timeout",
	ReasonHealthCheck:         "health-check",
	ReasonHealthRecovered:     "health-recovered",
}

// String returns the reason in kebab case, such as "error-rate", and
// "reason(N)" for an unknown value.
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText encodes the reason as its String form.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a reason from its String form, such as
// "error-rate". Any other text is an error naming it, and leaves r
// unchanged.
func (r *Reason) UnmarshalText(text []byte) error {
	for i, name := range reasonNames {
		if string(text) == name {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("circuit: unknown reason %q", text)
}

// Transition describes one change of state. Hooks receive it after the
// breaker's lock is released, in the order the transitions happened.
type Transition struct {
	Name   string // the breaker's Config.Name
	From   State
	To     State
	Reason Reason
	// At is when the transition took effect. A transition that follows from
	// time alone (open -> half-open, a probe timing out) takes effect at the
	// instant the timeout expired, even if the breaker noticed it later.
	At time.Time
	// Metrics is the snapshot at the moment of the transition, with the
	// values that caused it (consecutive failures, error rate, P95), taken
	// before the new state cleared anything. Its State is To. The windows
	// hold closed-state calls only, so when a probe reopens the breaker they
	// still show the period that first tripped it; the probe shows in
	// LastFailure (a failure) or Reason (ReasonLatency for a slow one).
	Metrics Metrics
}
