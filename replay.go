package circuit

import (
	"fmt"
	"math"
	"time"
)

// Replayed is what Replay did with one Observation.
type Replayed struct {
	// Rejected is true if the breaker turned the call away; nothing of
	// its outcome was then booked.
	Rejected bool
	// State is the breaker's state when it admitted or rejected the call,
	// once time alone had done its part by the call's start. A ramping
	// breaker is Closed, whether or not the ramp admitted the call.
	State State
	// Transitions counts the transitions the call's replay made: those
	// time alone made by its start, then those its outcome caused. The
	// hooks receive every transition of the batch in that order, so the
	// first out[0].Transitions they receive belong to obs[0], the next
	// out[1].Transitions to obs[1], and so on.
	Transitions int
}

// Replay runs the breaker's own state machine over calls made elsewhere,
// in order, as if they had been made through this breaker: each call is
// admitted or rejected at its Start by the rules of admission, and the
// outcome of an admitted one is booked at its End by the rules of Execute.
// Package tune judges candidate configurations on live traffic this way,
// with no second implementation of the rules.
//
// If out is not nil, out[i] receives what the breaker did with obs[i]; out
// must then be as long as obs, or Replay replays nothing and returns an
// error, its only one.
//
// How a call is booked, from its Observation:
//
//   - Start and End are times on the breaker's clock, by their wall-clock
//     reading (an Observation's have no other); one earlier than the
//     latest time the breaker has seen counts as that time, as when a
//     clock is set back.
//   - A Success that took at least this breaker's CallTimeout (End minus
//     Start) is a Failure with context.DeadlineExceeded.
//   - A Failure, or any Outcome value but the three, is a Failure with Err
//     (ErrResultFailed if Err is nil). Err is kept, never examined:
//     errors.Is could run user code under the lock.
//   - An Ignored call stays Ignored, unjudged by the CallTimeout: an
//     Observation does not tell a caller's cancellation from a
//     classifier's verdict.
//   - A call with Rejected set has no outcome: if this breaker admits it,
//     it is booked Ignored at once, which frees its probe slot.
//
// The probe gate (SetProbeGate) is not asked: it shares out real probes.
// Replayed calls count in Metrics, but the breaker's observers are not
// told of them: Replay is usually fed by an observer, and telling
// observers again would count the calls twice, or feed them back to their
// source.
//
// Replay takes the breaker's lock once for the whole batch and allocates
// nothing per call (a transition allocates as usual). The transitions it
// makes are delivered to the hooks in order once the lock is released,
// before Replay returns (unless another goroutine is delivering, which
// then delivers them). It is safe for concurrent use, but replaying into a
// breaker that also serves calls mixes two streams in one state machine:
// give replays a breaker of their own.
func (b *Breaker[T]) Replay(obs []Observation, out []Replayed) error {
	if out != nil && len(out) != len(obs) {
		return fmt.Errorf("circuit: Replay: len(out) = %d, want len(obs) = %d, or out nil", len(out), len(obs))
	}
	if len(obs) == 0 {
		return nil
	}
	es, ens := b.t.epoch.Unix(), b.t.epoch.Nanosecond()
	b.mu.Lock()
	for i := range obs {
		o := &obs[i]
		gen := b.period.Load().gen
		start, end := offset(o.Start, es, ens), offset(o.End, es, ens)
		now := b.advance(start)
		p := b.period.Load()
		tk, err := b.admitLocked(p, now, true)
		if err == nil {
			kind, ferr, judge := replayedOutcome(o)
			b.recordLocked(tk, start, end, kind, ferr, judge)
		}
		if out != nil {
			out[i] = Replayed{Rejected: err != nil, State: p.state, Transitions: int(b.period.Load().gen - gen)}
		}
	}
	b.unlockAndDeliver()
	return nil
}

// replayedOutcome returns how Replay books the outcome of o, an admitted
// call: its Outcome, its error, and whether the CallTimeout judges it.
func replayedOutcome(o *Observation) (Outcome, error, bool) {
	switch {
	case o.Rejected, o.Outcome == Ignored:
		return Ignored, nil, false
	case o.Outcome == Success:
		return Success, nil, true
	}
	if o.Err == nil {
		return Failure, ErrResultFailed, false
	}
	return Failure, o.Err, false
}

// maxOffsetSec is the most whole seconds an offset can hold.
const maxOffsetSec = math.MaxInt64/int64(time.Second) - 1

// offset returns t minus the epoch given as Unix seconds and nanoseconds,
// saturated like time.Time.Sub, by the times' wall-clock readings: the
// same as Sub for an Observation's times, which have no monotonic reading,
// at a fraction of its cost, which Replay pays twice per call.
func offset(t time.Time, sec int64, nsec int) time.Duration {
	switch d := t.Unix() - sec; {
	case d > maxOffsetSec:
		return math.MaxInt64
	case d < -maxOffsetSec:
		return math.MinInt64
	default:
		return time.Duration(d)*time.Second + time.Duration(t.Nanosecond()-nsec)
	}
}
