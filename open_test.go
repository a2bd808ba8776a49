package circuit_test

// The open period: the rejection it returns, its length, backoff and jitter.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestOpenRejectsWithOpenError(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second))
	opened := h.clock.Now()
	h.fail()
	called := false
	_, err := h.b.Execute(context.Background(), func(context.Context) (int, error) { called = true; return 0, nil })
	assert.False(t, called, "fn must not run while open")
	require.ErrorIs(t, err, circuit.ErrOpen)
	assert.NotErrorIs(t, err, errBoom, "the cause must not leak through errors.Is")
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "dep", oe.Name)
	assert.Equal(t, circuit.Open, oe.State)
	assert.True(t, oe.RetryAt.Equal(opened.Add(10*time.Second)), "RetryAt %v", oe.RetryAt)
	assert.Equal(t, errBoom, oe.Cause)
	assert.Equal(t, `circuit: breaker "dep" is open`, err.Error())

	// The same error value serves every rejection of the period.
	h.clock.Add(time.Second)
	_, err2 := h.call(0, nil)
	assert.Same(t, oe, err2)
	assert.Equal(t, uint64(2), h.b.Metrics().Rejections)
}

// Each reopening from half-open multiplies the open period by OpenBackoff,
// up to OpenTimeoutMax; closing starts again from OpenTimeout.
func TestOpenBackoff(t *testing.T) {
	steps := []step{{do: doFail, state: circuit.Open}}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		steps = append(steps,
			step{do: doOK, rejected: true, state: circuit.Open, check: func(t *testing.T, h *harness, err error) {
				tr := h.last()
				require.Equal(t, circuit.Open, tr.To, "period %d", i)
				assert.Equal(t, want, tr.RetryAt.Sub(tr.At), "period %d", i)
				var oe *circuit.OpenError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tr.RetryAt, oe.RetryAt, "the rejection says the same")
				assert.Equal(t, want, oe.RetryAfter(h.clock.Now()))
			}},
			step{wait: want, do: doFail, state: circuit.Open, reason: circuit.ReasonProbeFailed}, // the probe fails: reopen
		)
	}
	steps = append(steps,
		step{wait: 5 * time.Second, do: doOK, state: circuit.Closed}, // the probe succeeds: closed
		step{do: doFail, state: circuit.Open, check: func(t *testing.T, h *harness, _ error) {
			assert.Equal(t, time.Second, h.last().RetryAt.Sub(h.last().At), "closing resets the backoff")
		}},
	)
	runSteps(t, steps, circuit.WithOpenTimeout(time.Second), circuit.WithOpenBackoff(2),
		circuit.WithOpenTimeoutMax(5*time.Second), circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(1))
}

// Jitter spreads the open period over ±OpenJitter.
func TestOpenJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		h := newHarness(t, circuit.WithOpenTimeout(10*time.Second), circuit.WithOpenJitter(0.2))
		h.b.Trip(circuit.ReasonManual)
		d := h.last().RetryAt.Sub(h.last().At)
		require.GreaterOrEqual(t, d, 8*time.Second)
		require.LessOrEqual(t, d, 12*time.Second)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 40, "50 breakers that opened together should not probe in lockstep")
}
