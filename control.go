package circuit

import (
	"math"
	"time"
)

// The operator's controls. Each reads the clock once, applies any
// transition time alone has caused, then acts, and delivers the resulting
// transitions to the hooks before it returns (unless another goroutine is
// delivering).

// State returns the current state. An open breaker whose period has passed
// is reported (and becomes) half-open without any call being made, and a
// half-open breaker whose oldest probe has outlived ProbeTimeout reopens.
func (b *Breaker[T]) State() State {
	p := b.period.Load()
	var now time.Duration
	switch p.state {
	case Closed:
		// A closed breaker changes state by time alone only when calls in
		// flight grow too slow; look when it is time to.
		if b.slowCheckAt.Load() == math.MaxInt64 {
			return Closed
		}
		if now = b.now(); int64(now) < b.slowCheckAt.Load() {
			return Closed
		}
		b.mu.Lock()
		b.advance(now)
		s := b.period.Load().state
		b.unlockAndDeliver()
		return s
	case ForcedOpen, Disabled:
		return p.state
	}
	now = b.now()
	if p.state == Open && now < p.until {
		return Open
	}
	b.mu.Lock()
	b.advance(now)
	s := b.period.Load().state
	b.unlockAndDeliver()
	return s
}

// transition runs f under the lock after advancing to now, and delivers
// what it caused.
func (b *Breaker[T]) transition(f func(s State, now time.Duration) bool) bool {
	now := b.now()
	b.mu.Lock()
	now = b.advance(now)
	done := f(b.period.Load().state, now)
	b.unlockAndDeliver()
	return done
}

// Trip opens the breaker now, giving reason as the transition's Reason
// (ReasonManual for an operator, ReasonHealthCheck from the health
// package), and reports whether it did. The breaker then recovers through
// its open period and probes. A breaker that is already open, held open or
// disabled is left as it is (false): its period is not restarted, and an
// operator's hold wins over automation.
func (b *Breaker[T]) Trip(reason Reason) bool {
	return b.transition(func(s State, now time.Duration) bool {
		switch s {
		case Open, ForcedOpen, Disabled:
			return false
		}
		b.setState(Open, now, reason)
		return true
	})
}

// OpenUntil opens the breaker now until exactly until, or extends its
// current open period to until if that is later, giving reason as the
// transition's Reason (ReasonRetryAfter when the dependency asked for
// time, ReasonFleet when another replica opened), and reports whether it
// opened or extended anything. An extension is not a transition: no hook
// hears of it, but later rejections carry the new RetryAt. It does nothing
// to a breaker held open or disabled, or when until is not in the future.
// The period then ends as any other: at until the breaker is half-open.
func (b *Breaker[T]) OpenUntil(reason Reason, until time.Time) bool {
	return b.transition(func(s State, now time.Duration) bool {
		u := until.Sub(b.t.epoch)
		if u <= now {
			return false
		}
		switch s {
		case Closed, HalfOpen:
			b.openUntil = u
			b.setState(Open, now, reason)
			return true
		case Open:
			p := b.period.Load()
			if u <= p.until {
				return false
			}
			// A new period in the same state: its own rejection error.
			q := &period{state: Open, gen: p.gen + 1, until: u, rej: p.rej}
			e := *p.err
			e.RetryAt = b.at(u)
			q.err = &e
			if p.exp != nil {
				cancelExpiry(p.exp)
				q.exp = scheduleExpiry(b.t.epoch.Add(u))
			}
			b.period.Store(q)
			return true
		}
		return false
	})
}

// EndOpen moves an open breaker to half-open now, ahead of its period's
// end, giving reason as the transition's Reason (such as
// ReasonHealthRecovered), and reports whether it did. It does nothing to a
// breaker that is not Open. A health checker uses it to start probing as
// soon as the dependency looks healthy.
func (b *Breaker[T]) EndOpen(reason Reason) bool {
	return b.transition(func(s State, now time.Duration) bool {
		if s != Open {
			return false
		}
		b.setState(HalfOpen, now, reason)
		return true
	})
}

// ForceOpen holds the breaker open (ForcedOpen, ReasonForcedOpen): every
// call is rejected until Reset or Disable, whatever time passes. It
// reports whether the state changed (false if already held open). Probes
// in flight no longer count.
func (b *Breaker[T]) ForceOpen() bool {
	return b.transition(func(s State, now time.Duration) bool {
		if s == ForcedOpen {
			return false
		}
		b.setState(ForcedOpen, now, ReasonForcedOpen)
		return true
	})
}

// Disable switches the breaker off (Disabled, ReasonDisabled): every call
// goes through and is recorded in Metrics, window included, but nothing
// trips it, until Reset or ForceOpen. It reports whether the state changed.
func (b *Breaker[T]) Disable() bool {
	return b.transition(func(s State, now time.Duration) bool {
		if s == Disabled {
			return false
		}
		b.setState(Disabled, now, ReasonDisabled)
		return true
	})
}

// Reset closes the breaker now from any state (ReasonReset) and clears its
// window and consecutive counts; calls in flight from before the reset no
// longer count. Lifetime counts are kept. Resetting a closed breaker clears
// it without a transition.
func (b *Breaker[T]) Reset() {
	b.transition(func(s State, now time.Duration) bool {
		if s != Closed {
			b.setState(Closed, now, ReasonReset)
			return true
		}
		old := b.period.Load()
		b.period.Store(&period{state: Closed, gen: old.gen + 1})
		b.win.reset()
		if b.cfg.LatencyThreshold > 0 {
			b.watch().reset(now, b.admitted.Load())
			b.slowCheckAt.Store(int64(now))
		}
		b.consecFail, b.consecSucc = 0, 0
		return false
	})
}
