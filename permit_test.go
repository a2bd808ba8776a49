package circuit_test

// Allow and its Permit: the two-step form of a call.

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestAllowRecordsLikeExecute(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(2), circuit.WithLatencyThreshold(time.Hour))
	permit, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(250 * time.Millisecond)
	permit.Done(0, errBoom)
	permit.Done(0, errBoom) // ignored
	permit.Done(0, nil)     // ignored
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Failures)
	assert.Zero(t, m.Successes)
	assert.Equal(t, 250*time.Millisecond, m.AvgLatency, "latency runs from Allow to done")
	assert.Equal(t, 1, m.ConsecutiveFailures)

	permit, err = h.b.Allow()
	require.NoError(t, err)
	permit.Done(0, errBoom)
	assert.Equal(t, circuit.Open, h.b.State())
	rejected, err := h.b.Allow()
	require.ErrorIs(t, err, circuit.ErrOpen)
	require.NotNil(t, rejected, "a rejected Allow still returns a callable done")
	rejected.Done(0, nil)
	assert.Equal(t, uint64(1), h.b.Metrics().Rejections)
}

func TestAllowDoneFromManyGoroutinesCountsOnce(t *testing.T) {
	h := newHarness(t)
	const calls = 200 // more than one flag chunk
	var wg sync.WaitGroup
	for i := 0; i < calls; i++ {
		permit, err := h.b.Allow()
		require.NoError(t, err)
		for j := 0; j < 3; j++ {
			wg.Add(1)
			go func() { defer wg.Done(); permit.Done(0, nil) }()
		}
	}
	wg.Wait()
	assert.Equal(t, uint64(calls), h.b.Metrics().Successes)
}

// Done counts once per admission, on the Permit and on every copy, even
// after its record has been reused by another call.
func TestPermitDoneCountsOnce(t *testing.T) {
	h := newHarness(t)
	p1, err := h.b.Allow()
	require.NoError(t, err)
	copy1 := p1
	p1.Done(0, nil)
	p2, err := h.b.Allow() // may reuse p1's record
	require.NoError(t, err)
	copy1.Done(0, errBoom)
	p1.Done(0, errBoom)
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Successes)
	assert.Zero(t, m.Failures)
	assert.Equal(t, uint64(1), m.InFlight, "p2 is still out")
	p2.Done(0, errBoom)
	m = h.b.Metrics()
	assert.Equal(t, uint64(1), m.Failures)
	assert.Zero(t, m.InFlight)
	var zero circuit.Permit[int]
	zero.Done(0, errBoom) // does nothing
	assert.Equal(t, uint64(1), h.b.Metrics().Failures)
}
