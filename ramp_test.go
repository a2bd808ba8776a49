package circuit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// After recovering, the breaker lets traffic back in gradually: a share
// that grows linearly from RampStart to all calls over RampDuration. Which
// calls pass is deterministic.
func TestRampAfterRecovery(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithSuccessThreshold(1),
		circuit.WithRampDuration(10*time.Second), circuit.WithRampStart(0.2), circuit.WithConsecutiveFailures(3))
	h.toHalfOpen(time.Second)
	h.ok() // the probe closes it: the ramp begins
	require.Equal(t, circuit.Closed, h.b.State())
	assert.Equal(t, circuit.ReasonProbesSucceeded, h.last().Reason)

	steps := []struct {
		at    time.Duration // since the close
		share float64
		pass  int // of 10 calls at that instant, cumulative share kept
	}{
		{0, 0.2, 2},
		{5 * time.Second, 0.6, 10},  // 12 of 20 so far: all ten pass
		{8 * time.Second, 0.84, 10}, // 22 of 30 < 0.84*30: all pass
		{10 * time.Second, 1, 10},   // the ramp is over
	}
	start := h.clock.Now()
	for _, st := range steps {
		h.clock.Set(start.Add(st.at))
		assert.InDelta(t, st.share, h.b.Metrics().RampShare, 1e-9, "at %v", st.at)
		passed := 0
		for i := 0; i < 10; i++ {
			_, err := h.call(0, nil)
			if err == nil {
				passed++
				continue
			}
			var oe *circuit.OpenError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, circuit.Closed, oe.State)
			assert.Equal(t, circuit.ReasonRamp, oe.Reason)
			assert.Equal(t, start.Add(10*time.Second), oe.RetryAt, "the ramp's end")
			assert.Contains(t, err.Error(), "ramping")
		}
		assert.Equal(t, st.pass, passed, "at %v", st.at)
	}
	m := h.b.Metrics()
	assert.Equal(t, uint64(8), m.Rejections)
	assert.Equal(t, 1.0, m.RampShare)
	assert.Equal(t, circuit.Closed, m.State, "a ramp is not a state")
}

// A failure criterion that holds during the ramp reopens the breaker as
// usual; Reset closes without a ramp.
func TestRampReopensAndReset(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithSuccessThreshold(1),
		circuit.WithRampDuration(time.Minute), circuit.WithRampStart(0.5), circuit.WithConsecutiveFailures(2))
	h.toHalfOpen(time.Second)
	h.ok()
	failed := 0
	for failed < 2 {
		if _, err := h.call(0, errBoom); err == errBoom {
			failed++
		}
	}
	assert.Equal(t, circuit.Open, h.b.State())
	assert.Equal(t, circuit.ReasonConsecutiveFailures, h.last().Reason)

	h.b.Reset()
	for i := 0; i < 5; i++ {
		_, err := h.b.Execute(context.Background(), okFn)
		require.NoError(t, err, "no ramp after Reset")
	}
	assert.Equal(t, 1.0, h.b.Metrics().RampShare)
}
