package sim_test

import (
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

func runBuiltin(t *testing.T, name string, seed uint64, change func(*circuit.Config)) *sim.Result {
	t.Helper()
	sc, err := sim.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sc.BreakerConfig()
	if change != nil {
		change(&cfg)
	}
	res, err := sim.Run(sc, cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The brownout stays under the threshold: the breaker never opens, on any
// of several seeds. It is close to it, though: a threshold of 700ms opens.
func TestBrownoutNeverOpens(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		res := runBuiltin(t, "brownout", seed, nil)
		if s := res.Runs[1].Summary; s.Opens != 0 || s.Fallbacks != 0 {
			t.Errorf("seed %d: %d opens, %d fallbacks; want none", seed, s.Opens, s.Fallbacks)
		}
	}
	res := runBuiltin(t, "brownout", 1, func(c *circuit.Config) { c.LatencyThreshold = 700 * time.Millisecond })
	if s := res.Runs[1].Summary; s.FalseOpens == 0 {
		t.Error("P95 >= 700ms does not open in the brownout: the scenario is not near the threshold")
	}
}

// db-slowdown has no client timeout: the slow calls succeed after 5s, so
// only the latency criterion sees them. It opens in at most 1.3s, only
// for latency (slow calls in flight or finished), and never without a
// latency threshold.
func TestDBSlowdownOpensOnlyOnLatency(t *testing.T) {
	sc, err := sim.Builtin("db-slowdown")
	if err != nil {
		t.Fatal(err)
	}
	if sc.CallTimeout != 0 || sc.BreakerConfig().CallTimeout != 0 {
		t.Fatalf("db-slowdown has a call timeout (%v, config %v)", sc.CallTimeout, sc.BreakerConfig().CallTimeout)
	}
	res := runBuiltin(t, "db-slowdown", 1, nil)
	s := res.Runs[1].Summary
	if !s.Detected || s.Detect > 1300*time.Millisecond {
		t.Errorf("time to detect %v (detected %v), want at most 1.3s", s.Detect, s.Detected)
	}
	for _, tr := range res.Runs[1].Transitions {
		if tr.From == circuit.Closed && tr.To == circuit.Open && tr.Reason != circuit.ReasonSlowCalls && tr.Reason != circuit.ReasonLatency {
			t.Errorf("trip at %v for %v, want slow calls or latency", tr.At, tr.Reason)
		}
	}
	res = runBuiltin(t, "db-slowdown", 1, func(c *circuit.Config) { c.LatencyThreshold = 0 })
	if s := res.Runs[1].Summary; s.Opens != 0 {
		t.Errorf("without a latency threshold: %d opens, want 0", s.Opens)
	}
}

// flapping: the breaker closes in the good stretches and trips again in
// the bad ones. Nothing healthy trips it.
func TestFlappingReTrips(t *testing.T) {
	res := runBuiltin(t, "flapping", 1, nil)
	for _, run := range []*sim.RunResult{&res.Runs[1], res.Ramped} {
		if run == nil {
			t.Fatal("flapping has no ramp run")
		}
		s := run.Summary
		if s.ReTrips < 2 || s.FalseOpens != 0 || !s.Detected {
			t.Errorf("%s: %d re-trips, %d false opens, detected %v; want at least 2, 0, true",
				run.Label, s.ReTrips, s.FalseOpens, s.Detected)
		}
	}
}

// slow-recovery: let back in at once, the full load overloads the
// recovering dependency and the breaker trips again; the ramp lets it warm
// up: fewer re-trips, fewer calls in flight at once, fewer errors.
func TestSlowRecoveryRampHelps(t *testing.T) {
	res := runBuiltin(t, "slow-recovery", 1, nil)
	if res.Ramped == nil {
		t.Fatal("slow-recovery has no ramp run")
	}
	base, plain, ramped := res.Runs[0].Summary, res.Runs[1].Summary, res.Ramped.Summary
	if res.RampConfig.RampDuration != time.Minute || res.Config.RampDuration != 0 {
		t.Errorf("ramp %v in the comparison, %v in the breaker run; want 1m and 0", res.RampConfig.RampDuration, res.Config.RampDuration)
	}
	if plain.ReTrips == 0 || ramped.ReTrips >= plain.ReTrips {
		t.Errorf("re-trips %d without the ramp, %d with it; want some, then fewer", plain.ReTrips, ramped.ReTrips)
	}
	if ramped.RecoveryPeak >= plain.RecoveryPeak || ramped.Errors >= plain.Errors {
		t.Errorf("with the ramp: peak in flight %d (was %d), errors %d (was %d); want both lower",
			ramped.RecoveryPeak, plain.RecoveryPeak, ramped.Errors, plain.Errors)
	}
	if plain.FalseOpens != 0 || ramped.FalseOpens != 0 {
		t.Errorf("false opens %d / %d: a trip while capacity comes back is not false", plain.FalseOpens, ramped.FalseOpens)
	}
	// Without a breaker the overloaded dependency keeps failing after the
	// outage: errors answered from 2:00 on.
	errs := 0
	for _, iv := range res.Runs[0].Intervals {
		if iv.Start >= res.FaultEnd {
			errs += iv.Errors
		}
	}
	if errs < 100 || base.Saturated == 0 {
		t.Errorf("no breaker: %d errors after the outage, %d saturated intervals; want an overload", errs, base.Saturated)
	}
}
