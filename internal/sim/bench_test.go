package sim_test

import (
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

// BenchmarkRunFlaky is ten simulated minutes at 100 requests a second,
// run twice (without and with the breaker).
func BenchmarkRunFlaky(b *testing.B) {
	benchRun(b, "flaky")
}

// BenchmarkRunDBSlowdown is the default scenario of circuitsim.
func BenchmarkRunDBSlowdown(b *testing.B) {
	benchRun(b, "db-slowdown")
}

// BenchmarkRunSlowRecovery has the ramp comparison: three runs, which the
// cost model counts as 1.5 times two.
func BenchmarkRunSlowRecovery(b *testing.B) {
	benchRun(b, "slow-recovery")
}

// benchRun reports ns/request, the figure behind the cost model's
// nsPerCall (both runs together).
func benchRun(b *testing.B, name string) {
	sc, err := sim.Builtin(name)
	if err != nil {
		b.Fatal(err)
	}
	cfg := sc.BreakerConfig()
	b.ReportAllocs()
	requests := 0
	for i := 0; i < b.N; i++ {
		res, err := sim.Run(sc, cfg, uint64(i))
		if err != nil {
			b.Fatal(err)
		}
		requests += res.Runs[0].Summary.Offered
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(requests), "ns/request")
}

// BenchmarkRunFlapping is a breaker that changes state at almost every
// call, with a full window of 2^13 latencies: the cost model's
// nsPerTransition and nsPerWindowSample. It reports ns per state change
// and per window sample copied.
func BenchmarkRunFlapping(b *testing.B) {
	const window = 1 << 13
	sc := sim.Scenario{
		Duration: 6 * time.Minute, Interval: time.Minute, Rate: 57, Workers: 200,
		Phases: []sim.Phase{
			{Latency: 50 * time.Millisecond},
			{Start: 3 * time.Minute, Latency: 50 * time.Millisecond, ErrorRate: 1},
		},
	}
	cfg := circuit.DefaultConfig()
	cfg.WindowSize, cfg.OpenTimeout = window, time.Millisecond
	b.ReportAllocs()
	transitions := 0
	for i := 0; i < b.N; i++ {
		res, err := sim.Run(sc, cfg, uint64(i))
		if err != nil {
			b.Fatal(err)
		}
		transitions += len(res.Runs[1].Transitions)
	}
	ns := float64(b.Elapsed().Nanoseconds())
	b.ReportMetric(ns/float64(transitions), "ns/transition")
	b.ReportMetric(ns/float64(transitions)/window, "ns/sample")
}

// BenchmarkSweep100 is a sweep of 100 configurations over the default
// scenario (five simulated minutes at 60 requests a second): 4 error
// rates × 5 minimums × 5 open timeouts, on GOMAXPROCS goroutines. One op
// is the whole sweep, the run without a breaker included.
func BenchmarkSweep100(b *testing.B) {
	sc, err := sim.Builtin("db-slowdown")
	if err != nil {
		b.Fatal(err)
	}
	var cands []sim.Candidate
	for _, rate := range []float64{0.2, 0.3, 0.4, 0.5} {
		for _, minReq := range []int{10, 20, 30, 40, 50} {
			for _, open := range []time.Duration{5, 10, 20, 30, 60} {
				c := sc.BreakerConfig()
				c.ErrorRateThreshold, c.MinRequests, c.OpenTimeout = rate, minReq, open*time.Second
				cands = append(cands, sim.Candidate{Name: "grid", Config: c})
			}
		}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := sim.Sweep(sc, cands, uint64(i), 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cands)), "ns/config")
}
