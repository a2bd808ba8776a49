package retry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/retry"
)

var errBoom = errors.New("boom")

func TestDelayStrategies(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		opts []retry.Option
		want []time.Duration // Delay(1), Delay(2), ...
	}{
		{"exponential default base", nil, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"exponential capped", []retry.Option{retry.WithMaxDelay(500 * ms)}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 500 * ms, 500 * ms}},
		{"linear", []retry.Option{retry.WithBackoff(retry.Linear), retry.WithBaseDelay(50 * ms)}, []time.Duration{50 * ms, 100 * ms, 150 * ms, 200 * ms}},
		{"linear capped", []retry.Option{retry.WithBackoff(retry.Linear), retry.WithBaseDelay(50 * ms), retry.WithMaxDelay(120 * ms)}, []time.Duration{50 * ms, 100 * ms, 120 * ms}},
		{"fixed", []retry.Option{retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(30 * ms)}, []time.Duration{30 * ms, 30 * ms, 30 * ms}},
		{"base above cap", []retry.Option{retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(time.Hour), retry.WithMaxDelay(time.Second)}, []time.Duration{time.Second, time.Second}},
		{"zero base", []retry.Option{retry.WithBackoff(retry.Exponential), retry.WithBaseDelay(0)}, []time.Duration{0, 0, 0}},
		{"zero max delay", []retry.Option{retry.WithMaxDelay(0)}, []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := retry.New[int](append([]retry.Option{retry.WithJitter(0)}, tt.opts...)...)
			require.NoError(t, err)
			for i, want := range tt.want {
				assert.Equal(t, want, p.Delay(i+1), "Delay(%d)", i+1)
			}
		})
	}
}

func TestDelayNeverOverflows(t *testing.T) {
	for _, s := range []retry.Strategy{retry.Exponential, retry.Linear, retry.Fixed} {
		p, err := retry.New[int](retry.WithJitter(0), retry.WithBackoff(s), retry.WithBaseDelay(time.Second),
			retry.WithMaxDelay(time.Duration(1<<62)))
		require.NoError(t, err)
		prev := time.Duration(0)
		for _, n := range []int{1, 2, 30, 62, 63, 64, 100, 1 << 30, int(^uint(0) >> 1)} {
			d := p.Delay(n)
			assert.GreaterOrEqual(t, d, prev, "%v Delay(%d) went down", s, n)
			assert.LessOrEqual(t, d, time.Duration(1<<62), "%v Delay(%d) above the cap", s, n)
			prev = d
		}
	}
}

func TestDelayBelowOneIsFirstRetry(t *testing.T) {
	p, err := retry.New[int](retry.WithJitter(0))
	require.NoError(t, err)
	assert.Equal(t, p.Delay(1), p.Delay(0))
	assert.Equal(t, p.Delay(1), p.Delay(-5))
}

func TestJitterStaysInRangeAndVaries(t *testing.T) {
	p, err := retry.New[int](retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(time.Second), retry.WithJitter(0.25),
		retry.WithRand(rand.New(rand.NewPCG(1, 2))))
	require.NoError(t, err)
	seen := map[time.Duration]bool{}
	lo, hi := time.Second, time.Second
	for range 1000 {
		d := p.Delay(1)
		require.GreaterOrEqual(t, d, 750*time.Millisecond)
		require.LessOrEqual(t, d, 1250*time.Millisecond)
		seen[d] = true
		lo, hi = min(lo, d), max(hi, d)
	}
	assert.Greater(t, len(seen), 900, "jitter should spread the delays")
	// 1000 uniform draws cover most of the range.
	assert.Less(t, lo, 760*time.Millisecond)
	assert.Greater(t, hi, 1240*time.Millisecond)
}

func TestJitterNeverExceedsMaxDelay(t *testing.T) {
	p, err := retry.New[int](retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(time.Second), retry.WithMaxDelay(time.Second),
		retry.WithJitter(0.5), retry.WithRand(rand.New(rand.NewPCG(3, 4))))
	require.NoError(t, err)
	below := 0
	for range 200 {
		d := p.Delay(1)
		require.LessOrEqual(t, d, time.Second)
		if d < time.Second {
			below++
		}
	}
	assert.Greater(t, below, 50, "the lower half of the jitter must still apply")
}

// At the max delay, jitter must still spread the delays (a herd of
// clients capped at the same instant would retry in lockstep), and never
// exceed the cap.
func TestJitterStaysSpreadAtTheCap(t *testing.T) {
	p, err := retry.New[int](retry.WithRand(rand.New(rand.NewPCG(1, 2)))) // exponential 100ms, cap 60s, +-10%
	if err != nil {
		t.Fatal(err)
	}
	atCap := 0
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := 0; i < 10000; i++ {
		d := p.Delay(20)
		if d == 60*time.Second {
			atCap++
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if atCap > 10 {
		t.Errorf("%d of 10000 delays are exactly the 60s cap", atCap)
	}
	if hi > 60*time.Second || lo < 54*time.Second || hi-lo < 5*time.Second {
		t.Errorf("delays span [%v, %v], want most of [54s, 60s]", lo, hi)
	}
}

func TestFullJitter(t *testing.T) {
	p, err := retry.New[int](retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(time.Second), retry.WithFullJitter(),
		retry.WithRand(rand.New(rand.NewPCG(5, 6))))
	require.NoError(t, err)
	var low, high int
	for range 1000 {
		d := p.Delay(1)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, time.Second)
		if d < 100*time.Millisecond {
			low++
		}
		if d > 900*time.Millisecond {
			high++
		}
	}
	// Uniform over [0, 1s]: about 100 of each.
	assert.Greater(t, low, 50)
	assert.Greater(t, high, 50)

	// A later WithJitter replaces full jitter.
	p, err = retry.New[int](retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(time.Second), retry.WithFullJitter(), retry.WithJitter(0))
	require.NoError(t, err)
	assert.Equal(t, time.Second, p.Delay(1))
}

func TestSameSeedSameDelays(t *testing.T) {
	delays := func() []time.Duration {
		p, err := retry.New[int](retry.WithRand(rand.New(rand.NewPCG(7, 8))))
		require.NoError(t, err)
		var out []time.Duration
		for i := 1; i <= 5; i++ {
			out = append(out, p.Delay(i))
		}
		return out
	}
	a, b := delays(), delays()
	assert.Equal(t, a, b)
	assert.NotEqual(t, []time.Duration{100e6, 200e6, 400e6, 800e6, 1600e6}, a, "default jitter should move the delays")
}

// Every bad value is reported in the module's one shape,
// "retry: invalid config: Field = value: rule", as a *circuit.ConfigError
// that matches ErrInvalidConfig, circuit.ErrInvalidConfig too.
func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		opt  retry.Option
		want string
	}{
		{retry.WithMaxAttempts(0), "retry: invalid config: MaxAttempts = 0: must be at least 1"},
		{retry.WithMaxAttempts(-3), "retry: invalid config: MaxAttempts = -3: must be at least 1"},
		{retry.WithBackoff(retry.Strategy(9)), "retry: invalid config: Backoff = strategy(9): must be Exponential, Linear or Fixed"},
		{retry.WithBaseDelay(-time.Second), "retry: invalid config: BaseDelay = -1s: must not be negative"},
		{retry.WithMaxDelay(-time.Millisecond), "retry: invalid config: MaxDelay = -1ms: must not be negative"},
		{retry.WithJitter(-0.1), "retry: invalid config: Jitter = -0.1: must be in [0, 1]"},
		{retry.WithJitter(1.5), "retry: invalid config: Jitter = 1.5: must be in [0, 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			p, err := retry.New[int](tt.opt)
			assert.Nil(t, p)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			require.ErrorIs(t, err, circuit.ErrInvalidConfig)
			var ce *circuit.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "retry", ce.Pkg)
			assert.Equal(t, tt.want, err.Error())
		})
	}

	// Every bad option is reported, and Do refuses to call fn.
	calls := 0
	_, err := retry.Do(context.Background(), func(context.Context) (int, error) { calls++; return 0, nil },
		retry.WithMaxAttempts(0), retry.WithJitter(2), nil)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Equal(t, "retry: invalid config: MaxAttempts = 0: must be at least 1\n"+
		"retry: invalid config: Jitter = 2: must be in [0, 1]", err.Error())
	assert.Zero(t, calls)
}

// Strategy and Reason appear in logs and JSON as their words.
func TestEnumsMarshalAsText(t *testing.T) {
	got, err := json.Marshal(map[string]any{"backoff": retry.Linear, "reason": retry.ReasonBreakerOpen})
	require.NoError(t, err)
	assert.JSONEq(t, `{"backoff":"linear","reason":"breaker-open"}`, string(got))
	text, err := retry.Reason(99).MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "reason(99)", string(text))
}

func TestNilArguments(t *testing.T) {
	p, err := retry.New[int]()
	require.NoError(t, err)
	fn := func(context.Context) (int, error) { return 1, nil }
	//lint:ignore SA1012 testing the nil-context guard
	_, err = p.Execute(nil, fn) //nolint:staticcheck
	assert.ErrorIs(t, err, retry.ErrNilContext)
	var nilPolicy *retry.Policy[int]
	_, err = nilPolicy.Execute(context.Background(), fn)
	assert.ErrorIs(t, err, retry.ErrNilPolicy)
	_, err = p.Execute(context.Background(), nil)
	assert.ErrorIs(t, err, retry.ErrNilFunc)
}

// call runs Execute on its own goroutine; the test drives the mock clock
// from the OnRetry handshake.
type call struct {
	mock   *clock.Mock
	waits  chan time.Duration // the delay of each wait, sent once its timer runs
	result chan error
	calls  atomic.Int32
}

func startCall(t *testing.T, ctx context.Context, fn func(attempt int) error, opts ...retry.Option) *call {
	t.Helper()
	c := &call{mock: clock.NewMock(), waits: make(chan time.Duration), result: make(chan error, 1)}
	opts = append([]retry.Option{
		retry.WithClock(c.mock),
		retry.WithJitter(0),
		retry.WithOnRetry(func(_ int, _ error, d time.Duration) { c.waits <- d }),
	}, opts...)
	p, err := retry.New[struct{}](opts...)
	require.NoError(t, err)
	go func() {
		_, err := p.Execute(ctx, func(context.Context) (struct{}, error) {
			return struct{}{}, fn(int(c.calls.Add(1)))
		})
		c.result <- err
	}()
	return c
}

func TestRetriesUntilSuccessWaitingEachDelay(t *testing.T) {
	c := startCall(t, context.Background(), func(attempt int) error {
		if attempt < 4 {
			return errBoom
		}
		return nil
	}, retry.WithMaxAttempts(5))
	start := c.mock.Now()
	var delays []time.Duration
	for range 3 {
		d := <-c.waits
		delays = append(delays, d)
		// The call is blocked on its timer: nothing happens until the clock moves.
		select {
		case err := <-c.result:
			t.Fatalf("returned before the backoff elapsed: %v", err)
		default:
		}
		c.mock.Add(d)
	}
	require.NoError(t, <-c.result)
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, delays)
	assert.Equal(t, int32(4), c.calls.Load())
	assert.Equal(t, 700*time.Millisecond, c.mock.Now().Sub(start))
}

func TestBackoffNotCutShort(t *testing.T) {
	c := startCall(t, context.Background(), func(int) error { return errBoom }, retry.WithMaxAttempts(2))
	d := <-c.waits
	c.mock.Add(d - time.Nanosecond)
	select {
	case err := <-c.result:
		t.Fatalf("retried before the delay: %v", err)
	default:
	}
	assert.Equal(t, int32(1), c.calls.Load())
	c.mock.Add(time.Nanosecond)
	err := <-c.result
	assert.Equal(t, int32(2), c.calls.Load())
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 2, re.Attempts)
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	c := startCall(t, context.Background(), func(attempt int) error {
		return fmt.Errorf("attempt %d: %w", attempt, errBoom)
	})
	for range 2 {
		c.mock.Add(<-c.waits)
	}
	err := <-c.result
	require.ErrorIs(t, err, errBoom)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts)
	assert.Equal(t, retry.ReasonMaxAttempts, re.Reason)
	assert.EqualError(t, re.Err, "attempt 3: boom", "the last attempt's error is kept")
	assert.Equal(t, "retry: 3 attempts, gave up (max-attempts): attempt 3: boom", err.Error())
	assert.Equal(t, int32(3), c.calls.Load())
}

func TestMaxAttemptsOneNeverWaits(t *testing.T) {
	hooks := 0
	mock := clock.NewMock()
	// The hook advances the mock, so a wrong retry fails the test rather than hanging it.
	_, err := retry.Do(context.Background(), func(context.Context) (int, error) { return 0, errBoom },
		retry.WithMaxAttempts(1), retry.WithClock(mock),
		retry.WithOnRetry(func(_ int, _ error, d time.Duration) { hooks++; mock.Add(d) }))
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.Zero(t, hooks)
	assert.Equal(t, "retry: 1 attempt, gave up (max-attempts): boom", err.Error())
}

func openBreaker(t *testing.T) *circuit.Breaker[int] {
	t.Helper()
	b, err := circuit.New[int](circuit.WithName("dep"), circuit.WithClock(clock.NewMock()))
	require.NoError(t, err)
	b.Trip(circuit.ReasonManual)
	return b
}

func TestBreakerRejectionIsNeverRetried(t *testing.T) {
	b := openBreaker(t)
	calls, hooks, asked := 0, 0, 0
	mock := clock.NewMock()
	_, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
		calls++
		return b.Execute(ctx, func(context.Context) (int, error) { return 1, nil })
	},
		retry.WithMaxAttempts(10), retry.WithClock(mock),
		retry.WithOnRetry(func(_ int, _ error, d time.Duration) { hooks++; mock.Add(d) }),
		retry.WithRetryIf(func(error) bool { asked++; return true }))
	require.ErrorIs(t, err, circuit.ErrOpen)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "dep", oe.Name)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.Equal(t, retry.ReasonBreakerOpen, re.Reason)
	assert.Equal(t, 1, calls)
	assert.Zero(t, hooks, "no backoff for a rejection")
	assert.Zero(t, asked, "the predicate is not asked about a rejection")
}

func TestBreakerOpeningMidwayStopsRetries(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[int](circuit.WithClock(mock), circuit.WithConsecutiveFailures(2))
	require.NoError(t, err)
	depCalls := 0
	_, err = retry.Do(context.Background(), func(ctx context.Context) (int, error) {
		return b.Execute(ctx, func(context.Context) (int, error) { depCalls++; return 0, errBoom })
	},
		retry.WithMaxAttempts(10), retry.WithJitter(0), retry.WithClock(mock),
		// Advancing the mock from the hook wakes the wait at once.
		retry.WithOnRetry(func(_ int, _ error, d time.Duration) { mock.Add(d) }))
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonBreakerOpen, re.Reason)
	assert.Equal(t, 3, re.Attempts, "two failures trip the breaker; the third attempt is rejected")
	assert.Equal(t, 2, depCalls)
}

func TestCanceledIsNeverRetried(t *testing.T) {
	calls := 0
	_, err := retry.Do(context.Background(), func(context.Context) (int, error) {
		calls++
		return 0, fmt.Errorf("wrapped: %w", context.Canceled)
	}, retry.WithMaxAttempts(5), retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(0))
	require.ErrorIs(t, err, context.Canceled)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonCanceled, re.Reason)
	assert.Equal(t, 1, calls)
}

func TestDeadlineOfOneAttemptIsRetried(t *testing.T) {
	// A per-call timeout (the breaker's CallTimeout, say) is an ordinary
	// failure while the caller's own context is still live.
	calls := 0
	v, err := retry.Do(context.Background(), func(context.Context) (int, error) {
		calls++
		if calls == 1 {
			return 0, context.DeadlineExceeded
		}
		return 42, nil
	}, retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(0))
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Equal(t, 2, calls)
}

func TestRetryIf(t *testing.T) {
	errPermanent := errors.New("permanent")
	calls := 0
	_, err := retry.Do(context.Background(), func(context.Context) (int, error) {
		calls++
		if calls == 1 {
			return 0, errBoom
		}
		return 0, errPermanent
	}, retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(0), retry.WithMaxAttempts(5),
		retry.WithRetryIf(func(err error) bool { return !errors.Is(err, errPermanent) }))
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonNotRetryable, re.Reason)
	assert.Equal(t, 2, re.Attempts)
	assert.ErrorIs(t, err, errPermanent)
}

func TestOnRetryArguments(t *testing.T) {
	type hook struct {
		attempt int
		err     string
		delay   time.Duration
	}
	var got []hook
	mock := clock.NewMock()
	calls := 0
	_, _ = retry.Do(context.Background(), func(context.Context) (int, error) {
		calls++
		return 0, fmt.Errorf("fail %d", calls)
	}, retry.WithClock(mock), retry.WithJitter(0), retry.WithBackoff(retry.Linear), retry.WithBaseDelay(time.Second),
		retry.WithMaxAttempts(3),
		retry.WithOnRetry(func(a int, err error, d time.Duration) {
			got = append(got, hook{a, err.Error(), d})
			mock.Add(d)
		}))
	assert.Equal(t, []hook{{1, "fail 1", time.Second}, {2, "fail 2", 2 * time.Second}}, got)
}

func TestCancelDuringBackoffReturnsAndStopsTimer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := startCall(t, ctx, func(int) error { return errBoom }, retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(time.Hour))
	start := c.mock.Now()
	<-c.waits
	cancel()
	err := <-c.result
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, errBoom, "the last attempt's error stays reachable")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonContextDone, re.Reason)
	assert.Equal(t, 1, re.Attempts)
	assert.Equal(t, int32(1), c.calls.Load())
	assert.Equal(t, "retry: 1 attempt, gave up (context-done): context canceled: boom", err.Error())
	// The backoff timer was stopped: no timer is left for the mock to run.
	assert.Equal(t, start, c.mock.WaitForAllTimers())
}

func TestCancelDuringBackoffRealClock(t *testing.T) {
	// An hour's wait on the real clock ends as soon as ctx does.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := retry.Do(ctx, func(context.Context) (int, error) { return 0, errBoom },
		retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(time.Hour),
		retry.WithOnRetry(func(int, error, time.Duration) { cancel() }))
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonContextDone, re.Reason)
}

func TestDeadlineDuringBackoff(t *testing.T) {
	mock := clock.NewMock()
	ctx, cancel := mock.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	result := make(chan error, 1)
	waits := make(chan time.Duration)
	go func() {
		_, err := retry.Do(ctx, func(context.Context) (int, error) { return 0, errBoom },
			retry.WithClock(mock), retry.WithJitter(0), retry.WithMaxAttempts(5),
			retry.WithOnRetry(func(_ int, _ error, d time.Duration) { waits <- d }))
		result <- err
	}()
	mock.Add(<-waits) // 100ms: second attempt
	<-waits           // 200ms wait; the deadline comes first
	mock.Add(60 * time.Millisecond)
	err := <-result
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonContextDone, re.Reason)
	assert.Equal(t, 2, re.Attempts)
}

func TestContextDoneBeforeFirstAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_, err := retry.Do(ctx, func(context.Context) (int, error) { calls++; return 0, nil })
	require.ErrorIs(t, err, context.Canceled)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 0, re.Attempts)
	assert.Equal(t, retry.ReasonContextDone, re.Reason)
	assert.Zero(t, calls)
}

func TestContextDoneAfterFailedAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := retry.Do(ctx, func(context.Context) (int, error) {
		calls++
		cancel() // the caller gives up while the attempt fails for its own reason
		return 0, errBoom
	}, retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(0))
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonContextDone, re.Reason)
	assert.ErrorIs(t, err, errBoom)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, calls)
}

func TestErrorUnwrapShapes(t *testing.T) {
	assert.Nil(t, (&retry.Error{}).Unwrap())
	assert.Equal(t, []error{errBoom}, (&retry.Error{Err: errBoom}).Unwrap())
	assert.Equal(t, []error{errBoom}, (&retry.Error{Err: errBoom, Cause: errBoom}).Unwrap())
	assert.Equal(t, []error{retry.ErrBudgetExhausted}, (&retry.Error{Cause: retry.ErrBudgetExhausted}).Unwrap())
	assert.Equal(t, "reason(99)", retry.Reason(99).String())
	assert.Equal(t, "strategy(-1)", retry.Strategy(-1).String())
	assert.Equal(t, "linear", retry.Linear.String())
}

func TestSharedPolicyConcurrent(t *testing.T) {
	mock := clock.NewMock()
	budget, err := retry.NewBudget(0.5, 0, time.Minute, retry.WithClock(mock))
	require.NoError(t, err)
	p, err := retry.New[int](retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(0), retry.WithMaxAttempts(3),
		retry.WithRand(rand.New(rand.NewPCG(1, 1))), retry.WithBudget(budget), retry.WithClock(mock))
	require.NoError(t, err)
	var wg sync.WaitGroup
	var attempts, exhausted atomic.Int64
	const callers, each = 8, 50
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := p.Execute(context.Background(), func(context.Context) (int, error) {
					attempts.Add(1)
					p.Delay(2) // exercise the shared rand
					return 0, errBoom
				})
				if errors.Is(err, retry.ErrBudgetExhausted) {
					exhausted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	st := budget.Metrics()
	assert.Equal(t, uint64(callers*each), st.FirstAttempts)
	// Retries never exceed half the first attempts, whatever the interleaving.
	assert.LessOrEqual(t, float64(st.Retries), 0.5*float64(st.FirstAttempts))
	assert.Equal(t, int64(st.FirstAttempts+st.Retries), attempts.Load())
	assert.Greater(t, exhausted.Load(), int64(0))
}
