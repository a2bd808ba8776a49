package monitor

import (
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/breakerlab/circuit"
)

// Report summarizes how one breaker fared over the monitor's history of
// it, from the first check that found it registered until the report.
type Report struct {
	Name  string
	Since time.Time // when the history began
	At    time.Time // when the report was made

	// TimeInState and ShareInState say how long the breaker spent in each
	// state, from its transitions (exact times); the shares sum to 1 once
	// any time has passed.
	TimeInState  map[circuit.State]time.Duration
	ShareInState map[circuit.State]float64
	Transitions  int // transitions seen

	// The means of the window's error rate, mean latency and P95 latency
	// as sampled at each check (Checks of them), not over every call: a
	// spike between two checks is seen only if the window still holds it.
	Checks         int
	MeanErrorRate  float64
	MeanLatency    time.Duration
	MeanP95Latency time.Duration

	// Spared is how many calls the breaker rejected (open, or half-open
	// with every probe slot taken) during the history: calls spared from
	// the dependency.
	Spared uint64

	// Recoveries is how many outages (from leaving Closed to closing
	// again) ended during the history, and MeanTimeToRecovery their mean
	// length; 0 without any. An outage under way when the history began is
	// measured from the earliest time the first snapshot proves (the start
	// of its current state).
	Recoveries         int
	MeanTimeToRecovery time.Duration
	// OutageSince is when the current outage began; zero while closed.
	OutageSince time.Time
}

// Report returns the history of the breaker named name. It returns an
// error wrapping ErrUnknownBreaker if no check has seen a breaker of that
// name registered, or one was unregistered since. It reads the breaker's
// Metrics once, so that transitions that time alone caused are counted.
func (m *Monitor) Report(name string) (Report, error) {
	m.mu.Lock()
	tr := m.tracked[name]
	m.mu.Unlock()
	if tr == nil {
		return Report{}, fmt.Errorf("%w: %q (not registered, or no check since it was)", ErrUnknownBreaker, name)
	}
	ms := tr.view.Metrics() // outside m.mu: it may deliver to our hook
	now := m.clock.Now()

	m.mu.Lock()
	defer m.mu.Unlock()
	if !tr.known {
		tr.initFrom(ms, now)
	}
	end := now
	if end.Before(tr.since) {
		end = tr.since
	}
	r := Report{
		Name:         name,
		Since:        tr.start,
		At:           end,
		TimeInState:  make(map[circuit.State]time.Duration, len(tr.inState)),
		ShareInState: make(map[circuit.State]float64, len(tr.inState)),
		Transitions:  tr.transitions,
		Checks:       tr.checks,
		Recoveries:   tr.recoveries,
		OutageSince:  tr.outageStart,
	}
	var total time.Duration
	for i, d := range tr.inState {
		if circuit.State(i) == tr.state {
			d += end.Sub(tr.since)
		}
		r.TimeInState[circuit.State(i)] = d
		total += d
	}
	for s, d := range r.TimeInState {
		if total > 0 {
			r.ShareInState[s] = float64(d) / float64(total)
		} else {
			r.ShareInState[s] = 0
		}
	}
	if tr.checks > 0 {
		r.MeanErrorRate = tr.errSum / float64(tr.checks)
		r.MeanLatency = tr.latSum / time.Duration(tr.checks)
		r.MeanP95Latency = tr.p95Sum / time.Duration(tr.checks)
	}
	if ms.Rejections > tr.baseRejections {
		r.Spared = ms.Rejections - tr.baseRejections
	}
	if tr.recoveries > 0 {
		r.MeanTimeToRecovery = tr.recoveryTotal / time.Duration(tr.recoveries)
	}
	return r, nil
}

// LogValue logs the report as a group, durations with their units ("6m0s")
// and the time in each state as a group keyed by state name.
func (r Report) LogValue() slog.Value {
	states := make([]circuit.State, 0, len(r.TimeInState))
	for s := range r.TimeInState {
		states = append(states, s)
	}
	sort.Slice(states, func(i, j int) bool { return states[i] < states[j] })
	inState := make([]any, len(states))
	for i, s := range states {
		inState[i] = slog.String(s.String(), r.TimeInState[s].String())
	}
	attrs := []slog.Attr{
		slog.String("breaker", r.Name),
		slog.Time("since", r.Since),
		slog.Time("at", r.At),
		slog.Group("time_in_state", inState...),
		slog.Int("transitions", r.Transitions),
		slog.Int("checks", r.Checks),
		slog.Float64("mean_error_rate", r.MeanErrorRate),
		slog.String("mean_latency", r.MeanLatency.String()),
		slog.String("mean_p95_latency", r.MeanP95Latency.String()),
		slog.Uint64("spared", r.Spared),
		slog.Int("recoveries", r.Recoveries),
		slog.String("mean_time_to_recovery", r.MeanTimeToRecovery.String()),
	}
	if !r.OutageSince.IsZero() {
		attrs = append(attrs, slog.Time("outage_since", r.OutageSince))
	}
	return slog.GroupValue(attrs...)
}
