package circuit_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// Regressions for the outside review's findings (reliability, round two).
// Each test fails on the code before the fix.

// A hook that calls runtime.Goexit while the goroutine it runs on is being
// admitted as the probe must not take the probe slot or the call with it:
// the call is booked (as Ignored, since it never ran), and the next probe
// is admitted at once. Before the fix the slot was claimed before the hooks
// ran, so it was lost until the probe deadline reopened the breaker.
func TestGoexitHookDuringProbeAdmission(t *testing.T) {
	for _, api := range []string{"Execute", "Allow"} {
		t.Run(api, func(t *testing.T) {
			var exitOnce sync.Once
			b, clk := relHostileBreaker(t, circuit.WithOnStateChange(func(tr circuit.Transition) {
				if tr.To == circuit.HalfOpen {
					exitOnce.Do(runtime.Goexit)
				}
			}))
			b.Trip(circuit.ReasonManual)
			clk.Add(relHostileTimeout) // nobody has looked: the first caller observes open -> half-open
			called := false
			returned := relGoexit(func() {
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
			relConserved(t, b, 1)
			assert.Equal(t, uint64(1), b.Metrics().Ignored, "the call that never ran is booked as ignored")
			assert.Zero(t, b.Metrics().InFlight)
			relAssertProbeSlotFree(t, b) // admitted at once, and it closes the breaker
			relConserved(t, b, 2)
		})
	}
}

// A hook slower than the probe deadline, while another goroutine looks at
// the breaker, must not time out the probe whose admission delivered it.
// Before the fix the probe's slot (and deadline) was taken before the hooks
// ran, so a State() during a slow hook timed the probe out, and the
// instant, successful probe was discarded as stale.
func TestSlowHookDoesNotEatTheProbeDeadlineWhileWatched(t *testing.T) {
	var b *circuit.Breaker[int]
	var clk *relStepClock
	slow := circuit.WithOnStateChange(func(tr circuit.Transition) {
		if tr.To != circuit.HalfOpen {
			return
		}
		clk.Add(3 * relHostileTimeout) // the hook takes three probe deadlines
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); b.State() }() // someone looks meanwhile
		wg.Wait()
	})
	b, clk = relHostileBreaker(t, slow)
	b.Trip(circuit.ReasonManual)
	clk.Add(relHostileTimeout)
	_, err := b.Execute(context.Background(), relOK)
	require.NoError(t, err)
	m := b.Metrics()
	assert.Equal(t, circuit.Closed, m.State, "the successful probe closed the breaker")
	assert.Zero(t, m.TransitionCounts[circuit.HalfOpen][circuit.Open], "no probe timed out")
}

// Two overlapping calls that each take 150 years (a mock clock can) must
// not overflow the window's latency sum.
func TestLatencySumDoesNotOverflow(t *testing.T) {
	h := newHarness(t)
	p1, err := h.b.Allow()
	require.NoError(t, err)
	p2, err := h.b.Allow()
	require.NoError(t, err)
	long := 150 * 365 * 24 * time.Hour
	h.clock.Add(long)
	p1.Done(0, nil)
	p2.Done(0, nil)
	m := h.b.Metrics()
	assert.Equal(t, long, m.AvgLatency)
	assert.InEpsilon(t, float64(long), float64(m.P95Latency), 1.0/64)
}

// A dropped open breaker on the real clock must not keep its last failure
// alive until its open period ends. Before the fix, the pending timer of
// each open period held the period, its *OpenError and the Cause.
func TestDroppedOpenBreakerIsNotRetained(t *testing.T) {
	const n = 100
	collected := make(chan struct{}, n)
	func() {
		for i := 0; i < n; i++ {
			b, err := circuit.New[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(circuit.MaxOpenTimeout))
			require.NoError(t, err)
			cause := &bigError{payload: make([]byte, 10<<10)}
			runtime.SetFinalizer(cause, func(*bigError) { collected <- struct{}{} })
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, cause })
			require.Equal(t, circuit.Open, b.State())
		}
	}()
	deadline := time.After(10 * time.Second) // a bound for failing, not a wait for passing
	for got := 0; got < n; {
		runtime.GC()
		select {
		case <-collected:
			got++
		case <-deadline:
			t.Fatalf("only %d of %d causes of dropped open breakers were collected", got, n)
		default:
			runtime.Gosched()
		}
	}
}

type bigError struct{ payload []byte }

func (e *bigError) Error() string { return fmt.Sprintf("big error (%d bytes)", len(e.payload)) }
