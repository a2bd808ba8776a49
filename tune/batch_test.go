package tune_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/tune"
)

// Replaying the calls in batches changes no report: Shadows that replay
// every call at once, every 7 calls and every 64 (the default) report the
// same, whenever they are read, on random traffic that trips and recovers
// the live breaker and every candidate, with live transitions, timeouts,
// cancellations and a Promote in between.
func TestBatchesChangeNoReport(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 13))
			clk := newStepClock()
			live := newLive(t, clk, mirrorConfig())
			strict, loose, ramp := mirrorConfig(), mirrorConfig(), mirrorConfig()
			strict.ConsecutiveFailures = 2
			strict.CallTimeout = 300 * time.Millisecond
			loose.ErrorRateThreshold = 0.8
			loose.LatencyThreshold = 0
			loose.OpenTimeout = 3 * time.Second
			ramp.RampDuration = 5 * time.Second
			ramp.SuccessThreshold = 1
			ramp.HalfOpenMaxProbes = 3
			cands := []tune.Candidate{{Name: "strict", Config: strict}, {Name: "loose", Config: loose}, {Name: "ramp", Config: ramp}}
			var all []*tune.Shadows
			for _, n := range []int{1, 7, 0} {
				s, err := tune.Attach(live, cands, tune.WithBatchSize(n), tune.WithHealthyRun(3), tune.WithIncidentFailures(2))
				require.NoError(t, err)
				defer s.Detach()
				all = append(all, s)
			}
			same := func(when string) {
				t.Helper()
				want := all[0].Reports()
				for _, s := range all[1:] {
					require.Equal(t, want, s.Reports(), when)
				}
			}
			opens := 0
			live.Subscribe(func(tr circuit.Transition) {
				if tr.To == circuit.Open {
					opens++
				}
			})
			for i := range 3000 {
				var err error
				switch bad := (i/150)%3 == 1; { // waves of trouble
				case bad && r.IntN(3) > 0, r.IntN(25) == 0:
					err = errBoom
				case r.IntN(40) == 0:
					err = context.Canceled
				}
				lat := time.Duration(r.IntN(50)) * time.Millisecond
				if r.IntN(30) == 0 {
					lat = time.Duration(200+r.IntN(1500)) * time.Millisecond
				}
				_ = call(live, clk, lat, err)
				clk.Add(time.Duration(r.IntN(200)) * time.Millisecond)
				if r.IntN(400) == 0 {
					clk.Add(time.Duration(r.IntN(30)) * time.Second)
				}
				if r.IntN(250) == 0 {
					same(fmt.Sprintf("call %d", i))
				}
				if i == 2000 {
					require.NoError(t, all[0].Promote("loose"))
				}
			}
			same("the end")
			require.Greater(t, opens, 3, "the live breaker trips")
			for _, rep := range all[0].Reports()[1:] {
				require.Positive(t, rep.Opens, rep.Name)
			}
		})
	}
}
