package tune_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/tune"
)

// mirrorConfig exercises every part of the state machine a scenario can
// reach: consecutive failures, the error rate, latency, CallTimeout,
// backoff on a failed probe, and several probes.
func mirrorConfig() circuit.Config {
	c := circuit.DefaultConfig()
	c.ConsecutiveFailures = 3
	c.ErrorRateThreshold = 0.5
	c.WindowSize = 10
	c.MinRequests = 6
	c.LatencyThreshold = 300 * time.Millisecond
	c.LatencyPercentile = 0.5
	c.OpenTimeout = 10 * time.Second
	c.OpenBackoff = 2
	c.SuccessThreshold = 2
	c.HalfOpenMaxProbes = 1
	c.CallTimeout = time.Second
	return c
}

// scenario plays sequential calls through b: healthy traffic, failures
// that trip it, rejections, a failed probe, recoveries, a slowdown and
// calls over the timeout.
func scenario(t *testing.T, b *circuit.Breaker[int], clk *stepClock) {
	t.Helper()
	ok := func(n int, lat time.Duration) {
		for range n {
			_ = call(b, clk, lat, nil)
			clk.Add(100 * time.Millisecond)
		}
	}
	fail := func(n int) {
		for range n {
			_ = call(b, clk, 20*time.Millisecond, errBoom)
			clk.Add(100 * time.Millisecond)
		}
	}
	ok(20, 10*time.Millisecond)
	fail(3) // consecutive failures: open
	ok(5, 10*time.Millisecond)
	clk.Add(10 * time.Second)
	fail(1)                    // the probe fails: open for 20s
	ok(3, 10*time.Millisecond) // rejected
	clk.Add(20 * time.Second)
	ok(10, 10*time.Millisecond) // probes, then closed
	for range 6 {               // every other call fails: the error rate
		fail(1)
		ok(1, 10*time.Millisecond)
	}
	clk.Add(15 * time.Second)
	ok(12, 10*time.Millisecond)
	ok(8, 400*time.Millisecond) // slow: the latency criterion
	clk.Add(15 * time.Second)
	ok(4, 10*time.Millisecond)
	ok(3, 1500*time.Millisecond) // over CallTimeout: failures
	clk.Add(30 * time.Second)
	ok(20, 10*time.Millisecond)
}

// A shadow with exactly the live Config opens when the live breaker
// opens, as often and at the same times, and rejects exactly the calls it
// rejected, on a scenario with every kind of trip, reopen and recovery.
func TestShadowOfTheLiveConfigMirrorsIt(t *testing.T) {
	clk := newStepClock()
	live := newLive(t, clk, mirrorConfig())
	var opens []time.Time
	live.Subscribe(func(tr circuit.Transition) {
		if tr.To == circuit.Open {
			opens = append(opens, tr.At.UTC())
		}
	})
	s, err := tune.Attach(live, []tune.Candidate{{Name: "same", Config: mirrorConfig()}})
	require.NoError(t, err)
	defer s.Detach()

	scenario(t, live, clk)
	live.State() // the live breaker's time-driven transitions, as the shadows' in Reports

	m := live.Metrics()
	rs := s.Reports()
	require.Len(t, rs, 2)
	lr, sr := rs[0], rs[1]
	require.GreaterOrEqual(t, len(opens), 5, "the scenario must trip the breaker many ways")
	assert.Equal(t, len(opens), lr.Opens)
	assert.Equal(t, opens, lr.RecentOpens)
	assert.Equal(t, lr.Opens, sr.Opens, "same count")
	assert.Equal(t, lr.RecentOpens, sr.RecentOpens, "same times")
	assert.Equal(t, lr.TimeOpen, sr.TimeOpen)
	assert.Equal(t, lr.State, sr.State)
	assert.Equal(t, m.Rejections, lr.RejectedUnknown)
	assert.Equal(t, m.Rejections, sr.RejectedUnknown, "it rejects exactly the calls the live breaker rejected")
	assert.Zero(t, sr.Rejected)
	assert.Zero(t, sr.AdmittedUnseen)
	assert.Equal(t, lr.FailuresLetThrough, sr.FailuresLetThrough)
	assert.Equal(t, lr.Detected, sr.Detected)
	assert.Equal(t, lr.RecentIncidents, sr.RecentIncidents)
	assert.Equal(t, m.Successes+m.Failures+m.Rejections+m.Ignored, lr.Calls)
	assert.Contains(t, sr.Verdict, "same: as many opens, as many good calls rejected, as many failures let through: same cost")
}

// at runs one instant call through b at base+sec seconds on clk (which
// must not be past it), failing with err if not nil.
func at(b *circuit.Breaker[int], clk *stepClock, sec float64, err error) {
	clk.off.Store(int64(sec * float64(time.Second)))
	_ = call(b, clk, 0, err)
}

// A stricter candidate on a live breaker that never trips: every count of
// its report, worked out by hand.
func TestShadowCountsWhatItWouldHaveDone(t *testing.T) {
	clk := newStepClock()
	live := newLive(t, clk, quiet())
	strict := quiet()
	strict.ConsecutiveFailures = 2
	strict.OpenTimeout = 10 * time.Second
	strict.SuccessThreshold = 1
	s, err := tune.Attach(live, []tune.Candidate{{Name: "strict", Config: strict}},
		tune.WithHealthyRun(2), tune.WithIncidentFailures(2))
	require.NoError(t, err)
	defer s.Detach()

	for _, step := range []struct {
		sec float64
		err error
	}{
		{0, nil}, {1, nil},
		{2, errBoom},          // onset of the incident; strict lets it through
		{3, errBoom},          // strict lets it through and opens: detected 1s after the onset
		{4, errBoom},          // strict rejects a failure: protection
		{5, nil},              // strict rejects a success: lost goodput; the healthy run that ends the incident starts here
		{6, nil},              // and again
		{7, context.Canceled}, // Ignored by the live breaker: strict's rejection has no known outcome
		{13, nil},             // the open period is over: strict's probe succeeds and it closes
	} {
		at(live, clk, step.sec, step.err)
	}

	rs := s.Reports()
	require.Len(t, rs, 2)
	base := clk.base
	lr, sr := rs[0], rs[1]

	assert.Equal(t, "live", lr.Name)
	assert.True(t, lr.Live)
	assert.Equal(t, base, lr.Since)
	assert.Equal(t, base.Add(13*time.Second), lr.Until)
	assert.Equal(t, uint64(9), lr.Calls)
	assert.Equal(t, uint64(1), lr.Ignored)
	assert.Zero(t, lr.Unseen)
	assert.Zero(t, lr.Opens)
	assert.Zero(t, lr.TimeOpen)
	assert.Equal(t, 1, lr.Incidents)
	assert.Zero(t, lr.Detected)
	assert.Equal(t, []tune.Incident{{Onset: base.Add(2 * time.Second), End: base.Add(5 * time.Second)}}, lr.RecentIncidents)
	assert.Zero(t, lr.Rejected)
	assert.Nil(t, lr.FalsePositiveRate)
	assert.Equal(t, uint64(3), lr.FailuresLetThrough)
	assert.Equal(t, 3.0, lr.Cost)
	assert.Equal(t, quiet(), withName(lr.Config, ""))

	assert.Equal(t, "strict", sr.Name)
	assert.False(t, sr.Live)
	assert.Equal(t, strict, sr.Config)
	assert.Equal(t, circuit.Closed, sr.State)
	assert.Equal(t, uint64(9), sr.Calls)
	assert.Equal(t, 1, sr.Opens)
	assert.Equal(t, []time.Time{base.Add(3 * time.Second)}, sr.RecentOpens)
	assert.Equal(t, 10*time.Second, sr.TimeOpen)
	assert.Equal(t, 1, sr.Incidents)
	assert.Equal(t, 1, sr.Detected)
	assert.Equal(t, time.Second, sr.MeanTimeToDetect)
	assert.Equal(t, time.Second, sr.MaxTimeToDetect)
	assert.Equal(t, []tune.Incident{{Onset: base.Add(2 * time.Second), End: base.Add(5 * time.Second), Detected: true, TimeToDetect: time.Second}}, sr.RecentIncidents)
	assert.Equal(t, uint64(3), sr.Rejected)
	assert.Equal(t, uint64(1), sr.RejectedFailed)
	assert.Equal(t, uint64(2), sr.RejectedSucceeded)
	assert.Equal(t, uint64(1), sr.RejectedUnknown)
	require.NotNil(t, sr.FalsePositiveRate)
	assert.InDelta(t, 2.0/3, *sr.FalsePositiveRate, 1e-12)
	assert.Zero(t, sr.AdmittedUnseen)
	assert.Equal(t, uint64(2), sr.FailuresLetThrough)
	assert.Equal(t, 4.0, sr.Cost)
	assert.Equal(t, "strict: 1 more opens, 2 more good calls rejected, 1 fewer failures let through: worse by cost 1 (4 vs 3)", sr.Verdict)
	assert.Equal(t, "live: the live configuration, the baseline (cost 3)", lr.Verdict)
}

func withName(c circuit.Config, name string) circuit.Config {
	c.Name = name
	return c
}

// A candidate that would have admitted calls the live breaker rejected
// learns nothing from them, and says so; the live breaker's own
// rejections are unknown, and its failure that tripped it was let
// through while closed.
func TestShadowOfALenientConfigCountsUnseenCalls(t *testing.T) {
	clk := newStepClock()
	trip := quiet()
	trip.ConsecutiveFailures = 1
	trip.OpenTimeout = 10 * time.Second
	live := newLive(t, clk, trip)
	s, err := tune.Attach(live, []tune.Candidate{{Name: "never", Config: quiet()}},
		tune.WithIncidentFailures(1), tune.WithGoodRejectedCost(0.5), tune.WithFailureLetThroughCost(2))
	require.NoError(t, err)
	defer s.Detach()

	at(live, clk, 0, errBoom) // trips the live breaker at the onset
	at(live, clk, 1, nil)     // rejected by the live breaker
	at(live, clk, 2, errBoom) // rejected by the live breaker

	rs := s.Reports()
	lr, sr := rs[0], rs[1]
	assert.Equal(t, uint64(3), lr.Calls)
	assert.Equal(t, uint64(2), lr.Unseen)
	assert.Equal(t, uint64(2), lr.RejectedUnknown)
	assert.Zero(t, lr.Rejected)
	assert.Nil(t, lr.FalsePositiveRate)
	assert.Equal(t, uint64(1), lr.FailuresLetThrough, "the failure that tripped it was admitted while closed")
	assert.Equal(t, 1, lr.Opens)
	assert.Equal(t, 2*time.Second, lr.TimeOpen)
	assert.Equal(t, 1, lr.Detected)
	assert.Zero(t, lr.MaxTimeToDetect, "it opened at the onset")
	assert.Equal(t, 2.0, lr.Cost)

	assert.Equal(t, uint64(2), sr.AdmittedUnseen)
	assert.Zero(t, sr.Rejected)
	assert.Zero(t, sr.RejectedUnknown)
	assert.Equal(t, uint64(1), sr.FailuresLetThrough, "only the known failure")
	assert.Zero(t, sr.Detected)
	assert.Equal(t, "never: 1 fewer opens, as many good calls rejected, as many failures let through: same cost (2 vs 2); it would also have admitted 2 calls the live breaker rejected (outcome unknown)", sr.Verdict)
}
