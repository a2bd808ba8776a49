// Package bulkhead limits how many calls to a dependency run at once, so
// that one slow dependency cannot take every goroutine, connection or
// thread of the caller with it. Calls beyond the limit wait in a bounded
// first-in first-out queue, for at most a maximum wait, or are rejected at
// once with ErrFull.
//
// The call shape is the module's: build a value once with New(opts...),
// which returns an error naming every invalid option, then run functions
// through it with Execute(ctx, fn), as with circuit.New and
// Breaker.Execute:
//
//	bh, err := bulkhead.New[Quote](bulkhead.WithMaxConcurrent(10),
//		bulkhead.WithMaxQueue(20), bulkhead.WithMaxWait(50*time.Millisecond))
//	...
//	q, err := bh.Execute(ctx, fetchQuote)
//	if errors.Is(err, bulkhead.ErrFull) { /* shed the load */ }
//
// Acquire and Permit.Release are the two-step form, for work that does not
// fit one function.
//
// Put it inside a retry and outside a breaker: see
// docs/composition.md.
package bulkhead

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Bulkhead is a concurrency limiter with a bounded FIFO queue. T is the
// result type of the functions Execute runs; Acquire does not depend on
// it, so calls with other result types can share the Bulkhead's slots
// through Acquire. Create one with New; the zero value is not usable. All
// methods are safe for concurrent use by multiple goroutines.
//
// A call is admitted at once when a slot is free and nobody is queued;
// otherwise it joins the queue if there is room, or fails at once with
// ErrFull. A released slot goes straight to the longest-waiting call, so
// admission is first-in first-out and a newcomer never overtakes a waiter.
// A waiter whose context ends, or whose maximum wait passes, leaves the
// queue with an error and is never admitted afterwards; if a slot was
// handed to it at that same moment, the slot passes to the next waiter (or
// is freed), never lost.
//
// The Bulkhead starts no goroutines. Admission without waiting and its
// release take one short lock each and allocate nothing; only a call that
// has to wait allocates its place in the queue.
type Bulkhead[T any] struct {
	l limiter
}

// limiter is the Bulkhead's state, apart from T so that a Permit need not
// carry T.
type limiter struct {
	max      int
	maxQueue int
	maxWait  time.Duration
	clock    Clock

	mu         sync.Mutex // guards the fields below, and every slot's gen and next
	inFlight   int
	head, tail *waiter // the queue, oldest first
	queued     int
	free       *slot  // released records, for reuse
	gen        uint64 // the number of the last admission; 0 is never one
	peak       int
	peakQueued int
	admitted   uint64
	rejected   uint64
	timedOut   uint64
	canceled   uint64
}

// New returns a Bulkhead configured by opts; WithMaxConcurrent is
// required. An invalid value returns nil and an error that matches
// ErrInvalidConfig and holds one *circuit.ConfigError per bad field.
func New[T any](opts ...Option) (*Bulkhead[T], error) {
	var s settings
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	b := &Bulkhead[T]{l: limiter{max: s.maxConcurrent, maxQueue: s.maxQueue, maxWait: s.maxWait, clock: s.clock}}
	if b.l.clock == nil {
		b.l.clock = realClock{}
	}
	return b, nil
}

// Acquire takes a slot, waiting in the queue if it must, and returns the
// Permit that gives it back: call its Release once the call is done
// (defer it). Release is idempotent (see Permit).
//
// On failure the Permit is the zero Permit and err is ErrFull (no room,
// returned at once), ErrTimeout (the maximum wait passed), an error
// wrapping ctx.Err() (the context ended while waiting), ErrNilContext or
// ErrNilBulkhead, or ctx.Err() itself if ctx was already done, in which
// case nothing is counted.
func (b *Bulkhead[T]) Acquire(ctx context.Context) (Permit, error) {
	switch {
	case b == nil:
		return Permit{}, ErrNilBulkhead
	case ctx == nil:
		return Permit{}, ErrNilContext
	}
	return b.l.acquire(ctx)
}

func (l *limiter) acquire(ctx context.Context) (Permit, error) {
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	l.mu.Lock()
	if l.inFlight < l.max && l.queued == 0 {
		l.inFlight++
		l.peak = max(l.peak, l.inFlight)
		p := l.grantLocked(l.newSlotLocked())
		l.mu.Unlock()
		return p, nil
	}
	if l.queued >= l.maxQueue {
		l.rejected++
		l.mu.Unlock()
		return Permit{}, ErrFull
	}
	w := &waiter{ready: make(chan struct{}, 1)}
	// The timer starts before the call is visibly queued, so that a test
	// that sees Metrics().Queued go up can advance a mock clock past it.
	// Its context ends with ctx too, and so serves as the one thing to wait
	// on besides the handover.
	deadline, stop := ctx, context.CancelFunc(func() {})
	if l.maxWait > 0 {
		deadline, stop = l.clock.WithTimeout(ctx, l.maxWait)
	}
	l.push(w)
	l.mu.Unlock()
	return l.wait(ctx, w, deadline, stop)
}

// wait blocks until w is granted a slot or deadline (ctx, or ctx with the
// maximum wait) ends, then calls stop.
func (l *limiter) wait(ctx context.Context, w *waiter, deadline context.Context, stop context.CancelFunc) (Permit, error) {
	defer stop()
	select {
	case <-w.ready:
		return w.permit, nil
	case <-deadline.Done():
	}
	// deadline ends for both reasons; only ctx says which it was.
	err := ErrTimeout
	if cerr := ctx.Err(); cerr != nil {
		err = fmt.Errorf("bulkhead: gave up waiting for a slot: %w", cerr)
	}
	l.mu.Lock()
	if w.granted {
		// The slot was handed over as we gave up. We will not use it, so
		// pass it on rather than lose it, and undo the admission.
		l.admitted--
		l.handOnLocked(w.permit.s)
	} else {
		l.remove(w)
	}
	if err == ErrTimeout {
		l.timedOut++
	} else {
		l.canceled++
	}
	l.mu.Unlock()
	return Permit{}, err
}

// Metrics returns a consistent snapshot.
func (b *Bulkhead[T]) Metrics() Metrics {
	l := &b.l
	l.mu.Lock()
	defer l.mu.Unlock()
	return Metrics{
		MaxConcurrent: l.max,
		MaxQueue:      l.maxQueue,
		InFlight:      l.inFlight,
		Queued:        l.queued,
		Peak:          l.peak,
		PeakQueued:    l.peakQueued,
		Admitted:      l.admitted,
		Rejected:      l.rejected,
		TimedOut:      l.timedOut,
		Canceled:      l.canceled,
	}
}

// Execute runs fn in a slot of b and returns its result: Acquire, fn,
// Release (also when fn panics). If no slot is had, fn is not called and
// the error is Acquire's. A nil fn returns ErrNilFunc. Uncontended, it
// allocates nothing beyond what fn does.
func (b *Bulkhead[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if fn == nil {
		return zero, ErrNilFunc
	}
	p, err := b.Acquire(ctx)
	if err != nil {
		return zero, err
	}
	defer p.Release()
	return fn(ctx)
}
