package circuit

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// advance applies the transitions that follow from time alone, each at the
// instant it took effect, and returns now, raised to the latest time seen
// so that a clock set back cannot move the state machine backwards. It
// requires b.mu.
func (b *Breaker[T]) advance(now time.Duration) time.Duration {
	if now < b.last {
		now = b.last
	}
	b.last = now
	for {
		p := b.period.Load()
		switch p.state {
		case Open:
			if now < p.until {
				return now
			}
			b.setState(HalfOpen, p.until, ReasonTimeoutElapsed)
		case HalfOpen:
			oldest, ok := b.probes.oldest()
			if !ok {
				return now
			}
			deadline := addSat(oldest, b.cfg.probeTimeout())
			if now < deadline {
				return now
			}
			b.setState(Open, deadline, ReasonProbeTimeout)
		case Closed:
			if p.until != 0 && now >= p.until {
				// The ramp is over: the same period, without it.
				b.period.Store(&period{state: Closed, gen: p.gen})
				continue
			}
			if int64(now) >= b.slowCheckAt.Load() {
				b.checkSlow(now)
				continue // it may have opened
			}
			return now
		default:
			return now
		}
	}
}

// checkSlow takes a slowWatch checkpoint and trips the breaker if the calls
// in flight for at least LatencyThreshold, counted as slow samples beside
// the window's, meet the latency criterion. It runs at most once per
// checkpoint width, from advance. It requires b.mu and a Closed period.
func (b *Breaker[T]) checkSlow(now time.Duration) {
	admitted := b.admitted.Load()
	b.watch().checkpoint(now, admitted, admitted != b.finished)
	b.slowCheckAt.Store(int64(now + b.slow.width))
	s := b.slow.slow(now)
	if s == 0 {
		return
	}
	held, heldSlow := b.win.held(now)
	c := b.cfg
	n, slow := held+s, heldSlow+s
	if n >= c.MinRequests && slow >= n-rank(c.LatencyPercentile, n)+1 {
		b.setState(Open, now, ReasonSlowCalls)
	}
}

// setState starts a new period in state to at time at, and queues the
// transition for the hooks. It requires b.mu.
func (b *Breaker[T]) setState(to State, at time.Duration, reason Reason) {
	old := b.period.Load()
	slowInFlight := b.slowInFlight() // for the snapshot: what tripped it
	p := &period{state: to, gen: old.gen + 1}
	switch to {
	case Open:
		if old.state == HalfOpen {
			b.reopens++
		} else {
			b.reopens = 0
		}
		if b.openUntil > at {
			p.until, b.openUntil = b.openUntil, 0
		} else {
			p.until = addSat(at, b.openDuration())
		}
		p.err = &OpenError{Name: b.name, State: Open, Reason: reason, RetryAt: b.at(p.until), Cause: b.lastFailure}
		p.rej = b.rejectCounter()
		if b.t.expiries {
			p.exp = scheduleExpiry(b.t.epoch.Add(p.until))
		}
	case HalfOpen:
		// Its RetryAt is filled in per oldest probe by halfOpenErr.
		p.err = &OpenError{Name: b.name, State: HalfOpen, Reason: reason, Cause: b.lastFailure}
	case ForcedOpen:
		p.err = &OpenError{Name: b.name, State: ForcedOpen, Reason: reason, Cause: b.lastFailure, hint: b.cfg.OpenTimeout}
		p.rej = b.rejectCounter()
	case Closed:
		b.reopens = 0
		if (reason == ReasonProbesSucceeded || b.recovered) && b.cfg.RampDuration > 0 {
			p.until = addSat(at, b.cfg.RampDuration)
			p.err = &OpenError{Name: b.name, State: Closed, Reason: ReasonRamp, RetryAt: b.at(p.until), Cause: b.lastFailure}
			b.rampFrom, b.rampSeen, b.rampPassed = at, 0, 0
		}
		if b.cfg.LatencyThreshold > 0 {
			b.watch().reset(at, b.admitted.Load())
			b.slowCheckAt.Store(int64(at))
		}
	}
	if old.exp != nil {
		cancelExpiry(old.exp)
	}
	b.period.Store(p)
	b.since = at
	if b.pairs == nil {
		b.pairs = new([NumStates][NumStates]uint64)
	}
	b.pairs[old.state][to]++
	b.lastReason = reason
	b.lastTransAt = at
	b.probes.clear() // probes of the old period are abandoned: their outcomes are stale
	if len(b.hookList()) > 0 {
		t := Transition{Name: b.name, From: old.state, To: to, Reason: reason, At: b.at(at), Metrics: b.snapshot()}
		t.Metrics.SlowInFlight = slowInFlight
		if to == Open {
			t.RetryAt = b.at(p.until)
		}
		b.queue(t)
	}
	b.consecFail, b.consecSucc = 0, 0
	if to == Closed {
		b.win.reset()
	}
}

// openDuration is the length of an open period that starts now:
// OpenTimeout, multiplied by OpenBackoff for each reopening since the last
// close and capped by OpenTimeoutMax, then spread by ±OpenJitter. It
// requires b.mu.
func (b *Breaker[T]) openDuration() time.Duration {
	c := b.cfg
	d := float64(c.OpenTimeout)
	if c.OpenBackoff > 1 && b.reopens > 0 {
		d *= math.Pow(c.OpenBackoff, float64(b.reopens))
	}
	limit := float64(MaxOpenTimeout)
	if c.OpenTimeoutMax > 0 {
		limit = float64(c.OpenTimeoutMax)
	}
	d = min(d, limit)
	if c.OpenJitter > 0 {
		u := b.t.rand
		if u == nil && b.t.jitterSeed != nil {
			if b.jitter == nil {
				h := fnv.New64a()
				h.Write([]byte(b.name))
				b.jitter = rand.New(rand.NewPCG(*b.t.jitterSeed, h.Sum64()))
			}
			u = b.jitter.Float64
		}
		if u == nil {
			u = rand.Float64
		}
		d *= 1 + c.OpenJitter*(2*u()-1)
	}
	return time.Duration(max(min(d, float64(MaxOpenTimeout)), 1))
}

// queue adds t to the transitions owed to the hooks. It requires b.mu.
func (b *Breaker[T]) queue(t Transition) {
	if b.dl == nil {
		b.dl = new(delivery)
	}
	b.dl.pending = append(b.dl.pending, t)
}
