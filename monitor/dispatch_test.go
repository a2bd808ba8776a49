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

// TestOnAlertPanicsAndBlocks: a panicking callback and a blocked one cost
// neither the other callback its alerts nor the monitor its checks; the
// blocked callback is skipped until it returns, then called again.
func TestOnAlertPanicsAndBlocks(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay", circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, reg.Register(b))

	entered := make(chan monitor.Alert, 4) // the blocking callback has started
	release := make(chan struct{})         // lets it return
	returned := make(chan struct{}, 4)     // it has returned
	good := make(chan monitor.Alert, 4)
	var logs logBuffer
	cfg := monitor.DefaultConfig()
	cfg.ProlongedOpen = time.Minute
	cfg.OnAlertTimeout = 5 * time.Second
	m, err := monitor.New(reg,
		monitor.WithConfig(cfg),
		monitor.WithClock(mock),
		monitor.WithLogger(logs.logger()),
		monitor.WithOnAlert(func(monitor.Alert) { panic("callback bug") }),
		monitor.WithOnAlert(func(a monitor.Alert) {
			entered <- a
			<-release
			returned <- struct{}{}
		}),
		monitor.WithOnAlert(func(a monitor.Alert) { good <- a }),
	)
	require.NoError(t, err)
	m.Check()
	b.Trip(circuit.ReasonManual)
	mock.Add(2 * time.Minute)

	// The check waits for the blocked callback until its timeout passes on
	// the mock clock; its timer exists before any callback starts.
	result := make(chan []monitor.Alert)
	go func() { result <- m.Check() }()
	raised := <-entered
	assert.Equal(t, monitor.ProlongedOpen, raised.Kind)
	assert.Equal(t, raised, <-good, "the third callback got it despite the first two")
	select {
	case <-result:
		t.Fatal("the check returned before the callback timeout")
	default:
	}
	mock.Add(5 * time.Second)
	alerts := <-result
	require.Len(t, alerts, 1)
	assert.Contains(t, logs.String(), `msg="monitor: alert callback panicked" callback=0 panic="callback bug"`)
	assert.Contains(t, logs.String(), `msg="monitor: alert callback timed out, abandoned" callback=1 timeout=5s alert.breaker=pay alert.kind=prolonged-open alert.severity=warning`,
		"the alert logged with its fields (Alert.LogValue)")

	// While the second callback is still blocked it is skipped, and the
	// check no longer waits for it.
	b.Reset()
	cleared := m.Check()
	require.Len(t, cleared, 1)
	assert.True(t, (<-good).Cleared)
	assert.Contains(t, logs.String(), `msg="monitor: alert callback still blocked, alert skipped" callback=1`)

	// Once it returns, it gets the next alert.
	close(release)
	<-returned
	b.Trip(circuit.ReasonManual)
	mock.Add(2 * time.Minute)
	go func() { result <- m.Check() }()
	again := <-entered
	assert.Equal(t, monitor.ProlongedOpen, again.Kind)
	assert.False(t, again.Cleared)
	<-returned
	<-good
	require.Len(t, <-result, 1, "returned without the clock moving: every callback finished")
}

// TestOnAlertSeesAlertsInOrder: one check's alerts reach a callback in the
// order Check returns them, and a callback may call the monitor.
func TestOnAlertSeesAlertsInOrder(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	for _, n := range []string{"c", "a", "b"} {
		b := newBreaker(t, mock, n, circuit.WithOpenTimeout(time.Hour))
		require.NoError(t, reg.Register(b))
		b.Trip(circuit.ReasonManual)
	}
	var m *monitor.Monitor
	var seen []string
	var active []int
	m = newMonitor(t, reg, mock, monitor.WithOnAlert(func(a monitor.Alert) {
		seen = append(seen, a.Breaker) // never called concurrently with itself
		active = append(active, len(m.Active()))
	}))
	m.Check()
	mock.Add(6 * time.Minute)
	alerts := m.Check()
	require.Len(t, alerts, 3)
	assert.Equal(t, []string{"a", "b", "c"}, seen)
	assert.Equal(t, []int{3, 3, 3}, active, "alerts are active before callbacks run")
}
