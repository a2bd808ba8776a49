package circuit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// A slowdown is seen before the slow calls finish: calls in flight for at
// least LatencyThreshold count as slow samples, so the breaker opens while
// they still hang, and when they end they are counted once, in the window.
func TestSlowCallsInFlightTrip(t *testing.T) {
	const threshold = time.Second
	h := newHarness(t, circuit.WithLatencyThreshold(threshold), circuit.WithLatencyPercentile(0.5),
		circuit.WithWindowSize(20), circuit.WithMinRequests(10))
	for i := 0; i < 6; i++ {
		_, _ = h.call(10*time.Millisecond, nil)
	}
	var hung []circuit.Permit[int]
	for i := 0; i < 7; i++ {
		p, err := h.b.Allow() // the dependency hangs
		require.NoError(t, err)
		hung = append(hung, p)
	}
	steps := []struct {
		wait  time.Duration
		state circuit.State
		slow  int
	}{
		{threshold - time.Millisecond, circuit.Closed, 0}, // not yet slow
		{threshold / 8, circuit.Closed, 7},                // slow, and counted within 1/16 of the threshold
	}
	for i, s := range steps {
		h.clock.Add(s.wait)
		m := h.b.Metrics()
		if i == 0 {
			assert.Equal(t, s.state, m.State, "step %d", i)
			assert.Equal(t, s.slow, m.SlowInFlight, "step %d", i)
			continue
		}
		// 6 fast + 7 slow in flight = 13 >= MinRequests, median slow: open.
		assert.Equal(t, circuit.Open, m.State, "step %d: opened while the slow calls still hang", i)
		tr := h.last()
		assert.Equal(t, circuit.ReasonSlowCalls, tr.Reason)
		assert.Equal(t, 7, tr.Metrics.SlowInFlight, "the snapshot shows what tripped it")
		assert.Equal(t, 6, tr.Metrics.WindowRequests, "the window holds only the finished calls")
		// The hung calls were admitted at 60ms: counted no earlier than a
		// threshold later, and no later than a sixteenth of it after that.
		admitted := h.clock.Now().Add(-threshold - threshold/8 + time.Millisecond)
		assert.GreaterOrEqual(t, tr.At.Sub(admitted), threshold)
	}
	for _, p := range hung {
		p.Done(0, nil) // stale now: lifetime counts only
	}
	m := h.b.Metrics()
	assert.Zero(t, m.InFlight)
	assert.Zero(t, m.SlowInFlight, "not counted once they have ended")
}

// Nothing needs to arrive: State looks at the calls in flight too.
func TestSlowCallsInFlightSeenByState(t *testing.T) {
	h := newHarness(t, circuit.WithLatencyThreshold(time.Second), circuit.WithMinRequests(1))
	p, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(2 * time.Second)
	assert.Equal(t, circuit.Open, h.b.State())
	assert.Equal(t, circuit.ReasonSlowCalls, h.last().Reason)
	p.Done(0, nil)
}

// A finished slow call counts once: as a slow sample in the window, no
// longer in flight; and without a latency threshold nothing is watched.
func TestSlowCallsCountedOnce(t *testing.T) {
	h := newHarness(t, circuit.WithLatencyThreshold(time.Second), circuit.WithLatencyPercentile(0.5),
		circuit.WithWindowSize(4), circuit.WithMinRequests(4))
	h.ok()
	h.ok()
	p, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(2 * time.Second)
	m := h.b.Metrics()
	assert.Equal(t, 1, m.SlowInFlight)
	assert.Equal(t, circuit.Closed, m.State, "3 of MinRequests 4")
	p.Done(0, nil)
	m = h.b.Metrics()
	assert.Zero(t, m.SlowInFlight)
	assert.Equal(t, 3, m.WindowRequests)
	assert.Equal(t, circuit.Closed, m.State, "2 fast, 1 slow: the median is fast")

	off := newHarness(t, circuit.WithMinRequests(1))
	p, err = off.b.Allow()
	require.NoError(t, err)
	off.clock.Add(time.Hour)
	assert.Equal(t, circuit.Closed, off.b.State())
	assert.Zero(t, off.b.Metrics().SlowInFlight)
	p.Done(0, nil)
}

// Under steady traffic the breaker looks every LatencyThreshold/16, so a
// hang is counted at most that late: here the slow calls trip it within
// 1/16 of the threshold (plus one arrival gap) of having run that long.
func TestSlowCallsInFlightSeenUnderTraffic(t *testing.T) {
	const threshold = 800 * time.Millisecond
	h := newHarness(t, circuit.WithLatencyThreshold(threshold), circuit.WithLatencyPercentile(0.5),
		circuit.WithWindowSize(20), circuit.WithMinRequests(4))
	h.ok()
	h.ok()
	hangAt := h.clock.Now()
	var hung []circuit.Permit[int]
	for i := 0; i < 3; i++ {
		p, err := h.b.Allow()
		require.NoError(t, err)
		hung = append(hung, p)
	}
	const gap = 10 * time.Millisecond
	for h.b.State() == circuit.Closed {
		require.Less(t, h.clock.Now().Sub(hangAt), 2*threshold, "never tripped")
		h.clock.Add(gap)
		if _, err := h.b.Allow(); err == nil { // traffic that the hung calls block: never finishes either
			continue
		}
	}
	tr := h.last()
	require.Equal(t, circuit.ReasonSlowCalls, tr.Reason)
	late := tr.At.Sub(hangAt) - threshold
	assert.GreaterOrEqual(t, late, time.Duration(0), "never early")
	assert.LessOrEqual(t, late, threshold/16+gap, "at most a sixteenth of the threshold late")
	for _, p := range hung {
		p.Done(0, nil)
	}
}
