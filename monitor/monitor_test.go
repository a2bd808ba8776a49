package monitor_test

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newMonitor(t *testing.T, reg *monitor.Registry, mock *clock.Mock, opts ...monitor.Option) *monitor.Monitor {
	t.Helper()
	m, err := monitor.New(reg, append([]monitor.Option{monitor.WithClock(mock), monitor.WithLogger((&logBuffer{}).logger())}, opts...)...)
	require.NoError(t, err)
	return m
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, monitor.DefaultConfig().Validate())

	bad := monitor.Config{
		Interval:               0,
		OnAlertTimeout:         -time.Second,
		ProlongedOpen:          -1,
		FlappingTransitions:    3,
		FlappingWindow:         0,
		IneffectiveErrorRate:   1,
		IneffectiveMinRequests: -1,
		TransitionLogInterval:  -time.Minute,
	}
	err := bad.Validate()
	require.ErrorIs(t, err, monitor.ErrInvalidConfig)
	require.ErrorIs(t, err, circuit.ErrInvalidConfig, "the module's one sentinel")
	// One *circuit.ConfigError per field, in the module's one shape.
	assert.Equal(t, strings.Join([]string{
		"monitor: invalid config: Interval = 0s: must be positive",
		"monitor: invalid config: OnAlertTimeout = -1s: must be positive",
		"monitor: invalid config: ProlongedOpen = -1ns: must be 0 (disabled) or positive",
		"monitor: invalid config: FlappingWindow = 0s: must be positive when FlappingTransitions is set",
		"monitor: invalid config: IneffectiveErrorRate = 1: must be 0 (disabled) or in (0, 1)",
		"monitor: invalid config: IneffectiveMinRequests = -1: must be at least 0",
		"monitor: invalid config: TransitionLogInterval = -1m0s: must be 0 (off) or positive",
	}, "\n"), err.Error())
	var ce *circuit.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "monitor", ce.Pkg)
	assert.Equal(t, "Interval", ce.Field)

	_, err = monitor.New(nil)
	require.ErrorIs(t, err, monitor.ErrInvalidConfig)
	assert.EqualError(t, err, "monitor: invalid config: Registry = nil: must not be nil")
	_, err = monitor.New(monitor.NewRegistry(), monitor.WithConfig(bad))
	require.ErrorIs(t, err, monitor.ErrInvalidConfig)

	off := monitor.Config{Interval: time.Second, OnAlertTimeout: time.Second} // every rule and the transition log off
	require.NoError(t, off.Validate())

	// A huge flapping count would preallocate (or fail to allocate) a
	// history per breaker; it is refused with its name.
	huge := monitor.DefaultConfig()
	huge.FlappingTransitions = math.MaxInt
	err = huge.Validate()
	require.ErrorIs(t, err, monitor.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "FlappingTransitions = ")
	huge.FlappingTransitions = monitor.MaxFlappingTransitions
	require.NoError(t, huge.Validate())
}

// TestProlongedOpen: the rule measures the whole outage, open and half-open,
// raises once when it exceeds the limit, and clears when the breaker closes.
func TestProlongedOpen(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay") // OpenTimeout 30s, 3 probes to close
	require.NoError(t, reg.Register(b))
	m := newMonitor(t, reg, mock) // limit 5m
	require.Empty(t, m.Check())

	start := mock.Now()
	b.Trip(circuit.ReasonManual)
	mock.Add(4 * time.Minute)
	require.Empty(t, m.Check(), "4m: half-open, under the limit")
	mock.Add(time.Minute)
	require.Empty(t, m.Check(), "exactly 5m is not longer than 5m")

	mock.Add(time.Second)
	alerts := m.Check()
	require.Len(t, alerts, 1)
	a := alerts[0]
	assert.Equal(t, "pay", a.Breaker)
	assert.Equal(t, monitor.ProlongedOpen, a.Kind)
	assert.Equal(t, monitor.Warning, a.Severity)
	assert.False(t, a.Cleared)
	assert.Equal(t, mock.Now(), a.At)
	assert.Equal(t, a.At, a.RaisedAt)
	assert.Equal(t, circuit.HalfOpen, a.Metrics.State)
	assert.Equal(t, start.Add(30*time.Second).UTC(), a.Metrics.StateSince.UTC())
	assert.Contains(t, a.Message, "not closed for 5m1s")
	assert.Equal(t, alerts, m.Active())

	mock.Add(time.Minute)
	require.Empty(t, m.Check(), "raised once while the condition holds")
	require.Len(t, m.Active(), 1)

	for i := 0; i < 3; i++ {
		require.NoError(t, call(b, mock, 0, false))
	}
	require.Equal(t, circuit.Closed, b.State())
	cleared := m.Check()
	require.Len(t, cleared, 1)
	c := cleared[0]
	assert.True(t, c.Cleared)
	assert.Equal(t, monitor.ProlongedOpen, c.Kind)
	assert.Equal(t, monitor.Warning, c.Severity)
	assert.Equal(t, a.RaisedAt, c.RaisedAt)
	assert.Equal(t, mock.Now(), c.At)
	assert.Equal(t, circuit.Closed, c.Metrics.State)
	assert.Empty(t, m.Active())
	require.Empty(t, m.Check(), "a clear is reported once")
}

// TestProlongedOpenAlreadyOpen: a breaker already open when first seen is
// measured from the start of its current state.
// An operator's hold counts as an outage (a reminder that someone holds the
// breaker open); a disabled breaker lets every call through and does not.
func TestProlongedOpenHeldAndDisabled(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	held, off := newBreaker(t, mock, "held"), newBreaker(t, mock, "off")
	require.NoError(t, reg.Register(held))
	require.NoError(t, reg.Register(off))
	m := newMonitor(t, reg, mock) // limit 5m
	require.Empty(t, m.Check())
	require.True(t, held.ForceOpen())
	require.True(t, off.Trip(circuit.ReasonManual))
	require.Empty(t, m.Check())
	require.True(t, off.Disable()) // open -> disabled: calls pass again
	mock.Add(6 * time.Minute)
	alerts := m.Check()
	require.Len(t, alerts, 1)
	assert.Equal(t, "held", alerts[0].Breaker)
	assert.Equal(t, monitor.ProlongedOpen, alerts[0].Kind)
	assert.Equal(t, circuit.ForcedOpen, alerts[0].Metrics.State)
}

func TestProlongedOpenAlreadyOpen(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay", circuit.WithOpenTimeout(time.Hour))
	b.Trip(circuit.ReasonManual)
	mock.Add(4 * time.Minute)
	require.NoError(t, reg.Register(b))
	m := newMonitor(t, reg, mock)
	require.Empty(t, m.Check())
	mock.Add(61 * time.Second)
	alerts := m.Check()
	require.Len(t, alerts, 1)
	assert.Contains(t, alerts[0].Message, "open, not closed for 5m1s")
}

func TestFlapping(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "search", circuit.WithOpenTimeout(time.Hour)) // stays open: no half-open here
	require.NoError(t, reg.Register(b))
	cfg := monitor.DefaultConfig() // more than 20 within 10m
	cfg.ProlongedOpen = 0          // the breaker ends open; only flapping here
	m := newMonitor(t, reg, mock, monitor.WithConfig(cfg))
	require.Empty(t, m.Check())

	// 20 transitions, one every 10s: Trip (closed -> open), Reset (open -> closed).
	for i := 0; i < 10; i++ {
		b.Trip(circuit.ReasonManual)
		mock.Add(10 * time.Second)
		b.Reset()
		mock.Add(10 * time.Second)
	}
	require.Empty(t, m.Check(), "20 transitions is not more than 20")
	b.Trip(circuit.ReasonManual) // the 21st, at 200s
	alerts := m.Check()
	require.Len(t, alerts, 1)
	assert.Equal(t, monitor.Flapping, alerts[0].Kind)
	assert.Equal(t, monitor.Warning, alerts[0].Severity)
	assert.Equal(t, "more than 20 transitions within 10m0s", alerts[0].Message)
	require.Empty(t, m.Check())

	// The first transition was at 0s: at 10m it leaves the window (which
	// holds transitions after now-10m), leaving 20.
	mock.Add(10*time.Minute - 200*time.Second - time.Nanosecond)
	require.Empty(t, m.Check(), "all 21 still inside the window")
	mock.Add(time.Nanosecond)
	cleared := m.Check()
	require.Len(t, cleared, 1)
	assert.True(t, cleared[0].Cleared)
	assert.Equal(t, "20 transitions within 10m0s (limit 20)", cleared[0].Message)
}

func TestIneffectiveProtection(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	// A breaker whose thresholds cannot trip on a 40% error rate.
	b := newBreaker(t, mock, "reports", circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0.9))
	require.NoError(t, reg.Register(b))
	m := newMonitor(t, reg, mock)

	fail := func(i int) bool { return i%5 < 2 } // 40%
	for i := 0; i < 50; i++ {
		require.NoError(t, ignoreBoom(call(b, mock, 0, fail(i))))
	}
	require.Empty(t, m.Check(), "50 requests is not more than 50")
	require.NoError(t, ignoreBoom(call(b, mock, 0, fail(50))))
	alerts := m.Check()
	require.Len(t, alerts, 1)
	a := alerts[0]
	assert.Equal(t, monitor.IneffectiveProtection, a.Kind)
	assert.Equal(t, monitor.Critical, a.Severity)
	assert.Equal(t, 51, a.Metrics.WindowRequests)
	assert.Equal(t, circuit.Closed, a.Metrics.State)
	assert.Equal(t, "closed with error rate 41.2% over 51 requests (limit 30.0% over more than 50)", a.Message)
	assert.Equal(t, "critical ineffective-protection reports: "+a.Message, a.String())

	// Opening the breaker (protection at last) clears the alert.
	b.Trip(circuit.ReasonManual)
	cleared := m.Check()
	require.Len(t, cleared, 1)
	assert.True(t, cleared[0].Cleared)
	assert.Equal(t, monitor.Critical, cleared[0].Severity)
	assert.True(t, strings.HasPrefix(cleared[0].String(), "cleared critical ineffective-protection reports: open with"))
}

func ignoreBoom(err error) error {
	if err == errBoom {
		return nil
	}
	return err
}

// TestRulesConfigurableAndDisabled: thresholds come from Config, and 0
// disables a rule.
func TestRulesConfigurableAndDisabled(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay", circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, reg.Register(b))
	cfg := monitor.DefaultConfig()
	cfg.ProlongedOpen = time.Minute
	cfg.FlappingTransitions = 0
	tight := newMonitor(t, reg, mock, monitor.WithConfig(cfg))
	cfg.ProlongedOpen = 0
	off := newMonitor(t, reg, mock, monitor.WithConfig(cfg))
	tight.Check()
	off.Check()

	for i := 0; i < 30; i++ { // flapping, but the rule is off
		b.Trip(circuit.ReasonManual)
		b.Reset()
	}
	b.Trip(circuit.ReasonManual)
	mock.Add(2 * time.Minute)
	alerts := tight.Check()
	require.Len(t, alerts, 1)
	assert.Equal(t, monitor.ProlongedOpen, alerts[0].Kind)
	assert.Empty(t, off.Check())
	assert.Equal(t, cfg, off.Config())
}

func TestUnregisterClearsAndUnsubscribes(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay", circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, reg.Register(b))
	m := newMonitor(t, reg, mock)
	m.Check()
	b.Trip(circuit.ReasonManual)
	mock.Add(6 * time.Minute)
	require.Len(t, m.Check(), 1)
	_, err := m.Report("pay")
	require.NoError(t, err)

	reg.Unregister("pay")
	alerts := m.Check()
	require.Len(t, alerts, 1)
	assert.True(t, alerts[0].Cleared)
	assert.Equal(t, "breaker unregistered", alerts[0].Message)
	assert.Equal(t, circuit.Metrics{}, alerts[0].Metrics)
	_, err = m.Report("pay")
	require.ErrorIs(t, err, monitor.ErrUnknownBreaker)

	// A new breaker under the same name gets a fresh history.
	b2 := newBreaker(t, mock, "pay")
	require.NoError(t, reg.Register(b2))
	assert.Empty(t, m.Check())
	b.Reset() // the old breaker's transitions no longer reach the monitor
	r, err := m.Report("pay")
	require.NoError(t, err)
	assert.Equal(t, 0, r.Transitions)
	assert.Equal(t, 1, r.Checks)
}

func TestStartStopTicker(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay", circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, reg.Register(b))
	got := make(chan monitor.Alert, 4)
	cfg := monitor.DefaultConfig()
	cfg.ProlongedOpen = time.Minute
	m := newMonitor(t, reg, mock, monitor.WithConfig(cfg), monitor.WithOnAlert(func(a monitor.Alert) { got <- a }))
	b.Trip(circuit.ReasonManual)

	require.NoError(t, m.Start())
	require.ErrorIs(t, m.Start(), monitor.ErrRunning)
	checks := func() int {
		r, err := m.Report("pay")
		if err != nil {
			return 0
		}
		return r.Checks
	}
	for i := 1; i <= 5; i++ { // a tick every 15s; the ticker exists once Start returns
		mock.Add(15 * time.Second)
		require.Eventually(t, func() bool { return checks() >= i }, 5*time.Second, time.Millisecond, "check %d", i)
		if i < 5 {
			require.Empty(t, got, "at %ds", 15*i)
		}
	}
	a := <-got
	assert.Equal(t, monitor.ProlongedOpen, a.Kind)
	assert.Equal(t, mock.Now(), a.At, "the check at the fifth tick, 75s")
	m.Stop()
	m.Stop() // no-op

	// Stopped: the ticker is gone, so advancing the clock checks nothing.
	// (The count is read only now: the mock clock may deliver a tick twice
	// when a check creates a timer at the instant of the tick, and a second
	// check at the same instant changes nothing.)
	n := checks()
	mock.Add(time.Minute)
	require.Empty(t, m.Check(), "the alert is still raised, nothing new")
	assert.Equal(t, n+1, checks(), "only the explicit check")

	require.NoError(t, m.Start(), "restart after Stop")
	m.Stop()
}

func TestClose(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "pay", circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, reg.Register(b))
	m := newMonitor(t, reg, mock)
	require.NoError(t, m.Start())
	m.Check()
	b.Trip(circuit.ReasonManual)
	r, err := m.Report("pay")
	require.NoError(t, err)
	require.Equal(t, 1, r.Transitions, "subscribed")

	m.Close()
	m.Close()
	require.ErrorIs(t, m.Start(), monitor.ErrClosed)
	assert.Nil(t, m.Check())
	_, err = m.Report("pay")
	require.ErrorIs(t, err, monitor.ErrUnknownBreaker)
	assert.Empty(t, m.Active())

	// Unsubscribed: a fresh monitor's hook is the breaker's only one, which
	// the transition count it sees confirms by reaching it exactly once.
	seen := 0
	unsubscribe := b.Subscribe(func(circuit.Transition) { seen++ })
	defer unsubscribe()
	b.Reset()
	assert.Equal(t, 1, seen)
}

// TestMonitorConcurrent runs checks, reports and transitions at once; run
// with -race.
func TestMonitorConcurrent(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	var bs []*circuit.Breaker[int]
	for i := 0; i < 4; i++ {
		b := newBreaker(t, mock, string(rune('a'+i)))
		require.NoError(t, reg.Register(b))
		bs = append(bs, b)
	}
	cfg := monitor.DefaultConfig()
	cfg.FlappingTransitions = 5
	alerts := make(chan monitor.Alert, 1000)
	m := newMonitor(t, reg, mock, monitor.WithConfig(cfg), monitor.WithOnAlert(func(a monitor.Alert) {
		select {
		case alerts <- a:
		default:
		}
	}))
	m.Check() // subscribes to every breaker before the hammering
	var wg sync.WaitGroup
	for _, b := range bs {
		b := b
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				b.Trip(circuit.ReasonManual)
				_ = call(b, mock, 0, false)
				b.Reset()
				_ = call(b, mock, 0, i%3 == 0)
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			m.Check()
			_ = m.Active()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			_, _ = m.Report("a")
			if i == 25 {
				reg.Unregister("d")
			}
		}
	}()
	wg.Wait()
	m.Check()
	close(alerts)
	raised := map[string]int{}
	for a := range alerts {
		if a.Kind == monitor.Flapping {
			if a.Cleared {
				raised[a.Breaker]--
			} else {
				raised[a.Breaker]++
			}
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		assert.Equal(t, 1, raised[name], "%s: flapping raised once and still active", name)
	}
	assert.Equal(t, 0, raised["d"], "d: unregistered, so cleared")
	for _, name := range []string{"a", "b", "c"} {
		r, err := m.Report(name)
		require.NoError(t, err)
		assert.Equal(t, 100, r.Transitions, "%s: every transition seen once", name)
	}
}
