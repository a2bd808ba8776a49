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
	b     *Breaker[T]
	rec   *permitRecord
	tok   uint64
	tk    ticket
	start time.Duration
}

// permitRecord is what makes Done count once: a Permit holds a record and
// the token the record had when it was handed out, and Done swaps that
// token out. Records are pooled, and a reused record gets a fresh token, so
// a late second Done finds the token changed and does nothing.
type permitRecord struct {
	tok  atomic.Uint64
	last uint64 // the last token handed out; owned by whoever holds the record
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
		return Permit[T]{}, err
	}
	rec := permitRecords.Get().(*permitRecord)
	rec.last++
	rec.tok.Store(rec.last)
	return Permit[T]{b: b, rec: rec, tok: rec.last, tk: tk, start: start}, nil
}

// Done records the outcome of the permitted call: its result and error,
// judged by the classifier as in Execute. Calls of Done after the first,
// on this Permit or any copy of it, are ignored. Done is safe to call from
// any goroutine. If the classifier panics, the call is recorded as a
// failure and the panic is re-raised.
func (p Permit[T]) Done(result T, err error) {
	if p.rec == nil || !p.rec.tok.CompareAndSwap(p.tok, 0) {
		return
	}
	permitRecords.Put(p.rec)
	p.b.finish(p.tk, p.start, result, err)
}
