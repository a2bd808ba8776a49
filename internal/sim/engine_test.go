package sim_test

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

const ms = time.Millisecond

// tinyConfig trips after two failures in a row, stays open 2s, and closes
// after one good probe: small enough to follow by hand.
func tinyConfig() circuit.Config {
	return circuit.Config{
		Name: "tiny", ConsecutiveFailures: 2, WindowSize: 10, LatencyPercentile: 0.95,
		OpenTimeout: 2 * time.Second, HalfOpenMaxProbes: 1, SuccessThreshold: 1,
	}
}

// One request a second (at 0s, 1s, ..., 13s), one worker, every call takes
// exactly 100ms. From 5s to 9s every call fails. Worked out by hand:
//
//	5s, 6s  fail at 5.1s, 6.1s; the second trips the breaker at 6.1s (open until 8.1s)
//	7s, 8s  rejected: fallbacks
//	9s      half-open since 8.1s; the probe runs in the healthy phase, succeeds at 9.1s: closed
//	the rest succeed.
func TestRunHandComputed(t *testing.T) {
	sc := sim.Scenario{
		Name: "tiny", Duration: 14 * time.Second, Interval: 5 * time.Second,
		Rate: 1, Arrivals: "uniform", Workers: 1,
		Phases: []sim.Phase{
			{Start: 0, Latency: 100 * ms},
			{Start: 5 * time.Second, Latency: 100 * ms, ErrorRate: 1, Fault: true},
			{Start: 9 * time.Second, Latency: 100 * ms},
		},
	}
	res, err := sim.Run(sc, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !res.HasFault || res.FaultStart != 5*time.Second || res.FaultEnd != 9*time.Second {
		t.Errorf("fault window = %v..%v (%v), want 5s..9s", res.FaultStart, res.FaultEnd, res.HasFault)
	}

	base, brk := res.Runs[0], res.Runs[1]
	wantTransitions := []sim.Transition{
		{At: 6100 * ms, From: circuit.Closed, To: circuit.Open, Reason: circuit.ReasonConsecutiveFailures},
		{At: 8100 * ms, From: circuit.Open, To: circuit.HalfOpen, Reason: circuit.ReasonTimeoutElapsed},
		{At: 9100 * ms, From: circuit.HalfOpen, To: circuit.Closed, Reason: circuit.ReasonProbesSucceeded},
	}
	if !reflect.DeepEqual(brk.Transitions, wantTransitions) {
		t.Errorf("transitions = %+v\nwant %+v", brk.Transitions, wantTransitions)
	}
	if len(base.Transitions) != 0 {
		t.Errorf("the run without a breaker has transitions: %+v", base.Transitions)
	}

	type row struct{ offered, ok, errors, fallbacks, calls, served int }
	pick := func(iv sim.Interval) row {
		return row{iv.Offered, iv.OK, iv.Errors, iv.Fallbacks, iv.Calls, iv.Served}
	}
	wantBase := []row{{5, 5, 0, 0, 5, 5}, {5, 1, 4, 0, 5, 1}, {4, 4, 0, 0, 4, 4}}
	wantBrk := []row{{5, 5, 0, 0, 5, 5}, {5, 1, 2, 2, 3, 3}, {4, 4, 0, 0, 4, 4}}
	for i := range wantBase {
		if got := pick(base.Intervals[i]); got != wantBase[i] {
			t.Errorf("no breaker, interval %d = %+v, want %+v", i, got, wantBase[i])
		}
		if got := pick(brk.Intervals[i]); got != wantBrk[i] {
			t.Errorf("with breaker, interval %d = %+v, want %+v", i, got, wantBrk[i])
		}
	}
	wantStates := []struct {
		s       circuit.State
		changed bool
	}{{circuit.Closed, false}, {circuit.Closed, true}, {circuit.Closed, false}}
	for i, w := range wantStates {
		if iv := brk.Intervals[i]; iv.State != w.s || iv.Changed != w.changed {
			t.Errorf("interval %d state = %v (changed %v), want %v (changed %v)", i, iv.State, iv.Changed, w.s, w.changed)
		}
	}
	if iv := brk.Intervals[2]; iv.End != 14*time.Second {
		t.Errorf("last interval ends at %v, want 14s (the run's end)", iv.End)
	}

	s := brk.Summary
	checks := []struct {
		name      string
		got, want any
	}{
		{"offered", s.Offered, 14},
		{"ok", s.OK, 10},
		{"errors", s.Errors, 2},
		{"fallbacks", s.Fallbacks, 2},
		{"calls", s.Calls, 12},
		{"spared", s.Spared, 2},
		{"unfinished", s.Unfinished, 0},
		{"goodput", s.Goodput, 10.0 / 14},
		{"served", s.Served, 12.0 / 14},
		{"fault goodput", s.FaultGoodput, 0.0},
		{"fault served", s.FaultServed, 2.0 / 4}, // the fallbacks at 7s and 8s, over 4s
		{"p50", s.P50, 100 * ms},                 // two 0s and twelve 100ms
		{"p99", s.P99, 100 * ms},
		{"peak busy", s.PeakBusy, 1},
		{"detect", s.Detect, 1100 * ms}, // 5s -> 6.1s
		{"detected", s.Detected, true},
		{"recover", s.Recover, 100 * ms}, // half-open at 9s, closed at 9.1s
		{"recovered", s.Recovered, true},
		{"opens", s.Opens, 1},
		{"false opens", s.FalseOpens, 0},
		{"no breaker goodput", base.Summary.Goodput, 10.0 / 14},
		{"no breaker fault goodput", base.Summary.FaultGoodput, 0.0},
		{"no breaker served", base.Summary.Served, 10.0 / 14},
		{"no breaker fault served", base.Summary.FaultServed, 0.0},
		{"no breaker errors", base.Summary.Errors, 4},
		{"no breaker calls", base.Summary.Calls, 14},
		{"no breaker spared", base.Summary.Spared, 0},
	}
	for _, c := range checks {
		if g, ok := c.got.(float64); ok {
			if w := c.want.(float64); math.Abs(g-w) > 1e-9 {
				t.Errorf("%s = %v, want %v", c.name, g, w)
			}
			continue
		}
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// The queue by hand: one worker, calls of 2.5s, a request a second.
func TestRunQueueHandComputed(t *testing.T) {
	cases := []struct {
		name string
		sc   sim.Scenario
		want sim.Summary
	}{{
		// 0s runs until 2.5s; 1s queues; 2s finds the queue full; at 2.5s
		// 1s starts (done 5s, 4s after it arrived: late for a 3s deadline);
		// 3s queues; 4s is shed; at 5s the call ends first, 3s starts, and
		// 5s queues: both unfinished at 6s.
		name: "queue of one, deadline 3s",
		sc: sim.Scenario{
			Duration: 6 * time.Second, Rate: 1, Arrivals: "uniform", Workers: 1, QueueSize: 1,
			Deadline: 3 * time.Second, Phases: []sim.Phase{{Latency: 2500 * ms}},
		},
		want: sim.Summary{
			Offered: 6, OK: 1, Late: 1, Shed: 2, Unfinished: 2, Calls: 3,
			Goodput: 1.0 / 6, P50: 0, P99: 4 * time.Second, PeakBusy: 1, PeakQueue: 1,
			Saturated: 1, // the one worker was busy in the one interval
		},
	}, {
		// 1s waits in the queue until its 1.5s timeout at 2.5s, the same
		// instant the worker frees: the timeout wins. 2s then gets the
		// worker (done 5s) and 3s waits: both unfinished at 4s.
		name: "queue timeout",
		sc: sim.Scenario{
			Duration: 4 * time.Second, Rate: 1, Arrivals: "uniform", Workers: 1, QueueSize: 5,
			QueueTimeout: 1500 * ms, Phases: []sim.Phase{{Latency: 2500 * ms}},
		},
		want: sim.Summary{
			Offered: 4, OK: 1, QueueTimeouts: 1, Unfinished: 2, Calls: 2,
			Goodput: 1.0 / 4, P50: 1500 * ms, P99: 2500 * ms, PeakBusy: 1, PeakQueue: 2,
			Saturated: 1,
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := sim.Run(c.sc, circuit.DefaultConfig(), 7)
			if err != nil {
				t.Fatal(err)
			}
			for i, run := range res.Runs {
				got := run.Summary
				if math.Abs(got.Goodput-c.want.Goodput) > 1e-9 || math.Abs(got.Served-c.want.Goodput) > 1e-9 {
					t.Errorf("run %d goodput = %v, served = %v, want both %v (no fallbacks)", i, got.Goodput, got.Served, c.want.Goodput)
				}
				got.Goodput, got.Served = c.want.Goodput, 0
				if got != c.want {
					t.Errorf("run %d summary = %+v\nwant %+v", i, got, c.want)
				}
			}
		})
	}
}

// shortSlowdown is db-slowdown in miniature: 30 requests a second, 30
// workers, and calls that go from 50ms to 3s for a minute. 80% of the
// requests call the dependency: 72 workers' worth during the slowdown.
// Without a breaker the pool finishes 10 calls a second, each too late
// for the 1s deadline, and the requests that never needed the dependency
// wait in the queue with them, up to 5s.
func shortSlowdown() (sim.Scenario, circuit.Config) {
	sc := sim.Scenario{
		Name: "short-slowdown", Duration: 2 * time.Minute, Interval: 10 * time.Second,
		Rate: 30, Workers: 30, QueueSize: 60, QueueTimeout: 5 * time.Second, Deadline: time.Second,
		DependencyShare: 0.8, LocalLatency: 20 * ms,
		Phases: []sim.Phase{
			{Start: 0, Latency: 50 * ms, Spread: 0.3},
			{Start: 20 * time.Second, Latency: 3 * time.Second, Spread: 0.3, Fault: true},
			{Start: 80 * time.Second, Latency: 50 * ms, Spread: 0.3},
		},
	}
	cfg := circuit.DefaultConfig()
	cfg.LatencyThreshold = 500 * ms
	return sc, cfg
}

func TestBreakerKeepsGoodputAndBoundsLatencyDuringAFault(t *testing.T) {
	sc, cfg := shortSlowdown()
	res, err := sim.Run(sc, cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	base, brk := res.Runs[0].Summary, res.Runs[1].Summary
	// Generous margins: the point is the direction and its size. The
	// local requests (20%, 6/s) keep their full answers only with the
	// breaker; the rest get fallbacks.
	local := (1 - sc.DependencyShare) * sc.Rate
	if brk.FaultGoodput < 5*base.FaultGoodput || brk.FaultGoodput < 0.7*local {
		t.Errorf("goodput during the fault: %.1f/s with breaker vs %.1f/s without; want at least 5x and 70%% of %g/s",
			brk.FaultGoodput, base.FaultGoodput, local)
	}
	if brk.FaultServed < 5*base.FaultServed || brk.FaultServed < 0.7*sc.Rate {
		t.Errorf("served during the fault: %.1f/s with breaker vs %.1f/s without; want at least 5x and 70%% of %g/s",
			brk.FaultServed, base.FaultServed, sc.Rate)
	}
	if !brk.Detected || brk.Detect > 10*time.Second {
		t.Errorf("time to detect = %v (detected %v), want within 10s", brk.Detect, brk.Detected)
	}
	if !brk.Recovered || brk.Recover > cfg.OpenTimeout+10*time.Second {
		t.Errorf("time to recover = %v (recovered %v), want within OpenTimeout+10s", brk.Recover, brk.Recovered)
	}
	// Once the breaker has tripped, its p99 stays bounded while the run
	// without it stays at the dependency's latency or worse.
	for i, iv := range res.Runs[1].Intervals {
		if iv.Start < res.FaultStart+10*time.Second || iv.End > res.FaultEnd {
			continue
		}
		if iv.P99 > sc.Deadline {
			t.Errorf("with breaker, p99 at %v = %v, want at most the %v deadline", iv.Start, iv.P99, sc.Deadline)
		}
		if b := res.Runs[0].Intervals[i]; b.P99 < 2*time.Second {
			t.Errorf("without breaker, p99 at %v = %v, want the slowdown (>= 2s) to show", b.Start, b.P99)
		}
	}
	if brk.Spared == 0 || brk.Calls >= base.Calls {
		t.Errorf("calls: %d with breaker (spared %d) vs %d without; want fewer", brk.Calls, brk.Spared, base.Calls)
	}
}

func TestRunIsDeterministic(t *testing.T) {
	sc, cfg := shortSlowdown()
	a, err := sim.Run(sc, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.Run(sc, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with the same seed differ")
	}
	var ta, tb bytes.Buffer
	if err := sim.WriteText(&ta, a); err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteText(&tb, b); err != nil {
		t.Fatal(err)
	}
	if ta.String() != tb.String() {
		t.Error("the reports of two runs with the same seed differ")
	}
	c, err := sim.Run(sc, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Runs, c.Runs) {
		t.Error("seeds 3 and 4 gave the same runs; the seed is not used")
	}
}

func TestBothRunsSeeTheSameTraffic(t *testing.T) {
	sc, cfg := shortSlowdown()
	res, err := sim.Run(sc, cfg, 9)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range res.Runs[0].Intervals {
		a, b := res.Runs[0].Intervals[i].Offered, res.Runs[1].Intervals[i].Offered
		if a != b {
			t.Errorf("interval %d: offered %d without breaker, %d with", i, a, b)
		}
		total += a
	}
	// Poisson arrivals: the count is within 5 standard deviations of the mean.
	mean := sc.Rate * sc.Duration.Seconds()
	if math.Abs(float64(total)-mean) > 5*math.Sqrt(mean) {
		t.Errorf("offered %d requests, want about %.0f", total, mean)
	}
}

// Every built-in scenario runs, and its books balance: each request ends
// in exactly one way or is unfinished, and each rejection was a fallback.
func TestBuiltinsBalance(t *testing.T) {
	for _, name := range sim.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			sc, err := sim.Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := sim.Run(sc, sc.BreakerConfig(), 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range res.Runs {
				s := run.Summary
				if s.Unfinished < 0 || s.Unfinished > sc.Workers+sc.QueueSize {
					t.Errorf("%s: unfinished = %d, want between 0 and workers+queue", run.Label, s.Unfinished)
				}
				if s.Spared+s.BulkheadFull != s.Fallbacks {
					t.Errorf("%s: spared %d + bulkhead %d != fallbacks %d", run.Label, s.Spared, s.BulkheadFull, s.Fallbacks)
				}
				if s.PeakBusy > sc.Workers || s.PeakQueue > sc.QueueSize {
					t.Errorf("%s: peak busy %d / queue %d beyond the limits %d / %d", run.Label, s.PeakBusy, s.PeakQueue, sc.Workers, sc.QueueSize)
				}
				if allCall := sc.DependencyShare == 0 || sc.DependencyShare == 1; allCall && s.Calls < s.OK+s.Late+s.Errors {
					t.Errorf("%s: %d calls cannot answer %d requests", run.Label, s.Calls, s.OK+s.Late+s.Errors)
				}
			}
		})
	}
}

// flaky has no fault, so every trip is a false open: the default config
// has none, and a hair-trigger config shows them.
func TestFlakyCountsFalseOpens(t *testing.T) {
	sc, err := sim.Builtin("flaky")
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(sc, sc.BreakerConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Runs[1].Summary; s.FalseOpens != 0 || s.Detected {
		t.Errorf("default config on flaky: %d false opens (detected %v), want 0", s.FalseOpens, s.Detected)
	}
	touchy := circuit.DefaultConfig()
	touchy.ConsecutiveFailures = 2
	res, err = sim.Run(sc, touchy, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Runs[1].Summary
	if s.FalseOpens == 0 {
		t.Error("2-in-a-row config on 8% errors: no false opens counted")
	}
	trips := 0
	for _, tr := range res.Runs[1].Transitions {
		if tr.From == circuit.Closed && tr.To == circuit.Open {
			trips++
		}
	}
	if s.FalseOpens != trips {
		t.Errorf("false opens = %d, want every trip (%d): nothing is a fault", s.FalseOpens, trips)
	}
}

// Retries amplify the load on the dependency; the breaker and the retry
// budget take it away.
func TestRetryStormAmplification(t *testing.T) {
	sc, err := sim.Builtin("retry-storm")
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(sc, sc.BreakerConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	base, brk := res.Runs[0].Summary, res.Runs[1].Summary
	if base.Amplification() < 1.3 || base.Retries == 0 {
		t.Errorf("no breaker: %.2f calls per request, %d retries; want a storm (>= 1.3)", base.Amplification(), base.Retries)
	}
	if brk.Amplification() >= 1 || brk.Retries*10 > base.Retries {
		t.Errorf("with breaker: %.2f calls per request, %d retries (vs %d); want < 1 and a tenth of the retries",
			brk.Amplification(), brk.Retries, base.Retries)
	}
	// During the fault the storm is worse than the average.
	for i, iv := range res.Runs[0].Intervals {
		if iv.Start >= res.FaultStart+10*time.Second && iv.End <= res.FaultEnd && 2*iv.Calls < 3*iv.Offered {
			t.Errorf("interval %d: %d calls for %d requests, want at least 1.5x during the fault", i, iv.Calls, iv.Offered)
		}
	}
}

// A preset with a call timeout runs: the timeout is an event, not a
// context timer on the virtual clock (which would panic).
func TestCallTimeoutFromConfig(t *testing.T) {
	sc, err := sim.Builtin("db-slowdown")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := circuit.Preset(circuit.PresetCore) // CallTimeout 3s
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(sc, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The slowest answer with the breaker is a 2s queue wait plus a 3s
	// call; without it, calls of 5s and more get through.
	if p := res.Runs[1].Summary.P99; p > 5*time.Second {
		t.Errorf("with a 3s call timeout, p99 = %v", p)
	}
	if p := res.Runs[0].Summary.P99; p <= 5*time.Second {
		t.Errorf("without the breaker (no call timeout), p99 = %v, want above 5s", p)
	}
	if res.Config.CallTimeout != 3*time.Second {
		t.Errorf("result config call timeout = %v, want the preset's 3s", res.Config.CallTimeout)
	}
}

// A bulkhead caps the workers a slow dependency can hold in the seconds
// before the breaker trips; its rejections never reach the breaker.
func TestBulkheadCapsBusyWorkers(t *testing.T) {
	sc, err := sim.Builtin("db-slowdown")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := sim.Run(sc, sc.BreakerConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	sc.Bulkhead = 20
	res, err := sim.Run(sc, sc.BreakerConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// The bulkhead bounds the workers held by dependency calls; requests
	// that do only local work (20ms each, about 12 a second) add a few.
	// (The breaker sees the slow calls while they are in flight, about a
	// second after the onset, so alone it lets them hold some 50 workers.)
	if got := plain.Runs[1].Summary.PeakBusy; got < 2*sc.Bulkhead {
		t.Errorf("breaker alone: peak busy %d, want the slow calls to hold more than twice %d workers at the onset", got, sc.Bulkhead)
	}
	s := res.Runs[1].Summary
	if s.PeakBusy > sc.Bulkhead+10 || s.BulkheadFull == 0 {
		t.Errorf("with a bulkhead of %d: peak busy %d, %d bulkhead rejections", sc.Bulkhead, s.PeakBusy, s.BulkheadFull)
	}
	if s.Spared+s.BulkheadFull != s.Fallbacks {
		t.Errorf("fallbacks %d != spared %d + bulkhead %d", s.Fallbacks, s.Spared, s.BulkheadFull)
	}
	if !reflect.DeepEqual(res.Runs[0], plain.Runs[0]) {
		t.Error("the bulkhead changed the run without a breaker")
	}
	if s.FaultGoodput < plain.Runs[1].Summary.FaultGoodput {
		t.Errorf("fault goodput with bulkhead %.1f < without %.1f", s.FaultGoodput, plain.Runs[1].Summary.FaultGoodput)
	}
}

// Capacity by hand: a request a second, calls abandoned at 1s. The first
// call takes 1.5s: the client gives up at 1s, the dependency works on until
// 1.5s. From 1s on calls take 0.6s alone, but with capacity 1 each one
// starts while the abandoned one before it still runs, takes 2 x 0.6s, and
// is abandoned in turn: one slow call, and every later call times out.
// With unlimited capacity only the first one fails.
func TestCapacityAndAbandonedCalls(t *testing.T) {
	for _, c := range []struct {
		capacity   int
		ok, errors int
	}{{capacity: 1, ok: 0, errors: 4}, {capacity: 0, ok: 3, errors: 1}} {
		sc := sim.Scenario{
			Duration: 4500 * ms, Rate: 1, Arrivals: "uniform", Workers: 5,
			CallTimeout: time.Second, Capacity: c.capacity,
			Phases: []sim.Phase{{Start: 0, Latency: 1500 * ms}, {Start: time.Second, Latency: 600 * ms}},
		}
		res, err := sim.Run(sc, circuit.DefaultConfig(), 1)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Runs[0].Summary
		// The request at 4s is still in flight at 4.5s.
		if s.OK != c.ok || s.Errors != c.errors || s.Unfinished != 1 {
			t.Errorf("capacity %d: ok %d, errors %d, unfinished %d; want %d, %d, 1",
				c.capacity, s.OK, s.Errors, s.Unfinished, c.ok, c.errors)
		}
	}
}

// Requests that need no dependency hold a worker for LocalLatency and are
// the same requests in both runs.
func TestDependencyShare(t *testing.T) {
	sc := sim.Scenario{
		Duration: time.Minute, Rate: 50, Workers: 100, DependencyShare: 0.25, LocalLatency: 30 * ms,
		Phases: []sim.Phase{{Latency: 10 * ms}},
	}
	res, err := sim.Run(sc, circuit.DefaultConfig(), 11)
	if err != nil {
		t.Fatal(err)
	}
	a, b := res.Runs[0].Summary, res.Runs[1].Summary
	if a.Calls != b.Calls || a.OK != b.OK {
		t.Errorf("runs disagree on the traffic: %d/%d calls, %d/%d ok", a.Calls, b.Calls, a.OK, b.OK)
	}
	// Binomial: within 5 standard deviations of a quarter.
	n, p := float64(a.Offered), sc.DependencyShare
	if d := math.Abs(float64(a.Calls) - n*p); d > 5*math.Sqrt(n*p*(1-p)) {
		t.Errorf("%d calls for %d requests, want about %.0f", a.Calls, a.Offered, n*p)
	}
	// Three quarters of the answers take exactly 30ms, the rest 10ms.
	if a.P50 != 30*ms || a.P99 != 30*ms {
		t.Errorf("p50, p99 = %v, %v; want 30ms (the local work) for both", a.P50, a.P99)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	good, cfg := shortSlowdown()
	bad := good
	bad.Workers = 0
	if _, err := sim.Run(bad, cfg, 1); err == nil {
		t.Error("Run accepted 0 workers")
	}
	badCfg := cfg
	badCfg.WindowSize = 0
	if _, err := sim.Run(good, badCfg, 1); err == nil {
		t.Error("Run accepted WindowSize 0")
	}
}

// A rate so low that the next arrival lies beyond what a Duration can hold
// must end the run (with no requests), not wrap around and loop.
func TestTinyRateEndsTheRun(t *testing.T) {
	for _, arrivals := range []string{"poisson", "uniform"} {
		sc := sim.Scenario{
			Name: "tiny-rate", Duration: time.Minute, Rate: 1e-10, Arrivals: arrivals, Workers: 5,
			Phases: []sim.Phase{{Start: 0, Latency: 10 * ms}},
		}
		res, err := sim.Run(sc, tinyConfig(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Runs[0].Summary.Goodput; got > 1.0/60 {
			t.Errorf("%s: goodput %v at 1e-10 req/s", arrivals, got)
		}
	}
}

// A fault shorter than its calls' latency trips the breaker after the
// fault phase has ended, on calls that started inside it: that open is the
// fault's detection, not a false open. One request every 100ms, each
// taking 5s and failing from 60s to 63s; 5 failures in a row trip at about
// 65s.
func TestLateTripCountsAsDetection(t *testing.T) {
	cfg := tinyConfig()
	cfg.ConsecutiveFailures = 5
	sc := sim.Scenario{
		Name: "late", Duration: 80 * time.Second, Rate: 10, Arrivals: "uniform", Workers: 1000,
		Phases: []sim.Phase{
			{Start: 0, Latency: 5 * time.Second},
			{Start: 60 * time.Second, Latency: 5 * time.Second, ErrorRate: 1, Fault: true},
			{Start: 63 * time.Second, Latency: 5 * time.Second},
		},
	}
	res, err := sim.Run(sc, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Runs[1].Summary
	var trips []time.Duration
	for _, tr := range res.Runs[1].Transitions {
		if tr.From == circuit.Closed && tr.To == circuit.Open {
			trips = append(trips, tr.At)
		}
	}
	if len(trips) == 0 || trips[0] < 63*time.Second {
		t.Fatalf("trips at %v: the scenario should trip after the fault phase ends", trips)
	}
	if s.FalseOpens != 0 || !s.Detected || s.Detect != trips[0]-60*time.Second {
		t.Errorf("false opens %d, detected %v after %v; want 0, true, %v", s.FalseOpens, s.Detected, s.Detect, trips[0]-60*time.Second)
	}
}
