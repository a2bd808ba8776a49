package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/health"
	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: not the watcher's, not a
// check's, not a mock-clock timer's.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	interval    = 10 * time.Second
	timeout     = time.Second
	openTimeout = time.Minute
	// guard only turns a hang into a failure; no test waits for it.
	guard = 10 * time.Second
)

var errDown = errors.New("connection refused")

// harness is a breaker and a watcher on one mock clock. The check's
// outcome is set with setHealthy; every applied result arrives on results.
type harness struct {
	t           *testing.T
	mock        *clock.Mock
	b           *circuit.Breaker[int]
	w           *health.Watcher
	results     chan health.Result
	transitions chan circuit.Transition
	down        atomic.Bool
	calls       atomic.Int64
}

// newHarness starts a watcher whose check fails while h.down is set.
func newHarness(t *testing.T, opts ...health.Option) *harness {
	t.Helper()
	h := newBase(t)
	return h.watch(h.checkFromDown(), opts...)
}

// newBase makes the breaker and clock, without a watcher.
func newBase(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t:           t,
		mock:        clock.NewMock(),
		results:     make(chan health.Result, 100),
		transitions: make(chan circuit.Transition, 100),
	}
	b, err := circuit.New[int](
		circuit.WithName("db"),
		circuit.WithClock(h.mock),
		circuit.WithOpenTimeout(openTimeout),
		circuit.WithOnStateChange(func(tr circuit.Transition) { h.transitions <- tr }),
	)
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	return h
}

func (h *harness) checkFromDown() func(context.Context) error {
	return func(context.Context) error {
		h.calls.Add(1)
		if h.down.Load() {
			return errDown
		}
		return nil
	}
}

// watch starts the watcher with check, after the harness's own options.
func (h *harness) watch(check func(context.Context) error, opts ...health.Option) *harness {
	h.t.Helper()
	all := append([]health.Option{
		health.WithClock(h.mock),
		health.WithInterval(interval),
		health.WithTimeout(timeout),
		health.WithOnCheck(func(r health.Result) { h.results <- r }),
	}, opts...)
	w, err := health.Watch(h.b, check, all...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.w = w
	h.t.Cleanup(w.Stop)
	return h
}

// tick moves the mock clock to the next multiple of the interval, which
// fires the watcher's ticker once, and returns the result of that check.
func (h *harness) tick() health.Result {
	h.t.Helper()
	h.toNextTick()
	return h.result()
}

func (h *harness) toNextTick() {
	now := h.mock.Now().Sub(time.Unix(0, 0))
	h.mock.Add(interval - now%interval)
}

func (h *harness) result() health.Result {
	h.t.Helper()
	select {
	case r := <-h.results:
		return r
	case <-time.After(guard):
		h.t.Fatal("no check result")
		return health.Result{}
	}
}

// transition returns the next transition of the breaker.
func (h *harness) transition() circuit.Transition {
	h.t.Helper()
	select {
	case tr := <-h.transitions:
		return tr
	default:
		h.t.Fatal("no transition")
		return circuit.Transition{}
	}
}

func (h *harness) noTransition() {
	h.t.Helper()
	select {
	case tr := <-h.transitions:
		h.t.Fatalf("unexpected transition %v -> %v (%v)", tr.From, tr.To, tr.Reason)
	default:
	}
}

func (h *harness) wantState(want circuit.State) {
	h.t.Helper()
	if got := h.b.State(); got != want {
		h.t.Fatalf("breaker is %v, want %v", got, want)
	}
}

// wantResult checks the fields of r that a step table cares about.
func wantResult(t *testing.T, r health.Result, healthy bool, fails, oks int, action health.Action) {
	t.Helper()
	if r.Healthy() != healthy || r.ConsecutiveFailures != fails || r.ConsecutiveSuccesses != oks || r.Action != action {
		t.Fatalf("result = {healthy %v, fails %d, oks %d, action %v, err %v}, want {healthy %v, fails %d, oks %d, action %v}",
			r.Healthy(), r.ConsecutiveFailures, r.ConsecutiveSuccesses, r.Action, r.Err, healthy, fails, oks, action)
	}
}

func TestWatchRejectsBadInput(t *testing.T) {
	b, err := circuit.New[int]()
	if err != nil {
		t.Fatal(err)
	}
	ok := func(context.Context) error { return nil }
	var nilBreaker *circuit.Breaker[int]
	tests := []struct {
		name  string
		b     circuit.Controller
		check func(context.Context) error
		opts  []health.Option
		want  string
	}{
		{"nil breaker", nil, ok, nil, "health: invalid config: breaker = nil: must be a breaker"},
		{"typed nil breaker", nilBreaker, ok, nil, "health: invalid config: breaker = nil: must be a breaker"},
		{"nil check", b, nil, nil, "health: invalid config: check = nil: must be a func"},
		{"zero interval", b, ok, []health.Option{health.WithInterval(0)}, "health: invalid config: Interval = 0s: must be positive"},
		{"negative interval", b, ok, []health.Option{health.WithInterval(-time.Second)}, "health: invalid config: Interval = -1s: must be positive"},
		{"zero timeout", b, ok, []health.Option{health.WithTimeout(0)}, "health: invalid config: Timeout = 0s: must be positive"},
		{"zero threshold", b, ok, []health.Option{health.WithUnhealthyThreshold(0)}, "health: invalid config: UnhealthyThreshold = 0: must be at least 1"},
		{"negative recovery", b, ok, []health.Option{health.WithRecovery(-1)}, "health: invalid config: Recovery = -1: must not be negative (0 turns it off)"},
		{"every problem at once", nil, nil, []health.Option{health.WithInterval(0), health.WithUnhealthyThreshold(-2)},
			"health: invalid config: breaker = nil: must be a breaker\n" +
				"health: invalid config: check = nil: must be a func\n" +
				"health: invalid config: Interval = 0s: must be positive\n" +
				"health: invalid config: UnhealthyThreshold = -2: must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := health.Watch(tt.b, tt.check, tt.opts...)
			if w != nil {
				w.Stop()
				t.Fatal("Watch returned a watcher for bad input")
			}
			if !errors.Is(err, health.ErrInvalidConfig) || !errors.Is(err, circuit.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			var ce *circuit.ConfigError
			if !errors.As(err, &ce) || ce.Pkg != "health" {
				t.Fatalf("err = %#v, want a *circuit.ConfigError of package health", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestNilOptionAndRecoveryZeroAreAccepted(t *testing.T) {
	h := newHarness(t, nil, health.WithRecovery(0), health.WithClock(nil), health.WithClock(clock.NewMock()))
	// The last WithClock wins, so the harness's mock no longer drives the
	// watcher: prove it with CheckNow instead of a tick.
	h.b.Trip(circuit.ReasonManual)
	r, err := h.w.CheckNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, r, true, 0, 1, health.ActionNone) // recovery off
}

func TestUnhealthyThresholdOpensBreaker(t *testing.T) {
	h := newHarness(t, health.WithUnhealthyThreshold(3))
	h.down.Store(true)
	wantResult(t, h.tick(), false, 1, 0, health.ActionNone)
	wantResult(t, h.tick(), false, 2, 0, health.ActionNone)
	h.wantState(circuit.Closed)
	h.noTransition()

	r := h.tick()
	wantResult(t, r, false, 3, 0, health.ActionOpen)
	if !errors.Is(r.Err, errDown) {
		t.Fatalf("Err = %v, want the check's error", r.Err)
	}
	h.wantState(circuit.Open)
	tr := h.transition()
	if tr.From != circuit.Closed || tr.To != circuit.Open || tr.Reason != circuit.ReasonHealthCheck {
		t.Fatalf("transition %v -> %v (%v), want closed -> open (health-check)", tr.From, tr.To, tr.Reason)
	}

	// Already open: nothing more to do, and the open timeout is not restarted.
	wantResult(t, h.tick(), false, 4, 0, health.ActionNone)
	h.noTransition()
}

func TestHealthyCheckResetsTheRun(t *testing.T) {
	h := newHarness(t) // default threshold: 3
	steps := []struct {
		down       bool
		fails, oks int
	}{
		{true, 1, 0}, {true, 2, 0}, {false, 0, 1}, {true, 1, 0}, {true, 2, 0}, {false, 0, 1}, {false, 0, 2},
	}
	for i, s := range steps {
		h.down.Store(s.down)
		r := h.tick()
		if r.ConsecutiveFailures != s.fails || r.ConsecutiveSuccesses != s.oks || r.Action != health.ActionNone {
			t.Fatalf("step %d: %+v", i, r)
		}
	}
	h.wantState(circuit.Closed)
	h.noTransition()
}

func TestStillUnhealthyReopensAfterOpenTimeout(t *testing.T) {
	h := newHarness(t, health.WithUnhealthyThreshold(1))
	h.down.Store(true)
	wantResult(t, h.tick(), false, 1, 0, health.ActionOpen)
	h.transition()

	// Six more ticks reach the end of the open timeout: the breaker goes
	// half-open at once, and the check of that same tick reopens it.
	for i := 0; i < 5; i++ {
		wantResult(t, h.tick(), false, 2+i, 0, health.ActionNone)
	}
	wantResult(t, h.tick(), false, 7, 0, health.ActionOpen)
	if tr := h.transition(); tr.To != circuit.HalfOpen || tr.Reason != circuit.ReasonTimeoutElapsed {
		t.Fatalf("transition to %v (%v), want half-open (timeout-elapsed)", tr.To, tr.Reason)
	}
	if tr := h.transition(); tr.From != circuit.HalfOpen || tr.To != circuit.Open || tr.Reason != circuit.ReasonHealthCheck {
		t.Fatalf("transition %v -> %v (%v), want half-open -> open (health-check)", tr.From, tr.To, tr.Reason)
	}
}

func TestRecoveryHalfOpensEarly(t *testing.T) {
	h := newHarness(t, health.WithRecovery(2))
	h.b.Trip(circuit.ReasonManual) // opened by calls or an operator; the watcher recovers it either way
	h.transition()

	wantResult(t, h.tick(), true, 0, 1, health.ActionNone)
	h.wantState(circuit.Open)
	wantResult(t, h.tick(), true, 0, 2, health.ActionHalfOpen)
	h.wantState(circuit.HalfOpen)
	tr := h.transition()
	if tr.From != circuit.Open || tr.To != circuit.HalfOpen || tr.Reason != circuit.ReasonHealthRecovered {
		t.Fatalf("transition %v -> %v (%v), want open -> half-open (health-recovered)", tr.From, tr.To, tr.Reason)
	}
	if elapsed := h.mock.Now().Sub(time.Unix(0, 0)); elapsed >= openTimeout {
		t.Fatalf("recovered after %v, no earlier than the open timeout", elapsed)
	}

	// Half-open: the probes decide now; healthy checks do nothing more.
	wantResult(t, h.tick(), true, 0, 3, health.ActionNone)
	h.noTransition()
}

func TestRecoveryOffByDefault(t *testing.T) {
	h := newHarness(t)
	h.b.Trip(circuit.ReasonManual)
	h.transition()
	for i := 1; i <= 5; i++ {
		wantResult(t, h.tick(), true, 0, i, health.ActionNone)
	}
	h.wantState(circuit.Open)
	h.noTransition()
}

func TestRecoveryRunIsBrokenByUnhealthyCheck(t *testing.T) {
	h := newHarness(t, health.WithRecovery(2), health.WithUnhealthyThreshold(5))
	h.b.Trip(circuit.ReasonManual)
	h.transition()
	wantResult(t, h.tick(), true, 0, 1, health.ActionNone)
	h.down.Store(true)
	wantResult(t, h.tick(), false, 1, 0, health.ActionNone)
	h.down.Store(false)
	wantResult(t, h.tick(), true, 0, 1, health.ActionNone)
	h.wantState(circuit.Open)
	wantResult(t, h.tick(), true, 0, 2, health.ActionHalfOpen)
	h.wantState(circuit.HalfOpen)
}

// Healthy checks from an earlier open period do not count toward the
// recovery of a later one.
func TestRecoveryCountsOneOpenPeriod(t *testing.T) {
	h := newHarness(t, health.WithRecovery(2))
	h.b.Trip(circuit.ReasonManual)
	wantResult(t, h.tick(), true, 0, 1, health.ActionNone)

	// A new open period begins between two checks.
	if !h.b.EndOpen(circuit.ReasonManual) {
		t.Fatal("ForceHalfOpen did nothing")
	}
	h.b.Trip(circuit.ReasonManual)
	h.wantState(circuit.Open)

	wantResult(t, h.tick(), true, 0, 2, health.ActionNone)
	h.wantState(circuit.Open)
	wantResult(t, h.tick(), true, 0, 3, health.ActionHalfOpen)
	h.wantState(circuit.HalfOpen)
}

// Healthy checks while closed do not count toward recovery either.
func TestRecoveryIgnoresChecksWhileClosed(t *testing.T) {
	h := newHarness(t, health.WithRecovery(2))
	wantResult(t, h.tick(), true, 0, 1, health.ActionNone)
	wantResult(t, h.tick(), true, 0, 2, health.ActionNone)
	h.b.Trip(circuit.ReasonManual)
	wantResult(t, h.tick(), true, 0, 3, health.ActionNone)
	h.wantState(circuit.Open)
	wantResult(t, h.tick(), true, 0, 4, health.ActionHalfOpen)
}

func TestPanickingCheckIsUnhealthy(t *testing.T) {
	h := newBase(t)
	var n atomic.Int64
	h.watch(func(context.Context) error {
		if n.Add(1) == 1 {
			panic("boom")
		}
		runtime.Goexit()
		return nil
	}, health.WithUnhealthyThreshold(2))

	r := h.tick()
	wantResult(t, r, false, 1, 0, health.ActionNone)
	var pe *health.PanicError
	if !errors.As(r.Err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("Err = %#v, want a *PanicError with value boom and a stack", r.Err)
	}
	if r.Err.Error() != "health: check panicked: boom" {
		t.Fatalf("Error() = %q", r.Err.Error())
	}

	// The watcher survived; the second check calls runtime.Goexit.
	r = h.tick()
	wantResult(t, r, false, 2, 0, health.ActionOpen)
	if !errors.As(r.Err, &pe) || pe.Value != nil || r.Err.Error() != "health: check called runtime.Goexit" {
		t.Fatalf("Err = %v, want a Goexit *PanicError", r.Err)
	}
	h.wantState(circuit.Open)
}

// A check that ignores its context: the watcher gives up at the timeout,
// counts it unhealthy, and starts no second check until it returns.
func TestHangingCheck(t *testing.T) {
	h := newBase(t)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var calls atomic.Int64
	h.watch(func(context.Context) error {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return nil
	}, health.WithUnhealthyThreshold(2))

	h.toNextTick()
	<-started
	h.mock.Add(timeout)
	r := h.result()
	wantResult(t, r, false, 1, 0, health.ActionNone)
	if !errors.Is(r.Err, health.ErrCheckTimeout) || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want ErrCheckTimeout and DeadlineExceeded", r.Err)
	}
	if r.Duration != timeout || !r.Start.Equal(time.Unix(0, 0).Add(interval)) {
		t.Fatalf("Start %v Duration %v, want %v and %v", r.Start, r.Duration, time.Unix(0, 0).Add(interval), timeout)
	}

	// Still hung at the next tick: the next check waits for it until its
	// own timeout, then is unhealthy without a second call.
	h.toNextTick()
	select {
	case r := <-h.results:
		t.Fatalf("result %+v before the second check's timeout", r)
	default:
	}
	h.mock.Add(timeout)
	r = h.result()
	wantResult(t, r, false, 2, 0, health.ActionOpen)
	if !errors.Is(r.Err, health.ErrCheckRunning) {
		t.Fatalf("Err = %v, want ErrCheckRunning", r.Err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("check called %d times, want 1", n)
	}

	// Once it returns (its late result discarded), checks run again.
	close(release)
	for h.w.CheckRunning() {
		runtime.Gosched()
	}
	wantResult(t, h.tick(), true, 0, 1, health.ActionNone)
	if n := calls.Load(); n != 2 {
		t.Fatalf("check called %d times, want 2", n)
	}
}

// The schedule is a time.Ticker's: checks fall on multiples of the
// interval from Watch; ticks that fall during a slow check start one check
// as soon as it ends, and the rest are dropped.
func TestSlowCheckKeepsTheSchedule(t *testing.T) {
	h := newBase(t)
	var calls atomic.Int64
	h.watch(func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			<-ctx.Done() // the first check takes its whole 35s timeout
			return ctx.Err()
		}
		return nil
	}, health.WithTimeout(35*time.Second))
	epoch := time.Unix(0, 0)

	h.mock.Add(interval)         // 10s: the first check starts
	h.mock.Add(35 * time.Second) // 45s: ticks at 20s, 30s and 40s fell during it
	if r := h.result(); !r.Start.Equal(epoch.Add(10*time.Second)) || r.Healthy() {
		t.Fatalf("first result: start %v, err %v; want the 10s check, timed out", r.Start.Sub(epoch), r.Err)
	}
	if r := h.result(); !r.Start.Equal(epoch.Add(45 * time.Second)) {
		t.Fatalf("second check started at %v, want 45s: at once, for the ticks it missed", r.Start.Sub(epoch))
	}
	h.mock.Add(5 * time.Second) // 50s: back on the schedule
	if r := h.result(); !r.Start.Equal(epoch.Add(50 * time.Second)) {
		t.Fatalf("third check started at %v, want 50s", r.Start.Sub(epoch))
	}
	select {
	case r := <-h.results:
		t.Fatalf("an extra check at %v: the missed ticks were not dropped", r.Start.Sub(epoch))
	default:
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("check called %d times, want 3", n)
	}
}

// A check that honors its context ends at the timeout with the deadline.
func TestCheckContextCarriesTimeout(t *testing.T) {
	h := newBase(t)
	started := make(chan struct{}, 1)
	h.watch(func(ctx context.Context) error {
		dl, ok := ctx.Deadline()
		if !ok || !dl.Equal(time.Unix(0, 0).Add(interval+timeout)) {
			return errors.New("wrong deadline")
		}
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	h.toNextTick()
	<-started
	h.mock.Add(timeout)
	r := h.result()
	if !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", r.Err)
	}
	for h.w.CheckRunning() {
		runtime.Gosched()
	}
}

func TestDefaultTimeoutIsCappedByInterval(t *testing.T) {
	mock := clock.NewMock()
	b, _ := circuit.New[int](circuit.WithClock(mock))
	deadlines := make(chan time.Time, 2)
	check := func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		deadlines <- dl
		return nil
	}
	for _, tc := range []struct {
		interval, want time.Duration
	}{{time.Minute, health.DefaultTimeout}, {2 * time.Second, 2 * time.Second}} {
		w, err := health.Watch(b, check, health.WithClock(mock), health.WithInterval(tc.interval))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.CheckNow(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.Stop()
		if got := (<-deadlines).Sub(mock.Now()); got != tc.want {
			t.Errorf("interval %v: timeout %v, want %v", tc.interval, got, tc.want)
		}
	}
}

func TestStopIsIdempotentAndConcurrent(t *testing.T) {
	h := newHarness(t)
	h.tick()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); h.w.Stop() }()
	}
	wg.Wait()
	h.w.Stop()

	calls := h.calls.Load()
	h.mock.Add(10 * interval)
	if n := h.calls.Load(); n != calls {
		t.Fatalf("check ran %d times after Stop", n-calls)
	}
	if _, err := h.w.CheckNow(context.Background()); !errors.Is(err, health.ErrStopped) {
		t.Fatalf("CheckNow after Stop: %v, want ErrStopped", err)
	}
	if len(h.results) != 0 {
		t.Fatal("OnCheck ran after Stop")
	}
}

// Stop does not wait for a check that ignores its context, and the
// check's late result is never applied.
func TestStopDoesNotWaitForHungCheck(t *testing.T) {
	h := newBase(t)
	started := make(chan struct{})
	release := make(chan struct{})
	h.watch(func(context.Context) error {
		close(started)
		<-release
		return errDown
	}, health.WithUnhealthyThreshold(1))

	h.toNextTick()
	<-started
	stopped := make(chan struct{})
	go func() { h.w.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(guard):
		t.Fatal("Stop waited for a hung check")
	}
	close(release)
	for h.w.CheckRunning() {
		runtime.Gosched()
	}
	h.wantState(circuit.Closed)
	h.noTransition()
	if len(h.results) != 0 {
		t.Fatal("the hung check's result was applied after Stop")
	}
}

// Stop cancels the context of a check in progress.
func TestStopCancelsCheckContext(t *testing.T) {
	h := newBase(t)
	started := make(chan struct{})
	got := make(chan error, 1)
	h.watch(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		got <- ctx.Err()
		return ctx.Err()
	})
	h.toNextTick()
	<-started
	h.w.Stop()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("check's ctx ended with %v, want Canceled", err)
	}
	for h.w.CheckRunning() {
		runtime.Gosched()
	}
}

func TestCheckNow(t *testing.T) {
	h := newHarness(t, health.WithUnhealthyThreshold(2))
	//lint:ignore SA1012 testing the nil-context guard
	if _, err := h.w.CheckNow(nil); !errors.Is(err, health.ErrNilContext) {
		t.Fatalf("nil ctx: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.w.CheckNow(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}

	h.down.Store(true)
	r, err := h.w.CheckNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, r, false, 1, 0, health.ActionNone)
	if hooked := h.result(); hooked.ConsecutiveFailures != 1 {
		t.Fatalf("OnCheck got %+v", hooked)
	}
	// CheckNow and the ticker share the runs.
	wantResult(t, h.tick(), false, 2, 0, health.ActionOpen)
	if calls := h.calls.Load(); calls != 2 {
		t.Fatalf("check called %d times, want 2 (refused CheckNows run nothing)", calls)
	}
}

// A caller that gives up during the check gets its ctx's error, and the
// check counts for nothing.
func TestCheckNowCallerCancelIsNotCounted(t *testing.T) {
	h := newBase(t)
	started := make(chan struct{})
	h.watch(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, health.WithUnhealthyThreshold(1))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := h.w.CheckNow(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
	for h.w.CheckRunning() {
		runtime.Gosched()
	}
	h.wantState(circuit.Closed)
	if len(h.results) != 0 {
		t.Fatal("a canceled CheckNow was applied")
	}
}

func TestOnCheckPanicIsRecovered(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)))
	defer slog.SetDefault(old)

	h := newBase(t)
	var hooked atomic.Int64
	h.watch(h.checkFromDown(), health.WithOnCheck(func(r health.Result) {
		if hooked.Add(1) == 1 {
			panic("hook broke")
		}
		h.results <- r
	}))
	h.toNextTick() // the hook panics on this one
	r := h.tick()  // the watcher is still alive
	if r.ConsecutiveSuccesses != 2 {
		t.Fatalf("second result %+v, want the second healthy check", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "health: OnCheck hook panicked") || !strings.Contains(buf.String(), "hook broke") {
		t.Fatalf("log = %q", buf.String())
	}
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// The real clock works too: three checks at a 1ms interval open the
// breaker. Nothing here depends on how long they take.
func TestRealClock(t *testing.T) {
	b, _ := circuit.New[int]()
	results := make(chan health.Result, 10)
	w, err := health.Watch(b, func(context.Context) error { return errDown },
		health.WithInterval(time.Millisecond),
		health.WithOnCheck(func(r health.Result) {
			select {
			case results <- r:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for {
		r := <-results
		if r.Action == health.ActionOpen {
			break
		}
	}
	if b.State() != circuit.Open {
		t.Fatal("not open")
	}
}

// An Action appears in logs and JSON as its word.
func TestActionMarshalsAsText(t *testing.T) {
	got, err := json.Marshal(map[string]health.Action{"action": health.ActionHalfOpen})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"action":"half-open"}` {
		t.Fatalf("json = %s", got)
	}
	text, err := health.Action(7).MarshalText()
	if err != nil || string(text) != "action(7)" {
		t.Fatalf("MarshalText = %q, %v", text, err)
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[health.Action]string{
		health.ActionNone: "none", health.ActionOpen: "open", health.ActionHalfOpen: "half-open", health.Action(7): "action(7)",
	} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(a), got, want)
		}
	}
}
