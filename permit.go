package circuit

import (
	"sync"
	"sync/atomic"
	"time"
)

// Permit is an admitted call of the two-step API (Allow). Call Done once
// the call has finished. A Permit is a small value: copy it freely; Done
// takes effect once per admission, however many copies call it, and the
// zero Permit's Done does nothing.
type Permit[T any] struct {
	rec *permitRecord
	tok uint64
}

// permitRecord holds what Done needs, and is what makes Done count once:
// a Permit holds a record and the token the record had when it was handed
// out, and the first Done moves the token on before the record goes back
// to the pool. A later Done, of a copy or after the record was reused,
// finds the token moved and does nothing.
type permitRecord struct {
	tok   atomic.Uint64
	owner any // the *Breaker[T]
	tk    ticket
	start time.Duration
}

var permitRecords = sync.Pool{New: func() any { return new(permitRecord) }}

// Allow is the two-step form of Execute, for code that cannot be wrapped
// in a func. If the breaker admits the call, Allow returns a Permit and a
// nil error; the caller makes the call and then passes its result and
// error to the Permit's Done, which classifies and records them exactly
// like Execute would. The latency is measured from Allow to Done.
//
// A rejected call returns the zero Permit and an *OpenError. A Permit whose
// Done is never called stays in Metrics.InFlight; in half-open its probe
// counts as failed once ProbeTimeout has passed. Allow calls no fallback
// and sets no deadline: Config.CallTimeout still applies to the latency
// Done measures. Allow and Done allocate nothing.
func (b *Breaker[T]) Allow() (Permit[T], error) {
	tk, start, err := b.admit()
	if err != nil {
		if obs := b.observers.Load(); obs != nil {
			b.observeRejected(*obs, start, err)
		}
		return Permit[T]{}, err
	}
	rec := permitRecords.Get().(*permitRecord)
	rec.owner, rec.tk, rec.start = b, tk, start
	return Permit[T]{rec: rec, tok: rec.tok.Load()}, nil
}

// Done records the outcome of the permitted call: its result and error,
// judged by the classifier as in Execute. Calls of Done after the first,
// on this Permit or any copy of it, are ignored. Done is safe to call from
// any goroutine. If the classifier panics, the call is recorded as a
// failure and the panic is re-raised.
func (p Permit[T]) Done(result T, err error) {
	rec := p.rec
	if rec == nil || !rec.tok.CompareAndSwap(p.tok, p.tok+1) {
		return
	}
	b, tk, start := rec.owner.(*Breaker[T]), rec.tk, rec.start
	rec.owner = nil
	permitRecords.Put(rec)
	b.finish(tk, start, result, err)
}
