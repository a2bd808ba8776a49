package circuit_test

// Transition hooks and the logger: delivery order, re-entrancy, slow hooks.

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestHooksMayCallBackIntoTheBreaker(t *testing.T) {
	mc := newStepClock()
	var b *circuit.Breaker[int]
	var seen []string
	hook := func(tr circuit.Transition) {
		seen = append(seen, tr.From.String()+">"+tr.To.String())
		// Re-entrant calls, including one that causes a transition.
		_ = b.Metrics()
		_ = b.State()
		if tr.To == circuit.Open && tr.Reason == circuit.ReasonConsecutiveFailures {
			b.Reset()
			assert.Len(t, seen, 1, "the transition the hook caused is delivered after it returns")
		}
	}
	var err error
	b, err = circuit.New[int](circuit.WithClock(mc), circuit.WithConsecutiveFailures(1), circuit.WithOnStateChange(hook))
	require.NoError(t, err)
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
	assert.Equal(t, []string{"closed>open", "open>closed"}, seen, "delivered in order before Execute returned")
	assert.Equal(t, circuit.Closed, b.State())
}

func TestLoggerLogsEachTransitionOnce(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, circuit.WithLogger(logger), circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(time.Second))
	h.ok()
	h.fail()
	assert.Empty(t, buf.String(), "nothing logged on the call path")
	h.fail()
	h.clock.Add(time.Second)
	_ = h.b.State()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "level=WARN")
	for _, want := range []string{"name=dep", "from=closed", "to=open", "reason=consecutive-failures", "consecutive_failures=2", "error_rate=", "p95_latency=", "last_failure=boom"} {
		assert.Contains(t, lines[0], want)
	}
	assert.Contains(t, lines[1], "level=INFO")
	assert.Contains(t, lines[1], "to=half-open")
}

func TestSubscribe(t *testing.T) {
	h := newHarness(t)
	var got []circuit.Reason
	unsubscribe := h.b.Subscribe(func(tr circuit.Transition) { got = append(got, tr.Reason) })
	h.b.Trip(circuit.ReasonManual)
	unsubscribe()
	unsubscribe() // idempotent
	h.b.Reset()
	assert.Equal(t, []circuit.Reason{circuit.ReasonManual}, got)
	assert.Len(t, h.transitions(), 2, "the option hook still gets both")
	h.b.Subscribe(nil)() // a nil hook is ignored
}

func TestSlowHookIsNotChargedToTheProbe(t *testing.T) {
	// The first probe's admission observes open -> half-open and delivers
	// that transition to a hook that takes 200ms. The probe itself is
	// instant: it must close the breaker, not reopen it as slow.
	mc := newStepClock()
	var reasons []circuit.Reason
	b, err := circuit.New[int](circuit.WithClock(mc), circuit.WithConsecutiveFailures(1),
		circuit.WithLatencyThreshold(100*time.Millisecond), circuit.WithOpenTimeout(time.Second),
		circuit.WithSuccessThreshold(1),
		circuit.WithOnStateChange(func(tr circuit.Transition) {
			reasons = append(reasons, tr.Reason)
			if tr.To == circuit.HalfOpen {
				mc.Add(200 * time.Millisecond)
			}
		}))
	require.NoError(t, err)
	b.Trip(circuit.ReasonManual)
	mc.Add(time.Second)
	_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err)
	assert.Equal(t, []circuit.Reason{circuit.ReasonManual, circuit.ReasonTimeoutElapsed, circuit.ReasonProbesSucceeded}, reasons)
	assert.Equal(t, circuit.Closed, b.State())
}

func TestSlowHookDoesNotEatTheProbeDeadline(t *testing.T) {
	mc := newStepClock()
	var b *circuit.Breaker[int]
	b, err := circuit.New[int](circuit.WithClock(mc), circuit.WithOpenTimeout(time.Second),
		circuit.WithOnStateChange(func(tr circuit.Transition) {
			if tr.To == circuit.HalfOpen {
				mc.Add(900 * time.Millisecond)
			}
		}))
	require.NoError(t, err)
	b.Trip(circuit.ReasonManual)
	mc.Add(time.Second)
	permit, err := b.Allow() // delivers the slow hook, then admits
	require.NoError(t, err)
	mc.Add(500 * time.Millisecond) // 1.4s after the slot was taken, 0.5s after the hook
	assert.Equal(t, circuit.HalfOpen, b.State(), "the probe's deadline runs from after the hooks")
	permit.Done(0, nil)
	assert.Equal(t, 1, b.Metrics().ConsecutiveSuccesses)
}

// Pins a finding of the outside reliability review (round two): fails before its fix.
//
// A hook slower than the probe deadline, while another goroutine looks at
// the breaker, must not time out the probe whose admission delivered it.
// Before the fix the probe's slot (and deadline) was taken before the hooks
// ran, so a State() during a slow hook timed the probe out, and the
// instant, successful probe was discarded as stale.
func TestSlowHookDoesNotEatTheProbeDeadlineWhileWatched(t *testing.T) {
	var b *circuit.Breaker[int]
	var clk *stepClock
	slow := circuit.WithOnStateChange(func(tr circuit.Transition) {
		if tr.To != circuit.HalfOpen {
			return
		}
		clk.Add(3 * hostileOpenTimeout) // the hook takes three probe deadlines
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); b.State() }() // someone looks meanwhile
		wg.Wait()
	})
	b, clk = newHostileBreaker(t, slow)
	b.Trip(circuit.ReasonManual)
	clk.Add(hostileOpenTimeout)
	_, err := b.Execute(context.Background(), okFn)
	require.NoError(t, err)
	m := b.Metrics()
	assert.Equal(t, circuit.Closed, m.State, "the successful probe closed the breaker")
	assert.Zero(t, m.TransitionCounts[circuit.HalfOpen][circuit.Open], "no probe timed out")
}
