package sim_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

// dayOfFailures is the reliability issue's scenario: a day at 57 req/s,
// every call failing after 5h, through a breaker with the largest window
// and an OpenTimeout of 1ms. It is inside every other documented limit, and
// without the cost bound it ran for hours.
func dayOfFailures() (sim.Scenario, circuit.Config) {
	sc := sim.Scenario{
		Duration: 24 * time.Hour, Interval: time.Minute, Rate: 57, Workers: 200, QueueSize: 500,
		Phases: []sim.Phase{
			{Start: 0, Latency: 50 * ms, Spread: 0.3},
			{Start: 5 * time.Hour, Latency: 50 * ms, Spread: 0.3, ErrorRate: 1, Fault: true},
		},
	}
	cfg := circuit.DefaultConfig()
	cfg.WindowSize = 1 << 20
	cfg.OpenTimeout = ms
	return sc, cfg
}

// The day used to be refused for its window: a state change
// copied the whole window. Now a transition costs O(histogram bins), so the
// window no longer counts and the day is within the bound.
func TestWindowSizeCostsNothing(t *testing.T) {
	sc, cfg := dayOfFailures()
	if err := sim.CheckCost(sc, cfg, sim.MaxRunTime); err != nil {
		t.Errorf("the day with a window of 2^20: %v", err)
	}
	small := cfg
	small.WindowSize = 100
	if a, b := sim.PredictedTransitions(sc, cfg), sim.PredictedTransitions(sc, small); a != b {
		t.Errorf("the window changes the prediction: %v against %v state changes", a, b)
	}
}

func TestRunRefusesARunOverMaxRunTime(t *testing.T) {
	sc, cfg := dayOfFailures()
	sc.Retry = &sim.Retry{MaxAttempts: 10, Backoff: ms} // ten times the calls, and the state changes
	start := time.Now()
	res, err := sim.Run(sc, cfg, 1)
	// Refused before any simulation: a wall-clock bound far above what the
	// check needs and far below what the run would take.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %v to refuse", took)
	}
	if res != nil || err == nil {
		t.Fatalf("Run = %v, %v; want a refusal", res, err)
	}
	var ie *sim.InputError
	if !errors.As(err, &ie) || ie.Field != "OpenTimeout" || ie.Value != `"1ms"` {
		t.Fatalf("error %v (%T) does not name OpenTimeout = \"1ms\"", err, err)
	}
	for _, want := range []string{"MaxRunTime", sim.MaxRunTime.String(), "state up to"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// The same day passes with a window of the default size, and with the big
// window but a long OpenTimeout over an hour: the bound is not a blanket
// refusal of long runs or big windows.
func TestCheckCostAcceptsCheapScenarios(t *testing.T) {
	sc, cfg := dayOfFailures()
	small := cfg
	small.WindowSize = 100
	if err := sim.CheckCost(sc, small, sim.MaxRunTime); err != nil {
		t.Errorf("a day with a window of 100: %v", err)
	}
	hour := sc
	hour.Duration = time.Hour
	hour.Phases = hour.Phases[:1]
	slow := cfg
	slow.OpenTimeout = 5 * time.Minute
	if err := sim.CheckCost(hour, slow, sim.MaxRunTime); err != nil {
		t.Errorf("an hour with a window of 2^20 and OpenTimeout 5m: %v", err)
	}
	for _, name := range sim.BuiltinNames() {
		b, err := sim.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.CheckCost(b, b.BreakerConfig(), sim.MaxRunTime); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
}

// The ramp comparison is a third run of the breaker: it raises the
// prediction by half at least, so a scenario right at the limit without it
// is refused with it.
func TestCheckCostCountsTheRampRun(t *testing.T) {
	sc, cfg := dayOfFailures()
	cfg.OpenTimeout = time.Hour
	limit := sim.PredictedCost(sc, cfg)
	if err := sim.CheckCost(sc, cfg, limit); err != nil {
		t.Fatalf("at its own prediction: %v", err)
	}
	sc.Ramp = &sim.Ramp{Duration: time.Minute}
	if got := sim.PredictedCost(sc, cfg); float64(got) < 1.5*float64(limit) {
		t.Errorf("with a ramp run: %v predicted, want at least 1.5 × %v", got, limit)
	}
	if err := sim.CheckCost(sc, cfg, limit); err == nil {
		t.Errorf("with a ramp run, %v is still enough for the day", limit)
	}
}

// The group run of a scenario with tenants is a third run: it raises the
// prediction by half at least.
func TestCheckCostCountsTheGroupRun(t *testing.T) {
	sc, cfg := dayOfFailures()
	cfg.OpenTimeout = time.Hour
	limit := sim.PredictedCost(sc, cfg)
	sc.Tenants = &sim.Tenants{Count: 50, Failing: 1}
	if got := sim.PredictedCost(sc, cfg); float64(got) < 1.5*float64(limit) {
		t.Errorf("with a group run: %v predicted, want at least 1.5 × %v", got, limit)
	}
	if err := sim.CheckCost(sc, cfg, limit); err == nil {
		t.Errorf("with a group run, %v is still enough for the day", limit)
	}
}

// The error names the field behind the largest term of the prediction.
func TestCheckCostNamesTheDominantField(t *testing.T) {
	cases := []struct {
		name       string
		change     func(*sim.Scenario, *circuit.Config)
		limit      time.Duration
		field, val string
	}{
		{"state changes", func(sc *sim.Scenario, c *circuit.Config) {
			c.WindowSize, c.MinRequests = 10, 10
			sc.Retry = &sim.Retry{MaxAttempts: 10, Backoff: ms}
		}, sim.MaxRunTime, "OpenTimeout", `"1ms"`},
		{"calls", func(_ *sim.Scenario, c *circuit.Config) {
			c.WindowSize, c.MinRequests, c.OpenTimeout = 10, 10, time.Hour
		}, time.Second, "rate", "57"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc, cfg := dayOfFailures()
			c.change(&sc, &cfg)
			err := sim.CheckCost(sc, cfg, c.limit)
			var ie *sim.InputError
			if !errors.As(err, &ie) || ie.Field != c.field || ie.Value != c.val {
				t.Fatalf("error %v does not name %s = %s", err, c.field, c.val)
			}
			if want := "limit of " + c.limit.String() + " (MaxRunTime)"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the limit (%q)", err, want)
			}
		})
	}
}

// The prediction is an upper bound: a run that flaps as fast as it can
// makes no more calls and no more state changes than predicted.
func TestPredictionBoundsTheRun(t *testing.T) {
	cases := []struct {
		name string
		sc   sim.Scenario
		cfg  func(*circuit.Config)
	}{
		{"every call fails, open 1ms", sim.Scenario{
			Duration: 2 * time.Minute, Rate: 200, Workers: 50,
			Phases: []sim.Phase{{Latency: 10 * ms, ErrorRate: 1}},
		}, func(c *circuit.Config) { c.OpenTimeout = ms; c.ConsecutiveFailures = 1 }},
		{"half the calls fail, open 50ms, two probes", sim.Scenario{
			Duration: 2 * time.Minute, Rate: 200, Workers: 50,
			Phases: []sim.Phase{{Latency: 5 * ms, Spread: 1, ErrorRate: 0.5}},
		}, func(c *circuit.Config) {
			c.OpenTimeout, c.ConsecutiveFailures, c.HalfOpenMaxProbes, c.SuccessThreshold = 50*ms, 2, 2, 1
		}},
		{"retries", sim.Scenario{
			Duration: time.Minute, Rate: 100, Workers: 100,
			Retry:  &sim.Retry{MaxAttempts: 3, Backoff: ms},
			Phases: []sim.Phase{{Latency: 5 * ms, ErrorRate: 0.7}},
		}, func(c *circuit.Config) { c.OpenTimeout = 3 * ms; c.ConsecutiveFailures = 2 }},
		{"ramp run, capacity ramps, overload fails", sim.Scenario{
			Duration: 2 * time.Minute, Rate: 200, Workers: 50, Capacity: 2, OverloadFailure: 1,
			Ramp: &sim.Ramp{Duration: 100 * ms, Start: 0.1},
			Phases: []sim.Phase{
				{Latency: 10 * ms, Spread: 1, ErrorRate: 0.3},
				{Start: time.Minute, Latency: 10 * ms, Spread: 1, ErrorRate: 0.3, CapacityShare: 0.1, CapacityRamp: 30 * time.Second},
			},
		}, func(c *circuit.Config) { c.OpenTimeout, c.ConsecutiveFailures = 5*ms, 2 }},
		{"a group run, half the tenants failing", sim.Scenario{
			Duration: 2 * time.Minute, Rate: 200, Workers: 50,
			Tenants: &sim.Tenants{Count: 20, Failing: 10},
			Phases:  []sim.Phase{{Latency: 10 * ms, Spread: 1, ErrorRate: 0.3, Fault: true}},
		}, func(c *circuit.Config) { c.OpenTimeout, c.ConsecutiveFailures = 5*ms, 2 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := circuit.DefaultConfig()
			c.cfg(&cfg)
			res, err := sim.Run(c.sc, cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			brk := res.Runs[1]
			calls, transitions := sim.PredictedCalls(c.sc, cfg), sim.PredictedTransitions(c.sc, cfg)
			if got := float64(len(brk.Transitions)); got > transitions {
				t.Errorf("%v transitions, predicted at most %v", got, transitions)
			}
			if g := res.Grouped; g != nil {
				if got := float64(len(g.Transitions)); got > transitions || got < 100 {
					t.Errorf("group run: %v transitions, predicted at most %v (and at least 100 to exercise it)", got, transitions)
				}
			}
			if r := res.Ramped; r != nil {
				if got := float64(len(r.Transitions)); got > transitions || got < 100 {
					t.Errorf("ramp run: %v transitions, predicted at most %v (and at least 100 to exercise it)", got, transitions)
				}
			}
			t.Logf("%d of at most %v transitions, %d of at most %v calls", len(brk.Transitions), transitions, res.Runs[0].Summary.Calls, calls)
			if len(brk.Transitions) < 100 {
				t.Errorf("only %d transitions: the case does not exercise the bound", len(brk.Transitions))
			}
			if got := float64(res.Runs[0].Summary.Calls); got > calls {
				t.Errorf("%v calls without a breaker, predicted at most %v", got, calls)
			}
		})
	}
}
