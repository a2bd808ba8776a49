package circuit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestProbeGateDecidesHalfOpenAdmission(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithProbeTimeout(5*time.Second), circuit.WithHalfOpenMaxProbes(2), circuit.WithSuccessThreshold(1))
	allow, asked := false, 0
	h.b.SetProbeGate(func() bool { asked++; return allow })

	h.ok()
	assert.Zero(t, asked, "a closed breaker never asks the gate")
	h.toHalfOpen(time.Second)
	_, err := h.call(0, nil)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, circuit.HalfOpen, oe.State)
	assert.Equal(t, h.clock.Now().Add(5*time.Second), oe.RetryAt, "retry when the fleet's probe has reported or timed out")
	assert.Equal(t, 1, asked)
	assert.Equal(t, circuit.HalfOpen, h.b.State())

	allow = true
	h.ok() // the probe
	assert.Equal(t, circuit.Closed, h.b.State())
	assert.Equal(t, circuit.ReasonProbesSucceeded, h.last().Reason)

	h.b.SetProbeGate(func() bool { panic("gate bug") })
	h.toHalfOpen(time.Second)
	_, err = h.call(0, nil)
	assert.ErrorIs(t, err, circuit.ErrOpen, "a panicking gate reads as no")

	h.b.SetProbeGate(nil)
	h.ok()
	assert.Equal(t, circuit.Closed, h.b.State(), "without a gate the breaker probes alone")
}

func TestCloseEndsAnOutage(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Minute), circuit.WithRampDuration(10*time.Second))
	assert.False(t, h.b.Close(circuit.ReasonFleet), "closed already")

	h.b.Trip(circuit.ReasonManual)
	require.True(t, h.b.Close(circuit.ReasonFleet))
	tr := h.last()
	assert.Equal(t, circuit.Open, tr.From)
	assert.Equal(t, circuit.Closed, tr.To)
	assert.Equal(t, circuit.ReasonFleet, tr.Reason)
	assert.Less(t, h.b.Metrics().RampShare, 1.0, "a fleet recovery ramps like a local one")

	h.toHalfOpen(time.Minute)
	assert.True(t, h.b.Close(circuit.ReasonFleet))

	h.b.ForceOpen()
	assert.False(t, h.b.Close(circuit.ReasonFleet), "an operator's hold wins")
	assert.Equal(t, circuit.ForcedOpen, h.b.State())
	h.b.Disable()
	assert.False(t, h.b.Close(circuit.ReasonFleet))
}

func TestProbeGateRejectionAllocatesNothing(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithProbeTimeout(time.Minute))
	h.b.SetProbeGate(func() bool { return false })
	h.toHalfOpen(time.Second)
	_, first := h.call(0, nil)
	require.ErrorIs(t, first, circuit.ErrOpen)
	fn := func(context.Context) (int, error) { return 1, nil }
	allocs := testing.AllocsPerRun(100, func() {
		_, err := h.b.Execute(context.Background(), fn)
		if err != first {
			t.Fatalf("got %v, want the same rejection until its RetryAt", err)
		}
	})
	assert.Zero(t, allocs, "a fleet waiting on another replica's probe rejects without allocating")
	h.clock.Add(time.Minute)
	_, err := h.call(0, nil)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, h.clock.Now().Add(time.Minute), oe.RetryAt, "a new RetryAt once the old one has passed")
}
