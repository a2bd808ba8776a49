package circuit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// State is the position of a breaker in its state machine: the three
// states of a circuit breaker, and two modes an operator holds it in.
// The zero value is Closed.
type State int

// The states of a breaker.
const (
	// Closed lets every call through and watches the outcomes.
	Closed State = iota
	// Open rejects every call at once until its open period has passed.
	Open
	// HalfOpen lets a limited number of probe calls through to test
	// whether the dependency has recovered.
	HalfOpen
	// ForcedOpen rejects every call until Reset (or Disable) is called:
	// an operator's "hold it open". Time and outcomes never leave it.
	ForcedOpen
	// Disabled lets every call through and records outcomes in Metrics,
	// but never trips: the breaker is switched off and keeps watching.
	// Only Reset (or ForceOpen) leaves it.
	Disabled
)

// NumStates is the number of States, Closed through Disabled: the size of
// each dimension of Metrics.TransitionCounts, which is indexed by State.
const NumStates = 5

var stateNames = [NumStates]string{
	Closed:     "closed",
	Open:       "open",
	HalfOpen:   "half-open",
	ForcedOpen: "forced-open",
	Disabled:   "disabled",
}

// String returns "closed", "open", "half-open", "forced-open" or
// "disabled", and "state(N)" for any other value.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its String form, so JSON and logs show
// "half-open" rather than 2.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state from its String form. Any other text is an
// error naming it, and leaves s unchanged.
func (s *State) UnmarshalText(text []byte) error {
	for c := Closed; c < NumStates; c++ {
		if string(text) == c.String() {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("circuit: unknown state %q (valid: %s)", text, strings.Join(stateNames[:], ", "))
}

// Reason says why a transition happened. It is carried by every Transition
// so that an operator can tell what tripped or recovered a breaker.
type Reason int

// The reasons a breaker changes state.
const (
	// ReasonNone is the zero Reason: no transition has happened yet.
	ReasonNone Reason = iota
	// ReasonConsecutiveFailures: closed -> open, the run of failures reached
	// Config.ConsecutiveFailures.
	ReasonConsecutiveFailures
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
	// ReasonManual: an operator opened the breaker with Trip.
	ReasonManual
	// ReasonReset: the breaker was closed by Reset.
	ReasonReset
	// ReasonProbeTimeout: half-open -> open, a probe did not report within
	// Config.ProbeTimeout of its admission and counts as a failed probe.
	// This is what keeps a half-open breaker from wedging on an abandoned
	// call.
	ReasonProbeTimeout
	// ReasonHealthCheck: a health checker saw the dependency unhealthy and
	// opened the breaker (see Trip and the health package).
	ReasonHealthCheck
	// ReasonHealthRecovered: a health checker saw the dependency healthy
	// again and moved an open breaker to half-open early (see EndOpen).
	ReasonHealthRecovered
	// ReasonForcedOpen: the breaker was put in ForcedOpen by ForceOpen.
	ReasonForcedOpen
	// ReasonDisabled: the breaker was put in Disabled by Disable.
	ReasonDisabled
	// ReasonSlowCalls: closed -> open, the latency criterion held once the
	// calls in flight for at least Config.LatencyThreshold were counted as
	// slow samples beside the window's: the breaker saw a slowdown before
	// the slow calls finished.
	ReasonSlowCalls
	// ReasonRamp is the Reason of an *OpenError turning a call away while
	// a recovered breaker ramps its traffic back up (Config.RampDuration).
	// No transition carries it: the breaker is closed throughout.
	ReasonRamp
	// ReasonRetryAfter: the breaker was opened (or its open period
	// extended) with OpenUntil because the dependency asked for time,
	// such as an HTTP 429 or 503 with a Retry-After header.
	ReasonRetryAfter
	// ReasonFleet: the breaker was opened (OpenUntil, Trip) or closed
	// (Close) by a fleet coordinator, because of what other replicas of
	// the service saw of the same dependency.
	ReasonFleet
	// ReasonReconfigured: Reconfigure replaced the breaker's Config. Its
	// Transition has From equal to To, says in Detail what changed and
	// what was cleared, and is not counted in Metrics.Transitions.
	ReasonReconfigured
)

var reasonNames = [...]string{
	ReasonNone:                "none",
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
	ReasonForcedOpen:          "forced-open",
	ReasonDisabled:            "disabled",
	ReasonSlowCalls:           "slow-calls",
	ReasonRamp:                "ramp",
	ReasonRetryAfter:          "retry-after",
	ReasonFleet:               "fleet",
	ReasonReconfigured:        "reconfigured",
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
	// RetryAt is, when To is Open, the end of the open period, with any
	// backoff and jitter applied; zero otherwise.
	RetryAt time.Time
	// Metrics is the snapshot at the moment of the transition, with the
	// values that caused it (consecutive failures, error rate, P95), taken
	// before the new state cleared anything. Its State is To. The windows
	// hold closed-state calls only, so when a probe reopens the breaker they
	// still show the period that first tripped it; the probe shows in
	// LastFailure (a failure) or Reason (ReasonLatency for a slow one).
	Metrics Metrics
	// Detail is empty, except in a ReasonReconfigured event, where it says
	// which fields changed and what the breaker cleared.
	Detail string
}

// Outcome is how a breaker counts a finished call.
type Outcome int

// The outcomes of a call.
const (
	// Success counts as a success: it enters the window and, in
	// half-open, counts towards closing.
	Success Outcome = iota
	// Failure counts as a failure: it enters the window and may trip the
	// breaker; in half-open it reopens it.
	Failure
	// Ignored is not judged at all: it stays out of the window and the
	// consecutive counts and frees its probe slot without deciding
	// anything. Metrics.Ignored counts it.
	Ignored
)

var outcomeNames = [...]string{Success: "success", Failure: "failure", Ignored: "ignored"}

// String returns "success", "failure" or "ignored", and "outcome(N)" for
// any other value.
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText encodes the outcome as its String form.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText decodes an outcome from its String form. Any other text is
// an error naming it, and leaves o unchanged.
func (o *Outcome) UnmarshalText(text []byte) error {
	for i, name := range outcomeNames {
		if string(text) == name {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("circuit: unknown outcome %q (valid: success, failure, ignored)", text)
}
