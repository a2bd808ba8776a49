package sim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

func runFleet(t *testing.T, fs sim.FleetScenario, cfg circuit.Config, seed uint64) *sim.FleetResult {
	t.Helper()
	res, err := sim.RunFleet(fs, cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkFleetInvariants checks what holds by construction of any run.
func checkFleetInvariants(t *testing.T, res *sim.FleetResult) {
	t.Helper()
	fs, cfg := &res.Scenario, res.Config
	for m := range res.Runs {
		r := &res.Runs[m]
		if r.Mode != sim.FleetMode(m) {
			t.Errorf("Runs[%d].Mode = %v", m, r.Mode)
		}
		if r.Requests != res.Runs[0].Requests {
			t.Errorf("%v: %d requests, %v: %d: the modes must see the same traffic",
				r.Mode, r.Requests, res.Runs[0].Mode, res.Runs[0].Requests)
		}
		if r.Calls+r.Rejected != r.Requests {
			t.Errorf("%v: %d calls + %d rejected != %d requests", r.Mode, r.Calls, r.Rejected, r.Requests)
		}
		if r.FailedCalls > r.Calls || r.FaultProbes > r.Probes || r.Probes > r.Calls || r.RejectedAfter > r.Rejected {
			t.Errorf("%v: a part exceeds its whole: %+v", r.Mode, *r)
		}
		if r.AllOpened && r.AllOpen < r.FirstOpen {
			t.Errorf("%v: every replica open at %v, before the first one (%v)", r.Mode, r.AllOpen, r.FirstOpen)
		}
	}

	alone := &res.Runs[sim.PerReplica]
	if alone.Rounds != nil || alone.FleetOpens != 0 {
		t.Errorf("per-replica: %d rounds, %d fleet opens: no coordinator, so none", len(alone.Rounds), alone.FleetOpens)
	}
	// A breaker alone opens only on its own calls: each that opened while
	// closed failed ConsecutiveFailures in a row first (the window cannot
	// trip sooner in these tests: MinRequests >= ConsecutiveFailures).
	if alone.AllOpened && cfg.ConsecutiveFailures > 0 && alone.FailedCalls < fs.Replicas*cfg.ConsecutiveFailures {
		t.Errorf("per-replica: %d failed calls; every one of %d replicas opened, so at least %d",
			alone.FailedCalls, fs.Replicas, fs.Replicas*cfg.ConsecutiveFailures)
	}

	for _, m := range []sim.FleetMode{sim.Coordinated, sim.SharedWindow} {
		r := &res.Runs[m]
		// The first open reaches every other replica one propagation
		// delay later.
		if r.Opened && (!r.AllOpened || r.AllOpen > r.FirstOpen+fs.Propagation) {
			t.Errorf("%v: first open at %v, every replica open at %v (all: %v): want by %v",
				m, r.FirstOpen, r.AllOpen, r.AllOpened, r.FirstOpen+fs.Propagation)
		}
		// One prober per round; one probe per failed round, and
		// SuccessThreshold for the round that closed the fleet.
		probes := 0
		for i, rd := range r.Rounds {
			probes += rd.Probes
			switch rd.Outcome {
			case "reopened":
				if rd.Probes != 1 || rd.Prober < 0 {
					t.Errorf("%v: round %d reopened after %d probes from replica %d: want 1 probe", m, i, rd.Probes, rd.Prober)
				}
			case "closed":
				if rd.Probes != cfg.SuccessThreshold || rd.Prober < 0 {
					t.Errorf("%v: round %d closed after %d probes from replica %d: want %d", m, i, rd.Probes, rd.Prober, cfg.SuccessThreshold)
				}
			}
			if rd.RetryAt <= rd.Opened {
				t.Errorf("%v: round %d opened at %v until %v", m, i, rd.Opened, rd.RetryAt)
			}
		}
		if probes != r.Probes {
			t.Errorf("%v: the rounds' probers sent %d probes, the run counted %d: someone probed without the lease", m, probes, r.Probes)
		}
		if r.HalfOpens > 0 && r.ProbesPerRound != float64(r.FaultProbes)*float64(r.HalfOpenReplicas)/float64(r.HalfOpens) {
			t.Errorf("%v: ProbesPerRound %g != %d × %d / %d", m, r.ProbesPerRound, r.FaultProbes, r.HalfOpenReplicas, r.HalfOpens)
		}
		// Every replica goes half-open in every round.
		if r.HalfOpens%fs.Replicas != 0 || (r.HalfOpens > 0 && r.HalfOpenReplicas != fs.Replicas) {
			t.Errorf("%v: %d half-open periods over %d replicas: want a multiple of %d over every replica",
				m, r.HalfOpens, r.HalfOpenReplicas, fs.Replicas)
		}
	}
}

func TestFleetDefaultRun(t *testing.T) {
	fs, cfg := sim.DefaultFleetScenario(), circuit.DefaultConfig()
	res := runFleet(t, fs, cfg, 1)
	checkFleetInvariants(t, res)
	alone, fleet := &res.Runs[sim.PerReplica], &res.Runs[sim.Coordinated]

	// Every replica goes half-open together and one probes: exactly one
	// probe per round while the dependency is down.
	if fleet.HalfOpens == 0 || fleet.ProbesPerRound != 1 {
		t.Errorf("fleet: %g probes per round over %d half-open periods, want exactly 1", fleet.ProbesPerRound, fleet.HalfOpens)
	}
	if n := float64(fs.Replicas); alone.ProbesPerRound < 0.75*n || alone.ProbesPerRound > n {
		t.Errorf("per-replica: %g probes per round, want about one per replica (%g)", alone.ProbesPerRound, n)
	}
	// Each round is one probe to a dead dependency; the last one closes.
	rounds := fleet.Rounds
	if len(rounds) < 2 || rounds[len(rounds)-1].Outcome != "closed" {
		t.Fatalf("fleet rounds: %+v: want rounds that reopen, then one that closes", rounds)
	}
	if !alone.Closed || !fleet.Closed {
		t.Errorf("closed again: per-replica %v, fleet %v: five minutes leave time for both", alone.Closed, fleet.Closed)
	}
	if fleet.FleetOpens == 0 || fleet.FleetOpens >= fleet.Opens {
		t.Errorf("fleet: %d of %d opens by the coordinator", fleet.FleetOpens, fleet.Opens)
	}
}

// The coordination properties hold whatever the traffic, the delay or the
// seed.
func TestFleetPropertiesAcrossRuns(t *testing.T) {
	for _, rate := range []float64{0.05, 0.5, 3} {
		for _, prop := range []time.Duration{0, 300 * time.Millisecond, 5 * time.Second} {
			for seed := uint64(1); seed <= 3; seed++ {
				t.Run(fmt.Sprintf("rate=%g/prop=%v/seed=%d", rate, prop, seed), func(t *testing.T) {
					fs := sim.DefaultFleetScenario()
					fs.Rate, fs.Propagation, fs.Replicas = rate, prop, 12
					res := runFleet(t, fs, circuit.DefaultConfig(), seed)
					checkFleetInvariants(t, res)
					for _, m := range []sim.FleetMode{sim.Coordinated, sim.SharedWindow} {
						if r := &res.Runs[m]; r.HalfOpens > 0 && r.ProbesPerRound != 1 {
							t.Errorf("%v: %g probes per round, want 1", m, r.ProbesPerRound)
						}
					}
				})
			}
		}
	}
}

// A replica serving a request a minute never holds MinRequests outcomes,
// so with only the error-rate criterion no breaker opens alone, and
// coordination has nothing to spread; the summed window trips the fleet.
func TestFleetSharedWindowTripsAtLowTraffic(t *testing.T) {
	cfg := circuit.DefaultConfig()
	cfg.ConsecutiveFailures = 0
	cfg.MinRequests = 20
	fs := sim.DefaultFleetScenario()
	fs.Rate = 1.0 / 60
	fs.Window = 2 * time.Minute
	res := runFleet(t, fs, cfg, 1)
	checkFleetInvariants(t, res)

	if perReplica := float64(res.Runs[0].Requests) / float64(fs.Replicas); perReplica >= float64(cfg.MinRequests) {
		t.Fatalf("%g requests per replica: the test needs fewer than MinRequests (%d)", perReplica, cfg.MinRequests)
	}
	for _, m := range []sim.FleetMode{sim.PerReplica, sim.Coordinated} {
		if r := &res.Runs[m]; r.Opened || r.Opens != 0 {
			t.Errorf("%v: opened (%d opens) with no replica reaching MinRequests", m, r.Opens)
		}
	}
	shared := &res.Runs[sim.SharedWindow]
	if !shared.AllOpened || shared.FirstOpen >= fs.FaultEnd-fs.FaultStart {
		t.Fatalf("fleet+window: opened %v at %v, all %v: want the fleet open during the fault", shared.Opened, shared.FirstOpen, shared.AllOpened)
	}
	if rd := shared.Rounds[0]; rd.Opener != -1 || rd.Reason != circuit.ReasonErrorRate {
		t.Errorf("first round opened by replica %d for %v: want the shared window (-1, error-rate)", rd.Opener, rd.Reason)
	}
	if shared.FailedCalls >= res.Runs[sim.PerReplica].FailedCalls {
		t.Errorf("fleet+window let %d failed calls through, per-replica %d", shared.FailedCalls, res.Runs[sim.PerReplica].FailedCalls)
	}

	// The same traffic, but the window wants every replica to have
	// reported within 30s, which at a request a minute none does.
	fs.MinReplicas, fs.Window = fs.Replicas, 30*time.Second
	res = runFleet(t, fs, cfg, 1)
	if r := &res.Runs[sim.SharedWindow]; r.Opened {
		t.Errorf("fleet+window opened at %v with MinReplicas = every replica over a 30s window", r.FirstOpen)
	}
}

func TestFleetSameSeedSameResult(t *testing.T) {
	fs, cfg := sim.DefaultFleetScenario(), circuit.DefaultConfig()
	a, b := runFleet(t, fs, cfg, 7), runFleet(t, fs, cfg, 7)
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with seed 7 differ")
	}
	text := func(res *sim.FleetResult) string {
		var buf bytes.Buffer
		if err := sim.WriteFleetText(&buf, res); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	if text(a) != text(b) {
		t.Error("two runs with seed 7 print differently")
	}
	if c := runFleet(t, fs, cfg, 8); text(a) == text(c) {
		t.Error("seeds 7 and 8 print the same report")
	}
}

func TestFleetInputErrors(t *testing.T) {
	cases := []struct {
		name   string
		change func(*sim.FleetScenario, *circuit.Config)
		want   []string // each must appear in the error
	}{
		{"no replicas", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Replicas = 0 },
			[]string{"replicas = 0: must be from 1 to 1000"}},
		{"too many replicas", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Replicas = 1001 },
			[]string{"replicas = 1001"}},
		{"zero rate", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Rate = 0 },
			[]string{"rate = 0: must be a positive number"}},
		{"NaN rate", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Rate = nan() },
			[]string{"rate = NaN"}},
		{"fault backwards", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.FaultEnd = 30 * time.Second },
			[]string{"fault-end = 30s: must be after the fault's start (1m0s)"}},
		{"fault past the end", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.FaultEnd = fs.Duration },
			[]string{"fault-end = 5m0s: must be before the end of the run"}},
		{"negative start", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.FaultStart = -time.Second },
			[]string{"fault-start = -1s"}},
		{"slow propagation", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Propagation = time.Minute },
			[]string{"propagation = 1m0s: must be shorter than the breaker's OpenTimeout (30s)"}},
		{"window shorter than a flush", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Window = 100 * time.Millisecond },
			[]string{"window = 100ms: must be from the flush interval (250ms)"}},
		{"no flush", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Flush = 0 },
			[]string{"flush = 0s: must be at least 1ms"}},
		{"min replicas above replicas", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.MinReplicas = 21 },
			[]string{"min-replicas = 21: must be from 1 to the number of replicas (20)"}},
		{"too much work", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Rate = 1000 },
			[]string{"20 replicas at 1000 req/s for 5m0s is 6e+06 requests per mode; at most 1000000"}},
		{"latency at the call timeout", func(_ *sim.FleetScenario, c *circuit.Config) { c.CallTimeout = 20 * time.Millisecond },
			[]string{"latency = 20ms: must be shorter than the breaker's CallTimeout (20ms)"}},
		{"invalid config", func(_ *sim.FleetScenario, c *circuit.Config) { c.OpenTimeout = 0 },
			[]string{"OpenTimeout = 0s: must be positive"}},
		{"several at once", func(fs *sim.FleetScenario, _ *circuit.Config) { fs.Replicas, fs.Latency = -1, -time.Second },
			[]string{"replicas = -1", "latency = -1s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, cfg := sim.DefaultFleetScenario(), circuit.DefaultConfig()
			c.change(&fs, &cfg)
			res, err := sim.RunFleet(fs, cfg, 1)
			if err == nil || res != nil {
				t.Fatalf("RunFleet = %v, %v: want an error", res, err)
			}
			var ie *sim.InputError
			if !errors.As(err, &ie) {
				t.Errorf("%v is not an *InputError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestFleetJSON(t *testing.T) {
	cfg := circuit.DefaultConfig()
	cfg.ConsecutiveFailures = 0
	fs := sim.DefaultFleetScenario()
	fs.Rate = 0.02 // too little traffic for the error rate: some times are null
	res := runFleet(t, fs, cfg, 1)
	var buf bytes.Buffer
	if err := sim.WriteFleetJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Replicas int
		Config   circuit.Config
		Runs     []struct {
			Mode          string
			FailedCalls   int
			FirstOpenMs   *float64
			ClosedAfterMs *float64
			Rounds        []struct{ Prober, Probes int }
		}
		Reading string
	}
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if v.Replicas != 20 || v.Config != cfg || len(v.Runs) != 3 || v.Reading != sim.FleetReading(res) {
		t.Errorf("JSON = %+v", v)
	}
	for i, r := range v.Runs {
		if r.Mode != sim.FleetMode(i).String() || r.FailedCalls != res.Runs[i].FailedCalls {
			t.Errorf("runs[%d] = %+v", i, r)
		}
		if (r.FirstOpenMs == nil) != !res.Runs[i].Opened {
			t.Errorf("runs[%d].firstOpenMs = %v, opened %v", i, r.FirstOpenMs, res.Runs[i].Opened)
		}
		if len(r.Rounds) != len(res.Runs[i].Rounds) {
			t.Errorf("runs[%d]: %d rounds, want %d", i, len(r.Rounds), len(res.Runs[i].Rounds))
		}
	}
	if v.Runs[0].FirstOpenMs != nil {
		t.Error("per-replica breakers opened on a request every 50s: the test wants one that never does")
	}
}

func BenchmarkRunFleetDefault(b *testing.B) {
	fs, cfg := sim.DefaultFleetScenario(), circuit.DefaultConfig()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := sim.RunFleet(fs, cfg, 1); err != nil {
			b.Fatal(err)
		}
	}
}
