// Package circuit is a circuit breaker for outbound calls: it fails fast
// while a dependency is down, so that one slow or failing dependency cannot
// exhaust the caller's threads and cascade through a fleet.
//
// A Breaker[T] wraps calls that return a T. It is closed (every call goes
// through), open (every call is rejected at once with an *OpenError), or
// half-open (a few probe calls test whether the dependency has recovered).
// It trips on consecutive failures, on the error rate over a window of
// recent calls, and on a latency percentile over the same window, and every
// transition carries the Reason and the Metrics that caused it.
//
//	b, err := circuit.New[*http.Response](circuit.WithName("payments"))
//	...
//	resp, err := b.Execute(ctx, func(ctx context.Context) (*http.Response, error) {
//		return client.Do(req.WithContext(ctx))
//	})
//	if errors.Is(err, circuit.ErrOpen) { /* fail fast, serve a fallback */ }
package circuit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
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
// State machine. Closed: every call goes through; after each recorded
// outcome the breaker checks, in this order, Config.ConsecutiveFailures,
// the error rate and the latency percentile over the window, and the first
// that holds opens it. Open: calls are rejected with an *OpenError until
// Config.OpenTimeout has passed, after which the breaker is half-open (State
// reports it without any call being needed). Half-open: at most
// Config.HalfOpenMaxProbes calls run at once as probes and the rest are
// rejected; Config.SuccessThreshold successful probes in a row close the
// breaker, and a failed probe reopens it with a fresh timeout. A probe that
// succeeds but takes at least Config.LatencyThreshold (when set) counts as
// failed, with ReasonLatency, so a dependency that answers slowly does not
// flap between open and closed. A probe still running OpenTimeout after its
// admission counts as failed too (ReasonProbeTimeout), so an abandoned call
// can never wedge the breaker half-open; "failed" here is the state
// machine's judgement only: the lifetime Failures count and LastFailure
// change only when the call reports (its late report is then a stale
// outcome). Entering Closed
// empties the windows: old failures never re-trip a recovered breaker.
//
// Rejection cost. With the real clock an open breaker rejects most calls
// without even reading the clock, until a runtime timer marks its timeout
// as passed (every 64th rejection reads the clock anyway). So a call made
// just after the timeout may still be rejected, for as long as the timer is
// late and at most 63 rejections: microseconds on an idle process, longer
// when the scheduler is saturated and calls are rare. Such a rejection's
// RetryAt is already past. State and Metrics read the clock, and either
// moves an expired open breaker to half-open at once.
//
// State periods. Each stay in a state is a period. The outcome of a call
// admitted in an earlier period counts in the lifetime Metrics but never
// decides the current period: a slow call admitted while closed cannot
// close a half-open breaker, and its failure cannot reopen it.
//
// Classification. A nil error is a success. An error matching
// context.Canceled is never recorded: a caller's cancellation says nothing
// about the dependency. Any other error is a failure unless the classifier
// set by WithIsFailure says it is not, in which case it is a success. A panic
// in fn, or in the classifier, is a failure (releasing any probe slot at
// once); the panic is then re-raised with its original value. A
// runtime.Goexit in fn records nothing, like a cancellation.
//
// Hooks. Hooks (WithOnStateChange, Subscribe, WithLogger) run after the
// lock is released, one at a time, in the order the transitions happened.
// When no other delivery is in progress they run on the goroutine whose call
// caused or observed the transition, before that call returns; otherwise the
// goroutine already delivering runs them. A hook may call any method of the
// breaker, including ones that cause a transition (delivered after the hook
// returns). A hook that panics is recovered so that it cannot break the
// breaker, its caller, or the other hooks; the panic and its stack are
// logged at Error level through the WithLogger logger, or slog.Default().
type Breaker[T any] struct {
	cfg       Config
	clock     clock.Clock
	realClock bool      // clock is the real one: read time with time.Since
	epoch     time.Time // times inside the breaker are offsets from this
	isFailure func(error) bool
	fallback  func(context.Context, error) (T, error)
	logger    *slog.Logger

	// Read without the lock so that admission while closed, and rejection
	// while open, take no lock. Written only with mu held. The padding
	// keeps these read-mostly words off the cache lines that every call
	// writes (the rejection counters, the mutex), so that cores do not
	// steal the line from each other.
	_      [cacheLine]byte
	period atomic.Pointer[period]
	hooks  atomic.Pointer[[]hookEntry] // copy-on-write
	_      [cacheLine]byte

	rejections atomic.Uint64
	fallbacks  atomic.Uint64
	flags      atomic.Pointer[flagChunk] // once-flags for Allow's done funcs
	_          [cacheLine]byte

	mu          sync.Mutex    // guards the fields below and writes to period and hooks
	last        time.Duration // latest time seen, so a clock set back cannot move state backwards
	since       time.Duration // when the current state began
	win         window
	consecFail  int
	consecSucc  int
	probeAt     []time.Duration // admission time of each in-flight probe slot; never if free
	inFlight    int             // occupied probe slots
	successes   uint64
	failures    uint64
	canceled    uint64
	pairs       [numStates][numStates]uint64
	lastFailure error
	lastFailAt  time.Duration
	lastSuccAt  time.Duration
	nextHookID  uint64
	pending     []queued    // transitions waiting for delivery to hooks
	resume      []hookEntry // if not nil, the only hooks still owed pending[0]
	delivering  bool        // a goroutine is delivering pending
}

// period is one stay in a state. It is immutable once published, except
// for expired.
type period struct {
	state State
	gen   uint64        // increases with every period
	until time.Duration // Open: when the period ends
	err   *OpenError    // the rejection error of this period; nil while closed

	// With the real clock an open period arms timer to set expired once
	// until has passed, so that a rejection need not read the clock (the
	// read is most of a rejection's cost). While expired is unset the
	// period has certainly not ended, since timers never fire early; once
	// it is set, admission compares the time with until as before.
	timer   *time.Timer
	expired atomic.Bool
}

// ticket is what admission hands to the call's completion.
type ticket struct {
	gen  uint64
	slot int // probe slot, or -1 for a call admitted while closed
}

// queued is a transition waiting for delivery. Its latency percentiles are
// computed from lat at delivery, outside the lock.
type queued struct {
	t   Transition
	lat []time.Duration
}

type hookEntry struct {
	id uint64
	fn func(Transition)
}

// flagChunk holds once-flags for the done funcs that Allow returns. Handing
// them out 64 at a time lets a done func carry a flag without a separate
// allocation per call; the garbage collector frees a chunk once every done
// func using it is gone.
type flagChunk struct {
	next  atomic.Uint32
	flags [64]atomic.Uint32
}

type outcome int

const (
	success outcome = iota
	failure
	canceled
)

// New returns a breaker configured by DefaultConfig and then opts. If the
// resulting Config is invalid, or a fallback's result type is not T, it
// returns nil and an error wrapping ErrInvalidConfig that names every bad
// field and its value.
func New[T any](opts ...Option) (*Breaker[T], error) {
	s := settings{cfg: DefaultConfig()}
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	var errs []error
	if err := s.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	var fallback func(context.Context, error) (T, error)
	if s.fallback != nil {
		f, ok := s.fallback.(func(context.Context, error) (T, error))
		if !ok {
			want := strings.TrimPrefix(fmt.Sprintf("%T", (*T)(nil)), "*")
			errs = append(errs, &ConfigError{
				Field: "Fallback",
				Value: fmt.Sprintf("%T", s.fallback),
				Rule:  "must return the breaker's result type " + want,
			})
		}
		fallback = f
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	b := &Breaker[T]{
		cfg:        s.cfg,
		clock:      s.clock,
		isFailure:  s.isFailure,
		fallback:   fallback,
		logger:     s.logger,
		win:        newWindow(s.cfg.WindowSize, s.cfg.LatencyThreshold),
		probeAt:    make([]time.Duration, s.cfg.HalfOpenMaxProbes),
		lastFailAt: never,
		lastSuccAt: never,
	}
	if b.clock == nil {
		b.clock = clock.New()
		b.realClock = true
	}
	b.epoch = b.clock.Now()
	for i := range b.probeAt {
		b.probeAt[i] = never
	}
	hooks := make([]hookEntry, 0, len(s.hooks)+1)
	if s.logger != nil {
		hooks = append(hooks, hookEntry{id: 0, fn: logTransition(s.logger)})
	}
	for _, h := range s.hooks {
		b.nextHookID++
		hooks = append(hooks, hookEntry{id: b.nextHookID, fn: h})
	}
	b.hooks.Store(&hooks)
	b.period.Store(&period{state: Closed})
	return b, nil
}

// Name returns Config.Name.
func (b *Breaker[T]) Name() string { return b.cfg.Name }

// Config returns the breaker's configuration.
func (b *Breaker[T]) Config() Config { return b.cfg }

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
	if b.realClock {
		return time.Since(b.epoch)
	}
	return b.clock.Since(b.epoch)
}

// at converts an offset to a time, stripped of its monotonic reading so it
// prints and compares as a plain wall-clock time.
func (b *Breaker[T]) at(d time.Duration) time.Time {
	if d == never {
		return time.Time{}
	}
	return b.epoch.Add(d).Round(0)
}

// Execute calls fn unless the breaker rejects the call, records the
// outcome, and returns fn's result.
//
// If ctx is nil or fn is nil, it returns ErrNilContext or ErrNilFunc. If ctx
// is already done, it returns ctx.Err() without calling fn. Nothing is
// recorded in these cases and the fallback is not called.
//
// A rejected call returns an *OpenError (errors.Is(err, ErrOpen)) without
// calling fn. If Config.CallTimeout is set, fn receives a context with that
// deadline, measured on the breaker's clock. When a fallback is set, every
// other error (a rejection, or fn's error of any kind) is passed to it and
// its result is returned instead. If fn panics, the call is recorded as a
// failure and the panic is re-raised; the fallback is not called. A
// fallback that panics panics in the caller, after the outcome has been
// recorded and with no lock held.
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
	tk, start, err := b.admitNow()
	if err != nil {
		if b.fallback != nil {
			return b.callFallback(ctx, err)
		}
		return zero, err
	}
	v, err := b.run(ctx, fn, tk, start)
	if err != nil && b.fallback != nil {
		return b.callFallback(ctx, err)
	}
	return v, err
}

func (b *Breaker[T]) callFallback(ctx context.Context, err error) (T, error) {
	b.fallbacks.Add(1)
	return b.fallback(ctx, err)
}

// run calls fn for an admitted call and records its outcome, including the
// outcome of a panic or runtime.Goexit, so that no probe slot is ever lost.
func (b *Breaker[T]) run(ctx context.Context, fn func(context.Context) (T, error), tk ticket, start time.Duration) (v T, err error) {
	if b.cfg.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = b.clock.WithTimeout(ctx, b.cfg.CallTimeout)
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
	b.finish(tk, start, err)
	return v, err
}

// abort records a call that did not return normally: r is the value of a
// panic, which is recorded as a failure and re-raised, or nil for
// runtime.Goexit, which records nothing (the call neither failed nor
// succeeded). Either way a probe slot is released at once.
func (b *Breaker[T]) abort(tk ticket, start time.Duration, r any) {
	if r == nil {
		b.record(tk, start, b.now(), canceled, nil)
		return
	}
	b.record(tk, start, b.now(), failure, &PanicError{Value: r})
	panic(r)
}

// noopDone is the done func of a rejected Allow.
func noopDone(error) {}

// Allow is the two-step form of Execute for code that cannot be wrapped in
// a func. If the breaker admits the call, Allow returns a done func and a
// nil error; the caller makes the call and then passes its error (nil for a
// success) to done, which records it exactly like Execute would. The
// latency is measured from Allow to done. Calls of done after the first
// are ignored; done is safe to call from any goroutine.
//
// A rejected call returns an *OpenError and a done func that does nothing
// (never nil). A done that is never called leaves a closed breaker
// unaffected; in half-open its probe counts as failed once OpenTimeout has
// passed. Allow calls no fallback.
//
// Allow allocates the done func: one allocation per admitted call.
func (b *Breaker[T]) Allow() (done func(error), err error) {
	tk, start, err := b.admitNow()
	if err != nil {
		return noopDone, err
	}
	flag := b.takeFlag()
	return func(err error) {
		if flag.CompareAndSwap(0, 1) {
			b.finish(tk, start, err)
		}
	}, nil
}

// takeFlag hands out an unused once-flag.
func (b *Breaker[T]) takeFlag() *atomic.Uint32 {
	if c := b.flags.Load(); c != nil {
		if i := c.next.Add(1) - 1; i < uint32(len(c.flags)) {
			return &c.flags[i]
		}
	}
	// The chunk is used up. Racing goroutines may each install a new
	// chunk; each keeps slot 0 of its own, so no flag is handed out twice.
	c := new(flagChunk)
	c.next.Store(1)
	b.flags.Store(c)
	return &c.flags[0]
}

// admitNow decides whether a call starting now may run, and returns the
// time it started. While closed, and while open before the timeout, it
// takes no lock. While an open period's timer has not fired it rejects the
// call without reading the clock, except on every 64th rejection, so that a
// timer delayed by a saturated scheduler delays half-open by at most a few
// dozen rejections.
func (b *Breaker[T]) admitNow() (ticket, time.Duration, error) {
	p := b.period.Load()
	var now time.Duration
	if p.timer != nil && !p.expired.Load() {
		if n := b.rejections.Add(1); n%64 != 0 {
			return ticket{}, 0, p.err
		}
		if now = b.now(); now < p.until {
			return ticket{}, now, p.err
		}
		b.rejections.Add(^uint64(0)) // not a rejection after all
	} else {
		now = b.now()
	}
	switch {
	case p.state == Closed:
		return ticket{gen: p.gen, slot: -1}, now, nil
	case p.state == Open && now < p.until:
		b.rejections.Add(1)
		return ticket{}, now, p.err
	}
	return b.admitLocked(now)
}

// admitLocked is admission when the state may change: half-open, or an
// open period whose timeout has passed.
func (b *Breaker[T]) admitLocked(now time.Duration) (ticket, time.Duration, error) {
	b.mu.Lock()
	now = b.advance(now)
	p := b.period.Load()
	tk := ticket{gen: p.gen, slot: -1}
	var err error
	switch p.state {
	case Open:
		err = p.err
	case HalfOpen:
		for i, at := range b.probeAt {
			if at == never {
				tk.slot = i
				break
			}
		}
		if tk.slot < 0 {
			err = p.err
		} else {
			b.probeAt[tk.slot] = now
			b.inFlight++
		}
	}
	if err != nil {
		b.rejections.Add(1)
	}
	if len(b.pending) == 0 || b.delivering {
		b.mu.Unlock()
		return tk, now, err
	}
	b.delivering = true
	b.mu.Unlock()
	b.deliver()
	if err == nil {
		// The hooks ran before the call did: start the call's clock after
		// them, so that a slow hook is not charged to the call's latency
		// (which could fail every first probe), nor to a probe's deadline.
		now = b.now()
		if tk.slot >= 0 {
			b.mu.Lock()
			if b.period.Load().gen == tk.gen && now > b.probeAt[tk.slot] {
				b.probeAt[tk.slot] = now
			}
			b.mu.Unlock()
		}
	}
	return tk, now, err
}

// finish classifies err and records the outcome.
func (b *Breaker[T]) finish(tk ticket, start time.Duration, err error) {
	kind := success
	if err != nil {
		kind = b.classify(tk, start, err)
	}
	b.record(tk, start, b.now(), kind, err)
}

// classify decides what a non-nil error counts as. It runs outside the lock
// since the classifier is user code; a classifier that panics is treated
// like a panicking call (see abort), so the call is still booked and its
// probe slot released.
func (b *Breaker[T]) classify(tk ticket, start time.Duration, err error) outcome {
	if errors.Is(err, context.Canceled) {
		return canceled
	}
	if b.isFailure == nil {
		return failure
	}
	returned := false
	defer func() {
		if !returned {
			b.abort(tk, start, recover())
		}
	}()
	failed := b.isFailure(err)
	returned = true
	if failed {
		return failure
	}
	return success
}

// record books the outcome of a call admitted with tk, which started at
// start and ended at end.
func (b *Breaker[T]) record(tk ticket, start, end time.Duration, kind outcome, err error) {
	lat := end - start
	if lat < 0 {
		lat = 0
	}
	b.mu.Lock()
	now := b.advance(end)
	switch kind {
	case success:
		b.successes++
		b.lastSuccAt = now
	case failure:
		b.failures++
		b.lastFailure = err
		b.lastFailAt = now
	case canceled:
		b.canceled++
	}
	if p := b.period.Load(); tk.gen == p.gen {
		if tk.slot >= 0 {
			b.probeAt[tk.slot] = never
			b.inFlight--
		}
		if kind != canceled {
			switch p.state {
			case Closed:
				b.recordClosed(now, lat, kind == failure)
			case HalfOpen:
				b.recordProbe(now, lat, kind == failure)
			}
		}
	}
	b.unlockAndDeliver()
}

// recordClosed adds an outcome to the windows and trips the breaker if a
// criterion holds. It requires b.mu.
func (b *Breaker[T]) recordClosed(now, lat time.Duration, failed bool) {
	b.win.add(lat, failed)
	if failed {
		b.consecFail++
		b.consecSucc = 0
	} else {
		b.consecSucc++
		b.consecFail = 0
	}
	c := &b.cfg
	enough := b.win.n >= c.MinRequests
	switch {
	case c.ConsecutiveFailures > 0 && b.consecFail >= c.ConsecutiveFailures:
		b.setState(Open, now, ReasonConsecutiveFailures)
	case c.ErrorRateThreshold > 0 && enough && b.win.errorRate() >= c.ErrorRateThreshold:
		b.setState(Open, now, ReasonErrorRate)
	case c.LatencyThreshold > 0 && enough && b.win.percentileAtLeast(c.LatencyPercentile):
		b.setState(Open, now, ReasonLatency)
	}
}

// recordProbe books the outcome of a probe. It requires b.mu.
func (b *Breaker[T]) recordProbe(now, lat time.Duration, failed bool) {
	switch {
	case failed:
		b.setState(Open, now, ReasonProbeFailed)
	case b.cfg.LatencyThreshold > 0 && lat >= b.cfg.LatencyThreshold:
		b.setState(Open, now, ReasonLatency)
	default:
		b.consecSucc++
		if b.consecSucc >= b.cfg.SuccessThreshold {
			b.setState(Closed, now, ReasonProbesSucceeded)
		}
	}
}

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
			if b.inFlight == 0 {
				return now
			}
			oldest := time.Duration(math.MaxInt64)
			for _, at := range b.probeAt {
				if at != never && at < oldest {
					oldest = at
				}
			}
			deadline := addSat(oldest, b.cfg.OpenTimeout)
			if now < deadline {
				return now
			}
			b.setState(Open, deadline, ReasonProbeTimeout)
		default:
			return now
		}
	}
}

// setState starts a new period in state to at time at, and queues the
// transition for the hooks. It requires b.mu.
func (b *Breaker[T]) setState(to State, at time.Duration, reason Reason) {
	old := b.period.Load()
	p := &period{state: to, gen: old.gen + 1}
	switch to {
	case Open:
		p.until = addSat(at, b.cfg.OpenTimeout)
		p.err = &OpenError{Name: b.cfg.Name, State: Open, RetryAt: b.at(p.until), Cause: b.lastFailure}
		if b.realClock {
			// The func holds only the period, so a pending timer does
			// not keep an abandoned breaker alive.
			p.timer = time.AfterFunc(p.until-b.now(), func() { p.expired.Store(true) })
		}
	case HalfOpen:
		p.err = &OpenError{Name: b.cfg.Name, State: HalfOpen, Cause: b.lastFailure}
	}
	if old.timer != nil {
		old.timer.Stop()
	}
	b.period.Store(p)
	b.since = at
	b.pairs[old.state][to]++
	// Probes of the old period are abandoned: their outcomes are stale.
	if b.inFlight > 0 {
		for i := range b.probeAt {
			b.probeAt[i] = never
		}
		b.inFlight = 0
	}
	if len(*b.hooks.Load()) > 0 {
		b.pending = append(b.pending, queued{
			t: Transition{
				Name: b.cfg.Name, From: old.state, To: to, Reason: reason, At: b.at(at), Metrics: b.snapshot(),
			},
			lat: b.win.latencies(make([]time.Duration, 0, b.win.n)),
		})
	}
	b.consecFail, b.consecSucc = 0, 0
	if to == Closed {
		b.win.reset()
	}
}

// unlockAndDeliver releases b.mu and then, unless another goroutine is
// already at it, delivers the pending transitions on this goroutine.
func (b *Breaker[T]) unlockAndDeliver() {
	if len(b.pending) == 0 || b.delivering {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	b.mu.Unlock()
	b.deliver()
}

// deliver runs the hooks for every pending transition, in order, until
// none is left. Only one goroutine delivers at a time (b.delivering).
func (b *Breaker[T]) deliver() {
	var (
		batch []queued
		hooks []hookEntry // the hooks batch[i] is being delivered to
		i, j  int         // batch[i] is being delivered to hooks[j]
	)
	defer func() {
		// Reached with work left only if hooks[j] called runtime.Goexit.
		// Give the rest back so that the next caller delivers it: batch[i]
		// only to the hooks after the one that exited, then the others to
		// every hook.
		if i < len(batch) {
			b.mu.Lock()
			if j+1 < len(hooks) {
				b.resume = append([]hookEntry(nil), hooks[j+1:]...)
			} else {
				i++
			}
			b.pending = append(batch[i:], b.pending...)
			b.delivering = false
			b.mu.Unlock()
		}
	}()
	for {
		b.mu.Lock()
		batch, i = b.pending, 0
		resume := b.resume
		b.pending, b.resume = nil, nil
		if len(batch) == 0 {
			b.delivering = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		for ; i < len(batch); i++ {
			q := &batch[i]
			if q.lat != nil {
				b.setPercentiles(&q.t.Metrics, q.lat)
				q.lat = nil
			}
			hooks = *b.hooks.Load()
			if i == 0 && resume != nil {
				hooks = resume
			}
			for j = 0; j < len(hooks); j++ {
				b.callHook(hooks[j].fn, q.t)
			}
		}
	}
}

// callHook runs one hook, recovering a panic so that a broken hook cannot
// break the breaker, the caller whose call delivered the transition, or the
// hooks after it.
func (b *Breaker[T]) callHook(hook func(Transition), t Transition) {
	defer func() {
		if r := recover(); r != nil {
			b.logHookPanic(r)
		}
	}()
	hook(t)
}

// logHookPanic logs a hook's panic. A logger that panics too (the hook
// may have been the logger) is ignored: nothing may escape to the caller.
func (b *Breaker[T]) logHookPanic(r any) {
	defer func() { _ = recover() }()
	l := b.logger
	if l == nil {
		l = slog.Default()
	}
	l.Error("circuit: state-change hook panicked",
		slog.String("name", b.cfg.Name), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
}

// Subscribe adds a hook that receives every transition delivered from now
// on, like WithOnStateChange, and returns a function that removes it. (A
// transition that happened just before Subscribe but is delivered after it
// may be included.) The returned function may be called more than once. A
// nil hook is ignored.
func (b *Breaker[T]) Subscribe(hook func(Transition)) (unsubscribe func()) {
	if hook == nil {
		return func() {}
	}
	b.mu.Lock()
	b.nextHookID++
	id := b.nextHookID
	old := *b.hooks.Load()
	hooks := make([]hookEntry, len(old), len(old)+1)
	copy(hooks, old)
	hooks = append(hooks, hookEntry{id: id, fn: hook})
	b.hooks.Store(&hooks)
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		old := *b.hooks.Load()
		hooks := make([]hookEntry, 0, len(old))
		for _, h := range old {
			if h.id != id {
				hooks = append(hooks, h)
			}
		}
		b.hooks.Store(&hooks)
	}
}

// State returns the current state. An open breaker whose OpenTimeout has
// passed is reported (and becomes) half-open without any call being made.
func (b *Breaker[T]) State() State {
	p := b.period.Load()
	if p.state == Closed {
		return Closed
	}
	now := b.now()
	if p.state == Open && now < p.until {
		return Open
	}
	b.mu.Lock()
	b.advance(now)
	s := b.period.Load().state
	b.unlockAndDeliver()
	return s
}

// Metrics returns a snapshot of the breaker, taken under its lock. Like
// State, it first applies any transition that time alone has caused.
// The latency percentile is computed outside the lock.
func (b *Breaker[T]) Metrics() Metrics {
	now := b.now()
	b.mu.Lock()
	b.advance(now)
	m := b.snapshot()
	lat := b.win.latencies(make([]time.Duration, 0, b.win.n))
	b.unlockAndDeliver()
	b.setPercentiles(&m, lat)
	return m
}

// setPercentiles fills the latency percentiles of m from lat, which it
// reorders.
func (b *Breaker[T]) setPercentiles(m *Metrics, lat []time.Duration) {
	m.P95Latency = percentile(lat, 0.95)
	m.PercentileLatency = percentile(lat, b.cfg.LatencyPercentile)
}

// transitionCount is the number of transitions, summed over the pairs. It
// requires b.mu.
func (b *Breaker[T]) transitionCount() uint64 {
	var n uint64
	for _, row := range b.pairs {
		for _, c := range row {
			n += c
		}
	}
	return n
}

// snapshot fills every Metrics field but the latency percentiles. It requires b.mu.
func (b *Breaker[T]) snapshot() Metrics {
	return Metrics{
		Name:                 b.cfg.Name,
		State:                b.period.Load().state,
		StateSince:           b.at(b.since),
		Successes:            b.successes,
		Failures:             b.failures,
		Rejections:           b.rejections.Load(),
		Canceled:             b.canceled,
		Fallbacks:            b.fallbacks.Load(),
		Transitions:          b.transitionCount(),
		TransitionCounts:     b.pairs,
		ConsecutiveFailures:  b.consecFail,
		ConsecutiveSuccesses: b.consecSucc,
		WindowRequests:       b.win.n,
		ErrorRate:            b.win.errorRate(),
		AvgLatency:           b.win.avgLatency(),
		LastFailure:          b.lastFailure,
		LastFailureAt:        b.at(b.lastFailAt),
		LastSuccessAt:        b.at(b.lastSuccAt),
	}
}

// Trip opens the breaker now with ReasonManual. It recovers through the
// normal timeout and probes. Tripping an open breaker does nothing.
func (b *Breaker[T]) Trip() { b.ForceOpen(ReasonManual) }

// ForceOpen opens the breaker now, giving reason as the transition's
// Reason (Trip uses ReasonManual, the health package ReasonHealthCheck),
// and reports whether it did. The reason is reported as given, unchecked:
// pass one that explains an opening. The breaker recovers through the
// normal timeout and probes. Forcing an open breaker open does nothing and
// reports false: its timeout is not restarted.
func (b *Breaker[T]) ForceOpen(reason Reason) bool {
	now := b.now()
	b.mu.Lock()
	now = b.advance(now)
	opened := b.period.Load().state != Open
	if opened {
		b.setState(Open, now, reason)
	}
	b.unlockAndDeliver()
	return opened
}

// ForceHalfOpen moves an open breaker to half-open now, ahead of its
// timeout, giving reason as the transition's Reason (reported as given,
// such as ReasonHealthRecovered), and reports whether it did. It does
// nothing to a breaker that is not open. A health checker
// uses it to start probing as soon as the dependency looks healthy.
func (b *Breaker[T]) ForceHalfOpen(reason Reason) bool {
	now := b.now()
	b.mu.Lock()
	now = b.advance(now)
	moved := b.period.Load().state == Open
	if moved {
		b.setState(HalfOpen, now, reason)
	}
	b.unlockAndDeliver()
	return moved
}

// Reset closes the breaker now (ReasonReset) and clears its windows and
// consecutive counters; calls in flight from before the reset no longer
// count. Lifetime counts are kept. Resetting a closed breaker clears it
// without a transition.
func (b *Breaker[T]) Reset() {
	now := b.now()
	b.mu.Lock()
	now = b.advance(now)
	p := b.period.Load()
	if p.state != Closed {
		b.setState(Closed, now, ReasonReset)
	} else {
		b.period.Store(&period{state: Closed, gen: p.gen + 1})
		b.win.reset()
		b.consecFail, b.consecSucc = 0, 0
	}
	b.unlockAndDeliver()
}

// logTransition is the hook WithLogger installs.
func logTransition(l *slog.Logger) func(Transition) {
	return func(t Transition) {
		level := slog.LevelInfo
		if t.To == Open {
			level = slog.LevelWarn
		}
		last := ""
		if t.Metrics.LastFailure != nil {
			last = t.Metrics.LastFailure.Error()
		}
		l.LogAttrs(context.Background(), level, "circuit breaker state change",
			slog.String("name", t.Name),
			slog.String("from", t.From.String()),
			slog.String("to", t.To.String()),
			slog.String("reason", t.Reason.String()),
			slog.Int("consecutive_failures", t.Metrics.ConsecutiveFailures),
			slog.Float64("error_rate", t.Metrics.ErrorRate),
			slog.Duration("p95_latency", t.Metrics.P95Latency),
			slog.String("last_failure", last),
		)
	}
}

// Interface checks.
var _ Controller = (*Breaker[int])(nil)
