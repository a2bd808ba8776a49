// Package circuit is a circuit breaker for outbound calls: it fails fast
// while a dependency is down, so that one slow or failing dependency cannot
// exhaust the caller's workers and cascade through a fleet.
//
// A Breaker[T] wraps calls that return a T. It is closed (every call goes
// through), open (every call is rejected at once with an *OpenError), or
// half-open (a few probe calls test whether the dependency has recovered);
// an operator can also hold it open (ForcedOpen) or switch it off while it
// keeps its metrics (Disabled). It trips on consecutive failures, on the
// error rate over a window of recent calls or recent time, and on a
// latency percentile over the same window, and every transition carries
// the Reason and the Metrics that caused it.
//
//	b, err := circuit.New[[]byte](circuit.WithName("payments"))
//	...
//	body, err := b.Execute(ctx, func(ctx context.Context) ([]byte, error) {
//		resp, err := client.Do(req.WithContext(ctx))
//		if err != nil {
//			return nil, err
//		}
//		defer resp.Body.Close()
//		return io.ReadAll(resp.Body) // read inside fn: ctx ends when Execute returns
//	})
//	var oe *circuit.OpenError
//	if errors.As(err, &oe) { /* fail fast: Retry-After oe.RetryAfter(time.Now()) */ }
//
// The semantics in full (state periods, classification, hooks, time) are in
// docs/semantics.md.
package circuit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// never marks a time that has not happened (no failure yet, say).
const never = time.Duration(math.MinInt64)

// cacheLine is the padding that separates fields written by different
// cores (64 bytes on amd64 and arm64).
const cacheLine = 64

// Breaker is a circuit breaker for calls that return a T. Create one with
// New; the zero value is not usable.
//
// All methods are safe for concurrent use by multiple goroutines.
//
// Closed, it admits every call and, after each recorded outcome, checks
// Config.ConsecutiveFailures, then the error rate, then the latency
// percentile over the window; the first that holds opens it. Open, it
// rejects calls with an *OpenError until its open period (OpenTimeout,
// grown by OpenBackoff and spread by OpenJitter) has passed, then it is
// half-open without any call being needed. Half-open, it admits at most
// HalfOpenMaxProbes probes at once: SuccessThreshold successes in a row
// close it; a failed probe, a slow one (at least LatencyThreshold), or one
// still running ProbeTimeout after its admission reopens it, so an
// abandoned call can never wedge it. Entering Closed empties the window.
// The outcome of a call admitted in an earlier state period counts in the
// lifetime Metrics only.
//
// User code (hooks, the classifier, the fallback) never runs under the
// breaker's lock. A panic in fn or in the classifier is booked as a failure
// and re-raised; a hook that panics is recovered and logged. With the real
// clock, no goroutine is started per breaker or per call: open periods end
// through one timer shared by the process (see docs/semantics.md). A
// breaker created inside a testing/synctest bubble follows the bubble's
// clock, and does not use that timer.
type Breaker[T any] struct {
	// Read-mostly: written only with mu held, read without the lock, so
	// that admission while closed and rejection while open take no lock.
	t           *template[T] // what the options built; shared by a Group's breakers
	name        string       // Config.Name
	period      atomic.Pointer[period]
	hooks       atomic.Pointer[[]hookEntry] // copy-on-write; nil while there are none
	observers   atomic.Pointer[[]observer]  // copy-on-write; nil while there are none (see Observe)
	gate        atomic.Pointer[func() bool] // consulted before a probe is admitted; nil: none (see SetProbeGate)
	slowCheckAt atomic.Int64                // when admission should next take the lock to look at calls in flight (see slowWatch)
	callTimeout atomic.Int64                // Config.CallTimeout, read by calls outside the lock

	// The padding keeps the words above off the line that every call
	// writes: the counters and the mutex below.
	_ [cacheLine]byte

	fallbacks atomic.Uint64
	admitted  atomic.Uint64 // calls admitted; written on admission, beside mu, which the call takes to record

	mu          sync.Mutex    // guards the fields below, and writes to period, hooks, observers, gate, callTimeout
	cfg         *Config       // the template's, until Reconfigure gives the breaker its own
	last        time.Duration // latest time seen, so a clock set back cannot move state backwards
	since       time.Duration // when the current state began
	win         *window       // nil until the first outcome: most keys of a big Group wait long for theirs
	consecFail  int
	consecSucc  int
	probes      *probeLease   // nil until the first probe
	slow        *slowWatch    // calls in flight, for the latency criterion; nil until the first look
	reopens     int           // reopenings from half-open since the last close, for OpenBackoff
	jitter      *rand.Rand    // with WithJitterSeed, the breaker's own jitter source; nil until the first draw
	openUntil   time.Duration // if set, the end of the next open period, instead of openDuration (OpenUntil)
	recovered   bool          // set by Close around setState: the closing counts as a recovery, so the ramp applies
	rampFrom    time.Duration // when the current ramp began
	rampSeen    uint64        // calls that reached admission during the ramp
	rampPassed  uint64        // of which admitted
	successes   uint64
	failures    uint64
	ignored     uint64
	slowCalls   uint64                        // Metrics.SlowCalls
	finished    uint64                        // admitted calls recorded, for Metrics.InFlight
	lastCall    time.Duration                 // when a call was last recorded (0, the creation, if none), for Group
	pairs       *[NumStates][NumStates]uint64 // transitions by pair; nil before the first
	lastReason  Reason
	lastTransAt time.Duration
	lastFailure error
	lastFailAt  time.Duration
	lastSuccAt  time.Duration
	nextHookID  uint64
	dl          *delivery      // transitions waiting for the hooks; nil before the first
	rej         *rejectCounter // rejections; nil before the first (see rejectCounter)
}

// delivery is the queue of transitions owed to the hooks. It requires
// Breaker.mu.
type delivery struct {
	pending    []Transition // transitions waiting for delivery to hooks
	resume     []hookEntry  // if not nil, the only hooks still owed pending[0]
	delivering bool         // a goroutine is delivering pending
}

// template is the immutable part of a breaker: what the options built,
// validated. A Group builds it once and shares it between its breakers.
type template[T any] struct {
	cfg        Config // with an empty Name: the breaker holds its own
	clock      Clock
	realClock  bool      // clock is the real one: read time with time.Since
	epoch      time.Time // times inside the breaker are offsets from this
	epochWall  time.Time // epoch without its monotonic reading, what at adds to
	expiries   bool      // open periods end through the shared expiry timer (see expiry.go)
	classifier func(T, error) Outcome
	fallback   func(context.Context, error) (T, error)
	logger     *slog.Logger
	rand       func() float64
	jitterSeed *uint64 // WithJitterSeed; nil: none
	hooks      []func(Transition)
}

// period is one stay in a state. It is immutable once published.
type period struct {
	state State
	gen   uint64         // increases with every period
	until time.Duration  // Open: when the period ends; Closed: when its ramp ends (0: no ramp)
	err   *OpenError     // the rejection error: of Open and ForcedOpen periods, and of a ramp
	rej   *rejectCounter // the breaker's, for rejections without the lock: set in Open and ForcedOpen periods

	// With the real clock, an open period's exp is marked by the shared
	// expiry timer once until may have passed. While it is unmarked the
	// period has certainly not ended, since timers never fire early, and
	// a rejection need not read the clock.
	exp *expiry
}

// ticket is what admission hands to the call's completion.
type ticket struct {
	gen  uint64
	seq  uint64 // the call's admission number (Breaker.admitted), for slowWatch
	slot int    // probe slot, or -1 for a call admitted while closed
}

// New returns a breaker configured by DefaultConfig and then opts. If the
// resulting Config is invalid, a preset is unknown, or a fallback's or
// classifier's result type is not T, it returns nil and an error wrapping
// ErrInvalidConfig that names every bad field and its value.
func New[T any](opts ...Option) (*Breaker[T], error) {
	s := settings{cfg: DefaultConfig()}
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	errs := s.errs
	if err := s.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	fallback, err := assertFunc[T, func(context.Context, error) (T, error)](s.fallback, "Fallback", "func(context.Context, error) (%s, error)")
	if err != nil {
		errs = append(errs, err)
	}
	classifier, err := assertFunc[T, func(T, error) Outcome](s.classifier, "Classifier", "func(%s, error) circuit.Outcome")
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	t := &template[T]{
		cfg:        s.cfg,
		clock:      s.clock,
		classifier: classifier,
		fallback:   fallback,
		logger:     s.logger,
		rand:       s.rand,
		jitterSeed: s.jitterSeed,
		hooks:      s.hooks,
	}
	t.cfg.Name = ""
	if t.clock == nil {
		t.clock = realClock{}
		t.realClock = true
	}
	t.epoch = t.clock.Now()
	t.epochWall = t.epoch.Round(0)
	// The shared expiry timer runs on real time. Inside a testing/synctest
	// bubble time.Now has no monotonic reading and runs on the bubble's
	// fake clock, which that timer knows nothing of: there, rejections
	// read the clock instead.
	t.expiries = t.realClock && t.epoch != t.epoch.Round(0)
	return t.newBreaker(s.cfg.Name), nil
}

// closedAtStart is the first period of every breaker: it is never
// written, so all can share it.
var closedAtStart = &period{state: Closed}

// newBreaker builds a breaker named name from t.
func (t *template[T]) newBreaker(name string) *Breaker[T] {
	b := &Breaker[T]{
		t:          t,
		cfg:        &t.cfg,
		name:       name,
		lastFailAt: never,
		lastSuccAt: never,
	}
	b.lastTransAt = never
	// A Group's breakers share the template's epoch: each starts its
	// closed state, and its idleness, when it is made.
	created := b.now()
	b.last, b.since, b.lastCall = created, created, created
	if t.logger != nil || len(t.hooks) > 0 {
		hooks := make([]hookEntry, 0, len(t.hooks)+1)
		if t.logger != nil {
			hooks = append(hooks, hookEntry{id: 0, fn: logTransition(t.logger)})
		}
		for _, h := range t.hooks {
			b.nextHookID++
			hooks = append(hooks, hookEntry{id: b.nextHookID, fn: h})
		}
		b.hooks.Store(&hooks)
	}
	b.period.Store(closedAtStart)
	b.callTimeout.Store(int64(t.cfg.CallTimeout))
	b.slowCheckAt.Store(math.MaxInt64)
	if t.cfg.LatencyThreshold > 0 {
		b.slowCheckAt.Store(0)
	}
	return b
}

// assertFunc checks that an option's function v (nil for none) has type F,
// built on the breaker's T, and names both types as the user wrote them
// otherwise.
func assertFunc[T, F any](v any, field, want string) (F, error) {
	var zero F
	if v == nil {
		return zero, nil
	}
	f, ok := v.(F)
	if !ok {
		return zero, &ConfigError{
			Field: field,
			Value: fmt.Sprintf("%T", v),
			Rule:  "must be a " + fmt.Sprintf(want, typeName[T]()) + " for the breaker's result type",
		}
	}
	return f, nil
}

// typeName returns T as written in source: []byte, not []uint8.
func typeName[T any]() string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", (*T)(nil)), "*")
	return strings.ReplaceAll(name, "[]uint8", "[]byte")
}

// Name returns Config.Name.
func (b *Breaker[T]) Name() string { return b.name }

// Config returns a copy of the breaker's validated Config: the one it was
// built with, or the last one Reconfigure applied. Changing the copy
// changes nothing.
func (b *Breaker[T]) Config() Config {
	b.mu.Lock()
	c := *b.cfg
	b.mu.Unlock()
	c.Name = b.name
	return c
}

// addSat returns t+d, saturating at the largest Duration instead of
// wrapping, so that a mock clock set centuries ahead cannot make the end of
// an open period wrap into the past.
func addSat(t, d time.Duration) time.Duration {
	if d > 0 && t > math.MaxInt64-d {
		return math.MaxInt64
	}
	return t + d
}

// now reads the clock once, as an offset from the epoch. With the real
// clock it reads only the monotonic clock.
func (b *Breaker[T]) now() time.Duration {
	if b.t.realClock {
		return time.Since(b.t.epoch)
	}
	return b.t.clock.Now().Sub(b.t.epoch)
}

// at converts an offset to a time, stripped of its monotonic reading so it
// prints and compares as a plain wall-clock time.
func (b *Breaker[T]) at(d time.Duration) time.Time {
	if d == never {
		return time.Time{}
	}
	return b.t.epochWall.Add(d)
}

// Execute calls fn unless the breaker rejects the call, records the
// outcome, and returns fn's result.
//
// If ctx is nil or fn is nil, it returns ErrNilContext or ErrNilFunc. If ctx
// is already done, it returns ctx.Err() without calling fn. Nothing is
// recorded in these cases and the fallback is not called.
//
// A rejected call returns an *OpenError (errors.Is(err, ErrOpen)) without
// calling fn. With Config.CallTimeout set, fn receives a context that ends
// after that long on the breaker's clock and, at the latest, when Execute
// returns, so anything that needs it, such as an HTTP response body, must
// be read inside fn; without one, fn receives ctx itself.
// When a fallback is set, every other error (a rejection, or fn's error of
// any kind) is passed to it and its result is returned instead. If fn
// panics, the call is recorded as a failure and the panic is re-raised; the
// fallback is not called. A fallback that panics panics in the caller,
// after the outcome has been recorded and with no lock held.
func (b *Breaker[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if ctx == nil {
		return zero, ErrNilContext
	}
	if fn == nil {
		return zero, ErrNilFunc
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	tk, start, err := b.admit()
	if err != nil {
		if obs := b.observers.Load(); obs != nil {
			b.observeRejected(*obs, start, err)
		}
		if b.t.fallback != nil {
			return b.callFallback(ctx, err)
		}
		return zero, err
	}
	v, err := b.run(ctx, fn, tk, start)
	if err != nil && b.t.fallback != nil {
		return b.callFallback(ctx, err)
	}
	return v, err
}

func (b *Breaker[T]) callFallback(ctx context.Context, err error) (T, error) {
	b.fallbacks.Add(1)
	return b.t.fallback(ctx, err)
}

// run calls fn for an admitted call and records its outcome, including the
// outcome of a panic or runtime.Goexit, so that no probe slot is ever lost.
func (b *Breaker[T]) run(ctx context.Context, fn func(context.Context) (T, error), tk ticket, start time.Duration) (v T, err error) {
	if d := time.Duration(b.callTimeout.Load()); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = b.t.clock.WithTimeout(ctx, d)
		defer cancel()
	}
	returned := false
	defer func() {
		if !returned {
			b.abort(tk, start, recover())
		}
	}()
	v, err = fn(ctx)
	returned = true
	b.finish(tk, start, v, err)
	return v, err
}
