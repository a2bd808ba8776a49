// Package health runs a health check beside a circuit breaker, so that the
// breaker can open before calls start failing and, optionally, start
// probing again as soon as the dependency looks healthy.
//
// A Watcher calls a check function every interval. After a run of
// unhealthy checks (3 by default) it opens the breaker with
// circuit.ReasonHealthCheck. With WithRecovery(n), n healthy checks in a
// row while the breaker is open move it to half-open early with
// circuit.ReasonHealthRecovered: the cure for a circuit stuck open for its
// whole timeout after the dependency came back. The watcher never closes a
// breaker itself; the breaker's own probes do that.
//
//	w, err := health.Watch(b, func(ctx context.Context) error {
//		return db.PingContext(ctx)
//	}, health.WithInterval(10*time.Second), health.WithRecovery(2))
//	if err != nil { ... }
//	defer w.Stop()
package health

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerlab/circuit"
)

// Watcher checks a dependency's health on a fixed interval and drives a
// breaker from the results. Create one with Watch; the zero value is not
// usable. Its methods are safe for concurrent use.
//
// Each check runs on a goroutine of its own with a context that ends at
// the timeout (WithTimeout), at Stop, or, for CheckNow, when the caller's
// context ends. A check that returns an error, panics, calls
// runtime.Goexit, or has not returned by its timeout counts as unhealthy;
// none of these stops the watcher. A check that ignores its context and
// hangs cannot be killed: the watcher stops waiting for it at the timeout
// and leaves its goroutine behind, which exits when the check finally
// returns (its result is then discarded). The next check first waits for
// it, up to its own timeout, so that a check that was merely slow to
// unwind is not counted twice; if it is still running then, the watcher
// starts no other and that check counts as unhealthy with ErrCheckRunning.
// So at most one check goroutine is ever left behind, and none if the
// check honors its context.
//
// Checks never overlap: one started by CheckNow waits for one in progress.
// Each applied check updates the runs of unhealthy and healthy checks:
//   - unhealthy: once the run reaches the threshold, every unhealthy check
//     that finds the breaker not open (closed, or half-open after its
//     timeout) opens it with circuit.ReasonHealthCheck. So a dependency that
//     stays unhealthy keeps the breaker open.
//   - healthy, with WithRecovery(n): when n healthy checks in a row have
//     found the breaker open in the same open period, the watcher calls
//     ForceHalfOpen with circuit.ReasonHealthRecovered.
//
// The watcher reads the breaker through circuit.Controller and calls
// ForceOpen and ForceHalfOpen while holding its own lock, so a breaker
// state-change hook that the watcher's call runs must not call Stop or
// CheckNow on the same watcher (they would wait for that call to finish).
type Watcher struct {
	b       circuit.Controller
	name    string // b.Name(), read once so that logging never calls b
	check   func(context.Context) error
	cfg     config
	clock   Clock
	start   time.Time     // when Watch was called: scheduled checks fall on start + k*interval
	stop    chan struct{} // closed by Stop
	stopped sync.Once
	done    chan struct{} // closed when the watcher's goroutine has exited
	sem     chan struct{} // one token: held while a check runs and is applied
	busy    atomic.Bool   // a check goroutine is running (possibly abandoned)
	// running is closed when the last check started has returned; nil once
	// that is known. Guarded by the sem token.
	running chan struct{}

	mu          sync.Mutex // guards the fields below; held while calling the breaker
	consecFail  int
	consecOK    int
	openRun     int    // healthy checks in a row that found the breaker open
	openPeriod  uint64 // the breaker's Metrics.Transitions when openRun began
	openRunLive bool   // openRun belongs to openPeriod
}

// Watch checks b's dependency with check every interval and drives b from
// the results; see Watcher for the rules. It starts one goroutine, which
// runs until Stop. The first check runs one interval after Watch returns;
// call CheckNow to check at once.
//
// Watch returns an error wrapping ErrInvalidConfig, naming every problem,
// if b or check is nil (including a typed nil such as a nil
// *circuit.Breaker[T]), or an option is out of range; it then starts
// nothing. Any *circuit.Breaker[T] is a circuit.Controller.
func Watch(b circuit.Controller, check func(ctx context.Context) error, opts ...Option) (*Watcher, error) {
	cfg, err := build(b, check, opts)
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		b:     b,
		name:  b.Name(),
		check: check,
		cfg:   cfg,
		clock: cfg.clock,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		sem:   make(chan struct{}, 1),
	}
	w.start = w.clock.Now()
	// The first tick is armed before Watch returns, so a test that
	// advances a mock clock right after Watch cannot miss it.
	tick, untick := w.clock.WithTimeout(context.Background(), cfg.interval)
	go w.loop(tick, untick)
	return w, nil
}

// loop runs a check at each tick until Stop. A tick is a context that
// ends at the time of the next scheduled check: the one timer a Clock
// offers.
func (w *Watcher) loop(tick context.Context, untick context.CancelFunc) {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			untick()
			return
		case <-tick.Done():
		}
		untick()
		// The next tick is armed before the check runs, which gives the
		// schedule of a time.Ticker: a tick that falls during a slow check
		// starts the next check as soon as this one ends, later ones are
		// dropped, and a test that advances a mock clock once it has seen
		// this check's result cannot miss the next tick.
		tick, untick = w.nextTick()
		// Errors here mean the watcher is stopping; the next turn of the
		// loop sees that.
		_, _ = w.run(context.Background())
	}
}

// nextTick arms a tick for the first scheduled time (start plus a
// multiple of the interval) after now.
func (w *Watcher) nextTick() (context.Context, context.CancelFunc) {
	elapsed := w.clock.Now().Sub(w.start)
	next := (elapsed/w.cfg.interval + 1) * w.cfg.interval
	return w.clock.WithTimeout(context.Background(), next-elapsed)
}

// Stop stops the watcher and waits for its goroutine to exit. When Stop
// returns, the watcher will never call the breaker again and starts no
// more checks; a check in progress has its context canceled and its result
// discarded, and Stop does not wait for it (a check that ignores its
// context would otherwise hang Stop). An OnCheck hook of a CheckNow that
// had already applied its check may still be running.
//
// Stop may be called any number of times, from any goroutine, at once. It
// must not be called from an OnCheck hook or from a breaker state-change
// hook run by the watcher's own call to the breaker: it would wait for
// itself.
func (w *Watcher) Stop() {
	w.stopped.Do(func() { close(w.stop) })
	// Wait for an apply in progress (on any goroutine); every later apply
	// sees w.stop closed and touches nothing.
	w.mu.Lock()
	//lint:ignore SA2001 the empty critical section is the point: a barrier.
	w.mu.Unlock()
	<-w.done
}

// CheckNow runs one check at once, waiting first for a check in progress
// to finish, applies it to the breaker like a scheduled check, and returns
// its Result. It does not move the schedule of the watcher's own checks.
// The check's context ends at the watcher's timeout or when ctx ends,
// whichever is first.
//
// It returns an error, and applies nothing, if ctx is nil (ErrNilContext),
// if the watcher is or becomes stopped (ErrStopped), or if ctx has ended
// by the time the check returns or times out (ctx.Err()): a caller giving
// up says nothing about the dependency. A check that fails, panics or times out is not an error of
// CheckNow: it is a Result whose Err is set.
func (w *Watcher) CheckNow(ctx context.Context) (Result, error) {
	if ctx == nil {
		return Result{}, ErrNilContext
	}
	return w.run(ctx)
}

// run performs one check and applies it to the breaker.
func (w *Watcher) run(ctx context.Context) (Result, error) {
	if w.isStopped() {
		return Result{}, ErrStopped
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	select {
	case w.sem <- struct{}{}:
	case <-w.stop:
		return Result{}, ErrStopped
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	res, err := w.probe(ctx)
	if err == nil {
		err = w.apply(&res)
	}
	<-w.sem
	if err != nil {
		return Result{}, err
	}
	w.notify(res)
	return res, nil
}

func (w *Watcher) isStopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// probe runs the check on its own goroutine and waits for its outcome,
// the timeout, ctx or Stop. It requires the sem token.
func (w *Watcher) probe(ctx context.Context) (Result, error) {
	if w.isStopped() {
		return Result{}, ErrStopped
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res := Result{Start: w.clock.Now()}
	cctx, cancel := w.clock.WithTimeout(ctx, w.cfg.timeout)
	defer cancel()
	if w.running != nil {
		// An earlier check was abandoned (it timed out, or its caller gave
		// up) and may still be unwinding. Give it until this check's own
		// timeout: only a check still running then makes this one
		// unhealthy, so one slow check is never counted twice.
		select {
		case <-w.running:
			w.running = nil
		case <-cctx.Done():
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			res.Err = ErrCheckRunning
			res.Duration = w.clock.Now().Sub(res.Start)
			return res, nil
		case <-w.stop:
			return Result{}, ErrStopped
		}
	}
	out := make(chan error, 1) // buffered: an abandoned check must not block
	finished := make(chan struct{})
	w.running = finished
	w.busy.Store(true)
	go w.call(cctx, out, finished)
	select {
	case res.Err = <-out:
		w.running = nil
	case <-cctx.Done():
		select {
		case res.Err = <-out: // it returned just in time; prefer its answer
			w.running = nil
		default:
			res.Err = &timeoutError{timeout: w.cfg.timeout}
		}
	case <-w.stop:
		return Result{}, ErrStopped
	}
	// The caller gave up: whatever the check said (most likely the
	// caller's own context error) says nothing about the dependency.
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res.Duration = w.clock.Now().Sub(res.Start)
	return res, nil
}

// call runs the check and sends its outcome on out, turning a panic or
// runtime.Goexit into a *PanicError so that neither reaches the watcher,
// then closes finished.
func (w *Watcher) call(ctx context.Context, out chan<- error, finished chan<- struct{}) {
	var err error
	returned := false
	defer func() {
		if !returned {
			err = &PanicError{Value: recover(), Stack: debug.Stack()}
		}
		// Clear busy before sending, so that a waiter that receives the
		// outcome never sees this check as still running.
		w.busy.Store(false)
		out <- err
		close(finished)
	}()
	err = w.check(ctx)
	returned = true
}

// apply updates the runs with res and drives the breaker. It fills the
// runs and the action into res.
func (w *Watcher) apply(res *Result) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.isStopped() {
		return ErrStopped
	}
	if res.Err != nil {
		w.consecFail++
		w.consecOK = 0
		w.openRun, w.openRunLive = 0, false
		if w.consecFail >= w.cfg.threshold && w.b.Trip(circuit.ReasonHealthCheck) {
			res.Action = ActionOpen
		}
	} else {
		w.consecOK++
		w.consecFail = 0
		if w.cfg.recovery > 0 {
			w.countRecovery(res)
		}
	}
	res.ConsecutiveFailures = w.consecFail
	res.ConsecutiveSuccesses = w.consecOK
	return nil
}

// countRecovery counts a healthy check toward proactive recovery. It
// requires w.mu.
func (w *Watcher) countRecovery(res *Result) {
	m := w.b.Metrics()
	if m.State != circuit.Open {
		w.openRun, w.openRunLive = 0, false
		return
	}
	// Transitions identifies the open period: healthy checks from an
	// earlier one (before a failed probe reopened it) do not count.
	if !w.openRunLive || m.Transitions != w.openPeriod {
		w.openRun, w.openPeriod, w.openRunLive = 0, m.Transitions, true
	}
	w.openRun++
	if w.openRun < w.cfg.recovery {
		return
	}
	w.openRun, w.openRunLive = 0, false
	if w.b.EndOpen(circuit.ReasonHealthRecovered) {
		res.Action = ActionHalfOpen
	}
}

// notify runs the OnCheck hook, recovering a panic so that a broken hook
// cannot kill the watcher's goroutine or CheckNow's caller.
func (w *Watcher) notify(res Result) {
	hook := w.cfg.onCheck
	if hook == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			slog.Default().Error("health: OnCheck hook panicked",
				slog.String("breaker", w.name), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
		}
	}()
	hook(res)
}
