package sim_test

import (
	"testing"
	"time"

	"github.com/breakerlab/circuit/internal/sim"
)

// One request a second, one worker, no spread. From 5s to 10s the
// dependency takes 1.5s, past the config's 1s call timeout; tinyConfig
// trips on two failures in a row and opens for 2s. Worked out by hand:
//
//	5, 6    time out at 6.0, 7.0: trip at 7.0, open until 9.0
//	7, 8    rejected; made, they would have timed out: not good
//	9       the probe times out at 10.0: open again until 12.0
//	10, 11  rejected; healthy again (100ms), they would have answered: good
//	12      the probe succeeds at 12.1: closed
//
// With a 50ms deadline the same rejections are never good: a 100ms answer
// is late. The deadline changes nothing else in the breaker run.
func TestGoodRejectedHandComputed(t *testing.T) {
	sc := sim.Scenario{
		Duration: 20 * time.Second, Interval: 5 * time.Second,
		Rate: 1, Arrivals: "uniform", Workers: 1,
		Phases: []sim.Phase{
			{Start: 0, Latency: 100 * ms},
			{Start: 5 * time.Second, Latency: 1500 * ms, Fault: true},
			{Start: 10 * time.Second, Latency: 100 * ms},
		},
	}
	cfg := tinyConfig()
	cfg.CallTimeout = time.Second
	for _, c := range []struct {
		deadline time.Duration
		good     int
	}{{0, 2}, {50 * ms, 0}} {
		sc.Deadline = c.deadline
		res, err := sim.Run(sc, cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Runs[1].Summary
		if s.Spared != 4 || s.Opens != 2 {
			t.Fatalf("deadline %v: %d rejections and %d opens, want 4 and 2: the hand computation no longer applies (%+v)",
				c.deadline, s.Spared, s.Opens, res.Runs[1].Transitions)
		}
		if s.GoodRejected != c.good {
			t.Errorf("deadline %v: GoodRejected = %d, want %d", c.deadline, s.GoodRejected, c.good)
		}
		if res.Runs[0].Summary.GoodRejected != 0 {
			t.Errorf("deadline %v: the run without a breaker rejected %d good calls", c.deadline, res.Runs[0].Summary.GoodRejected)
		}
	}
}
