package circuit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestReconfigureKeepsTheWindowWhenItCan(t *testing.T) {
	h := newHarness(t, circuit.WithErrorRateThreshold(0.9), circuit.WithWindowSize(10), circuit.WithMinRequests(4))
	h.ok()
	h.ok()
	h.fail()
	h.fail() // 50%: under 0.9
	require.Equal(t, circuit.Closed, h.b.State())

	c := h.b.Config()
	c.ErrorRateThreshold = 0.5
	require.NoError(t, h.b.Reconfigure(c))
	tr := h.last()
	assert.Equal(t, circuit.ReasonReconfigured, tr.Reason)
	assert.Equal(t, circuit.Closed, tr.From)
	assert.Equal(t, circuit.Closed, tr.To)
	assert.Equal(t, "changed ErrorRateThreshold 0.9->0.5; kept the window", tr.Detail)
	assert.Zero(t, h.b.Metrics().Transitions, "a reconfiguration is not a state change")
	assert.Equal(t, 0.5, h.b.Config().ErrorRateThreshold)
	assert.Equal(t, "dep", h.b.Config().Name)

	h.fail() // 3 of 5: the new threshold holds on the kept window
	assert.Equal(t, circuit.Open, h.b.State())
	assert.Equal(t, circuit.ReasonErrorRate, h.last().Reason)
}

func TestReconfigureClearsAWindowOfAnotherShape(t *testing.T) {
	h := newHarness(t, circuit.WithErrorRateThreshold(0.5), circuit.WithWindowSize(10), circuit.WithMinRequests(4))
	h.fail()
	h.fail()
	h.fail()
	c := h.b.Config()
	c.WindowSize = 20
	require.NoError(t, h.b.Reconfigure(c))
	assert.Equal(t, "changed WindowSize 10->20; cleared the window (3 outcomes)", h.last().Detail)
	assert.Zero(t, h.b.Metrics().WindowRequests)
	h.fail() // one outcome in the new window: under MinRequests
	assert.Equal(t, circuit.Closed, h.b.State())
}

func TestReconfigureRejectsBadConfig(t *testing.T) {
	h := newHarness(t)
	before := h.b.Config()
	bad := before
	bad.WindowSize = -1
	bad.OpenTimeout = 0
	err := h.b.Reconfigure(bad)
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.ErrorContains(t, err, "WindowSize")
	assert.ErrorContains(t, err, "OpenTimeout")
	renamed := before
	renamed.Name = "other"
	err = h.b.Reconfigure(renamed)
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.ErrorContains(t, err, `"dep"`)
	assert.Equal(t, before, h.b.Config(), "nothing changed")
	require.NoError(t, h.b.Reconfigure(before))
	assert.Empty(t, h.transitions(), "an equal Config is not a reconfiguration")
}

func TestReconfigureAppliesToTheNextOpenPeriodAndProbes(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithHalfOpenMaxProbes(1), circuit.WithProbeTimeout(time.Minute))
	h.toHalfOpen(time.Second)
	p1, err := h.b.Allow()
	require.NoError(t, err)
	_, err = h.b.Allow()
	require.ErrorIs(t, err, circuit.ErrOpen, "one probe slot")

	c := h.b.Config()
	c.HalfOpenMaxProbes = 2
	c.OpenTimeout = 5 * time.Second
	require.NoError(t, h.b.Reconfigure(c))
	p2, err := h.b.Allow()
	require.NoError(t, err, "a second slot, at once")
	p2.Done(0, errBoom) // reopens with the new OpenTimeout
	p1.Done(1, nil)     // stale
	tr := h.last()
	require.Equal(t, circuit.Open, tr.To)
	assert.Equal(t, 5*time.Second, tr.RetryAt.Sub(tr.At))
}

func TestReconfigureLatencyThreshold(t *testing.T) {
	h := newHarness(t, circuit.WithLatencyThreshold(time.Second), circuit.WithMinRequests(2), circuit.WithLatencyPercentile(0.5))
	p, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(2 * time.Second)
	require.Equal(t, circuit.Closed, h.b.State(), "one slow call in flight: under MinRequests")
	c := h.b.Config()
	c.LatencyThreshold = 0
	require.NoError(t, h.b.Reconfigure(c))
	assert.Equal(t, "changed LatencyThreshold 1s->0s; cleared 1 slow calls in flight", h.last().Detail)
	h.clock.Add(2 * time.Second)
	assert.Equal(t, circuit.Closed, h.b.State(), "no latency criterion any more")
	p.Done(1, nil)
	assert.Equal(t, circuit.Closed, h.b.State())

	c.LatencyThreshold = time.Second
	require.NoError(t, h.b.Reconfigure(c))
	_, err = h.call(3*time.Second, nil)
	require.NoError(t, err)
	_, err = h.call(3*time.Second, nil)
	require.NoError(t, err)
	assert.Equal(t, circuit.Open, h.b.State(), "the new threshold trips on the next outcome")
	assert.Equal(t, circuit.ReasonLatency, h.last().Reason)
}

// Found by the model test: the ReasonReconfigured event of a breaker that
// is open has To == Open, so, like every Transition to Open, it carries
// the end of the open period in RetryAt (it was zero), which a hook that
// schedules on RetryAt relies on.
func TestReconfigureWhileOpenCarriesRetryAt(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(10*time.Second))
	require.True(t, h.b.Trip(circuit.ReasonManual))
	opened := h.last()
	h.clock.Add(time.Second)
	c := h.b.Config()
	c.OpenTimeout = time.Minute // for the next open period, not this one
	require.NoError(t, h.b.Reconfigure(c))
	tr := h.last()
	require.Equal(t, circuit.ReasonReconfigured, tr.Reason)
	assert.Equal(t, circuit.Open, tr.To)
	assert.True(t, tr.RetryAt.Equal(opened.RetryAt), "RetryAt = %v, want the open period's end %v", tr.RetryAt, opened.RetryAt)
}

// Found by the model test: Detail counted the outcomes that had aged out
// of a time window but were not yet dropped from it, so it reported
// clearing outcomes that Metrics no longer showed.
func TestReconfigureCountsOnlyOutcomesStillInTheWindow(t *testing.T) {
	h := newHarness(t, circuit.WithWindowDuration(time.Minute), circuit.WithWindowSize(10))
	h.fail()
	h.clock.Add(30 * time.Second)
	h.fail()
	require.Equal(t, 2, h.b.Metrics().WindowRequests)
	h.clock.Add(30 * time.Second) // the first failure leaves the window now (nothing looks until Reconfigure)
	c := h.b.Config()
	c.WindowSize = 20
	require.NoError(t, h.b.Reconfigure(c))
	assert.Equal(t, "changed WindowSize 10->20; cleared the window (1 outcomes)", h.last().Detail)
}

// Found by the model test: a probe in flight that had already run longer
// than a new, shorter ProbeTimeout reopened the breaker at the next look,
// dated back to its admission plus the new ProbeTimeout: before the
// reconfiguration that caused it, and before the event that announced
// it. It times out at the reconfiguration instead.
func TestReconfigureShorterProbeTimeoutTimesOutAtTheChange(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithProbeTimeout(time.Minute))
	h.toHalfOpen(time.Second)
	p, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(10 * time.Second)
	changed := h.clock.Now()
	c := h.b.Config()
	c.ProbeTimeout = 5 * time.Second
	require.NoError(t, h.b.Reconfigure(c))
	assert.Equal(t, circuit.Open, h.b.State())
	tr := h.transitions()
	require.GreaterOrEqual(t, len(tr), 2)
	reconf, reopen := tr[len(tr)-2], tr[len(tr)-1]
	assert.Equal(t, circuit.ReasonReconfigured, reconf.Reason)
	assert.Equal(t, circuit.HalfOpen, reconf.To)
	assert.Equal(t, circuit.ReasonProbeTimeout, reopen.Reason)
	assert.Equal(t, circuit.HalfOpen, reopen.From)
	assert.True(t, reopen.At.Equal(changed), "reopened at %v, want at the reconfiguration %v", reopen.At, changed)
	assert.True(t, reopen.RetryAt.Equal(changed.Add(time.Second)))
	p.Done(0, nil) // stale: decides nothing
	assert.Equal(t, circuit.Open, h.b.State())
}
