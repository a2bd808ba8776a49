package bulkhead

// Permit is one admission to a Bulkhead: the right to run one call. Call
// Release when the call is done (defer it); Execute does this for you.
//
// Release is idempotent per admission, like the done of a circuit
// breaker's permit: the first call gives the slot back (to the oldest
// waiter, or to the pool) and any later call, on the Permit or on a copy
// of it, does nothing, even once the bulkhead has given the same slot to
// another call. The zero Permit, which Acquire returns with an error, is
// released by doing nothing. A Permit is a small value: copy it freely.
type Permit struct {
	s   *slot  // the record of the admission; reused once released
	gen uint64 // the admission's number: s.gen until it is released
}

// Release gives the slot back, the first time it is called for this
// admission; see Permit. It allocates nothing.
func (p Permit) Release() {
	if p.s != nil {
		p.s.l.release(p.s, p.gen)
	}
}

// slot is the record behind a Permit. Released records go on a free list
// and are reused, which keeps admission free of allocations; gen tells
// the admissions that used a record apart.
type slot struct {
	l    *limiter
	gen  uint64 // the admission holding it, 0 while free; guarded by l.mu
	next *slot  // the free list; guarded by l.mu
}

// release ends admission gen of s, if it is still s's admission.
func (l *limiter) release(s *slot, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.gen != gen {
		return // released already, and s may now serve another admission
	}
	l.handOnLocked(s)
}

// newSlotLocked returns a free record, reusing a released one if there
// is one. It requires l.mu.
func (l *limiter) newSlotLocked() *slot {
	s := l.free
	if s == nil {
		return &slot{l: l}
	}
	l.free, s.next = s.next, nil
	return s
}

// grantLocked makes s the record of a new admission and returns its
// Permit. It requires l.mu.
func (l *limiter) grantLocked(s *slot) Permit {
	l.gen++
	s.gen = l.gen
	l.admitted++
	return Permit{s: s, gen: s.gen}
}

// handOnLocked passes the slot held through s to the oldest waiter, as a
// new admission with a new number (so the old Permit no longer matches
// it), which keeps inFlight unchanged; or, with nobody waiting, frees it.
// It requires l.mu.
func (l *limiter) handOnLocked(s *slot) {
	w := l.head
	if w == nil {
		s.gen = 0
		s.next, l.free = l.free, s
		l.inFlight--
		return
	}
	l.remove(w)
	w.permit = l.grantLocked(s)
	w.granted = true
	w.ready <- struct{}{} // buffered and sent once: never blocks
}
