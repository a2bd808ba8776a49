package circuit_test

// This file holds the one harness the root tests share: stepClock, a clock
// that moves only when the test says so, and harness, a breaker on such a
// clock that records every transition it delivers. The model runner
// (sequence, in model_test.go), the step tables, the hostile and stress
// tests and the benchmarks all build on these two.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// errBoom is the failure a harness call returns.
var errBoom = errors.New("boom")

// stepClock is a clock whose time moves only when the test says so, by an
// atomic offset from a fixed base. clock.Mock would do the same, but its Add
// sleeps a millisecond each time, which would cap the number of sequences a
// CI run can afford. Timers and contexts come from the embedded Mock, which
// is never advanced: a CallTimeout never fires on this clock (a test that
// needs one to fire uses newHarnessOn with a clock.Mock).
type stepClock struct {
	*clock.Mock
	base time.Time
	off  atomic.Int64
}

func newStepClock() *stepClock {
	return &stepClock{Mock: clock.NewMock(), base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *stepClock) Now() time.Time                  { return c.base.Add(time.Duration(c.off.Load())) }
func (c *stepClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *stepClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }
func (c *stepClock) Add(d time.Duration)             { c.off.Add(int64(d)) }
func (c *stepClock) Set(t time.Time)                 { c.off.Store(int64(t.Sub(c.base))) }
func (c *stepClock) elapsed() time.Duration          { return time.Duration(c.off.Load()) }

// testClock is what a harness needs of its clock: a circuit.Clock the test
// can move. Both *stepClock and *clock.Mock are one.
type testClock interface {
	circuit.Clock
	Add(d time.Duration)
	Set(t time.Time)
}

// harness is a breaker under test that records its transitions.
type harness struct {
	t     *testing.T
	b     *circuit.Breaker[int]
	clock testClock
	mu    sync.Mutex           // guards trans: a hook may run on any goroutine
	trans []circuit.Transition // delivered to the hook, in order
}

// newHarness builds a breaker on a step clock with a quiet base config
// (only what a test turns on can trip it) followed by opts.
func newHarness(t *testing.T, opts ...circuit.Option) *harness {
	t.Helper()
	return newHarnessOn(t, newStepClock(), opts...)
}

// newHarnessOn is newHarness on clk: a test passes a clock.Mock when it
// needs timers that fire (CallTimeout contexts).
func newHarnessOn(t *testing.T, clk testClock, opts ...circuit.Option) *harness {
	t.Helper()
	h := &harness{t: t, clock: clk}
	base := []circuit.Option{
		circuit.WithName("dep"),
		circuit.WithClock(h.clock),
		circuit.WithConsecutiveFailures(0),
		circuit.WithErrorRateThreshold(0),
		circuit.WithLatencyThreshold(0),
		circuit.WithMinRequests(0),
		circuit.WithOnStateChange(func(tr circuit.Transition) {
			h.mu.Lock()
			h.trans = append(h.trans, tr)
			h.mu.Unlock()
		}),
	}
	b, err := circuit.New[int](append(base, opts...)...)
	require.NoError(t, err)
	h.b = b
	return h
}

// transitions returns a copy of the transitions delivered so far.
func (h *harness) transitions() []circuit.Transition {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]circuit.Transition(nil), h.trans...)
}

// last returns the last transition delivered, failing the test if none was.
func (h *harness) last() circuit.Transition {
	h.t.Helper()
	tr := h.transitions()
	require.NotEmpty(h.t, tr, "no transition recorded")
	return tr[len(tr)-1]
}

// call runs one Execute whose fn takes lat (on the harness clock) and
// returns (1, nil), or (0, err) if err is not nil.
func (h *harness) call(lat time.Duration, err error) (int, error) {
	return h.b.Execute(context.Background(), func(context.Context) (int, error) {
		if lat > 0 {
			h.clock.Add(lat)
		}
		if err != nil {
			return 0, err
		}
		return 1, nil
	})
}

// ok makes one instant successful call, which must be admitted.
func (h *harness) ok() {
	h.t.Helper()
	_, err := h.call(0, nil)
	require.NoError(h.t, err)
}

// fail makes one instant failing call, which must be admitted.
func (h *harness) fail() {
	h.t.Helper()
	_, err := h.call(0, errBoom)
	require.ErrorIs(h.t, err, errBoom)
}

// toHalfOpen trips h's breaker and waits out timeout, its open timeout, so
// that it is half-open.
func (h *harness) toHalfOpen(timeout time.Duration) {
	h.t.Helper()
	h.b.Trip(circuit.ReasonManual)
	h.clock.Add(timeout)
	require.Equal(h.t, circuit.HalfOpen, h.b.State())
}
