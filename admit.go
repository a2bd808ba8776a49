package circuit

import (
	"math"
	"time"
)

// admit decides whether a call starting now may run, and returns the time
// it started, or never for a rejection decided without reading the clock. While closed, and while open before the period ends, it takes
// no lock. While an open period's expiry is unmarked it rejects the call
// without reading the clock, except on every 64th rejection (per stripe of
// the rejection counter, see rejectCounter), so that a timer delayed by a
// saturated scheduler delays half-open by at most a few hundred rejections.
func (b *Breaker[T]) admit() (ticket, time.Duration, error) {
	p := b.period.Load()
	if p.exp != nil && !p.exp.fired.Load() {
		i, n := p.rej.add()
		if n%64 != 0 {
			return ticket{}, never, p.err
		}
		now := b.now()
		if now < p.until {
			return ticket{}, now, p.err
		}
		p.rej.undo(i) // not a rejection after all
		return b.admitSlow(now)
	}
	switch p.state {
	case Closed, Disabled:
		now := b.now()
		if p.state == Closed && (int64(now) >= b.slowCheckAt.Load() || p.until != 0) {
			// Time to look for calls in flight too long, or a ramp to
			// apply: under the lock.
			return b.admitSlow(now)
		}
		return ticket{gen: p.gen, seq: b.admitted.Add(1), slot: -1}, now, nil
	case ForcedOpen:
		p.rej.add()
		return ticket{}, never, p.err
	case Open:
		now := b.now()
		if now < p.until {
			p.rej.add()
			return ticket{}, now, p.err
		}
		return b.admitSlow(now)
	}
	return b.admitSlow(b.now())
}

// admitSlow is admission under the lock: half-open, or an open period
// that has ended. Transitions it observes are delivered to the hooks
// before the call is admitted, with no probe slot held, so that a slow
// hook is not charged to the call's latency or its probe deadline, and a
// hook that ends the goroutine cannot take a slot with it.
func (b *Breaker[T]) admitSlow(now time.Duration) (ticket, time.Duration, error) {
	asked, gateOK := false, true // the probe gate, asked outside the lock
	if g := b.gate.Load(); g != nil && b.period.Load().state == HalfOpen {
		asked, gateOK = true, b.askGate(*g)
	}
	for {
		b.mu.Lock()
		now = b.advance(now)
		if b.dl != nil && len(b.dl.pending) > 0 && !b.dl.delivering {
			b.dl.delivering = true
			b.mu.Unlock()
			b.deliverBeforeCall()
			now = b.now()
			continue
		}
		p := b.period.Load()
		if p.state == HalfOpen && !asked {
			if g := b.gate.Load(); g != nil {
				b.mu.Unlock()
				asked, gateOK = true, b.askGate(*g)
				continue
			}
		}
		tk, err := b.admitLocked(p, now, gateOK)
		b.mu.Unlock()
		return tk, now, err
	}
}

// admitLocked decides whether period p, the current one, admits a call at
// now, which advance has applied: gateOK is the probe gate's answer (true
// if there is none, or it was not asked). A rejection is counted. It
// requires b.mu. admitSlow and Replay share it, so that a replayed call is
// admitted by the very rules of a real one.
func (b *Breaker[T]) admitLocked(p *period, now time.Duration, gateOK bool) (ticket, error) {
	tk := ticket{gen: p.gen, slot: -1}
	var err error
	switch p.state {
	case Closed:
		if p.until != 0 && !b.rampAdmits(now) {
			err = p.err
			break
		}
		tk.seq = b.admitted.Add(1)
	case Disabled:
		tk.seq = b.admitted.Add(1)
	case HalfOpen:
		if b.probes == nil {
			b.probes = &probeLease{slots: b.cfg.HalfOpenMaxProbes}
		}
		if !gateOK {
			err = b.gateErr(p, now)
		} else if tk.slot = b.probes.claim(now); tk.slot < 0 {
			err = b.halfOpenErr(p)
		} else {
			tk.seq = b.admitted.Add(1)
		}
	default:
		err = p.err
	}
	if err != nil {
		b.rejectCounter().add()
	}
	return tk, err
}

// deliverBeforeCall delivers pending transitions for a call that is not
// admitted yet. If a hook ends the goroutine (runtime.Goexit), the call
// ends there, before admission, and is booked as Ignored so that every
// call is still counted once.
func (b *Breaker[T]) deliverBeforeCall() {
	delivered := false
	defer func() {
		if !delivered {
			b.mu.Lock()
			b.ignored++
			b.mu.Unlock()
		}
	}()
	b.deliver()
	delivered = true
}

// halfOpenErr returns the rejection of half-open period p when its probe
// slots are all taken, with RetryAt at the oldest probe's deadline. It is
// rebuilt only when that deadline changes. It requires b.mu.
func (b *Breaker[T]) halfOpenErr(p *period) *OpenError {
	l := b.probes
	oldest, _ := l.oldest()
	retryAt := b.at(addSat(oldest, b.cfg.probeTimeout()))
	if l.err == nil || l.errGen != p.gen || !l.err.RetryAt.Equal(retryAt) {
		e := *p.err
		e.RetryAt = retryAt
		l.err, l.errGen = &e, p.gen
	}
	return l.err
}

// probeLease tracks the probe slots of a half-open period: who holds one,
// since when. It is not safe for concurrent use; the breaker guards it with
// its mutex.
type probeLease struct {
	at    []time.Duration // admission time of each slot's probe; never if free; nil until needed
	n     int             // slots held
	slots int             // Config.HalfOpenMaxProbes

	// err is the rejection for the current oldest probe of period errGen
	// (see halfOpenErr), built again only when that deadline changes.
	err    *OpenError
	errGen uint64

	// gateErr is the rejection when the probe gate says no, for period
	// gateGen, valid until gateUntil (see gateErr).
	gateErr   *OpenError
	gateGen   uint64
	gateUntil time.Duration
}

// claim takes a free slot for a probe admitted at now, or returns -1.
func (l *probeLease) claim(now time.Duration) int {
	if l.at == nil { // the first half-open period
		l.at = make([]time.Duration, l.slots)
		for i := range l.at {
			l.at[i] = never
		}
	}
	if l.n >= l.slots {
		return -1
	}
	for i, at := range l.at {
		if at == never {
			l.at[i] = now
			l.n++
			return i
		}
	}
	return -1
}

// resize makes n slots available, keeping the probes that hold one: with
// fewer slots than probes, none is admitted until enough have reported.
func (l *probeLease) resize(n int) {
	l.slots = n
	for l.at != nil && len(l.at) < n {
		l.at = append(l.at, never)
	}
}

// release frees slot i.
func (l *probeLease) release(i int) {
	if l.at[i] != never {
		l.at[i] = never
		l.n--
	}
}

// oldest returns the admission time of the oldest probe, if any.
func (l *probeLease) oldest() (time.Duration, bool) {
	if l == nil || l.n == 0 {
		return 0, false
	}
	oldest := time.Duration(math.MaxInt64)
	for _, at := range l.at {
		if at != never && at < oldest {
			oldest = at
		}
	}
	return oldest, true
}

// clear frees every slot: the probes of an ended period are abandoned.
func (l *probeLease) clear() {
	if l == nil || l.n == 0 {
		return
	}
	for i := range l.at {
		l.at[i] = never
	}
	l.n = 0
}

// rampShare is the share of calls a ramp that began at from admits at now.
func (c *Config) rampShare(from, now time.Duration) float64 {
	return c.RampStart + (1-c.RampStart)*float64(now-from)/float64(c.RampDuration)
}

// rampAdmits decides whether a ramping breaker admits a call at now: while
// the share of the ramp's calls admitted so far is below the ramp's share
// now. It requires b.mu.
func (b *Breaker[T]) rampAdmits(now time.Duration) bool {
	b.rampSeen++
	if float64(b.rampPassed) < b.cfg.rampShare(b.rampFrom, now)*float64(b.rampSeen) {
		b.rampPassed++
		return true
	}
	return false
}
