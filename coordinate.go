package circuit

import (
	"log/slog"
	"time"
)

// The extension points for coordinators, such as a fleet of replicas that
// share one breaker's state through Redis (module
// github.com/breakerlab/circuit/redis): a coordinator hears calls through
// Observe and transitions through Subscribe, opens the breaker with
// OpenUntil or Trip, closes it with Close, and decides who probes with
// SetProbeGate. None of them costs anything on a closed breaker's calls.

// SetProbeGate makes gate decide, each time a half-open breaker is about
// to admit a probe, whether it may: if gate returns false the call is
// rejected with an *OpenError (State HalfOpen) as if every probe slot were
// taken, with RetryAt at most one ProbeTimeout ahead. A nil gate removes it. Only
// half-open admission consults the gate. gate runs outside the breaker's
// lock, possibly on many goroutines at once; it must return at once (read
// a flag, start work elsewhere) and must not block. A panic in it is
// recovered, logged, and read as false.
func (b *Breaker[T]) SetProbeGate(gate func() bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gate == nil {
		b.gate.Store(nil)
		return
	}
	b.gate.Store(&gate)
}

// askGate calls the probe gate, reading a panic as false.
func (b *Breaker[T]) askGate(gate func() bool) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
			b.logGatePanic(r)
		}
	}()
	return gate()
}

func (b *Breaker[T]) logGatePanic(r any) {
	defer func() { _ = recover() }()
	l := b.t.logger
	if l == nil {
		l = slog.Default()
	}
	l.Error("circuit: probe gate panicked", slog.String("name", b.name), slog.Any("panic", r))
}

// gateErr is the rejection of a half-open period p whose probe gate said
// no: RetryAt is at most one ProbeTimeout after now, by when the probe that
// holds the gate has either reported or timed out. One error serves every
// rejection until its RetryAt passes, so that a fleet waiting on another
// replica's probe does not allocate per call. It requires b.mu and
// b.probes.
func (b *Breaker[T]) gateErr(p *period, now time.Duration) *OpenError {
	l := b.probes
	if l.gateErr == nil || l.gateGen != p.gen || now >= l.gateUntil {
		l.gateUntil = addSat(now, b.cfg.probeTimeout())
		e := *p.err
		e.RetryAt = b.at(l.gateUntil)
		l.gateErr, l.gateGen = &e, p.gen
	}
	return l.gateErr
}

// Close closes an Open or HalfOpen breaker now, as if its probes had just
// succeeded (so a configured ramp follows), giving reason as the
// transition's Reason (ReasonFleet when another replica's probe closed the
// fleet's breaker), and reports whether it did. It does nothing to a
// breaker that is closed, held open or disabled: an operator's hold wins.
func (b *Breaker[T]) Close(reason Reason) bool {
	return b.transition(func(s State, now time.Duration) bool {
		switch s {
		case Open, HalfOpen:
			b.recovered = true
			b.setState(Closed, now, reason)
			b.recovered = false
			return true
		}
		return false
	})
}
