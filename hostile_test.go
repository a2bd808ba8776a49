package circuit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// These tests feed the breaker hostile user code (hooks, fallbacks, fns and
// classifiers that panic or call runtime.Goexit, nil funcs and contexts)
// and check that it stays fully usable afterwards: no lock left held, no
// probe slot lost, every call booked exactly once.

const hostileOpenTimeout = 10 * time.Millisecond

// newHostileBreaker returns a breaker that opens on one failure, admits one
// probe at a time and closes on one successful probe, on a step clock.
func newHostileBreaker(t *testing.T, opts ...circuit.Option) (*circuit.Breaker[int], *stepClock) {
	t.Helper()
	cfg := circuit.DefaultConfig()
	cfg.Name = "hostile"
	cfg.ConsecutiveFailures = 1
	cfg.OpenTimeout = hostileOpenTimeout
	cfg.HalfOpenMaxProbes = 1
	cfg.SuccessThreshold = 1
	clk := newStepClock()
	h := newHarnessOn(t, clk, append([]circuit.Option{circuit.WithConfig(cfg)}, opts...)...)
	return h.b, clk
}

// tripToHalfOpen trips b and lets its open timeout pass.
func tripToHalfOpen(t *testing.T, b *circuit.Breaker[int], clk *stepClock) {
	t.Helper()
	b.Trip(circuit.ReasonManual)
	clk.Add(hostileOpenTimeout)
	require.Equal(t, circuit.HalfOpen, b.State())
}

func okFn(context.Context) (int, error) { return 1, nil }

// catchPanic runs f and returns what it panicked with, or nil.
func catchPanic(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

// returnsNormally runs f on a new goroutine and waits for it to end, and reports
// whether f returned normally (false: it called runtime.Goexit).
func returnsNormally(f func()) (returned bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
		returned = true
	}()
	<-done
	return returned
}

// assertProbeSlotFree checks that a half-open breaker admits a probe at
// once, and that the probe closes it: the slot was not lost.
func assertProbeSlotFree(t *testing.T, b *circuit.Breaker[int]) {
	t.Helper()
	require.Equal(t, circuit.HalfOpen, b.State())
	called := false
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) { called = true; return 1, nil })
	require.NoError(t, err)
	require.True(t, called, "the free probe slot was not handed out")
	require.Equal(t, circuit.Closed, b.State())
}

// assertConserved checks that every call that reached admission is booked
// exactly once.
func assertConserved(t *testing.T, b *circuit.Breaker[int], calls uint64) {
	t.Helper()
	m := b.Metrics()
	assert.Equal(t, calls, m.Successes+m.Failures+m.Rejections+m.Ignored,
		"successes %d + failures %d + rejections %d + canceled %d", m.Successes, m.Failures, m.Rejections, m.Ignored)
}

func TestHostileHookPanics(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	var got []circuit.Transition
	b, clk := newHostileBreaker(t,
		circuit.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		circuit.WithOnStateChange(func(circuit.Transition) { panic("hook exploded") }),
		circuit.WithOnStateChange(func(tr circuit.Transition) { mu.Lock(); got = append(got, tr); mu.Unlock() }),
	)

	// The caller whose call caused the transition does not see the panic.
	require.Nil(t, catchPanic(func() { b.Trip(circuit.ReasonManual) }))
	require.Equal(t, circuit.Open, b.State())
	assert.Contains(t, logs.String(), "state-change hook panicked")
	assert.Contains(t, logs.String(), "hook exploded")

	// Later transitions still reach the hook after the panicking one, in
	// order, from both a time-only transition and a probe.
	clk.Add(hostileOpenTimeout)
	assertProbeSlotFree(t, b)
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errFail })
	require.Error(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 4)
	for i, want := range []struct{ from, to circuit.State }{
		{circuit.Closed, circuit.Open}, {circuit.Open, circuit.HalfOpen},
		{circuit.HalfOpen, circuit.Closed}, {circuit.Closed, circuit.Open},
	} {
		assert.Equal(t, want.from, got[i].From, "transition %d", i)
		assert.Equal(t, want.to, got[i].To, "transition %d", i)
	}
	assert.Equal(t, 4, strings.Count(logs.String(), "state-change hook panicked"))
}

// goexitHooks returns a breaker with two hooks: one records every
// transition it receives, the other calls runtime.Goexit the first time.
// With recorderLast, the recording hook comes after the exiting one.
func goexitHooks(t *testing.T, recorderLast bool) (b *circuit.Breaker[int], clk *stepClock, got func() []circuit.Transition) {
	var mu sync.Mutex
	var seen []circuit.Transition
	first := true
	record := circuit.WithOnStateChange(func(tr circuit.Transition) { mu.Lock(); seen = append(seen, tr); mu.Unlock() })
	exit := circuit.WithOnStateChange(func(circuit.Transition) {
		mu.Lock()
		exit := first
		first = false
		mu.Unlock()
		if exit {
			runtime.Goexit()
		}
	})
	if recorderLast {
		b, clk = newHostileBreaker(t, exit, record)
	} else {
		b, clk = newHostileBreaker(t, record, exit)
	}
	return b, clk, func() []circuit.Transition {
		mu.Lock()
		defer mu.Unlock()
		return append([]circuit.Transition(nil), seen...)
	}
}

func TestHostileHookGoexit(t *testing.T) {
	b, clk, got := goexitHooks(t, false)
	// The hook kills the goroutine delivering closed -> open.
	require.False(t, returnsNormally(func() { b.Trip(circuit.ReasonManual) }))
	require.Equal(t, circuit.Open, b.State())
	// Delivery is not stuck: the later transitions reach the hooks, and
	// the probe slot is free.
	clk.Add(hostileOpenTimeout)
	assertProbeSlotFree(t, b)
	seen := got()
	require.GreaterOrEqual(t, len(seen), 3)
	last := seen[len(seen)-2:]
	assert.Equal(t, circuit.HalfOpen, last[0].To)
	assert.Equal(t, circuit.Closed, last[1].To)
}

// TestHostileHookGoexitDeliversOnce: every hook receives every transition
// exactly once, so what a hook sees is a valid path even when another hook
// called runtime.Goexit.
//
// Found by this suite (fixed in a9335b7): deliver's deferred hand-back
// re-queued the transition being delivered when the hook exited, so the
// hooks before the exiting one saw closed->open twice. The fix counts that
// transition as delivered, so the hooks after the exiting one never got it
// (recorder-last: they saw [half-open, closed], not a valid path); now the
// hooks after the exiting one are owed it and get it first.
func TestHostileHookGoexitDeliversOnce(t *testing.T) {
	for _, recorderLast := range []bool{false, true} {
		t.Run(map[bool]string{false: "recorder-first", true: "recorder-last"}[recorderLast], func(t *testing.T) {
			b, clk, got := goexitHooks(t, recorderLast)
			require.False(t, returnsNormally(func() { b.Trip(circuit.ReasonManual) }))
			clk.Add(hostileOpenTimeout)
			assertProbeSlotFree(t, b)
			var to []circuit.State
			for _, tr := range got() {
				to = append(to, tr.To)
			}
			assert.Equal(t, []circuit.State{circuit.Open, circuit.HalfOpen, circuit.Closed}, to)
		})
	}
}

func TestHostileFallbackPanics(t *testing.T) {
	b, clk := newHostileBreaker(t, circuit.WithFallback(func(_ context.Context, err error) (int, error) {
		panic(err)
	}))
	calls := uint64(0)

	// A failure's fallback panics: the failure is booked first, then the
	// panic reaches the caller.
	calls++
	r := catchPanic(func() {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errFail })
	})
	require.Equal(t, errFail, r)
	require.Equal(t, circuit.Open, b.State())

	// A rejection's fallback panics with the *OpenError.
	calls++
	r = catchPanic(func() { _, _ = b.Execute(context.Background(), okFn) })
	require.ErrorIs(t, r.(error), circuit.ErrOpen)

	// A failed probe's fallback panics: the probe slot is released (the
	// breaker reopened), and the next probe after the timeout is admitted.
	clk.Add(hostileOpenTimeout)
	calls++
	r = catchPanic(func() {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errFail })
	})
	require.Equal(t, errFail, r)
	require.Equal(t, circuit.Open, b.State())
	clk.Add(hostileOpenTimeout)
	calls++
	assertProbeSlotFree(t, b)

	m := b.Metrics()
	assert.Equal(t, uint64(3), m.Fallbacks)
	assert.Equal(t, uint64(2), m.Failures)
	assert.Equal(t, uint64(1), m.Rejections)
	assertConserved(t, b, calls)
}

func TestHostileFnPanics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
	}{
		{"string", "fn exploded"},
		{"error", errFail},
		{"nil", nil}, // a *runtime.PanicNilError since Go 1.21
	} {
		t.Run(tc.name, func(t *testing.T) {
			fallbackCalled := false
			b, clk := newHostileBreaker(t, circuit.WithFallback(func(context.Context, error) (int, error) {
				fallbackCalled = true
				return 0, nil
			}))
			tripToHalfOpen(t, b, clk)
			r := catchPanic(func() {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { panic(tc.value) })
			})
			// Re-raised with its original value, not passed to the fallback.
			require.NotNil(t, r)
			if tc.value != nil {
				require.Equal(t, tc.value, r)
			} else {
				var pn *runtime.PanicNilError
				require.ErrorAs(t, r.(error), &pn)
			}
			assert.False(t, fallbackCalled)

			// The panicking probe failed: the breaker reopened at once
			// (no slot held) and says why.
			m := b.Metrics()
			require.Equal(t, circuit.Open, m.State)
			var pe *circuit.PanicError
			require.ErrorAs(t, m.LastFailure, &pe)
			assert.Equal(t, r, pe.Value)
			clk.Add(hostileOpenTimeout)
			assertProbeSlotFree(t, b)
			assertConserved(t, b, 2)
		})
	}
}

func TestHostileNilFuncAndContext(t *testing.T) {
	fallbackCalled := false
	b, clk := newHostileBreaker(t, circuit.WithFallback(func(context.Context, error) (int, error) {
		fallbackCalled = true
		return 0, nil
	}))
	tripToHalfOpen(t, b, clk)
	var nilCtx context.Context
	for i := 0; i < 3; i++ { // more calls than probe slots
		_, err := b.Execute(context.Background(), nil)
		require.ErrorIs(t, err, circuit.ErrNilFunc)
		_, err = b.Execute(nilCtx, okFn)
		require.ErrorIs(t, err, circuit.ErrNilContext)
	}
	assert.False(t, fallbackCalled, "the fallback got the caller's own mistake")
	assertConserved(t, b, 0)
	assertProbeSlotFree(t, b)
}

func TestHostileFnGoexit(t *testing.T) {
	t.Run("half-open", func(t *testing.T) {
		b, clk := newHostileBreaker(t)
		tripToHalfOpen(t, b, clk)
		require.False(t, returnsNormally(func() {
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
				runtime.Goexit()
				return 0, nil
			})
		}))
		// Neither a success nor a failure, and the slot is free again
		// without waiting for the probe timeout.
		m := b.Metrics()
		assert.Equal(t, uint64(1), m.Ignored)
		assert.Equal(t, circuit.HalfOpen, m.State)
		assertProbeSlotFree(t, b)
		assertConserved(t, b, 2)
	})
	t.Run("closed", func(t *testing.T) {
		b, _ := newHostileBreaker(t)
		require.False(t, returnsNormally(func() {
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
				runtime.Goexit()
				return 0, nil
			})
		}))
		m := b.Metrics()
		assert.Equal(t, uint64(1), m.Ignored)
		assert.Equal(t, 0, m.WindowRequests)
		assert.Equal(t, circuit.Closed, m.State)
		assertConserved(t, b, 1)
	})
}

// TestHostileClassifierPanics: the classifier (WithIsFailure) is user code
// too. A panic in it should be booked like a panic in fn (a failure, the
// panic re-raised) so that the call is counted and a probe slot is freed.
//
// Found by this suite (fixed in a9335b7): the classifier ran after fn
// returned and outside run's panic handling, so a panic there skipped
// record: the call was booked nowhere and a probe kept its slot until
// OpenTimeout passed (then half-open -> open with ReasonProbeTimeout).
func TestHostileClassifierPanics(t *testing.T) {
	classify := circuit.WithClassifier(func(_ int, err error) circuit.Outcome {
		if errors.Is(err, errBenign) {
			panic("classifier exploded")
		}
		return circuit.Failure
	})
	t.Run("Execute", func(t *testing.T) {
		b, clk := newHostileBreaker(t, classify)
		tripToHalfOpen(t, b, clk)
		r := catchPanic(func() {
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBenign })
		})
		require.Equal(t, "classifier exploded", r)
		assertConserved(t, b, 1)
		assert.Equal(t, circuit.Open, b.State(), "the probe whose classification panicked should count as failed")
	})
	t.Run("Allow", func(t *testing.T) {
		b, clk := newHostileBreaker(t, classify)
		tripToHalfOpen(t, b, clk)
		permit, err := b.Allow()
		require.NoError(t, err)
		r := catchPanic(func() { permit.Done(0, errBenign) })
		require.Equal(t, "classifier exploded", r)
		assertConserved(t, b, 1)
		assert.Equal(t, circuit.Open, b.State(), "the probe whose classification panicked should count as failed")
	})
}

// TestHostileHungProbe: a probe whose fn hangs (no deadline) cannot wedge
// half-open. OpenTimeout after its admission it counts as failed, the
// breaker reopens, and one OpenTimeout later a fresh probe is admitted;
// when the hung call finally succeeds, its stale outcome is booked but
// decides nothing.
func TestHostileHungProbe(t *testing.T) {
	var mu sync.Mutex
	var reasons []circuit.Reason
	b, clk := newHostileBreaker(t, circuit.WithOnStateChange(func(tr circuit.Transition) {
		mu.Lock()
		reasons = append(reasons, tr.Reason)
		mu.Unlock()
	}))
	last := func() circuit.Reason {
		mu.Lock()
		defer mu.Unlock()
		return reasons[len(reasons)-1]
	}
	tripToHalfOpen(t, b, clk)

	entered, release, finished := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
			close(entered)
			<-release
			return 1, nil
		})
		finished <- err
	}()
	<-entered
	// The hung probe holds the only slot.
	_, err := b.Execute(context.Background(), okFn)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, circuit.HalfOpen, oe.State)

	clk.Add(hostileOpenTimeout)
	m := b.Metrics()
	require.Equal(t, circuit.Open, m.State, "the hung probe did not time out")
	require.Equal(t, circuit.ReasonProbeTimeout, last())

	clk.Add(hostileOpenTimeout)
	_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errFail })
	require.ErrorIs(t, err, errFail, "no fresh probe admitted one OpenTimeout after the timeout")
	require.Equal(t, circuit.Open, b.State())
	require.Equal(t, circuit.ReasonProbeFailed, last())

	// The hung call's late success is stale: it must not close the breaker.
	close(release)
	require.NoError(t, <-finished)
	m = b.Metrics()
	assert.Equal(t, circuit.Open, m.State)
	assert.Equal(t, uint64(1), m.Successes)
	assertConserved(t, b, 3)
}

func TestPanickingHookIsRecoveredAndLogged(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	mc := newStepClock()
	var after []circuit.Transition
	b, err := circuit.New[int](circuit.WithClock(mc), circuit.WithConsecutiveFailures(1), circuit.WithLogger(logger),
		circuit.WithOnStateChange(func(circuit.Transition) { panic("hook bug") }),
		circuit.WithOnStateChange(func(tr circuit.Transition) { after = append(after, tr) }))
	require.NoError(t, err)
	_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
	require.ErrorIs(t, err, errBoom, "the caller is not hit by the hook's panic")
	assert.Len(t, after, 1, "hooks after the panicking one still run")
	assert.Contains(t, buf.String(), "hook panicked")
	assert.Contains(t, buf.String(), "hook bug")
	b.Reset()
	assert.Len(t, after, 2, "delivery goes on afterwards")
}

type panicHandler struct{ slog.Handler }

func (panicHandler) Handle(context.Context, slog.Record) error { panic("handler bug") }

func TestPanickingLogHandlerDoesNotEscape(t *testing.T) {
	logger := slog.New(panicHandler{slog.NewTextHandler(&bytes.Buffer{}, nil)})
	b, err := circuit.New[int](circuit.WithConsecutiveFailures(1), circuit.WithLogger(logger))
	require.NoError(t, err)
	assert.NotPanics(t, func() {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
	})
	assert.Equal(t, circuit.Open, b.State())
}

// Pins a finding of the outside reliability review (round two): fails before its fix.
//
// A hook that calls runtime.Goexit while the goroutine it runs on is being
// admitted as the probe must not take the probe slot or the call with it:
// the call is booked (as Ignored, since it never ran), and the next probe
// is admitted at once. Before the fix the slot was claimed before the hooks
// ran, so it was lost until the probe deadline reopened the breaker.
func TestGoexitHookDuringProbeAdmission(t *testing.T) {
	for _, api := range []string{"Execute", "Allow"} {
		t.Run(api, func(t *testing.T) {
			var exitOnce sync.Once
			b, clk := newHostileBreaker(t, circuit.WithOnStateChange(func(tr circuit.Transition) {
				if tr.To == circuit.HalfOpen {
					exitOnce.Do(runtime.Goexit)
				}
			}))
			b.Trip(circuit.ReasonManual)
			clk.Add(hostileOpenTimeout) // nobody has looked: the first caller observes open -> half-open
			called := false
			returned := returnsNormally(func() {
				if api == "Execute" {
					_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { called = true; return 1, nil })
					return
				}
				p, err := b.Allow()
				if err == nil {
					p.Done(1, nil)
				}
			})
			require.False(t, returned, "the hook ended the goroutine")
			assert.False(t, called)
			assertConserved(t, b, 1)
			assert.Equal(t, uint64(1), b.Metrics().Ignored, "the call that never ran is booked as ignored")
			assert.Zero(t, b.Metrics().InFlight)
			assertProbeSlotFree(t, b) // admitted at once, and it closes the breaker
			assertConserved(t, b, 2)
		})
	}
}
