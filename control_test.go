package circuit_test

// The manual controls: Trip, EndOpen, Reset, ForceOpen and Disable.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestTripForceHalfOpenAndReset(t *testing.T) {
	var n int
	h := runSteps(t, []step{
		{do: doTrip, state: circuit.Open, reason: circuit.ReasonManual, check: func(_ *testing.T, h *harness, _ error) {
			n = len(h.transitions())
		}},
		{do: doTrip, noop: true, state: circuit.Open, check: func(t *testing.T, h *harness, _ error) {
			assert.Len(t, h.transitions(), n, "tripping an open breaker does nothing")
		}},
		{do: doEndOpen, state: circuit.HalfOpen, reason: circuit.ReasonHealthRecovered},
		{do: doEndOpen, noop: true, state: circuit.HalfOpen}, // only an open breaker moves
		{do: doTripHealth, state: circuit.Open, reason: circuit.ReasonHealthCheck},
		{do: doTripHealth, noop: true, state: circuit.Open}, // an open breaker is not opened again
		{do: doReset, state: circuit.Closed, reason: circuit.ReasonReset},
	}, circuit.WithOpenTimeout(time.Minute))
	m := h.b.Metrics()
	assert.Equal(t, uint64(4), m.Transitions)
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.Closed][circuit.Open])
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.Open][circuit.HalfOpen])
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.HalfOpen][circuit.Open])
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.Open][circuit.Closed])
}

func TestResetWhileClosedClearsThePeriod(t *testing.T) {
	runSteps(t, []step{
		{do: doAllow, state: circuit.Closed}, // permit 0, in flight across the reset
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Closed},
		{do: doReset, state: circuit.Closed, check: func(t *testing.T, h *harness, _ error) {
			assert.Empty(t, h.transitions(), "no state change, no transition")
			m := h.b.Metrics()
			assert.Zero(t, m.ConsecutiveFailures)
			assert.Zero(t, m.WindowRequests)
		}},
		{do: doDoneFail, permit: 0, state: circuit.Closed}, // from before the reset: does not count toward the run
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Open},
	}, circuit.WithConsecutiveFailures(3))
}

// ForcedOpen holds until Reset whatever time passes; Disabled records but
// never trips; both are reported with their reasons; Reset leaves either.
func TestForcedModes(t *testing.T) {
	var steps []step
	steps = append(steps,
		step{do: doForceOpen, state: circuit.ForcedOpen, reason: circuit.ReasonForcedOpen},
		step{do: doForceOpen, noop: true, state: circuit.ForcedOpen, reason: circuit.ReasonForcedOpen}, // already held
		step{wait: time.Hour, do: doOK, rejected: true, state: circuit.ForcedOpen, check: func(t *testing.T, h *harness, err error) {
			var oe *circuit.OpenError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, circuit.ForcedOpen, oe.State)
			assert.True(t, oe.RetryAt.IsZero())
			assert.Equal(t, time.Second, oe.RetryAfter(h.clock.Now()), "the open timeout as a hint, never zero")
			assert.Contains(t, err.Error(), "held open")
		}},
		step{do: doTripHealth, noop: true, state: circuit.ForcedOpen}, // automation does not override the operator
		step{do: doEndOpen, noop: true, state: circuit.ForcedOpen},
		step{do: doDisable, state: circuit.Disabled, reason: circuit.ReasonDisabled},
	)
	for i := 0; i < 5; i++ {
		steps = append(steps, step{do: doFail, state: circuit.Disabled})
	}
	steps[len(steps)-1].check = func(t *testing.T, h *harness, _ error) {
		m := h.b.Metrics()
		assert.Equal(t, circuit.Disabled, m.State)
		assert.Equal(t, uint64(5), m.Failures)
		assert.Equal(t, 5, m.WindowRequests, "metrics kept")
		assert.Equal(t, 1.0, m.ErrorRate)
		assert.Equal(t, circuit.ReasonDisabled, m.LastReason)
		assert.Equal(t, h.clock.Now(), m.LastTransitionAt)
	}
	steps = append(steps,
		step{do: doTrip, noop: true, state: circuit.Disabled},
		step{do: doReset, state: circuit.Closed, reason: circuit.ReasonReset},
		step{do: doFail, state: circuit.Open}, // closed again, it trips as usual
	)
	h := runSteps(t, steps, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second))

	names := []string{}
	for _, tr := range h.transitions() {
		names = append(names, tr.From.String()+">"+tr.To.String())
	}
	assert.Equal(t, []string{"closed>forced-open", "forced-open>disabled", "disabled>closed", "closed>open"}, names)
}

// OpenUntil opens until exactly the given time (a Retry-After, another
// replica's RetryAt), extends an open period but never shortens it, and
// leaves an operator's hold alone.
func TestOpenUntil(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(30*time.Second), circuit.WithSuccessThreshold(1))
	now := h.clock.Now()
	assert.False(t, h.b.OpenUntil(circuit.ReasonRetryAfter, now), "not in the future")
	require.True(t, h.b.OpenUntil(circuit.ReasonRetryAfter, now.Add(5*time.Second)))
	tr := h.last()
	assert.Equal(t, circuit.ReasonRetryAfter, tr.Reason)
	assert.Equal(t, now.Add(5*time.Second), tr.RetryAt, "exactly until, not OpenTimeout")
	assert.False(t, h.b.OpenUntil(circuit.ReasonRetryAfter, now.Add(2*time.Second)), "never shortened")
	require.True(t, h.b.OpenUntil(circuit.ReasonFleet, now.Add(10*time.Second)), "extended")
	assert.Len(t, h.transitions(), 1, "an extension is not a transition")
	_, err := h.call(0, nil)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, now.Add(10*time.Second), oe.RetryAt)
	h.clock.Add(10*time.Second - 1)
	assert.Equal(t, circuit.Open, h.b.State())
	h.clock.Add(1)
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	h.ok()
	require.Equal(t, circuit.Closed, h.b.State())

	h.b.ForceOpen()
	assert.False(t, h.b.OpenUntil(circuit.ReasonFleet, h.clock.Now().Add(time.Hour)), "an operator's hold wins")
	assert.Equal(t, circuit.ForcedOpen, h.b.State())
}
