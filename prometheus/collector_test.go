package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema/schematest"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fleetExposition is the fleet's exposition but for the transitions and
// the histogram, which have tests of their own (fleetFamilies lists it).
const fleetExposition = `
# HELP circuit_breaker_calls_total Calls through the circuit breaker by outcome: success, failure, rejected (refused while open or half-open) or ignored (not judged: canceled by the caller, or classified Ignored; not in the window).
# TYPE circuit_breaker_calls_total counter
circuit_breaker_calls_total{name="inventory",outcome="ignored"} 0
circuit_breaker_calls_total{name="inventory",outcome="failure"} 0
circuit_breaker_calls_total{name="inventory",outcome="rejected"} 0
circuit_breaker_calls_total{name="inventory",outcome="success"} 0
circuit_breaker_calls_total{name="payments",outcome="ignored"} 1
circuit_breaker_calls_total{name="payments",outcome="failure"} 3
circuit_breaker_calls_total{name="payments",outcome="rejected"} 2
circuit_breaker_calls_total{name="payments",outcome="success"} 2
circuit_breaker_calls_total{name="search",outcome="ignored"} 0
circuit_breaker_calls_total{name="search",outcome="failure"} 0
circuit_breaker_calls_total{name="search",outcome="rejected"} 0
circuit_breaker_calls_total{name="search",outcome="success"} 0
# HELP circuit_breaker_error_ratio Share of failed calls, 0 to 1, among the outcomes in the circuit breaker's window.
# TYPE circuit_breaker_error_ratio gauge
circuit_breaker_error_ratio{name="inventory"} 0
circuit_breaker_error_ratio{name="payments"} 0.6
circuit_breaker_error_ratio{name="search"} 0
# HELP circuit_breaker_error_threshold_ratio The circuit breaker's ErrorRateThreshold, 0 to 1; 0 means the error-rate criterion is disabled.
# TYPE circuit_breaker_error_threshold_ratio gauge
circuit_breaker_error_threshold_ratio{name="inventory"} 0.5
circuit_breaker_error_threshold_ratio{name="payments"} 0.5
circuit_breaker_error_threshold_ratio{name="search"} 0.5
# HELP circuit_breaker_fallbacks_total Calls of the circuit breaker's fallback.
# TYPE circuit_breaker_fallbacks_total counter
circuit_breaker_fallbacks_total{name="inventory"} 0
circuit_breaker_fallbacks_total{name="payments"} 6
circuit_breaker_fallbacks_total{name="search"} 0
# HELP circuit_breaker_latency_threshold_seconds The circuit breaker's LatencyThreshold; 0 means the latency criterion is disabled.
# TYPE circuit_breaker_latency_threshold_seconds gauge
circuit_breaker_latency_threshold_seconds{name="inventory"} 5
circuit_breaker_latency_threshold_seconds{name="payments"} 5
circuit_breaker_latency_threshold_seconds{name="search"} 5
# HELP circuit_breaker_state Current state of the circuit breaker: 1 for the state it is in, 0 for the others.
# TYPE circuit_breaker_state gauge
circuit_breaker_state{name="inventory",state="closed"} 1
circuit_breaker_state{name="inventory",state="disabled"} 0
circuit_breaker_state{name="inventory",state="forced-open"} 0
circuit_breaker_state{name="inventory",state="half-open"} 0
circuit_breaker_state{name="inventory",state="open"} 0
circuit_breaker_state{name="payments",state="closed"} 0
circuit_breaker_state{name="payments",state="disabled"} 0
circuit_breaker_state{name="payments",state="forced-open"} 0
circuit_breaker_state{name="payments",state="half-open"} 0
circuit_breaker_state{name="payments",state="open"} 1
circuit_breaker_state{name="search",state="closed"} 0
circuit_breaker_state{name="search",state="disabled"} 0
circuit_breaker_state{name="search",state="forced-open"} 0
circuit_breaker_state{name="search",state="half-open"} 1
circuit_breaker_state{name="search",state="open"} 0
# HELP circuit_breaker_window_latency_seconds Latency at the circuit breaker's LatencyPercentile (95th by default) over the calls in its window, the value its latency criterion compares with the threshold.
# TYPE circuit_breaker_window_latency_seconds gauge
circuit_breaker_window_latency_seconds{name="inventory"} 0
circuit_breaker_window_latency_seconds{name="payments"} 0.04980736
circuit_breaker_window_latency_seconds{name="search"} 0
# HELP circuit_breaker_window_requests Outcomes in the circuit breaker's window, which its error rate and latency criteria judge once it holds MinRequests.
# TYPE circuit_breaker_window_requests gauge
circuit_breaker_window_requests{name="inventory"} 0
circuit_breaker_window_requests{name="payments"} 5
circuit_breaker_window_requests{name="search"} 0
`

var fleetFamilies = []string{
	"circuit_breaker_state", "circuit_breaker_calls_total", "circuit_breaker_fallbacks_total",
	"circuit_breaker_window_requests", "circuit_breaker_error_ratio", "circuit_breaker_error_threshold_ratio",
	"circuit_breaker_window_latency_seconds", "circuit_breaker_latency_threshold_seconds",
}

// fleetUnknown are the fleet's transitions, all made before the Collector
// watched the breakers and so of unknown reason.
var fleetUnknown = map[string]float64{
	`circuit_breaker_transitions_total{from="closed",name="payments",reason="unknown",to="open"}`:  1,
	`circuit_breaker_transitions_total{from="closed",name="search",reason="unknown",to="open"}`:    1,
	`circuit_breaker_transitions_total{from="open",name="search",reason="unknown",to="half-open"}`: 1,
}

// checkFleet compares c's exposition with the fleet's.
func checkFleet(t *testing.T, c prom.Collector) {
	t.Helper()
	if err := testutil.CollectAndCompare(c, strings.NewReader(fleetExposition), fleetFamilies...); err != nil {
		t.Error(err)
	}
	got := gather(t, c)
	for k, v := range got {
		if strings.HasPrefix(k, "circuit_breaker_transitions_total{") && v != fleetUnknown[k] {
			t.Errorf("%s = %v, want %v", k, v, fleetUnknown[k])
		}
	}
	for k, v := range fleetUnknown {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestCollectorFixedViews(t *testing.T) {
	inventory, payments, search := schematest.Fleet(t)
	c, err := circuitprom.New(inventory, payments, search)
	if err != nil {
		t.Fatal(err)
	}
	checkFleet(t, c)
}

// TestCollectorFirstScrape checks that a breaker that has seen no call at
// all already reports its state and zeroed counters.
func TestCollectorFirstScrape(t *testing.T) {
	b, err := circuit.New[int](circuit.WithName("fresh"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuitprom.New(b)
	if err != nil {
		t.Fatal(err)
	}
	const want = `
# HELP circuit_breaker_state Current state of the circuit breaker: 1 for the state it is in, 0 for the others.
# TYPE circuit_breaker_state gauge
circuit_breaker_state{name="fresh",state="closed"} 1
circuit_breaker_state{name="fresh",state="disabled"} 0
circuit_breaker_state{name="fresh",state="forced-open"} 0
circuit_breaker_state{name="fresh",state="half-open"} 0
circuit_breaker_state{name="fresh",state="open"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "circuit_breaker_state"); err != nil {
		t.Error(err)
	}
	// 5 state + 4 outcome + 1 fallback + 15 transition (the reasons the
	// core gives each pair) + 5 window and threshold series + 1 histogram.
	if n := testutil.CollectAndCount(c); n != 31 {
		t.Errorf("fresh breaker exports %d series, want 31", n)
	}
	if n := testutil.CollectAndCount(c, "circuit_breaker_transitions_total"); n != 15 {
		t.Errorf("fresh breaker exports %d transition series, want 15", n)
	}
}

func TestCollectorSourceFollowsChanges(t *testing.T) {
	inventory, payments, search := schematest.Fleet(t)
	src := &schematest.Source{}
	c, err := circuitprom.NewFromSource(src)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("empty source exports %d series, want 0", n)
	}

	src.Set(payments)
	const paymentsState = `
# HELP circuit_breaker_state Current state of the circuit breaker: 1 for the state it is in, 0 for the others.
# TYPE circuit_breaker_state gauge
circuit_breaker_state{name="payments",state="closed"} 0
circuit_breaker_state{name="payments",state="disabled"} 0
circuit_breaker_state{name="payments",state="forced-open"} 0
circuit_breaker_state{name="payments",state="half-open"} 0
circuit_breaker_state{name="payments",state="open"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(paymentsState), "circuit_breaker_state"); err != nil {
		t.Error(err)
	}

	src.Set(inventory, payments, nil, search) // a nil view is skipped
	checkFleet(t, c)
}

// TestCollectorReadsLiveState checks that nothing is cached: each scrape
// sees the breaker as it is then, including a transition that only the
// passing of time caused.
func TestCollectorReadsLiveState(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[string](circuit.WithName("api"), circuit.WithClock(mock),
		circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second), circuit.WithSuccessThreshold(1))
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuitprom.New(b)
	if err != nil {
		t.Fatal(err)
	}
	type tr struct{ from, to, reason string }
	steps := []struct {
		do    func()
		state string
		trans map[tr]float64 // the non-zero transition series
	}{
		{func() {}, "closed", nil},
		{func() { schematest.Call(b, mock, time.Millisecond, schematest.ErrDown) }, "open",
			map[tr]float64{{"closed", "open", "consecutive-failures"}: 1}},
		{func() { mock.Add(time.Second) }, "half-open",
			map[tr]float64{{"closed", "open", "consecutive-failures"}: 1, {"open", "half-open", "timeout-elapsed"}: 1}},
		{func() { schematest.Call(b, mock, time.Millisecond, nil) }, "closed",
			map[tr]float64{{"closed", "open", "consecutive-failures"}: 1, {"open", "half-open", "timeout-elapsed"}: 1,
				{"half-open", "closed", "probes-succeeded"}: 1}},
		{func() { b.Trip(circuit.ReasonHealthCheck) }, "open",
			map[tr]float64{{"closed", "open", "consecutive-failures"}: 1, {"open", "half-open", "timeout-elapsed"}: 1,
				{"half-open", "closed", "probes-succeeded"}: 1, {"closed", "open", "health-check"}: 1}},
		{func() { b.Reset() }, "closed",
			map[tr]float64{{"closed", "open", "consecutive-failures"}: 1, {"open", "half-open", "timeout-elapsed"}: 1,
				{"half-open", "closed", "probes-succeeded"}: 1, {"closed", "open", "health-check"}: 1, {"open", "closed", "reset"}: 1}},
	}
	for i, st := range steps {
		st.do()
		got := gather(t, c)
		for _, s := range []string{"closed", "open", "half-open", "forced-open", "disabled"} {
			want := 0.0
			if s == st.state {
				want = 1
			}
			key := fmt.Sprintf(`circuit_breaker_state{name="api",state=%q}`, s)
			if got[key] != want {
				t.Errorf("step %d: %s = %v, want %v", i, key, got[key], want)
			}
		}
		n := 0
		for k, v := range got {
			if !strings.HasPrefix(k, "circuit_breaker_transitions_total{") {
				continue
			}
			n++
			var x tr
			if _, err := fmt.Sscanf(k, `circuit_breaker_transitions_total{from=%q,name="api",reason=%q,to=%q}`, &x.from, &x.reason, &x.to); err != nil {
				t.Fatalf("step %d: unexpected series %s: %v", i, k, err)
			}
			if v != st.trans[x] {
				t.Errorf("step %d: %s = %v, want %v", i, k, v, st.trans[x])
			}
		}
		for x, v := range st.trans {
			key := fmt.Sprintf(`circuit_breaker_transitions_total{from=%q,name="api",reason=%q,to=%q}`, x.from, x.reason, x.to)
			if got[key] != v {
				t.Errorf("step %d: %s = %v, want %v", i, key, got[key], v)
			}
		}
		// Every expected reason of every pair is there from the start.
		if n != 15 {
			t.Errorf("step %d: %d transition series, want 15", i, n)
		}
	}
}

// TestCollectorUnexpectedReason checks that a reason the schema does not
// expect for a pair still gets its series when it happens.
func TestCollectorUnexpectedReason(t *testing.T) {
	b, err := circuit.New[int](circuit.WithName("odd"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuitprom.New(b)
	if err != nil {
		t.Fatal(err)
	}
	b.Trip(circuit.ReasonProbeTimeout) // not a reason the core gives closed -> open
	got := gather(t, c)
	const key = `circuit_breaker_transitions_total{from="closed",name="odd",reason="probe-timeout",to="open"}`
	if got[key] != 1 {
		t.Errorf("%s = %v, want 1", key, got[key])
	}
}

// TestCollectorObserveLatency checks the histogram against explicit
// durations, Timed's single observation per call, and that a name the
// client library refuses is dropped rather than a panic.
func TestCollectorObserveLatency(t *testing.T) {
	b, err := circuit.New[int](circuit.WithName("api"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuitprom.New(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{3 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 40 * time.Second} {
		c.ObserveLatency("api", d)
	}
	c.ObserveLatency("bad\xff", time.Second)
	var nilC *circuitprom.Collector
	nilC.ObserveLatency("api", time.Second)

	const want = `
# HELP circuit_breaker_call_duration_seconds Duration of the calls admitted by the circuit breaker, successful or not, as observed by the exporter's latency recorder.
# TYPE circuit_breaker_call_duration_seconds histogram
circuit_breaker_call_duration_seconds_bucket{name="api",le="0.005"} 1
circuit_breaker_call_duration_seconds_bucket{name="api",le="0.01"} 1
circuit_breaker_call_duration_seconds_bucket{name="api",le="0.025"} 1
circuit_breaker_call_duration_seconds_bucket{name="api",le="0.05"} 1
circuit_breaker_call_duration_seconds_bucket{name="api",le="0.1"} 1
circuit_breaker_call_duration_seconds_bucket{name="api",le="0.25"} 1
circuit_breaker_call_duration_seconds_bucket{name="api",le="0.5"} 3
circuit_breaker_call_duration_seconds_bucket{name="api",le="1"} 3
circuit_breaker_call_duration_seconds_bucket{name="api",le="2"} 3
circuit_breaker_call_duration_seconds_bucket{name="api",le="5"} 3
circuit_breaker_call_duration_seconds_bucket{name="api",le="10"} 3
circuit_breaker_call_duration_seconds_bucket{name="api",le="30"} 3
circuit_breaker_call_duration_seconds_bucket{name="api",le="+Inf"} 4
circuit_breaker_call_duration_seconds_sum{name="api"} 40.903
circuit_breaker_call_duration_seconds_count{name="api"} 4
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "circuit_breaker_call_duration_seconds"); err != nil {
		t.Error(err)
	}

	fn := circuitprom.Timed(c, "api", func(context.Context) (int, error) { return 7, schematest.ErrDown })
	if v, err := b.Execute(context.Background(), fn); v != 7 || !errors.Is(err, schematest.ErrDown) {
		t.Errorf("Timed call = %v, %v; want 7, %v", v, err, schematest.ErrDown)
	}
	const count = `circuit_breaker_call_duration_seconds_count{name="api"}`
	if n := histCount(t, c, "api"); n != 5 {
		t.Errorf("%s = %d after a Timed call, want 5", count, n)
	}
}

// histCount returns the observation count of name's histogram.
func histCount(t *testing.T, c prom.Collector, name string) uint64 {
	t.Helper()
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "circuit_breaker_call_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == name {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	t.Fatalf("no histogram for %q", name)
	return 0
}

func TestCollectorLint(t *testing.T) {
	inventory, payments, search := schematest.Fleet(t)
	c, err := circuitprom.New(inventory, payments, search)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// The pedantic registry checks that every collected metric matches a
	// described one and that the label sets are consistent.
	reg := prom.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("pedantic gather: %v", err)
	}
	// Describe is fixed, so a second collector is a duplicate registration.
	c2, err := circuitprom.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(c2); err == nil {
		t.Error("registering a second Collector in one registry succeeded, want an error")
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	a, err := circuit.New[int](circuit.WithName("a"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := circuit.New[string](circuit.WithName("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		views []circuit.View
		want  string
	}{
		{"nil view", []circuit.View{a, nil}, "prometheus: invalid config: views[1] = <nil>: must not be nil"},
		{"duplicate", []circuit.View{a, a2}, `prometheus: invalid config: views[1].Name = "a": must be unique among the views`},
		{"both", []circuit.View{nil, a, a2}, "prometheus: invalid config: views[0] = <nil>: must not be nil\n" +
			`prometheus: invalid config: views[2].Name = "a": must be unique among the views`},
	} {
		c, err := circuitprom.New(tc.views...)
		if err == nil || err.Error() != tc.want || c != nil || !errors.Is(err, circuitprom.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, %v; want nil, %q wrapping ErrInvalidConfig", tc.name, c, err, tc.want)
		}
		var ce *circuit.ConfigError
		if !errors.As(err, &ce) || ce.Pkg != "prometheus" {
			t.Errorf("%s: New error %v is not a *circuit.ConfigError of package prometheus", tc.name, err)
		}
	}
	if c, err := circuitprom.NewFromSource(nil); err == nil || c != nil || !errors.Is(err, circuit.ErrInvalidConfig) ||
		err.Error() != "prometheus: invalid config: Source = <nil>: must not be nil" {
		t.Errorf("NewFromSource(nil) = %v, %v; want nil and a Source config error", c, err)
	}
	for _, bounds := range [][]float64{nil, {0.1, 0.1}, {0.5, 0.1}, {-1, 1}, {0, 1}, {1, math.Inf(1)}, {math.NaN()}} {
		c, err := circuitprom.NewFromSource(&schematest.Source{}, circuitprom.WithLatencyBuckets(bounds...))
		var ce *circuit.ConfigError
		if c != nil || !errors.As(err, &ce) || ce.Pkg != "prometheus" || ce.Field != "LatencyBuckets" {
			t.Errorf("WithLatencyBuckets(%v): NewFromSource = %v, %v; want a LatencyBuckets config error", bounds, c, err)
		}
	}
	if _, err := circuitprom.NewFromSource(&schematest.Source{}, circuitprom.WithLatencyBuckets(0.1, 1), nil); err != nil {
		t.Errorf("valid buckets and a nil option: %v", err)
	}
	// The zero Collector is usable and collects nothing.
	if n := testutil.CollectAndCount(&circuitprom.Collector{}); n != 0 {
		t.Errorf("zero Collector exports %d series, want 0", n)
	}
}

// TestCollectorScrapeErrors checks that what New refuses up front, a
// Source can still produce, and that the scrape then reports an error
// naming the breaker instead of panicking or merging series.
func TestCollectorScrapeErrors(t *testing.T) {
	a, err := circuit.New[int](circuit.WithName("a"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := circuit.New[int](circuit.WithName("a"))
	if err != nil {
		t.Fatal(err)
	}
	// New refuses a Name of invalid UTF-8, but a Group's key becomes its
	// breaker's name unchecked, so the exporter still meets such names.
	g, err := circuit.NewGroup[string, int]()
	if err != nil {
		t.Fatal(err)
	}
	bad := g.Get("bad\xff")
	for _, tc := range []struct {
		name  string
		views []circuit.View
		want  string
	}{
		{"duplicate", []circuit.View{a, a2}, `prometheus: duplicate breaker name "a"`},
		{"invalid UTF-8", []circuit.View{bad, a}, `prometheus: breaker "bad\xff"`},
	} {
		c, err := circuitprom.NewFromSource(schematest.NewSource(tc.views...))
		if err != nil {
			t.Fatal(err)
		}
		reg := prom.NewRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Gather error = %v, want one containing %q", tc.name, err, tc.want)
		}
		// The breaker named a is still exported, once.
		var states []string
		for _, mf := range mfs {
			if mf.GetName() != "circuit_breaker_state" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "name" {
						states = append(states, lp.GetValue())
					}
				}
			}
		}
		if strings.Join(states, ",") != "a,a,a,a,a" {
			t.Errorf("%s: state series after the error: %q, want breaker a's five", tc.name, states)
		}
	}
}

// TestCollectorConcurrent scrapes while calls run and checks that the
// counters never go backwards and end at the number of calls made.
func TestCollectorConcurrent(t *testing.T) {
	b, err := circuit.New[int](circuit.WithName("busy"), circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuitprom.New(b)
	if err != nil {
		t.Fatal(err)
	}
	const workers, calls = 4, 200
	done := schematest.Busy(b, workers, calls)

	const succ = `circuit_breaker_calls_total{name="busy",outcome="success"}`
	const fail = `circuit_breaker_calls_total{name="busy",outcome="failure"}`
	var last map[string]float64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		got := gather(t, c)
		for _, k := range []string{succ, fail} {
			if got[k] < last[k] {
				t.Fatalf("%s went back from %v to %v", k, last[k], got[k])
			}
		}
		last = got
	}
	if last[succ] != workers*calls/2 || last[fail] != workers*calls/2 {
		t.Errorf("after %d calls: success %v, failure %v; want %d each", workers*calls, last[succ], last[fail], workers*calls/2)
	}
}

// gather collects c and returns every sample keyed by its name and sorted labels.
func gather(t *testing.T, c prom.Collector) map[string]float64 {
	t.Helper()
	reg := prom.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}
