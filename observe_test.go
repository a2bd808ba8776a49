package circuit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestObserveSeesEveryCall(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(time.Minute))
	var got []circuit.Observation
	remove := h.b.Observe(func(o circuit.Observation) {
		// Outside the lock: the breaker may be called from here.
		_ = h.b.State()
		got = append(got, o)
	})
	start := h.clock.Now()
	h.call(30*time.Millisecond, nil)
	h.fail()
	h.fail() // opens
	_, err := h.call(0, nil)
	require.ErrorIs(t, err, circuit.ErrOpen)
	p, err := h.b.Allow()
	require.ErrorIs(t, err, circuit.ErrOpen, "Allow is observed too")
	p.Done(0, nil)

	require.Len(t, got, 5)
	assert.Equal(t, circuit.Success, got[0].Outcome)
	assert.Equal(t, start, got[0].Start)
	assert.Equal(t, 30*time.Millisecond, got[0].Latency())
	assert.Nil(t, got[0].Err)
	assert.Equal(t, circuit.Failure, got[1].Outcome)
	assert.ErrorIs(t, got[1].Err, errBoom)
	assert.False(t, got[2].Rejected)
	for _, o := range got[3:] {
		assert.True(t, o.Rejected)
		assert.Equal(t, circuit.Ignored, o.Outcome)
		assert.ErrorIs(t, o.Err, circuit.ErrOpen)
		assert.Equal(t, o.Start, o.End)
	}

	remove()
	remove() // twice is harmless
	h.b.Reset()
	h.ok()
	assert.Len(t, got, 5, "a removed observer hears nothing")
}

func TestObserverPanicIsContained(t *testing.T) {
	h := newHarness(t)
	var after int
	h.b.Observe(func(circuit.Observation) { panic("observer bug") })
	h.b.Observe(func(circuit.Observation) { after++ })
	v, err := h.call(0, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	assert.Equal(t, 1, after, "the next observer still runs")
	assert.Equal(t, uint64(1), h.b.Metrics().Successes)
}

func TestObserveSeesPanickingCall(t *testing.T) {
	h := newHarness(t)
	var got []circuit.Observation
	h.b.Observe(func(o circuit.Observation) { got = append(got, o) })
	assert.Panics(t, func() {
		_, _ = h.b.Execute(context.Background(), func(context.Context) (int, error) { panic("fn") })
	})
	require.Len(t, got, 1)
	var pe *circuit.PanicError
	assert.ErrorAs(t, got[0].Err, &pe)
}

func TestObserveAllocatesNothing(t *testing.T) {
	h := newHarness(t)
	n := 0
	h.b.Observe(func(circuit.Observation) { n++ })
	fn := func(context.Context) (int, error) { return 1, nil }
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = h.b.Execute(context.Background(), fn)
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 101, n)
}
