package tune_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/tune"
)

// configErrors returns the *circuit.ConfigError values joined in err.
func configErrors(t *testing.T, err error) []*circuit.ConfigError {
	t.Helper()
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	require.ErrorIs(t, err, tune.ErrInvalidConfig)
	var out []*circuit.ConfigError
	j, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "a joined error")
	for _, e := range j.Unwrap() {
		var ce *circuit.ConfigError
		require.True(t, errors.As(e, &ce), "%v is a *circuit.ConfigError", e)
		assert.Equal(t, "tune", ce.Pkg)
		out = append(out, ce)
	}
	return out
}

func fields(ces []*circuit.ConfigError) []string {
	var out []string
	for _, ce := range ces {
		out = append(out, ce.Field)
	}
	return out
}

func TestAttachRejectsBadInput(t *testing.T) {
	live := newLive(t, newStepClock(), quiet())
	bad := quiet()
	bad.WindowSize = 0
	bad.OpenTimeout = -1

	for _, tc := range []struct {
		name   string
		live   tune.Live
		cands  []tune.Candidate
		opts   []tune.Option
		fields []string
		msg    string
	}{
		{name: "nil live", live: nil, fields: []string{"Live"}, msg: "tune: invalid config: Live = nil: must not be nil"},
		{name: "nil breaker", live: (*circuit.Breaker[int])(nil), fields: []string{"Live"}},
		{name: "empty name", live: live, cands: []tune.Candidate{{Config: quiet()}}, fields: []string{"Candidates[0].Name"}},
		{name: "bad UTF-8", live: live, cands: []tune.Candidate{{Name: "a\xff", Config: quiet()}}, fields: []string{"Candidates[0].Name"}},
		{name: "live's name", live: live, cands: []tune.Candidate{{Name: "live", Config: quiet()}}, fields: []string{"Candidates[0].Name"},
			msg: `tune: invalid config: Candidates[0].Name = live: must differ from the live breaker's name`},
		{name: "duplicate", live: live, cands: []tune.Candidate{{Name: "a", Config: quiet()}, {Name: "b", Config: quiet()}, {Name: "a", Config: quiet()}},
			fields: []string{"Candidates[2].Name"}, msg: "tune: invalid config: Candidates[2].Name = a: must be unique: an earlier candidate has it"},
		{name: "invalid config names the candidate and every field", live: live, cands: []tune.Candidate{{Name: "ok", Config: quiet()}, {Name: "cand-b", Config: bad}},
			fields: []string{`Candidate["cand-b"].Config.WindowSize`, `Candidate["cand-b"].Config.OpenTimeout`},
			msg:    `tune: invalid config: Candidate["cand-b"].Config.WindowSize = 0: must be at least 1 without a WindowDuration`},
		{name: "options", live: live, opts: []tune.Option{tune.WithGoodRejectedCost(-1), tune.WithFailureLetThroughCost(nan()), tune.WithHealthyRun(0), tune.WithIncidentFailures(-2)},
			fields: []string{"GoodRejectedCost", "FailureLetThroughCost", "HealthyRun", "IncidentFailures"}},
		{name: "both costs zero", live: live, opts: []tune.Option{tune.WithGoodRejectedCost(0), tune.WithFailureLetThroughCost(0)}, fields: []string{"FailureLetThroughCost"}},
		{name: "split option", live: live, opts: []tune.Option{tune.WithCounterRouting()}, fields: []string{"CounterRouting"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tune.Attach(tc.live, tc.cands, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			ces := configErrors(t, err)
			assert.Equal(t, tc.fields, fields(ces))
			if tc.msg != "" {
				assert.Equal(t, tc.msg, ces[0].Error())
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

// No candidates is valid (the live report alone), and so are nil options.
func TestAttachWithoutCandidates(t *testing.T) {
	clk := newStepClock()
	live := newLive(t, clk, quiet())
	s, err := tune.Attach(live, nil, nil)
	require.NoError(t, err)
	defer s.Detach()
	_ = call(live, clk, time.Millisecond, nil)
	rs := s.Reports()
	require.Len(t, rs, 1)
	assert.Equal(t, uint64(1), rs[0].Calls)
}

// A breaker already open at Attach: the live report counts its time open
// from the first call observed, and the shadows start closed.
func TestAttachToAnOpenBreaker(t *testing.T) {
	clk := newStepClock()
	live := newLive(t, clk, quiet())
	live.Trip(circuit.ReasonManual)
	clk.Add(5 * time.Second)
	s, err := tune.Attach(live, []tune.Candidate{{Name: "c", Config: quiet()}})
	require.NoError(t, err)
	defer s.Detach()
	clk.Add(5 * time.Second)
	_ = call(live, clk, 0, nil) // rejected at 10s
	clk.Add(4 * time.Second)
	_ = call(live, clk, 0, nil) // rejected at 14s
	rs := s.Reports()
	assert.Equal(t, circuit.Open, rs[0].State)
	assert.Equal(t, 4*time.Second, rs[0].TimeOpen)
	assert.Equal(t, circuit.Closed, rs[1].State)
	assert.Equal(t, uint64(2), rs[1].AdmittedUnseen)
}

// After Detach, nothing is counted, the live breaker has no observer left
// (its hooks and calls are unaffected), and the reports stand.
func TestDetachStopsCounting(t *testing.T) {
	clk := newStepClock()
	trip := quiet()
	trip.ConsecutiveFailures = 1
	live := newLive(t, clk, trip)
	s, err := tune.Attach(live, []tune.Candidate{{Name: "c", Config: quiet()}})
	require.NoError(t, err)
	_ = call(live, clk, time.Millisecond, nil)
	before := s.Reports()
	s.Detach()
	s.Detach()                                     // idempotent
	_ = call(live, clk, time.Millisecond, errBoom) // trips the live breaker
	_ = call(live, clk, time.Millisecond, nil)
	assert.Equal(t, circuit.Open, live.State(), "the live breaker works on")
	clk.Add(time.Hour)
	after := s.Reports()
	assert.Equal(t, before, after)
	assert.Equal(t, uint64(1), after[0].Calls)
	assert.Zero(t, after[0].Opens, "the transition after Detach is not counted")
}

// Promote makes the candidate's Config live in one call, keeps the live
// breaker's name, and the reports go on counting across it.
func TestPromote(t *testing.T) {
	clk := newStepClock()
	live := newLive(t, clk, quiet())
	var reconfigured []circuit.Transition
	live.Subscribe(func(tr circuit.Transition) {
		if tr.Reason == circuit.ReasonReconfigured {
			reconfigured = append(reconfigured, tr)
		}
	})
	strict := quiet()
	strict.ConsecutiveFailures = 2
	strict.Name = "ignored"
	s, err := tune.Attach(live, []tune.Candidate{{Name: "strict", Config: strict}})
	require.NoError(t, err)
	defer s.Detach()
	_ = call(live, clk, time.Millisecond, errBoom)

	err = s.Promote("nope")
	require.ErrorIs(t, err, tune.ErrUnknownCandidate)
	assert.Equal(t, `tune: promote "nope": tune: no candidate of that name`, err.Error())
	assert.Equal(t, quiet(), withName(live.Config(), ""), "nothing changed")

	require.NoError(t, s.Promote("strict"))
	want := withName(strict, "live")
	assert.Equal(t, want, live.Config(), "the candidate's thresholds under the live breaker's name")
	require.Len(t, reconfigured, 1)

	_ = call(live, clk, time.Millisecond, errBoom) // the second failure in a row: the promoted config trips
	assert.Equal(t, circuit.Open, live.State())

	rs := s.Reports()
	assert.Equal(t, withName(strict, ""), rs[0].Config, "the live report shows the promoted config")
	assert.Equal(t, uint64(2), rs[0].Calls, "and counts on across the change")
	assert.Equal(t, 1, rs[0].Opens)
	assert.Equal(t, uint64(2), rs[0].FailuresLetThrough)
	assert.Equal(t, rs[0].RecentOpens, rs[1].RecentOpens, "the promoted shadow and the live breaker agree")

	s.Detach()
	require.NoError(t, s.Promote("strict"), "Promote works after Detach")
}

// Reports marshal to JSON under stable snake_case names, with durations
// as strings, and back exactly.
func TestReportJSONRoundTrip(t *testing.T) {
	clk := newStepClock()
	live := newLive(t, clk, quiet())
	strict := quiet()
	strict.ConsecutiveFailures = 2
	strict.OpenTimeout = 90 * time.Second
	s, err := tune.Attach(live, []tune.Candidate{{Name: "strict", Config: strict}}, tune.WithIncidentFailures(2))
	require.NoError(t, err)
	defer s.Detach()
	for i, e := range []error{nil, errBoom, errBoom, nil, errBoom, nil} {
		at(live, clk, float64(i)+0.25, e)
	}
	rs := s.Reports()
	require.NotNil(t, rs[1].FalsePositiveRate)
	require.NotZero(t, rs[1].TimeOpen)
	require.NotEmpty(t, rs[1].RecentIncidents)

	data, err := json.Marshal(rs)
	require.NoError(t, err)
	var back []tune.Report
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, rs, back)

	var keys []map[string]any
	require.NoError(t, json.Unmarshal(data, &keys))
	for _, k := range []string{"name", "live", "config", "state", "since", "until", "calls", "unseen", "ignored",
		"opens", "recent_opens", "time_open", "incidents", "detected", "mean_time_to_detect", "max_time_to_detect",
		"recent_incidents", "rejected", "rejected_failed", "rejected_succeeded", "rejected_unknown",
		"false_positive_rate", "admitted_unseen", "failures_let_through", "cost", "verdict"} {
		assert.Contains(t, keys[1], k)
	}
	assert.Len(t, keys[1], 26, "no other keys")
	assert.Equal(t, "3s", keys[1]["time_open"])
	assert.Nil(t, keys[0]["false_positive_rate"], "null in the live report")
	assert.Equal(t, "1s", keys[1]["recent_incidents"].([]any)[0].(map[string]any)["time_to_detect"])

	var r tune.Report
	require.ErrorContains(t, json.Unmarshal([]byte(`{"time_open":"soon"}`), &r), "tune: JSON field time_open")
}

// Many goroutines call through a breaker with shadows while others read
// the reports: under -race, nothing races, and every report adds up.
func TestShadowsUnderConcurrency(t *testing.T) {
	clk := newStepClock()
	cfg := quiet()
	cfg.ConsecutiveFailures = 4
	cfg.ErrorRateThreshold = 0.3
	cfg.MinRequests = 10
	cfg.OpenTimeout = 50 * time.Millisecond
	cfg.HalfOpenMaxProbes = 2
	cfg.SuccessThreshold = 2
	live := newLive(t, clk, cfg)
	a, b, c := cfg, cfg, cfg
	a.ConsecutiveFailures = 2
	b.ErrorRateThreshold = 0.6
	b.LatencyThreshold = 3 * time.Millisecond
	c.OpenTimeout = 5 * time.Millisecond
	c.RampDuration = 20 * time.Millisecond
	s, err := tune.Attach(live, []tune.Candidate{{Name: "a", Config: a}, {Name: "b", Config: b}, {Name: "c", Config: c}})
	require.NoError(t, err)

	check := func(rs []tune.Report) {
		for _, r := range rs {
			require.Equal(t, r.Rejected, r.RejectedFailed+r.RejectedSucceeded, r.Name)
			require.LessOrEqual(t, r.Rejected+r.RejectedUnknown+r.AdmittedUnseen, r.Calls, r.Name)
			require.LessOrEqual(t, r.AdmittedUnseen, r.Unseen, r.Name)
			require.Equal(t, rs[0].Calls, r.Calls)
		}
	}
	const workers, calls = 8, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
				check(s.Reports())
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range calls {
				var err error
				switch bad := (i/200)%3 == 1; { // waves of trouble
				case bad && r.IntN(2) == 0, r.IntN(20) == 0:
					err = errBoom
				case r.IntN(50) == 0:
					err = context.Canceled
				}
				_ = call(live, clk, time.Duration(r.IntN(4))*time.Millisecond, err)
				clk.Add(100 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone
	s.Detach()

	rs := s.Reports()
	check(rs)
	m := live.Metrics()
	assert.Equal(t, uint64(workers*calls), rs[0].Calls)
	assert.Equal(t, m.Successes+m.Failures+m.Rejections+m.Ignored, rs[0].Calls)
	assert.Equal(t, m.Rejections, rs[0].Unseen)
	assert.Equal(t, m.Rejections, rs[0].RejectedUnknown)
	assert.Equal(t, m.Ignored, rs[0].Ignored)
	assert.Equal(t, int(m.TransitionCounts[circuit.Closed][circuit.Open]+m.TransitionCounts[circuit.HalfOpen][circuit.Open]), rs[0].Opens)
	assert.Positive(t, rs[0].Opens, "the waves trip the live breaker")
	for _, r := range rs[1:] {
		assert.Positive(t, r.Rejected, r.Name)
	}
}

// Feeding the shadows allocates nothing per call.
func TestShadowsAllocateNothingPerCall(t *testing.T) {
	clk := newStepClock()
	live := newLive(t, clk, circuit.DefaultConfig())
	cands := []tune.Candidate{{Name: "a", Config: circuit.DefaultConfig()}, {Name: "b", Config: circuit.DefaultConfig()}, {Name: "c", Config: circuit.DefaultConfig()}}
	s, err := tune.Attach(live, cands)
	require.NoError(t, err)
	defer s.Detach()
	ctx := context.Background()
	ok := func(context.Context) (int, error) { clk.Add(time.Millisecond); return 1, nil }
	fail := func(context.Context) (int, error) { clk.Add(time.Millisecond); return 0, errBoom }
	_, _ = live.Execute(ctx, ok) // builds the shadows
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = live.Execute(ctx, ok) }), "success")
	i := 0
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		i++
		if i%10 == 0 {
			_, _ = live.Execute(ctx, fail)
			return
		}
		_, _ = live.Execute(ctx, ok)
	}), "10% failures")
}
