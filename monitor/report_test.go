package monitor_test

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReport follows one outage: closed 1m, open 30s, half-open 30s, closed
// 2m, with three calls rejected while open.
func TestReport(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay") // OpenTimeout 30s, 3 probes to close
	require.NoError(t, reg.Register(b))
	m := newMonitor(t, reg, mock)

	_, err := m.Report("pay")
	require.ErrorIs(t, err, monitor.ErrUnknownBreaker, "no check has seen it yet")
	assert.EqualError(t, err, `monitor: unknown breaker: "pay" (not registered, or no check since it was)`)

	// Before the history: one failure of four calls, one taking 100ms.
	require.NoError(t, call(b, mock, 100*time.Millisecond, false))
	require.ErrorIs(t, call(b, mock, 0, true), errBoom)
	require.NoError(t, call(b, mock, 0, false))
	require.NoError(t, call(b, mock, 0, false))
	start := mock.Now()
	m.Check() // error rate 25%, mean latency 25ms, P95 100ms

	mock.Add(time.Minute)
	m.Check() // the same window
	b.Trip(circuit.ReasonManual)
	for i := 0; i < 3; i++ {
		require.ErrorIs(t, call(b, mock, 0, false), circuit.ErrOpen)
	}
	mock.Add(30 * time.Second)
	m.Check() // half-open; the window still holds the closed period's calls
	mock.Add(30 * time.Second)
	for i := 0; i < 3; i++ {
		require.NoError(t, call(b, mock, 0, false))
	}
	require.Equal(t, circuit.Closed, b.State())
	mock.Add(2 * time.Minute)
	m.Check() // closed: an empty window

	r, err := m.Report("pay")
	require.NoError(t, err)
	assert.Equal(t, "pay", r.Name)
	assert.Equal(t, start, r.Since)
	assert.Equal(t, start.Add(4*time.Minute), r.At)
	assert.Equal(t, map[circuit.State]time.Duration{
		circuit.Closed: 3 * time.Minute, circuit.Open: 30 * time.Second, circuit.HalfOpen: 30 * time.Second,
		circuit.ForcedOpen: 0, circuit.Disabled: 0,
	}, r.TimeInState)
	assert.Equal(t, map[circuit.State]float64{
		circuit.Closed: 0.75, circuit.Open: 0.125, circuit.HalfOpen: 0.125, circuit.ForcedOpen: 0, circuit.Disabled: 0,
	}, r.ShareInState)
	assert.Equal(t, 3, r.Transitions)
	assert.Equal(t, 4, r.Checks)
	assert.InDelta(t, (0.25+0.25+0.25+0)/4, r.MeanErrorRate, 1e-12)
	assert.Equal(t, (25*time.Millisecond*3)/4, r.MeanLatency)
	assert.InEpsilon(t, float64((100*time.Millisecond*3)/4), float64(r.MeanP95Latency), 1.0/64, "P95 is reported within 1.56%")
	assert.Equal(t, uint64(3), r.Spared)
	assert.Equal(t, 1, r.Recoveries)
	assert.Equal(t, time.Minute, r.MeanTimeToRecovery)
	assert.True(t, r.OutageSince.IsZero())

	// The current state counts up to the report, and an outage under way
	// shows when it began.
	b.Trip(circuit.ReasonManual)
	mock.Add(10 * time.Second)
	r, err = m.Report("pay")
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, r.TimeInState[circuit.Open]-30*time.Second)
	assert.Equal(t, start.Add(4*time.Minute), r.OutageSince)
	assert.Equal(t, 4, r.Transitions)
	assert.Equal(t, 4, r.Checks, "a report is not a check")
}

// TestReportLazyHalfOpen: a transition between the subscription and the
// first snapshot starts the history without losing or doubling it.
func TestReportLazyHalfOpen(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay")
	b.Trip(circuit.ReasonManual)
	require.NoError(t, reg.Register(b))
	m := newMonitor(t, reg, mock)
	mock.Add(40 * time.Second)
	// The breaker has been half-open since 30s but nobody has asked it:
	// the check's snapshot applies that transition (dated 30s) and
	// delivers it to the monitor's new subscription.
	m.Check()
	mock.Add(20 * time.Second)
	r, err := m.Report("pay")
	require.NoError(t, err)
	assert.Equal(t, mock.Now().Add(-30*time.Second), r.Since, "the history begins with the transition")
	assert.Equal(t, 1, r.Transitions)
	assert.Equal(t, 30*time.Second, r.TimeInState[circuit.HalfOpen])
	assert.Equal(t, time.Duration(0), r.TimeInState[circuit.Open])
	assert.Equal(t, mock.Now().Add(-30*time.Second), r.OutageSince, "the earliest time the history proves")
}
