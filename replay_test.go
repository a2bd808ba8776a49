package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// replayConfig reaches every part of the state machine that sequential
// calls can: consecutive failures, the error rate, latency, CallTimeout, a
// failed probe with backoff, several probes, a probe that times out, and a
// ramp after each recovery.
func replayConfig() circuit.Option {
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
	c.ProbeTimeout = 1200 * time.Millisecond
	c.RampDuration = 3 * time.Second
	c.RampStart = 0.25
	return circuit.WithConfig(c)
}

// replayScenario makes sequential calls through h, with pauses, that trip
// and recover its breaker (replayConfig) in every way sequential calls can.
func replayScenario(h *harness) {
	calls := func(n int, lat time.Duration, err error) {
		for range n {
			_, _ = h.call(lat, err)
			h.clock.Add(100 * time.Millisecond)
		}
	}
	ms := time.Millisecond
	calls(20, 10*ms, nil)
	calls(3, 20*ms, errBoom) // consecutive failures
	calls(5, 10*ms, nil)     // rejected
	h.clock.Add(10 * time.Second)
	calls(1, 20*ms, errBoom) // the probe fails: open for 20s
	calls(3, 10*ms, nil)
	h.clock.Add(20 * time.Second)
	calls(40, 10*ms, nil)             // probes, then the ramp turns some away
	calls(2, 10*ms, context.Canceled) // Ignored
	for range 6 {                     // every other call fails: the error rate
		calls(1, 10*ms, errBoom)
		calls(1, 10*ms, nil)
	}
	h.clock.Add(15 * time.Second)
	calls(1, 1500*ms, nil) // the probe outlives ProbeTimeout
	h.clock.Add(25 * time.Second)
	calls(40, 10*ms, nil)
	calls(8, 400*ms, nil) // slow: the latency criterion
	h.clock.Add(50 * time.Second)
	calls(40, 10*ms, nil)
	calls(3, 1500*ms, nil) // over CallTimeout: failures
	h.clock.Add(90 * time.Second)
	calls(40, 10*ms, nil)
}

// recordScenario runs replayScenario on a fresh harness and returns it and
// the calls its breaker reported to an observer.
func recordScenario(t *testing.T) (*harness, []circuit.Observation) {
	t.Helper()
	src := newHarness(t, replayConfig())
	var obs []circuit.Observation
	src.b.Observe(func(o circuit.Observation) { obs = append(obs, o) })
	replayScenario(src)
	return src, obs
}

// Replaying what a breaker observed into one with the same Config and
// epoch reproduces its transitions exactly, Metrics snapshots included,
// and its decision on every call.
func TestReplayReproducesTheBreaker(t *testing.T) {
	src, obs := recordScenario(t)
	want := src.transitions()

	reasons := map[circuit.Reason]bool{}
	for _, tr := range want {
		reasons[tr.Reason] = true
	}
	for _, r := range []circuit.Reason{circuit.ReasonConsecutiveFailures, circuit.ReasonErrorRate, circuit.ReasonLatency,
		circuit.ReasonProbeFailed, circuit.ReasonProbeTimeout, circuit.ReasonTimeoutElapsed, circuit.ReasonProbesSucceeded} {
		require.True(t, reasons[r], "the scenario must reach %v", r)
	}
	ramped := false
	for _, o := range obs {
		var oe *circuit.OpenError
		if errors.As(o.Err, &oe) && oe.Reason == circuit.ReasonRamp {
			ramped = true
		}
	}
	require.True(t, ramped, "the scenario must meet a ramp's rejection")

	dst := newHarness(t, replayConfig()) // a step clock has the same epoch
	out := make([]circuit.Replayed, len(obs))
	require.NoError(t, dst.b.Replay(obs, out))

	assert.Equal(t, want, dst.transitions(), "the same transitions, at the same times, with the same Metrics")
	n := 0
	for i, o := range obs {
		assert.Equal(t, o.Rejected, out[i].Rejected, "call %d", i)
		n += out[i].Transitions
	}
	assert.Equal(t, len(want), n, "every transition is some call's")
	ms, md := src.b.Metrics(), dst.b.Metrics()
	assert.Equal(t, ms.Successes, md.Successes)
	assert.Equal(t, ms.Failures, md.Failures)
	assert.Equal(t, ms.Ignored, md.Ignored)
	assert.Equal(t, ms.Rejections, md.Rejections)
	assert.Equal(t, ms.TransitionCounts, md.TransitionCounts)
}

// Replayed.Transitions says which call made which transition: replaying
// the calls one at a time delivers the same transitions per call as the
// batch says, and Replayed.State is the state each call met.
func TestReplayAttributesTransitions(t *testing.T) {
	_, obs := recordScenario(t)
	batch := newHarness(t, replayConfig())
	out := make([]circuit.Replayed, len(obs))
	require.NoError(t, batch.b.Replay(obs, out))

	single := newHarness(t, replayConfig())
	one := make([]circuit.Replayed, 1)
	state := circuit.Closed // as of the last transition delivered
	for i := range obs {
		before := len(single.transitions())
		require.NoError(t, single.b.Replay(obs[i:i+1], one))
		trs := single.transitions()[before:]
		require.Len(t, trs, out[i].Transitions, "call %d", i)
		assert.Equal(t, out[i], one[0], "call %d: one at a time as in the batch", i)
		for _, tr := range trs {
			if !tr.At.After(obs[i].Start) { // time's doing, by the call's start
				state = tr.To
			}
		}
		assert.Equal(t, state, out[i].State, "call %d", i)
		for _, tr := range trs {
			state = tr.To
		}
	}
	assert.Equal(t, batch.transitions(), single.transitions())
}

// A replayed call is judged by the replaying breaker's own Config: its
// CallTimeout fails a slow success, never an Ignored call; a call the
// source rejected is booked Ignored; a Failure keeps its error.
func TestReplayJudgesByItsOwnConfig(t *testing.T) {
	h := newHarness(t, circuit.WithCallTimeout(time.Second))
	t0 := h.clock.Now()
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	obs := []circuit.Observation{
		{Start: at(0), End: at(2), Outcome: circuit.Success},                               // slow: a failure here
		{Start: at(3), End: at(5), Outcome: circuit.Ignored},                               // not judged
		{Start: at(6), End: at(6), Rejected: true, Outcome: circuit.Failure, Err: errBoom}, // no outcome, whatever it says
		{Start: at(7), End: at(7.5), Outcome: circuit.Success},
		{Start: at(8), End: at(8), Outcome: circuit.Failure, Err: errBoom},
		{Start: at(9), End: at(9), Outcome: circuit.Failure},      // no error: ErrResultFailed
		{Start: at(10), End: at(10), Outcome: circuit.Outcome(9)}, // unknown: a failure, as from a classifier
	}
	require.NoError(t, h.b.Replay(obs, nil))
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Successes)
	assert.Equal(t, uint64(4), m.Failures)
	assert.Equal(t, uint64(2), m.Ignored)
	assert.Zero(t, m.Rejections)
	assert.ErrorIs(t, m.LastFailure, circuit.ErrResultFailed)

	h2 := newHarness(t, circuit.WithCallTimeout(time.Second))
	require.NoError(t, h2.b.Replay(obs[:1], nil))
	assert.ErrorIs(t, h2.b.Metrics().LastFailure, context.DeadlineExceeded)
	h3 := newHarness(t)
	require.NoError(t, h3.b.Replay(obs[:1], nil))
	assert.Equal(t, uint64(1), h3.b.Metrics().Successes, "without a CallTimeout, the slow call succeeded")
}

// Times earlier than the latest the breaker has seen count as that time.
func TestReplayClampsTimes(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second), circuit.WithSuccessThreshold(1))
	t0 := h.clock.Now()
	out := make([]circuit.Replayed, 3)
	require.NoError(t, h.b.Replay([]circuit.Observation{
		{Start: t0, End: t0, Outcome: circuit.Failure, Err: errBoom},                                           // opens at 0
		{Start: t0.Add(12 * time.Second), End: t0.Add(12 * time.Second), Outcome: circuit.Success},             // the probe closes it at 12s
		{Start: t0.Add(3 * time.Second), End: t0.Add(4 * time.Second), Outcome: circuit.Failure, Err: errBoom}, // at 12s: opens
	}, out))
	trs := h.transitions()
	require.Len(t, trs, 4)
	assert.Equal(t, circuit.Open, trs[3].To)
	assert.Equal(t, t0.Add(12*time.Second), trs[3].At)
	assert.Equal(t, []circuit.Replayed{
		{State: circuit.Closed, Transitions: 1},
		{State: circuit.HalfOpen, Transitions: 2},
		{State: circuit.Closed, Transitions: 1},
	}, out)

	require.NoError(t, h.b.Replay([]circuit.Observation{{Outcome: circuit.Success}}, out[:1]))
	assert.Equal(t, circuit.Replayed{Rejected: true, State: circuit.Open}, out[0], "a zero time is the latest seen")

	// Times beyond what a Duration holds saturate, as time.Time.Sub does:
	// the call is the breaker's last, in a state of time's making.
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	total := func() uint64 { m := h.b.Metrics(); return m.Successes + m.Failures + m.Ignored + m.Rejections }
	before := total()
	require.NoError(t, h.b.Replay([]circuit.Observation{{Start: far, End: far, Outcome: circuit.Success}}, out[:1]))
	assert.Equal(t, before+1, total())
	assert.Positive(t, out[0].Transitions, "the open period is long over")
}

// out must be nil or as long as obs; otherwise nothing is replayed.
func TestReplayRejectsAShortOut(t *testing.T) {
	h := newHarness(t)
	obs := make([]circuit.Observation, 3)
	err := h.b.Replay(obs, make([]circuit.Replayed, 2))
	require.EqualError(t, err, "circuit: Replay: len(out) = 2, want len(obs) = 3, or out nil")
	err = h.b.Replay(obs, make([]circuit.Replayed, 4))
	require.Error(t, err)
	assert.Zero(t, h.b.Metrics().Successes, "nothing replayed")
	require.NoError(t, h.b.Replay(obs, nil))
	assert.Equal(t, uint64(3), h.b.Metrics().Successes, "zero Observations: instant successes")
	require.NoError(t, h.b.Replay(nil, nil))
	require.NoError(t, h.b.Replay(nil, []circuit.Replayed{}))
}

// The probe gate shares out real probes: a replayed call does not ask it.
// Observers are not told of replayed calls; hooks are, after the batch.
func TestReplaySkipsGateAndObservers(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithSuccessThreshold(1))
	asked := 0
	h.b.SetProbeGate(func() bool { asked++; return false })
	observed := 0
	h.b.Observe(func(circuit.Observation) { observed++ })
	h.toHalfOpen(time.Second)
	now := h.clock.Now()
	out := make([]circuit.Replayed, 1)
	require.NoError(t, h.b.Replay([]circuit.Observation{{Start: now, End: now, Outcome: circuit.Success}}, out))
	assert.Equal(t, circuit.Replayed{State: circuit.HalfOpen, Transitions: 1}, out[0], "the probe was admitted and closed it")
	assert.Zero(t, asked)
	assert.Zero(t, observed)
	assert.Equal(t, circuit.ReasonProbesSucceeded, h.last().Reason, "delivered before Replay returned")
}

// Replay allocates nothing per call, admitted or rejected.
func TestReplayAllocatesNothing(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(5), circuit.WithErrorRateThreshold(0.5), circuit.WithMinRequests(10),
		circuit.WithLatencyThreshold(5*time.Second), circuit.WithCallTimeout(time.Second))
	t0 := h.clock.Now()
	obs := make([]circuit.Observation, 64)
	for i := range obs {
		s := t0.Add(time.Duration(i) * time.Millisecond)
		obs[i] = circuit.Observation{Start: s, End: s.Add(time.Millisecond / 2), Outcome: circuit.Success}
		if i%10 == 0 {
			obs[i].Outcome, obs[i].Err = circuit.Failure, errBoom
		}
	}
	out := make([]circuit.Replayed, len(obs))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.b.Replay(obs, out) }), "closed")
	assert.Empty(t, h.transitions())

	h.b.Trip(circuit.ReasonManual)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.b.Replay(obs, out) }), "open")
	assert.True(t, out[0].Rejected)
}

// Replays and real calls from many goroutines at once: nothing races
// (under -race), and every call is counted once.
func TestReplayConcurrently(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(3), circuit.WithOpenTimeout(time.Millisecond))
	const workers, batches, size = 4, 50, 16
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			obs := make([]circuit.Observation, size)
			out := make([]circuit.Replayed, size)
			for range batches {
				for i := range obs {
					now := h.clock.Now()
					obs[i] = circuit.Observation{Start: now, End: now, Outcome: circuit.Success}
					if (i+w)%4 == 0 {
						obs[i].Outcome, obs[i].Err = circuit.Failure, errBoom
					}
				}
				if err := h.b.Replay(obs, out); err != nil {
					t.Error(err)
				}
				h.clock.Add(time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			for i := range batches * size {
				var err error
				if i%5 == 0 {
					err = errBoom
				}
				_, _ = h.call(0, err)
			}
		}()
	}
	wg.Wait()
	m := h.b.Metrics()
	assert.Equal(t, uint64(2*workers*batches*size), m.Successes+m.Failures+m.Ignored+m.Rejections)
}

// A breaker with a stricter Config replays the calls another breaker
// observed, and says which it would have turned away.
func ExampleBreaker_Replay() {
	shadow, err := circuit.New[struct{}](circuit.WithName("strict"), circuit.WithConsecutiveFailures(2))
	if err != nil {
		panic(err)
	}
	t0 := time.Now()
	call := func(sec int, o circuit.Outcome) circuit.Observation {
		at := t0.Add(time.Duration(sec) * time.Second)
		return circuit.Observation{Start: at, End: at.Add(10 * time.Millisecond), Outcome: o}
	}
	obs := []circuit.Observation{
		call(0, circuit.Success), call(1, circuit.Failure), call(2, circuit.Failure),
		call(3, circuit.Success), call(40, circuit.Success),
	}
	out := make([]circuit.Replayed, len(obs))
	if err := shadow.Replay(obs, out); err != nil {
		panic(err)
	}
	for i, r := range out {
		fmt.Printf("call %d: %v, rejected %v\n", i, r.State, r.Rejected)
	}
	// Output:
	// call 0: closed, rejected false
	// call 1: closed, rejected false
	// call 2: closed, rejected false
	// call 3: open, rejected true
	// call 4: half-open, rejected false
}
