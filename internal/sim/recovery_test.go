package sim_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

// One request a second, one worker, calls of 100ms, tinyConfig (trips on
// two failures in a row, open 2s, one good probe closes). Two bad
// stretches, 5s-9s and 10s-12s. Worked out by hand:
//
//	5, 6    fail at 5.1, 6.1: trip at 6.1, open until 8.1
//	7, 8    rejected
//	9       half-open; the probe succeeds at 9.1: closed
//	10, 11  fail at 10.1, 11.1: trip at 11.1, 2s after the close: a re-trip
//	12, 13  rejected (open until 13.1); healthy again, so both would have
//	        answered: 2 good calls rejected (7 and 8 would have failed)
//	14      the probe succeeds at 14.1: closed, for good (the run ends at 20s)
//
// One outage, 6.1s to 14.1s: MTTR 8s. The fault ends at 12s; the recovery
// window is cut at the run's end, 8s: the breaker run starts calls at 14
// to 19 (6, 0.75/s), the run without one at 12 to 19 (8, 1/s).
func TestRecoveryMetricsHandComputed(t *testing.T) {
	sc := sim.Scenario{
		Duration: 20 * time.Second, Interval: 5 * time.Second,
		Rate: 1, Arrivals: "uniform", Workers: 1,
		Phases: []sim.Phase{
			{Start: 0, Latency: 100 * ms},
			{Start: 5 * time.Second, Latency: 100 * ms, ErrorRate: 1, Fault: true},
			{Start: 9 * time.Second, Latency: 100 * ms},
			{Start: 10 * time.Second, Latency: 100 * ms, ErrorRate: 1, Fault: true},
			{Start: 12 * time.Second, Latency: 100 * ms},
		},
	}
	res, err := sim.Run(sc, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var trips []time.Duration
	for _, tr := range res.Runs[1].Transitions {
		if tr.From == circuit.Closed && tr.To == circuit.Open {
			trips = append(trips, tr.At)
		}
	}
	if want := []time.Duration{6100 * ms, 11100 * ms}; !reflect.DeepEqual(trips, want) {
		t.Fatalf("trips at %v, want %v: the hand computation no longer applies", trips, want)
	}
	base, brk := res.Runs[0].Summary, res.Runs[1].Summary
	checks := []struct {
		name      string
		got, want any
	}{
		{"re-trips", brk.ReTrips, 1},
		{"outages", brk.Recoveries, 1},
		{"MTTR", brk.MTTR, 8 * time.Second},
		{"opens", brk.Opens, 2},
		{"false opens", brk.FalseOpens, 0},
		{"fallbacks", brk.Fallbacks, 4},
		{"good calls rejected", brk.GoodRejected, 2},
		{"fallbacks in time", brk.FallbacksInTime, 4},
		{"recovery calls", brk.RecoveryCalls, 6},
		{"recovery load", brk.RecoveryLoad, 0.75},
		{"recovery peak", brk.RecoveryPeak, 1},
		{"no breaker recovery calls", base.RecoveryCalls, 8},
		{"no breaker recovery load", base.RecoveryLoad, 1.0},
		{"no breaker re-trips", base.ReTrips, 0},
		{"no breaker outages", base.Recoveries, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r, ok := brk.FalsePositiveRate(); !ok || r != 0 {
		t.Errorf("false-positive rate = %v, %v; want 0, true", r, ok)
	}
	if r, ok := brk.FallbackSuccessRate(); !ok || r != 1 {
		t.Errorf("fallback success rate = %v, %v; want 1, true", r, ok)
	}
	if _, ok := base.FalsePositiveRate(); ok {
		t.Error("the run without a breaker has a false-positive rate")
	}
	if _, ok := base.FallbackSuccessRate(); ok {
		t.Error("the run without a breaker has a fallback success rate")
	}
}

// A trip in a healthy phase is a false open; the re-open after its failed
// probe is an open but not a trip. By hand (tinyConfig, a call a second):
// 0 and 1 fail, trip at 1.1 (false: nothing is a fault); 2, 3 rejected;
// the probe at 4 fails, open again until 6.1; 5, 6 rejected; the probe at 7
// succeeds. Two opens, one false: a rate of 1/2. A 1.5s deadline makes the
// fallbacks of requests that waited for the one worker late.
func TestFalsePositiveRateHandComputed(t *testing.T) {
	sc := sim.Scenario{
		Duration: 10 * time.Second, Rate: 1, Arrivals: "uniform", Workers: 1,
		Phases: []sim.Phase{
			{Start: 0, Latency: 100 * ms, ErrorRate: 1},
			{Start: 5 * time.Second, Latency: 100 * ms},
		},
	}
	res, err := sim.Run(sc, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Runs[1].Summary
	if s.Opens != 2 || s.FalseOpens != 1 {
		t.Fatalf("opens / false opens = %d / %d, want 2 / 1", s.Opens, s.FalseOpens)
	}
	if r, ok := s.FalsePositiveRate(); !ok || r != 0.5 {
		t.Errorf("false-positive rate = %v, %v; want 0.5", r, ok)
	}
	// No fault: no recovery window.
	if s.RecoveryCalls != 0 || s.RecoveryLoad != 0 || s.ReTrips != 0 {
		t.Errorf("recovery calls %d, load %v, re-trips %d; want 0 without a fault", s.RecoveryCalls, s.RecoveryLoad, s.ReTrips)
	}
}

// Fallbacks given after the deadline are not successes. One worker, a
// queue, a request a second, calls that fail after 3s, a breaker that
// trips on the first failure, a 1.5s deadline:
//
//	0       holds the worker until its call fails at 3s: trip
//	1, 2    queue; at 3s each gets the worker and is rejected at once:
//	        fallbacks 2s (late) and 1s (in time) after they arrived
//	3       arrives at 3s and is rejected at once: in time
//
// Three fallbacks, two in time.
func TestFallbackSuccessRateHandComputed(t *testing.T) {
	sc := sim.Scenario{
		Duration: 3500 * ms, Rate: 1, Arrivals: "uniform", Workers: 1, QueueSize: 5,
		Deadline: 1500 * ms,
		Phases:   []sim.Phase{{Start: 0, Latency: 3 * time.Second, ErrorRate: 1, Fault: true}},
	}
	cfg := tinyConfig()
	cfg.ConsecutiveFailures = 1
	res, err := sim.Run(sc, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Runs[1].Summary
	if s.Fallbacks != 3 || s.FallbacksInTime != 2 {
		t.Fatalf("fallbacks %d, in time %d; want 3, 2", s.Fallbacks, s.FallbacksInTime)
	}
	if r, ok := s.FallbackSuccessRate(); !ok || math.Abs(r-2.0/3) > 1e-12 {
		t.Errorf("fallback success rate = %v, %v; want 2/3", r, ok)
	}
}

// Two workers, no queue, a request a second; from 5s to 15s calls take
// 1.5s and fail. Without a breaker two calls overlap in every interval from
// 5s on (the last slow call, at 14s, still runs when 15s arrives): three
// saturated intervals. With tinyConfig the breaker trips at 7.5s (calls 5
// and 6 fail at 6.5s and 7.5s; 5 and 6 overlap, so 5s-10s saturates too);
// from then on only single probes run (10s, 14s, 18s): one saturated
// interval, and two cascades prevented.
func TestCascadesPreventedHandComputed(t *testing.T) {
	sc := sim.Scenario{
		Duration: 20 * time.Second, Interval: 5 * time.Second,
		Rate: 1, Arrivals: "uniform", Workers: 2,
		Phases: []sim.Phase{
			{Start: 0, Latency: 100 * ms},
			{Start: 5 * time.Second, Latency: 1500 * ms, ErrorRate: 1, Fault: true},
			{Start: 15 * time.Second, Latency: 100 * ms},
		},
	}
	res, err := sim.Run(sc, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	busy := func(r sim.RunResult) []int {
		var out []int
		for _, iv := range r.Intervals {
			out = append(out, iv.PeakBusy)
		}
		return out
	}
	if got, want := busy(res.Runs[0]), []int{1, 2, 2, 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("no breaker: peak busy %v, want %v", got, want)
	}
	if got, want := busy(res.Runs[1]), []int{1, 2, 1, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("with breaker: peak busy %v, want %v", got, want)
	}
	base, brk := res.Runs[0].Summary, res.Runs[1].Summary
	if base.Saturated != 3 || brk.Saturated != 1 || brk.CascadesPrevented != 2 || base.CascadesPrevented != 0 {
		t.Errorf("saturated %d / %d, cascades prevented %d (no breaker %d); want 3 / 1, 2 (0)",
			base.Saturated, brk.Saturated, brk.CascadesPrevented, base.CascadesPrevented)
	}
}

func TestPhaseCapacityShare(t *testing.T) {
	s := time.Second
	cases := []struct {
		ph   sim.Phase
		at   time.Duration
		want float64
	}{
		{sim.Phase{Start: 10 * s}, 10 * s, 1},
		{sim.Phase{Start: 10 * s, CapacityShare: 0.5}, 99 * s, 0.5},
		{sim.Phase{Start: 10 * s, CapacityShare: 0.2, CapacityRamp: 20 * s}, 10 * s, 0.2},
		{sim.Phase{Start: 10 * s, CapacityShare: 0.2, CapacityRamp: 20 * s}, 20 * s, 0.6},
		{sim.Phase{Start: 10 * s, CapacityShare: 0.2, CapacityRamp: 20 * s}, 30 * s, 1},
		{sim.Phase{Start: 10 * s, CapacityShare: 0.2, CapacityRamp: 20 * s}, 40 * s, 1},
	}
	for _, c := range cases {
		if got := c.ph.ShareAt(c.at); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v at %v: share %v, want %v", c.ph, c.at, got, c.want)
		}
	}
}

// Capacity by hand: calls of 600ms every 500ms, a dependency that serves
// two at full speed, in a phase that starts with half of that (one call).
//
//	full capacity  every call 600ms: answers at 0.6, 1.1, 1.6; 1.5 unfinished
//	half           0.5 starts while call 0 runs (2 > 1): 1.2s, ends 1.7;
//	               1.0 with 0.5 (2): 1.2s; 1.5 with both (3): 1.8s. Two answers.
//	half, fails    the same, and 2 > 1.5 × 1 fails 0.5: one answer, one error
//	half, ramp 1s  at 0.5 the share is 3/4 (1.5 calls): 800ms, and 2 is not
//	               above 1.5 × 1.5; at 1.0 it is all: 600ms, 600ms. Three answers.
func TestCapacityShareAndOverloadFailure(t *testing.T) {
	cases := []struct {
		name              string
		share             float64
		ramp              time.Duration
		overload          float64
		ok, errs, pending int
		p99               time.Duration
	}{
		{"full capacity", 0, 0, 0, 3, 0, 1, 600 * ms},
		{"half", 0.5, 0, 0, 2, 0, 2, 1200 * ms},
		{"half, overloaded fails", 0.5, 0, 1.5, 1, 1, 2, 1200 * ms},
		{"half, ramp 1s", 0.5, time.Second, 1.5, 3, 0, 1, 800 * ms},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := sim.Scenario{
				Duration: 2 * time.Second, Rate: 2, Arrivals: "uniform", Workers: 10,
				Capacity: 2, OverloadFailure: c.overload,
				Phases: []sim.Phase{{Latency: 600 * ms, CapacityShare: c.share, CapacityRamp: c.ramp}},
			}
			res, err := sim.Run(sc, circuit.DefaultConfig(), 1)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Runs[0].Summary
			if s.OK != c.ok || s.Errors != c.errs || s.Unfinished != c.pending || s.P99.Round(ms) != c.p99 {
				t.Errorf("ok %d, errors %d, unfinished %d, p99 %v; want %d, %d, %d, %v",
					s.OK, s.Errors, s.Unfinished, s.P99, c.ok, c.errs, c.pending, c.p99)
			}
		})
	}
}

func TestParseScenarioRecoveryFields(t *testing.T) {
	data := `{"duration": "1m", "rate": 10, "workers": 5, "capacity": 4, "overloadFailure": 2,
		"ramp": {"duration": "20s", "start": 0.25},
		"phases": [{"start": "0s", "latency": "20ms", "capacityShare": 0.1, "capacityRamp": "30s"}]}`
	sc, err := sim.ParseScenario("mine.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if sc.OverloadFailure != 2 || sc.Ramp == nil || *sc.Ramp != (sim.Ramp{Duration: 20 * time.Second, Start: 0.25}) {
		t.Errorf("overloadFailure %v, ramp %+v", sc.OverloadFailure, sc.Ramp)
	}
	if ph := sc.Phases[0]; ph.CapacityShare != 0.1 || ph.CapacityRamp != 30*time.Second {
		t.Errorf("phase %+v", ph)
	}
	rc := sc.RampConfig(circuit.DefaultConfig())
	if rc.RampDuration != 20*time.Second || rc.RampStart != 0.25 {
		t.Errorf("RampConfig: RampDuration %v, RampStart %v", rc.RampDuration, rc.RampStart)
	}
}
