// Package bulkhead limits how many calls to a dependency run at once, so
// that one slow dependency cannot take every goroutine, connection or
// thread of the caller with it. Calls beyond the limit wait in a bounded
// first-in first-out queue, for at most a maximum wait, or are rejected at
// once with ErrFull.
//
//	bh, err := bulkhead.New(10, bulkhead.WithMaxQueue(20), bulkhead.WithMaxWait(50*time.Millisecond))
//	...
//	v, err := bulkhead.Execute(ctx, bh, fetch)
//	if errors.Is(err, bulkhead.ErrFull) { /* shed the load */ }
//
// Put it inside a retry and outside a breaker: see the README's
// Composition section.
package bulkhead

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrFull is returned at once when every slot is taken and the queue
	// is full (or there is no queue). The call never ran.
	ErrFull = errors.New("bulkhead: full")

	// ErrTimeout is returned when a call waited the maximum wait
	// (WithMaxWait) in the queue without getting a slot. The call never ran.
	ErrTimeout = errors.New("bulkhead: timed out waiting for a slot")

	// ErrInvalidConfig is wrapped by every error from New.
	ErrInvalidConfig = errors.New("bulkhead: invalid config")

	// ErrNilContext is returned when ctx is nil.
	ErrNilContext = errors.New("bulkhead: nil context")

	// ErrNilFunc is returned by Execute when fn is nil.
	ErrNilFunc = errors.New("bulkhead: nil func")

	// ErrNilBulkhead is returned by Acquire and Execute on a nil *Bulkhead.
	ErrNilBulkhead = errors.New("bulkhead: nil bulkhead")
)

// Option configures a Bulkhead in New. Options apply in order, so a later
// one overrides an earlier one; a nil Option is ignored.
type Option interface {
	apply(*settings)
}

type settings struct {
	maxQueue int
	maxWait  time.Duration
	clock    clock.Clock
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// WithMaxQueue sets how many calls may wait for a slot beyond the
// concurrent ones. The default is 0: a call that finds every slot taken
// fails at once with ErrFull. Negative is invalid.
func WithMaxQueue(n int) Option { return optionFunc(func(s *settings) { s.maxQueue = n }) }

// WithMaxWait sets how long a queued call waits for a slot before it fails
// with ErrTimeout. The default, 0, means no limit other than the caller's
// context. Negative is invalid.
func WithMaxWait(d time.Duration) Option { return optionFunc(func(s *settings) { s.maxWait = d }) }

// WithClock sets the clock the maximum wait is measured on. Tests pass
// clock.NewMock(); nil means the real clock.
func WithClock(c clock.Clock) Option { return optionFunc(func(s *settings) { s.clock = c }) }

// Metrics is a snapshot of a Bulkhead, taken under its lock so that its
// fields agree with one another.
type Metrics struct {
	MaxConcurrent int // the configured limit
	MaxQueue      int // the configured queue size
	InFlight      int // calls holding a slot now
	Queued        int // calls waiting for a slot now
	Peak          int // the most calls ever in flight at once
	PeakQueued    int // the most calls ever waiting at once

	// Lifetime counts. Every Acquire ends as exactly one of these, except
	// calls refused for a nil or already-done context, which count nowhere.
	Admitted uint64 // calls that got a slot, at once or after waiting
	Rejected uint64 // calls refused with ErrFull
	TimedOut uint64 // queued calls that gave up with ErrTimeout
	Canceled uint64 // queued calls whose context ended first
}

// Bulkhead is a concurrency limiter with a bounded FIFO queue. Create one
// with New; the zero value is not usable. All methods are safe for
// concurrent use by multiple goroutines.
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
// The Bulkhead starts no goroutines. Admission without waiting takes one
// short lock and allocates nothing; only a call that has to wait allocates
// its place in the queue.
type Bulkhead struct {
	max      int
	maxQueue int
	maxWait  time.Duration
	clock    clock.Clock
	release  func() // b.releaseSlot, created once so that Acquire does not allocate it

	mu         sync.Mutex // guards the fields below
	inFlight   int
	head, tail *waiter // the queue, oldest first
	queued     int
	peak       int
	peakQueued int
	admitted   uint64
	rejected   uint64
	timedOut   uint64
	canceled   uint64
}

// waiter is a call in the queue.
type waiter struct {
	prev, next *waiter
	ready      chan struct{} // receives once the slot is handed over; buffered
	granted    bool          // a slot was handed to it; guarded by Bulkhead.mu
}

// New returns a Bulkhead that lets maxConcurrent calls run at once. A
// maxConcurrent below 1, or a negative queue or wait, returns nil and an
// error wrapping ErrInvalidConfig that names each bad value.
func New(maxConcurrent int, opts ...Option) (*Bulkhead, error) {
	var s settings
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	var errs []error
	if maxConcurrent < 1 {
		errs = append(errs, fmt.Errorf("bulkhead: maxConcurrent = %d: must be at least 1: %w", maxConcurrent, ErrInvalidConfig))
	}
	if s.maxQueue < 0 {
		errs = append(errs, fmt.Errorf("bulkhead: WithMaxQueue(%d): must not be negative: %w", s.maxQueue, ErrInvalidConfig))
	}
	if s.maxWait < 0 {
		errs = append(errs, fmt.Errorf("bulkhead: WithMaxWait(%v): must not be negative: %w", s.maxWait, ErrInvalidConfig))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b := &Bulkhead{max: maxConcurrent, maxQueue: s.maxQueue, maxWait: s.maxWait, clock: s.clock}
	if b.clock == nil {
		b.clock = clock.New()
	}
	b.release = b.releaseSlot
	return b, nil
}

// Acquire takes a slot, waiting in the queue if it must, and returns the
// function that gives the slot back. Call release exactly once, when the
// call is done (defer it); Execute does this for you. Because release is
// shared by every admission (that is what keeps Acquire free of
// allocations), calling it twice frees a slot that another call holds, and
// calling it more often than Acquire succeeded panics.
//
// On failure release is nil and err is ErrFull (no room, returned at
// once), ErrTimeout (the maximum wait passed), an error wrapping ctx.Err()
// (the context ended while waiting), ErrNilContext or ErrNilBulkhead, or
// ctx.Err() itself if ctx was already done, in which case nothing is
// counted.
func (b *Bulkhead) Acquire(ctx context.Context) (release func(), err error) {
	switch {
	case b == nil:
		return nil, ErrNilBulkhead
	case ctx == nil:
		return nil, ErrNilContext
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.inFlight < b.max && b.queued == 0 {
		b.inFlight++
		b.peak = max(b.peak, b.inFlight)
		b.admitted++
		b.mu.Unlock()
		return b.release, nil
	}
	if b.queued >= b.maxQueue {
		b.rejected++
		b.mu.Unlock()
		return nil, ErrFull
	}
	w := &waiter{ready: make(chan struct{}, 1)}
	// The timer starts before the call is visibly queued, so that a test
	// that sees Metrics().Queued go up can advance a mock clock past it.
	var t *clock.Timer
	if b.maxWait > 0 {
		t = b.clock.Timer(b.maxWait)
	}
	b.push(w)
	b.mu.Unlock()
	return b.wait(ctx, w, t)
}

// wait blocks until w is granted a slot, ctx ends, or t (if not nil)
// fires, and stops t.
func (b *Bulkhead) wait(ctx context.Context, w *waiter, t *clock.Timer) (func(), error) {
	var timeout <-chan time.Time
	if t != nil {
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.ready:
		return b.release, nil
	case <-ctx.Done():
		err = fmt.Errorf("bulkhead: gave up waiting for a slot: %w", ctx.Err())
	case <-timeout:
		err = ErrTimeout
	}
	b.mu.Lock()
	if w.granted {
		// The slot was handed over as we gave up. We will not use it, so
		// pass it on rather than lose it, and undo the admission.
		b.admitted--
		b.releaseLocked()
	} else {
		b.remove(w)
	}
	if err == ErrTimeout {
		b.timedOut++
	} else {
		b.canceled++
	}
	b.mu.Unlock()
	return nil, err
}

// releaseSlot gives a slot back: to the oldest waiter, or to the pool.
func (b *Bulkhead) releaseSlot() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inFlight == 0 {
		panic("bulkhead: release called more times than Acquire succeeded")
	}
	b.releaseLocked()
}

// releaseLocked hands the caller's slot to the oldest waiter, which keeps
// inFlight unchanged, or frees it. It requires b.mu.
func (b *Bulkhead) releaseLocked() {
	w := b.head
	if w == nil {
		b.inFlight--
		return
	}
	b.remove(w)
	w.granted = true
	b.admitted++
	w.ready <- struct{}{} // buffered and sent once: never blocks
}

// push appends w to the queue. It requires b.mu.
func (b *Bulkhead) push(w *waiter) {
	w.prev = b.tail
	if b.tail != nil {
		b.tail.next = w
	} else {
		b.head = w
	}
	b.tail = w
	b.queued++
	b.peakQueued = max(b.peakQueued, b.queued)
}

// remove unlinks w from the queue. It requires b.mu.
func (b *Bulkhead) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		b.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		b.tail = w.prev
	}
	w.prev, w.next = nil, nil
	b.queued--
}

// Metrics returns a consistent snapshot.
func (b *Bulkhead) Metrics() Metrics {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Metrics{
		MaxConcurrent: b.max,
		MaxQueue:      b.maxQueue,
		InFlight:      b.inFlight,
		Queued:        b.queued,
		Peak:          b.peak,
		PeakQueued:    b.peakQueued,
		Admitted:      b.admitted,
		Rejected:      b.rejected,
		TimedOut:      b.timedOut,
		Canceled:      b.canceled,
	}
}

// Execute runs fn in a slot of b and returns its result: Acquire, fn,
// release (also when fn panics). If no slot is had, fn is not called and
// the error is Acquire's. A nil fn returns ErrNilFunc.
// Uncontended, it allocates nothing beyond what fn does.
func Execute[T any](ctx context.Context, b *Bulkhead, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if fn == nil {
		return zero, ErrNilFunc
	}
	release, err := b.Acquire(ctx)
	if err != nil {
		return zero, err
	}
	defer release()
	return fn(ctx)
}
