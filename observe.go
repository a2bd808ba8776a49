package circuit

import (
	"log/slog"
	"runtime/debug"
	"time"
)

// Observation is one call as a breaker saw it: admitted and recorded, or
// rejected. Observers added with Observe receive one per call.
type Observation struct {
	// Start is when the call was admitted or rejected, and End when its
	// outcome was recorded; for a rejection, End equals Start. Both are on
	// the breaker's clock, without a monotonic reading.
	Start, End time.Time
	// Rejected is true when the breaker turned the call away (an
	// *OpenError, a ramp's included); Outcome is then Ignored.
	Rejected bool
	// Outcome is how the breaker counted the call.
	Outcome Outcome
	// Err is the failure that was recorded (a Failure's error, never nil),
	// the rejection, or nil.
	Err error
}

// Latency is End minus Start.
func (o Observation) Latency() time.Duration { return o.End.Sub(o.Start) }

type observer struct {
	id uint64
	fn func(Observation)
}

// Observe adds fn, which receives every call the breaker records or
// rejects from now on, and returns a function that removes it (safe to
// call more than once). A nil fn is ignored.
//
// fn runs on the caller's goroutine after the breaker's lock is released,
// after any transition the call caused has been delivered to the hooks, and
// before Execute returns or Done does; so it must be quick and must not
// block. Observations of concurrent calls may arrive in any order. A panic
// in fn is recovered and logged. Observing allocates nothing per call, and
// a breaker with no observer pays one atomic load per call for the
// feature. Shadow breakers (package tune) and fleet coordinators are built
// on it.
func (b *Breaker[T]) Observe(fn func(Observation)) (remove func()) {
	if fn == nil {
		return func() {}
	}
	b.mu.Lock()
	b.nextHookID++
	id := b.nextHookID
	var old []observer
	if p := b.observers.Load(); p != nil {
		old = *p
	}
	obs := make([]observer, len(old), len(old)+1)
	copy(obs, old)
	obs = append(obs, observer{id: id, fn: fn})
	b.observers.Store(&obs)
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		p := b.observers.Load()
		if p == nil {
			return
		}
		obs := make([]observer, 0, len(*p))
		for _, o := range *p {
			if o.id != id {
				obs = append(obs, o)
			}
		}
		if len(obs) == 0 {
			b.observers.Store(nil)
			return
		}
		b.observers.Store(&obs)
	}
}

// observeRecorded tells the observers of a recorded call. The times are
// offsets of a call, never the never sentinel.
func (b *Breaker[T]) observeRecorded(obs []observer, start, end time.Duration, kind Outcome, err error) {
	o := Observation{Start: b.t.epochWall.Add(start), End: b.t.epochWall.Add(end), Outcome: kind}
	if kind == Failure {
		o.Err = err
	}
	for _, ob := range obs {
		b.callObserver(ob.fn, &o)
	}
}

// observeRejected tells the observers of a call rejected at at, read from
// the clock now if admission did not (never).
func (b *Breaker[T]) observeRejected(obs []observer, at time.Duration, err error) {
	if at == never {
		at = b.now()
	}
	now := b.t.epochWall.Add(at)
	o := Observation{Start: now, End: now, Rejected: true, Outcome: Ignored, Err: err}
	for _, ob := range obs {
		b.callObserver(ob.fn, &o)
	}
}

func (b *Breaker[T]) callObserver(fn func(Observation), o *Observation) {
	defer func() {
		if r := recover(); r != nil {
			b.logObserverPanic(r)
		}
	}()
	fn(*o)
}

func (b *Breaker[T]) logObserverPanic(r any) {
	defer func() { _ = recover() }()
	l := b.t.logger
	if l == nil {
		l = slog.Default()
	}
	l.Error("circuit: observer panicked",
		slog.String("name", b.name), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
}
