package circuit_test

// Metrics snapshots: lifetime totals, the last transition, latency sums.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestMetricsLifetimeConservation(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(time.Second))
	calls := 0
	for i := 0; i < 50; i++ {
		calls++
		switch i % 5 {
		case 0, 1:
			_, _ = h.call(0, nil)
		case 2, 3:
			_, _ = h.call(0, errBoom)
		case 4:
			_, _ = h.call(0, context.Canceled)
			h.clock.Add(500 * time.Millisecond)
		}
	}
	m := h.b.Metrics()
	assert.Equal(t, uint64(calls), m.Successes+m.Failures+m.Rejections+m.Ignored)
	assert.NotZero(t, m.Rejections)
}

// Metrics says when and why the last transition happened, and what is in
// flight.
func TestMetricsLastTransitionAndInFlight(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1))
	m := h.b.Metrics()
	assert.Equal(t, circuit.ReasonNone, m.LastReason)
	assert.True(t, m.LastTransitionAt.IsZero())
	p, err := h.b.Allow()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), h.b.Metrics().InFlight)
	h.clock.Add(time.Second)
	p.Done(0, errBoom)
	m = h.b.Metrics()
	assert.Zero(t, m.InFlight)
	assert.Equal(t, circuit.ReasonConsecutiveFailures, m.LastReason)
	assert.Equal(t, h.clock.Now(), m.LastTransitionAt)
	text, err := json.Marshal(m.LastReason)
	require.NoError(t, err)
	assert.Equal(t, `"consecutive-failures"`, string(text))
}

// Pins a finding of the outside reliability review (round two): fails before its fix.
//
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
