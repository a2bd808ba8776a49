package monitor_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonLines decodes the records a slog.JSONHandler wrote.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// TestLogValues: slog.Any keeps the fields of an Alert, a Report and a
// Config, and their durations carry units even in JSON.
func TestLogValues(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 15, 0, 0, time.UTC)
	a := monitor.Alert{
		Breaker: "pay", Kind: monitor.ProlongedOpen, Severity: monitor.Warning,
		Message: "open, not closed for 6m0s", At: at, RaisedAt: at,
		Metrics: circuit.Metrics{State: circuit.HalfOpen, ErrorRate: 0.4, WindowRequests: 20, P95Latency: 960 * time.Millisecond},
	}
	r := monitor.Report{
		Name: "pay", Since: at.Add(-10 * time.Minute), At: at,
		TimeInState: map[circuit.State]time.Duration{circuit.Closed: 4 * time.Minute, circuit.Open: 6 * time.Minute},
		Transitions: 2, Checks: 40, MeanLatency: 25 * time.Millisecond, MeanTimeToRecovery: 90 * time.Second,
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", slog.Any("alert", a), slog.Any("report", r), slog.Any("config", monitor.DefaultConfig()))
	rec := jsonLines(t, buf.String())[0]

	assert.Equal(t, map[string]any{
		"breaker": "pay", "kind": "prolonged-open", "severity": "warning", "cleared": false,
		"message": "open, not closed for 6m0s", "at": "2026-11-27T09:15:00Z", "raised_at": "2026-11-27T09:15:00Z",
		"state": "half-open", "error_rate": 0.4, "window_requests": 20.0, "p95_latency": "960ms",
	}, rec["alert"])
	report := rec["report"].(map[string]any)
	assert.Equal(t, map[string]any{"closed": "4m0s", "open": "6m0s"}, report["time_in_state"])
	assert.Equal(t, "25ms", report["mean_latency"])
	assert.Equal(t, "1m30s", report["mean_time_to_recovery"])
	assert.NotContains(t, report, "outage_since", "zero: not in an outage")
	config := rec["config"].(map[string]any)
	assert.Equal(t, "15s", config["interval"])
	assert.Equal(t, "10m0s", config["flapping_window"])
	assert.Equal(t, "0s", config["transition_log_interval"])
}

// TestTransitionLog: with TransitionLogInterval set, a breaker flapping
// 105 times a minute costs one summary line per minute; a quiet breaker's
// transition is logged as it happens (WARN when it opens, as the core's
// own log); Close logs what is pending.
func TestTransitionLog(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "search", circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, reg.Register(b))
	inv := newBreaker(t, mock, "inventory", circuit.WithOpenTimeout(time.Hour))
	inv.Trip(circuit.ReasonManual) // before the history begins: not logged
	require.NoError(t, reg.Register(inv))
	var logs logBuffer
	cfg := monitor.DefaultConfig()
	cfg.TransitionLogInterval = time.Minute
	m, err := monitor.New(reg, monitor.WithConfig(cfg), monitor.WithClock(mock),
		monitor.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	require.NoError(t, err)
	m.Check() // subscribes
	start := mock.Now()

	flap := func(n int) { // n transitions, 500ms apart: Trip, Reset, Trip, ...
		for i := 0; i < n; i++ {
			if b.State() == circuit.Closed {
				b.Trip(circuit.ReasonManual)
			} else {
				b.Reset()
			}
			mock.Add(500 * time.Millisecond)
		}
	}
	type line = map[string]any
	flap(105) // 0s .. 52s
	mock.Set(start.Add(time.Minute))
	m.Check()
	got := jsonLines(t, logs.String())
	require.Len(t, got, 2, "105 transitions, two lines")
	assert.Equal(t, "WARN", got[0]["level"], "a transition to open")
	assert.Equal(t, "monitor: breaker transition", got[0]["msg"])
	assert.Equal(t, "search", got[0]["breaker"])
	assert.Equal(t, "closed", got[0]["from"])
	assert.Equal(t, "open", got[0]["to"])
	assert.Equal(t, "manual", got[0]["reason"])
	assert.Equal(t, "WARN", got[1]["level"])
	assert.Equal(t, "monitor: breaker transitions summarised", got[1]["msg"])
	assert.Equal(t, "search", got[1]["breaker"])
	assert.Equal(t, 104.0, got[1]["transitions"])
	assert.Equal(t, "1m0s", got[1]["interval"])
	assert.Equal(t, "open", got[1]["state"])
	assert.Equal(t, line{"manual": 52.0, "reset": 52.0}, got[1]["reasons"])
	assert.Equal(t, start.Add(500*time.Millisecond).Format(time.RFC3339Nano), got[1]["first_at"])

	// Still flapping: one summary for the next minute, none in between.
	flap(105)
	m.Check()
	require.Len(t, jsonLines(t, logs.String()), 2, "no line before the minute is over")
	mock.Set(start.Add(2 * time.Minute))
	m.Check()
	got = jsonLines(t, logs.String())
	require.Len(t, got, 3)
	assert.Equal(t, 105.0, got[2]["transitions"])

	// Quiet for a minute: the next transition is logged as it happens.
	mock.Set(start.Add(3 * time.Minute))
	m.Check()
	mock.Add(20 * time.Second)
	require.Equal(t, circuit.Closed, b.State(), "210 transitions from closed")
	b.Trip(circuit.ReasonManual)
	got = jsonLines(t, logs.String())
	require.Len(t, got, 4)
	assert.Equal(t, "monitor: breaker transition", got[3]["msg"])
	assert.Equal(t, "manual", got[3]["reason"])

	inv.Reset() // another breaker, its own interval
	got = jsonLines(t, logs.String())
	require.Len(t, got, 5)
	assert.Equal(t, "INFO", got[4]["level"], "a transition to closed")
	assert.Equal(t, "inventory", got[4]["breaker"])
	assert.Equal(t, "reset", got[4]["reason"])

	// A transition counted in the interval is not lost on Close.
	b.Reset()
	m.Close()
	got = jsonLines(t, logs.String())
	require.Len(t, got, 6)
	assert.Equal(t, "search", got[5]["breaker"])
	assert.Equal(t, 1.0, got[5]["transitions"])
	assert.Equal(t, line{"reset": 1.0}, got[5]["reasons"])
	assert.Equal(t, "closed", got[5]["state"])
}

// TestTransitionLogOff: by default the monitor logs no transitions.
func TestTransitionLogOff(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "search")
	require.NoError(t, reg.Register(b))
	var logs logBuffer
	m := newMonitor(t, reg, mock, monitor.WithLogger(logs.logger()))
	m.Check()
	for i := 0; i < 10; i++ {
		b.Trip(circuit.ReasonManual)
		b.Reset()
	}
	mock.Add(time.Minute)
	m.Check()
	m.Close()
	assert.Empty(t, logs.String())
}
