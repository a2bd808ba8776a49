package circuit_test

// The state machine as step tables: what trips a closed breaker, how an
// open one becomes half-open, and how probes close or reopen it. Each table
// runs against the breaker (through a harness) and, row by row, through the
// model runner (a sequence), so that one row checks both.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// act is what a row of a step table does once its wait is over.
type act int

const (
	doLook        act = iota // nothing: the row only reads the state
	doOK                     // Execute; fn takes lat and succeeds
	doFail                   // Execute; fn takes lat and fails
	doAllow                  // Allow; the Permit is kept, numbered from 0 (rejected ones too)
	doDoneOK                 // Permit number permit reports a success
	doDoneFail               // Permit number permit reports a failure
	doTrip                   // Trip(ReasonManual)
	doTripHealth             // Trip(ReasonHealthCheck)
	doEndOpen                // EndOpen(ReasonHealthRecovered)
	doReset                  // Reset
	doForceOpen              // ForceOpen
	doDisable                // Disable
	doReconfigure            // Reconfigure the breaker's Config as changed by reconf
)

var actNames = [...]string{"look", "ok", "fail", "allow", "doneOK", "doneFail", "trip", "tripHealth", "endOpen", "reset", "forceOpen", "disable", "reconfigure"}

func (a act) String() string { return actNames[a] }

// step is one row of a state-machine table: wait, act, then expect.
type step struct {
	wait     time.Duration         // move the clock by this first
	do       act                   // then do this
	lat      time.Duration         // how long the call takes (doOK, doFail)
	permit   int                   // which Permit reports (doDoneOK, doDoneFail)
	rejected bool                  // the call or Allow is rejected with ErrOpen
	noop     bool                  // the control changes nothing and returns false
	reconf   func(*circuit.Config) // changes the current Config for Reconfigure (doReconfigure)
	state    circuit.State         // the state after the row
	reason   circuit.Reason        // if set: the reason of the last transition so far
	// check, if set, makes more assertions on the breaker after the row;
	// err is the error the row's call or Allow returned.
	check func(t *testing.T, h *harness, err error)
}

func (s step) String() string {
	return fmt.Sprintf("{wait %v, %v, lat %v, permit %d} -> %v", s.wait, s.do, s.lat, s.permit, s.state)
}

// ops is the row as operations of the model runner, ending in a full
// comparison of the breaker with the model; cfg is the Config a
// doReconfigure row passes.
func (s step) ops(cfg circuit.Config) []op {
	var ops []op
	if s.wait > 0 {
		ops = append(ops, op{Kind: opAdvance, Lat: s.wait})
	}
	switch s.do {
	case doOK:
		ops = append(ops, op{Kind: opExec, Out: outOK, Lat: s.lat})
	case doFail:
		ops = append(ops, op{Kind: opExec, Out: outFail, Lat: s.lat})
	case doAllow:
		ops = append(ops, op{Kind: opAllow})
	case doDoneOK:
		ops = append(ops, op{Kind: opDone, Out: outOK, Arg: s.permit})
	case doDoneFail:
		ops = append(ops, op{Kind: opDone, Out: outFail, Arg: s.permit})
	case doTrip:
		ops = append(ops, op{Kind: opTrip})
	case doTripHealth:
		ops = append(ops, op{Kind: opTripHealth})
	case doEndOpen:
		ops = append(ops, op{Kind: opEndOpen})
	case doReset:
		ops = append(ops, op{Kind: opReset})
	case doForceOpen:
		ops = append(ops, op{Kind: opForceOpen})
	case doDisable:
		ops = append(ops, op{Kind: opDisable})
	case doReconfigure:
		ops = append(ops, op{Kind: opReconfigure, Cfg: &cfg})
	}
	return append(ops, op{Kind: opState})
}

// runSteps runs a table on a harness built with opts, and the same rows
// through the model runner on the harness's Config. Each row's expectations
// are checked against both; the runner also compares every observable
// between the breaker and the model after each row. It returns the
// harness for the assertions that follow the table.
func runSteps(t *testing.T, steps []step, opts ...circuit.Option) *harness {
	t.Helper()
	h := newHarness(t, opts...)
	seq := newSequence(t, h.b.Config(), false)
	var permits []circuit.Permit[int]
	for i, s := range steps {
		row := fmt.Sprintf("row %d %v", i, s)

		// The breaker, directly.
		h.clock.Add(s.wait)
		var err error
		var cfg circuit.Config
		switch s.do {
		case doOK, doFail:
			var want error
			if s.do == doFail {
				want = errBoom
			}
			_, err = h.call(s.lat, want)
			if s.rejected {
				require.ErrorIs(t, err, circuit.ErrOpen, row)
			} else if want == nil {
				require.NoError(t, err, row)
			} else {
				require.ErrorIs(t, err, want, row)
			}
		case doAllow:
			var p circuit.Permit[int]
			p, err = h.b.Allow()
			permits = append(permits, p)
			if s.rejected {
				require.ErrorIs(t, err, circuit.ErrOpen, row)
			} else {
				require.NoError(t, err, row)
			}
		case doDoneOK:
			permits[s.permit].Done(0, nil)
		case doDoneFail:
			permits[s.permit].Done(0, errBoom)
		case doTrip:
			assert.Equal(t, !s.noop, h.b.Trip(circuit.ReasonManual), row)
		case doTripHealth:
			assert.Equal(t, !s.noop, h.b.Trip(circuit.ReasonHealthCheck), row)
		case doEndOpen:
			assert.Equal(t, !s.noop, h.b.EndOpen(circuit.ReasonHealthRecovered), row)
		case doReset:
			h.b.Reset()
		case doForceOpen:
			assert.Equal(t, !s.noop, h.b.ForceOpen(), row)
		case doDisable:
			assert.Equal(t, !s.noop, h.b.Disable(), row)
		case doReconfigure:
			cfg = h.b.Config()
			s.reconf(&cfg)
			require.NoError(t, h.b.Reconfigure(cfg), row)
		}
		require.Equal(t, s.state, h.b.State(), row)
		if s.reason != circuit.ReasonNone {
			assert.Equal(t, s.reason, h.last().Reason, row)
		}
		if s.check != nil {
			s.check(t, h, err)
		}

		// The same row through the model runner.
		seq.do(s.ops(cfg)...)
		require.Equal(t, s.state, seq.model.state, "model: %s", row)
		if s.reason != circuit.ReasonNone {
			tr := seq.model.transitions
			require.NotEmpty(t, tr, "model: %s", row)
			assert.Equal(t, s.reason, tr[len(tr)-1].reason, "model: %s", row)
		}
	}
	return h
}

func TestConsecutiveFailuresTrip(t *testing.T) {
	h := runSteps(t, []step{
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Closed},
		{do: doOK, state: circuit.Closed}, // a success resets the run
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Closed, check: func(t *testing.T, h *harness, _ error) {
			assert.Equal(t, 2, h.b.Metrics().ConsecutiveFailures)
		}},
		{do: doFail, state: circuit.Open, reason: circuit.ReasonConsecutiveFailures},
	}, circuit.WithConsecutiveFailures(3))

	tr := h.last()
	assert.Equal(t, circuit.Closed, tr.From)
	assert.Equal(t, circuit.Open, tr.To)
	assert.Equal(t, circuit.ReasonConsecutiveFailures, tr.Reason)
	assert.Equal(t, "dep", tr.Name)
	assert.Equal(t, 3, tr.Metrics.ConsecutiveFailures, "the transition shows the values that tripped it")
	assert.Equal(t, errBoom, tr.Metrics.LastFailure)
	assert.True(t, tr.At.Equal(h.clock.Now()))
}

func TestErrorRateTrip(t *testing.T) {
	tests := []struct {
		name      string
		threshold float64
		window    int
		min       int
		outcomes  string // s = success, f = failure
		wantOpen  bool
	}{
		{"below minimum never trips", 0.5, 10, 6, "fffff", false},
		{"minimum reached trips", 0.5, 10, 6, "ffffsf", true},
		{"rate just under threshold", 0.5, 10, 4, "sfsssfsf", false},
		{"rate exactly at threshold trips", 0.3, 10, 10, "ssssfffsss", true},
		{"success can trip once minimum reached", 0.5, 10, 4, "ffss", true},
		{"old outcomes evicted from the ring", 0.5, 4, 4, "ssss" + "s", false},
		{"no minimum: first failure trips at rate 1", 1, 10, 0, "f", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Closed before every call (it must not trip early), and after
			// the last one open only if wantOpen.
			var steps []step
			for i, o := range tt.outcomes {
				s := step{do: doOK, state: circuit.Closed}
				if o == 'f' {
					s.do = doFail
				}
				if i == len(tt.outcomes)-1 && tt.wantOpen {
					s.state, s.reason = circuit.Open, circuit.ReasonErrorRate
				}
				steps = append(steps, s)
			}
			h := runSteps(t, steps, circuit.WithErrorRateThreshold(tt.threshold), circuit.WithWindowSize(tt.window), circuit.WithMinRequests(tt.min))
			if !tt.wantOpen {
				assert.Equal(t, circuit.Closed, h.b.State())
				return
			}
			assert.Equal(t, circuit.Open, h.b.State())
			tr := h.last()
			assert.Equal(t, circuit.ReasonErrorRate, tr.Reason)
			assert.GreaterOrEqual(t, tr.Metrics.ErrorRate, tt.threshold)
		})
	}
}

func TestErrorRateWindowSlides(t *testing.T) {
	// f s s s: 25%; then s evicts f: 0%; f f: 50% -> trips on the second f.
	rate := func(want float64) func(*testing.T, *harness, error) {
		return func(t *testing.T, h *harness, _ error) { assert.InDelta(t, want, h.b.Metrics().ErrorRate, 1e-9) }
	}
	runSteps(t, []step{
		{do: doFail, state: circuit.Closed},
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed, check: rate(0.25)},
		{do: doOK, state: circuit.Closed, check: func(t *testing.T, h *harness, err error) {
			rate(0.0)(t, h, err)
			assert.Equal(t, 4, h.b.Metrics().WindowRequests)
		}},
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Open, reason: circuit.ReasonErrorRate},
	}, circuit.WithErrorRateThreshold(0.5), circuit.WithWindowSize(4), circuit.WithMinRequests(4))
}

func TestLatencyTrip(t *testing.T) {
	// P95 of 20 samples is the 19th smallest: it reaches 1s once 2 of the
	// 20 samples are >= 1s.
	var steps []step
	for i := 0; i < 18; i++ {
		steps = append(steps, step{do: doOK, lat: 10 * time.Millisecond, state: circuit.Closed})
	}
	steps = append(steps,
		step{do: doOK, lat: 2 * time.Second, state: circuit.Closed},                            // 19 samples are below MinRequests
		step{do: doFail, lat: time.Second, state: circuit.Open, reason: circuit.ReasonLatency}, // latencies of failures count too
	)
	h := runSteps(t, steps, circuit.WithLatencyThreshold(time.Second), circuit.WithWindowSize(20), circuit.WithMinRequests(20))
	tr := h.last()
	assert.Equal(t, circuit.ReasonLatency, tr.Reason)
	// Reported as its histogram bin's midpoint, within 1.56%.
	assert.Equal(t, reported(time.Second), tr.Metrics.P95Latency)
	assert.InEpsilon(t, float64(time.Second), float64(tr.Metrics.P95Latency), 1.0/64)
	assert.Equal(t, 20, tr.Metrics.WindowRequests)
}

func TestLatencyOneSlowSampleDoesNotTrip(t *testing.T) {
	var steps []step
	for i := 0; i < 19; i++ {
		steps = append(steps, step{do: doOK, lat: time.Millisecond, state: circuit.Closed})
	}
	steps = append(steps, step{do: doOK, lat: 3 * time.Second, state: circuit.Closed}) // P95 of 20 with one slow sample is fast
	h := runSteps(t, steps, circuit.WithLatencyThreshold(time.Second), circuit.WithWindowSize(20), circuit.WithMinRequests(1))
	m := h.b.Metrics()
	assert.Equal(t, reported(time.Millisecond), m.P95Latency)
	assert.Equal(t, (19*time.Millisecond+3*time.Second)/20, m.AvgLatency)
}

func TestCriteriaOrder(t *testing.T) {
	// All three criteria hold on the same call: consecutive failures wins.
	runSteps(t, []step{
		{do: doFail, lat: time.Second, state: circuit.Closed},
		{do: doFail, lat: time.Second, state: circuit.Open, reason: circuit.ReasonConsecutiveFailures},
	}, circuit.WithConsecutiveFailures(2), circuit.WithErrorRateThreshold(0.5),
		circuit.WithLatencyThreshold(time.Second), circuit.WithMinRequests(2))

	// Error rate and latency both hold: error rate wins.
	runSteps(t, []step{
		{do: doOK, lat: time.Second, state: circuit.Closed},
		{do: doFail, lat: time.Second, state: circuit.Open, reason: circuit.ReasonErrorRate},
	}, circuit.WithErrorRateThreshold(0.5), circuit.WithLatencyThreshold(time.Second), circuit.WithMinRequests(2))
}

// The point of a time window: a dependency called once a minute is never
// judged on failures from long ago.
func TestTimeWindowForgetsOldFailures(t *testing.T) {
	rows := []struct {
		wait   time.Duration
		do     act
		inWin  int
		state  circuit.State
		reason string
	}{
		{0, doFail, 1, circuit.Closed, "one failure"},
		{time.Minute, doFail, 2, circuit.Closed, "two failures, a minute apart"},
		{time.Minute, doFail, 3, circuit.Closed, "three"},
		{time.Hour, doOK, 1, circuit.Closed, "an hour later the failures have left the window"},
		{time.Minute, doFail, 2, circuit.Closed, ""},
		{time.Minute, doFail, 3, circuit.Closed, ""},
		{time.Minute, doFail, 4, circuit.Open, "3 of the 4 outcomes of the last 10 minutes failed"},
	}
	var steps []step
	for i, r := range rows {
		s := step{wait: r.wait, do: r.do, state: r.state}
		s.check = func(t *testing.T, h *harness, _ error) {
			m := h.b.Metrics()
			if r.state == circuit.Open {
				assert.Equal(t, circuit.Open, m.State, "step %d: %s", i, r.reason)
				assert.Equal(t, r.inWin, h.last().Metrics.WindowRequests, "step %d", i)
				return
			}
			assert.Equal(t, r.state, m.State, "step %d: %s", i, r.reason)
			assert.Equal(t, r.inWin, m.WindowRequests, "step %d: %s", i, r.reason)
		}
		if r.state == circuit.Open {
			s.reason = circuit.ReasonErrorRate
		}
		steps = append(steps, s)
	}
	runSteps(t, steps, circuit.WithWindowDuration(10*time.Minute), circuit.WithWindowSize(0),
		circuit.WithErrorRateThreshold(0.5), circuit.WithMinRequests(4))
}

// With a WindowSize as well, the time window also keeps only the last
// WindowSize outcomes, and an outcome leaves exactly WindowDuration later.
func TestTimeWindowWithCap(t *testing.T) {
	inWindow := func(n int, msg string) func(*testing.T, *harness, error) {
		return func(t *testing.T, h *harness, _ error) { assert.Equal(t, n, h.b.Metrics().WindowRequests, msg) }
	}
	runSteps(t, []step{
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed, check: inWindow(3, "capped at WindowSize")},
		{wait: time.Minute - 1, state: circuit.Closed, check: inWindow(3, "")},
		{wait: 1, state: circuit.Closed, check: inWindow(0, "gone exactly WindowDuration after")},
	}, circuit.WithWindowDuration(time.Minute), circuit.WithWindowSize(3))
}

func TestOpenBecomesHalfOpenWithoutCalls(t *testing.T) {
	var opened time.Time
	h := runSteps(t, []step{
		{do: doFail, state: circuit.Open, check: func(_ *testing.T, h *harness, _ error) { opened = h.clock.Now() }},
		{wait: 30*time.Second - time.Nanosecond, state: circuit.Open},
		// Observed well after the timeout: the transition still carries
		// the instant the timeout expired.
		{wait: time.Minute, state: circuit.HalfOpen, reason: circuit.ReasonTimeoutElapsed},
	}, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(30*time.Second))
	tr := h.last()
	assert.Equal(t, circuit.ReasonTimeoutElapsed, tr.Reason)
	assert.Equal(t, circuit.Open, tr.From)
	assert.Equal(t, circuit.HalfOpen, tr.To)
	assert.True(t, tr.At.Equal(opened.Add(30*time.Second)), "At = %v", tr.At)
	m := h.b.Metrics()
	assert.Equal(t, circuit.HalfOpen, m.State)
	assert.True(t, m.StateSince.Equal(tr.At))
}

// halfOpenRows is the two rows that trip a breaker and wait out its open
// timeout, so that it is half-open.
func halfOpenRows(timeout time.Duration) []step {
	return []step{
		{do: doTrip, state: circuit.Open, reason: circuit.ReasonManual},
		{wait: timeout, state: circuit.HalfOpen, reason: circuit.ReasonTimeoutElapsed},
	}
}

func TestHalfOpenProbeLimit(t *testing.T) {
	steps := append(halfOpenRows(time.Second),
		step{do: doAllow, state: circuit.HalfOpen}, // permit 0
		step{do: doAllow, state: circuit.HalfOpen}, // permit 1
		step{do: doAllow, rejected: true, state: circuit.HalfOpen, check: func(t *testing.T, h *harness, err error) {
			var oe *circuit.OpenError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, circuit.HalfOpen, oe.State)
			// A slot is free at the latest when the oldest probe's deadline passes.
			assert.Equal(t, h.clock.Now().Add(time.Second), oe.RetryAt, "RetryAt is the oldest probe's deadline")
			assert.Equal(t, time.Second, oe.RetryAfter(h.clock.Now()))
			assert.Contains(t, err.Error(), "half-open")
		}},
		step{do: doDoneOK, permit: 0, state: circuit.HalfOpen}, // frees a slot
		step{do: doAllow, state: circuit.HalfOpen},             // permit 3
		step{do: doDoneOK, permit: 1, state: circuit.HalfOpen},
		step{do: doDoneOK, permit: 3, state: circuit.HalfOpen, check: func(t *testing.T, h *harness, _ error) {
			assert.Equal(t, 3, h.b.Metrics().ConsecutiveSuccesses)
		}},
	)
	runSteps(t, steps, circuit.WithHalfOpenMaxProbes(2), circuit.WithSuccessThreshold(5), circuit.WithOpenTimeout(time.Second))
}

func TestProbesCloseAfterSuccessThreshold(t *testing.T) {
	h := runSteps(t, []step{
		{do: doFail, state: circuit.Open},
		{wait: time.Second, do: doOK, state: circuit.HalfOpen},
		{do: doOK, state: circuit.HalfOpen},
		{do: doOK, state: circuit.Closed, reason: circuit.ReasonProbesSucceeded},
	}, circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(3), circuit.WithOpenTimeout(time.Second))
	tr := h.last()
	assert.Equal(t, circuit.ReasonProbesSucceeded, tr.Reason)
	assert.Equal(t, 3, tr.Metrics.ConsecutiveSuccesses)

	// Entering closed emptied the windows: the old failure is gone.
	m := h.b.Metrics()
	assert.Equal(t, 0, m.WindowRequests)
	assert.Equal(t, 0, m.ConsecutiveSuccesses)
	assert.Equal(t, uint64(3), m.Successes)
	assert.Equal(t, uint64(1), m.Failures)
}

func TestOldFailuresNeverRetripRecoveredBreaker(t *testing.T) {
	runSteps(t, []step{
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Closed},
		{do: doFail, state: circuit.Open},
		{wait: time.Second, do: doOK, state: circuit.Closed}, // the probe closes it
		// With the old window, 4 failures of 5 would be 80%. One failure
		// of four calls now is 25%.
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed},
		{do: doFail, state: circuit.Closed},
	}, circuit.WithErrorRateThreshold(0.5), circuit.WithWindowSize(10), circuit.WithMinRequests(4),
		circuit.WithSuccessThreshold(1), circuit.WithOpenTimeout(time.Second))
}

func TestFailedProbeReopensWithFreshTimeout(t *testing.T) {
	var reopened time.Time
	runSteps(t, []step{
		{do: doFail, state: circuit.Open},
		{wait: 10 * time.Second, do: doOK, state: circuit.HalfOpen},
		{wait: 3 * time.Second, do: doFail, state: circuit.Open, reason: circuit.ReasonProbeFailed, check: func(t *testing.T, h *harness, _ error) {
			reopened = h.clock.Now()
			assert.Equal(t, circuit.HalfOpen, h.last().From)
		}},
		{do: doOK, rejected: true, state: circuit.Open, check: func(t *testing.T, _ *harness, err error) {
			var oe *circuit.OpenError
			require.ErrorAs(t, err, &oe)
			assert.True(t, oe.RetryAt.Equal(reopened.Add(10*time.Second)))
		}},
	}, circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(2), circuit.WithOpenTimeout(10*time.Second))
}

func TestSlowProbeCountsAsFailed(t *testing.T) {
	steps := append(halfOpenRows(10*time.Second),
		// The caller still gets the slow success (the row checks it).
		step{do: doOK, lat: 2 * time.Second, state: circuit.Open, reason: circuit.ReasonLatency, check: func(t *testing.T, h *harness, _ error) {
			assert.Equal(t, circuit.HalfOpen, h.last().From)
		}},
	)
	runSteps(t, steps, circuit.WithLatencyThreshold(time.Second), circuit.WithOpenTimeout(10*time.Second))
}

func TestAbandonedProbeCannotWedgeHalfOpen(t *testing.T) {
	var admitted time.Time
	steps := append(halfOpenRows(10*time.Second),
		// Permit 0 is never reported (until much later).
		step{do: doAllow, state: circuit.HalfOpen, check: func(_ *testing.T, h *harness, _ error) { admitted = h.clock.Now() }},
		step{do: doAllow, rejected: true, state: circuit.HalfOpen}, // the only slot is taken
		// The probe timed out and counts as failed.
		step{wait: 10 * time.Second, state: circuit.Open, reason: circuit.ReasonProbeTimeout, check: func(t *testing.T, h *harness, _ error) {
			assert.True(t, h.last().At.Equal(admitted.Add(10*time.Second)))
		}},
		step{wait: 10 * time.Second, do: doAllow, state: circuit.HalfOpen}, // a fresh probe is admitted one timeout later
		step{do: doDoneOK, permit: 0, state: circuit.HalfOpen},             // a late report from the old period decides nothing
		step{do: doDoneOK, permit: 2, state: circuit.Closed},
	)
	runSteps(t, steps, circuit.WithOpenTimeout(10*time.Second), circuit.WithSuccessThreshold(1))
}

func TestProbeTimeoutObservedLate(t *testing.T) {
	// Nobody calls the breaker for a long time: the timed-out probe's
	// reopening and the next half-open are both applied, at their own times.
	var start time.Time
	steps := append(halfOpenRows(10*time.Second),
		step{do: doAllow, state: circuit.HalfOpen, check: func(_ *testing.T, h *harness, _ error) { start = h.clock.Now() }},
		step{wait: time.Hour, state: circuit.HalfOpen, reason: circuit.ReasonTimeoutElapsed},
	)
	h := runSteps(t, steps, circuit.WithOpenTimeout(10*time.Second))
	tr := h.transitions()
	require.GreaterOrEqual(t, len(tr), 2)
	reopen, half := tr[len(tr)-2], tr[len(tr)-1]
	assert.Equal(t, circuit.ReasonProbeTimeout, reopen.Reason)
	assert.True(t, reopen.At.Equal(start.Add(10*time.Second)))
	assert.Equal(t, circuit.ReasonTimeoutElapsed, half.Reason)
	assert.True(t, half.At.Equal(start.Add(20*time.Second)))
}

// A probe may run ProbeTimeout, which can be longer than OpenTimeout.
func TestProbeTimeout(t *testing.T) {
	steps := append(halfOpenRows(time.Second),
		step{do: doOK, lat: 5 * time.Second, state: circuit.Closed}, // longer than OpenTimeout, shorter than ProbeTimeout
		step{do: doTrip, state: circuit.Open},
		step{wait: time.Second, do: doAllow, state: circuit.HalfOpen}, // permit 0
		step{wait: 10*time.Second - 1, state: circuit.HalfOpen},
		step{wait: 1, state: circuit.Open, reason: circuit.ReasonProbeTimeout},
		step{do: doDoneOK, permit: 0, state: circuit.Open}, // too late: stale
	)
	runSteps(t, steps, circuit.WithOpenTimeout(time.Second), circuit.WithProbeTimeout(10*time.Second), circuit.WithSuccessThreshold(1))
}

func TestStaleOutcomesNeverDecideTheCurrentPeriod(t *testing.T) {
	runSteps(t, []step{
		{do: doAllow, state: circuit.Closed}, // permit 0, admitted while closed: a slow success
		{do: doAllow, state: circuit.Closed}, // permit 1: a slow failure
		{do: doFail, state: circuit.Open},
		{wait: time.Second, state: circuit.HalfOpen},
		// A success from the closed period must not close a half-open breaker,
		{do: doDoneOK, permit: 0, state: circuit.HalfOpen},
		// and a failure from the closed period must not reopen it.
		{do: doDoneFail, permit: 1, state: circuit.HalfOpen, check: func(t *testing.T, h *harness, _ error) {
			m := h.b.Metrics()
			assert.Equal(t, uint64(1), m.Successes, "stale outcomes still count in the lifetime totals")
			assert.Equal(t, uint64(2), m.Failures)
		}},
		{do: doOK, state: circuit.Closed}, // only a probe decides
	}, circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(1), circuit.WithOpenTimeout(time.Second))
}

func TestTransitionsFormAPath(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second), circuit.WithSuccessThreshold(1))
	for i := 0; i < 20; i++ {
		switch i % 4 {
		case 0:
			_, _ = h.call(0, errBoom)
		case 1:
			h.clock.Add(time.Second)
			_ = h.b.State()
		case 2:
			_, _ = h.call(0, nil)
		case 3:
			h.b.Trip(circuit.ReasonManual)
		}
	}
	tr := h.transitions()
	require.NotEmpty(t, tr)
	assert.Equal(t, circuit.Closed, tr[0].From)
	for i := 1; i < len(tr); i++ {
		assert.Equal(t, tr[i-1].To, tr[i].From, "transition %d", i)
		assert.False(t, tr[i].At.Before(tr[i-1].At), "time never goes backwards")
	}
	assert.Equal(t, uint64(len(tr)), h.b.Metrics().Transitions)
}

func TestClockSetBackwardsDoesNotMoveStateBackwards(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second))
	h.clock.Add(time.Hour)
	h.fail()
	since := h.b.Metrics().StateSince
	h.clock.Set(time.Unix(0, 0))
	assert.Equal(t, circuit.Open, h.b.State())
	assert.False(t, h.b.Metrics().StateSince.Before(since))
	h.clock.Set(since.Add(10 * time.Second))
	assert.Equal(t, circuit.HalfOpen, h.b.State())
}

// Probe slots change while probes are in flight: more slots admit more
// probes at once; fewer admit none until enough probes have reported,
// and the probes already in flight still count towards closing.
func TestReconfigureProbeSlotsWhileProbing(t *testing.T) {
	slots := func(n int) func(*circuit.Config) {
		return func(c *circuit.Config) { c.HalfOpenMaxProbes = n }
	}
	detail := func(want string) func(*testing.T, *harness, error) {
		return func(t *testing.T, h *harness, _ error) {
			tr := h.last()
			assert.Equal(t, want, tr.Detail)
			assert.Equal(t, tr.From, tr.To)
			assert.Equal(t, uint64(2), h.b.Metrics().Transitions, "not a state change")
		}
	}
	steps := append(halfOpenRows(time.Second),
		step{do: doAllow, state: circuit.HalfOpen},                 // permit 0
		step{do: doAllow, rejected: true, state: circuit.HalfOpen}, // permit 1: one slot
		step{do: doReconfigure, reconf: slots(3), state: circuit.HalfOpen, reason: circuit.ReasonReconfigured,
			check: detail("changed HalfOpenMaxProbes 1->3; kept the window")},
		step{do: doAllow, state: circuit.HalfOpen},                 // permit 2
		step{do: doAllow, state: circuit.HalfOpen},                 // permit 3
		step{do: doAllow, rejected: true, state: circuit.HalfOpen}, // permit 4: three slots taken
		step{do: doReconfigure, reconf: slots(1), state: circuit.HalfOpen, reason: circuit.ReasonReconfigured,
			check: detail("changed HalfOpenMaxProbes 3->1; kept the window")},
		step{do: doDoneOK, permit: 0, state: circuit.HalfOpen},
		step{do: doAllow, rejected: true, state: circuit.HalfOpen}, // permit 5: two in flight, one slot
		step{do: doDoneOK, permit: 2, state: circuit.HalfOpen},
		step{do: doAllow, rejected: true, state: circuit.HalfOpen}, // permit 6: one in flight, one slot
		step{do: doDoneOK, permit: 3, state: circuit.Closed, reason: circuit.ReasonProbesSucceeded},
	)
	runSteps(t, steps, circuit.WithOpenTimeout(time.Second), circuit.WithProbeTimeout(time.Minute),
		circuit.WithSuccessThreshold(3))
}

// A new LatencyThreshold clears the window and forgets the slow calls in
// flight: a call admitted before the change is not counted while it runs,
// is judged by the new threshold when it ends, and the new threshold
// trips the breaker on the new window alone.
func TestReconfigureLatencyThresholdWithSlowCallsInFlight(t *testing.T) {
	metrics := func(window, slow int) func(*testing.T, *harness, error) {
		return func(t *testing.T, h *harness, _ error) {
			m := h.b.Metrics()
			assert.Equal(t, window, m.WindowRequests, "WindowRequests")
			assert.Equal(t, slow, m.SlowInFlight, "SlowInFlight")
		}
	}
	runSteps(t, []step{
		{do: doOK, state: circuit.Closed},
		{do: doOK, state: circuit.Closed},
		{do: doFail, state: circuit.Closed},
		{do: doAllow, state: circuit.Closed}, // permit 0
		{wait: 2 * time.Second, state: circuit.Closed, check: metrics(3, 1)},
		{do: doReconfigure, reconf: func(c *circuit.Config) { c.LatencyThreshold = 3 * time.Second }, state: circuit.Closed,
			reason: circuit.ReasonReconfigured, check: func(t *testing.T, h *harness, err error) {
				assert.Equal(t, "changed LatencyThreshold 1s->3s; cleared the window (3 outcomes), 1 slow calls in flight", h.last().Detail)
				metrics(0, 0)(t, h, err)
			}},
		{wait: 3 * time.Second, state: circuit.Closed, check: metrics(0, 0)},   // in flight 5s, admitted before the change
		{do: doDoneOK, permit: 0, state: circuit.Closed, check: metrics(1, 0)}, // 5s: slow by the new threshold
		{do: doOK, lat: 3 * time.Second, state: circuit.Closed},
		{do: doOK, lat: time.Second, state: circuit.Closed},
		{do: doOK, lat: 3 * time.Second, state: circuit.Open, reason: circuit.ReasonLatency}, // 3 of 4 at least 3s
	}, circuit.WithLatencyThreshold(time.Second), circuit.WithLatencyPercentile(0.5), circuit.WithWindowSize(10),
		circuit.WithMinRequests(4), circuit.WithErrorRateThreshold(0.9))
}
