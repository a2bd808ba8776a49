package otel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema/schematest"
	circuitotel "github.com/breakerlab/circuit/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The expected data points of fleet, one per line as flatten prints them:
// the instrument name, its attributes, sorted, and the value. The
// transitions were made before Register, so their reason is unknown.
const fleetPoints = `
circuit_breaker_calls{name=inventory,outcome=failure} 0
circuit_breaker_calls{name=inventory,outcome=ignored} 0
circuit_breaker_calls{name=inventory,outcome=rejected} 0
circuit_breaker_calls{name=inventory,outcome=success} 0
circuit_breaker_calls{name=payments,outcome=failure} 3
circuit_breaker_calls{name=payments,outcome=ignored} 1
circuit_breaker_calls{name=payments,outcome=rejected} 2
circuit_breaker_calls{name=payments,outcome=success} 2
circuit_breaker_calls{name=search,outcome=failure} 0
circuit_breaker_calls{name=search,outcome=ignored} 0
circuit_breaker_calls{name=search,outcome=rejected} 0
circuit_breaker_calls{name=search,outcome=success} 0
circuit_breaker_error_ratio{name=inventory} 0
circuit_breaker_error_ratio{name=payments} 0.6
circuit_breaker_error_ratio{name=search} 0
circuit_breaker_error_threshold_ratio{name=inventory} 0.5
circuit_breaker_error_threshold_ratio{name=payments} 0.5
circuit_breaker_error_threshold_ratio{name=search} 0.5
circuit_breaker_fallbacks{name=inventory} 0
circuit_breaker_fallbacks{name=payments} 6
circuit_breaker_fallbacks{name=search} 0
circuit_breaker_latency_threshold_seconds{name=inventory} 5
circuit_breaker_latency_threshold_seconds{name=payments} 5
circuit_breaker_latency_threshold_seconds{name=search} 5
circuit_breaker_state{name=inventory,state=closed} 1
circuit_breaker_state{name=inventory,state=disabled} 0
circuit_breaker_state{name=inventory,state=forced-open} 0
circuit_breaker_state{name=inventory,state=half-open} 0
circuit_breaker_state{name=inventory,state=open} 0
circuit_breaker_state{name=payments,state=closed} 0
circuit_breaker_state{name=payments,state=disabled} 0
circuit_breaker_state{name=payments,state=forced-open} 0
circuit_breaker_state{name=payments,state=half-open} 0
circuit_breaker_state{name=payments,state=open} 1
circuit_breaker_state{name=search,state=closed} 0
circuit_breaker_state{name=search,state=disabled} 0
circuit_breaker_state{name=search,state=forced-open} 0
circuit_breaker_state{name=search,state=half-open} 1
circuit_breaker_state{name=search,state=open} 0
circuit_breaker_transitions{from=closed,name=payments,reason=unknown,to=open} 1
circuit_breaker_transitions{from=closed,name=search,reason=unknown,to=open} 1
circuit_breaker_transitions{from=open,name=search,reason=unknown,to=half-open} 1
circuit_breaker_window_latency_seconds{name=inventory} 0
circuit_breaker_window_latency_seconds{name=payments} 0.04980736
circuit_breaker_window_latency_seconds{name=search} 0
circuit_breaker_window_requests{name=inventory} 0
circuit_breaker_window_requests{name=payments} 5
circuit_breaker_window_requests{name=search} 0
`

// newReader returns a MeterProvider that only a ManualReader reads.
func newReader(t *testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, r
}

// collect reads r once and returns the circuit scope's metrics; a
// collection error is returned with whatever was collected.
func collect(t *testing.T, r *sdkmetric.ManualReader) ([]metricdata.Metrics, error) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	err := r.Collect(context.Background(), &rm)
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != circuitotel.ScopeName {
			t.Errorf("unexpected scope %q", sm.Scope.Name)
			continue
		}
		out = append(out, sm.Metrics...)
	}
	return out, err
}

// flatten prints one line per data point, sorted (see fleetPoints),
// leaving out transition series at zero.
func flatten(t *testing.T, ms []metricdata.Metrics) string {
	t.Helper()
	var lines []string
	add := func(name string, set attribute.Set, v any) {
		var kv []string
		for _, a := range set.ToSlice() {
			kv = append(kv, string(a.Key)+"="+a.Value.Emit())
		}
		sort.Strings(kv)
		lines = append(lines, fmt.Sprintf("%s{%s} %v", name, strings.Join(kv, ","), v))
	}
	for _, m := range ms {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				if m.Name == "circuit_breaker_transitions" && p.Value == 0 {
					continue // the zeros of every expected reason: see TestTransitionSeries
				}
				add(m.Name, p.Attributes, p.Value)
			}
		case metricdata.Gauge[float64]:
			for _, p := range d.DataPoints {
				add(m.Name, p.Attributes, p.Value)
			}
		case metricdata.Histogram[float64]:
			for _, p := range d.DataPoints {
				add(m.Name, p.Attributes, fmt.Sprintf("count=%d sum=%v buckets=%v", p.Count, p.Sum, p.BucketCounts))
			}
		default:
			t.Errorf("%s: unexpected data %T", m.Name, m.Data)
		}
	}
	sort.Strings(lines)
	return "\n" + strings.Join(lines, "\n") + "\n"
}

func TestRegisterFixedViews(t *testing.T) {
	inventory, payments, search := schematest.Fleet(t)
	mp, r := newReader(t)
	reg, err := circuitotel.Register(mp, inventory, payments, search)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := flatten(t, ms); got != fleetPoints {
		t.Errorf("data points:\n got:%s\nwant:%s", got, fleetPoints)
	}
}

// TestInstrumentKinds checks each instrument's kind, unit and temporality,
// which is what an exporter turns into the backend's metric type.
func TestInstrumentKinds(t *testing.T) {
	inventory, _, _ := schematest.Fleet(t)
	mp, r := newReader(t)
	e, err := circuitotel.Register(mp, inventory)
	if err != nil {
		t.Fatal(err)
	}
	e.ObserveLatency(context.Background(), "inventory", time.Millisecond) // the histogram appears with its first observation
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	type kind struct {
		unit, data string
		monotonic  bool
	}
	want := map[string]kind{
		"circuit_breaker_state":                     {"{breaker}", "sum", false},
		"circuit_breaker_calls":                     {"{call}", "sum", true},
		"circuit_breaker_fallbacks":                 {"{call}", "sum", true},
		"circuit_breaker_transitions":               {"{transition}", "sum", true},
		"circuit_breaker_window_requests":           {"{call}", "gauge", false},
		"circuit_breaker_error_ratio":               {"1", "gauge", false},
		"circuit_breaker_error_threshold_ratio":     {"1", "gauge", false},
		"circuit_breaker_window_latency_seconds":    {"s", "gauge", false},
		"circuit_breaker_latency_threshold_seconds": {"s", "gauge", false},
		"circuit_breaker_call_duration_seconds":     {"s", "histogram", false},
	}
	got := map[string]kind{}
	for _, m := range ms {
		if m.Description == "" {
			t.Errorf("%s has no description", m.Name)
		}
		k := kind{unit: m.Unit}
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			k.data, k.monotonic = "sum", d.IsMonotonic
			if d.Temporality != metricdata.CumulativeTemporality {
				t.Errorf("%s: temporality %v, want cumulative", m.Name, d.Temporality)
			}
		case metricdata.Gauge[float64]:
			k.data = "gauge"
		case metricdata.Histogram[float64]:
			k.data = "histogram"
			if d.Temporality != metricdata.CumulativeTemporality {
				t.Errorf("%s: temporality %v, want cumulative", m.Name, d.Temporality)
			}
			if p := d.DataPoints[0]; fmt.Sprint(p.Bounds) != fmt.Sprint(defaultBuckets) {
				t.Errorf("%s: bounds %v, want %v", m.Name, p.Bounds, defaultBuckets)
			}
		default:
			k.data = fmt.Sprintf("%T", m.Data)
		}
		got[m.Name] = k
	}
	if len(got) != len(want) {
		t.Errorf("got %d instruments, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %+v, want %+v", name, got[name], w)
		}
	}
}

// defaultBuckets are the schema's buckets, as docs/metrics.md lists them.
var defaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}

func TestRegisterSourceFollowsChangesAndUnregister(t *testing.T) {
	inventory, payments, search := schematest.Fleet(t)
	src := &schematest.Source{}
	mp, r := newReader(t)
	reg, err := circuitotel.RegisterSource(mp, src)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := flatten(t, ms); got != "\n\n" {
		t.Errorf("empty source observed:%s", got)
	}

	src.Set(inventory, nil, payments, search) // a nil view is skipped
	ms, err = collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := flatten(t, ms); got != fleetPoints {
		t.Errorf("data points:\n got:%s\nwant:%s", got, fleetPoints)
	}

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	ms, err = collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := flatten(t, ms); got != "\n\n" {
		t.Errorf("after Unregister observed:%s", got)
	}
}

// TestRegisterReadsLiveState checks that nothing is cached: each
// collection sees the breaker as it is then, including a transition that
// only the passing of time caused.
func TestRegisterReadsLiveState(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[string](circuit.WithName("api"), circuit.WithClock(mock),
		circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second), circuit.WithSuccessThreshold(1))
	if err != nil {
		t.Fatal(err)
	}
	mp, r := newReader(t)
	if _, err := circuitotel.Register(mp, b); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do    func()
		state string
		trans []string // the transitions so far, each counted once
	}{
		{func() {}, "closed", nil},
		{func() { schematest.Call(b, mock, time.Millisecond, schematest.ErrDown) }, "open",
			[]string{"from=closed,name=api,reason=consecutive-failures,to=open"}},
		{func() { mock.Add(time.Second) }, "half-open",
			[]string{"from=closed,name=api,reason=consecutive-failures,to=open", "from=open,name=api,reason=timeout-elapsed,to=half-open"}},
		{func() { schematest.Call(b, mock, time.Millisecond, nil) }, "closed",
			[]string{"from=closed,name=api,reason=consecutive-failures,to=open", "from=half-open,name=api,reason=probes-succeeded,to=closed",
				"from=open,name=api,reason=timeout-elapsed,to=half-open"}},
	}
	for i, st := range steps {
		st.do()
		ms, err := collect(t, r)
		if err != nil {
			t.Fatal(err)
		}
		got := flatten(t, ms)
		for _, s := range []string{"closed", "open", "half-open"} {
			want := 0
			if s == st.state {
				want = 1
			}
			line := fmt.Sprintf("\ncircuit_breaker_state{name=api,state=%s} %d\n", s, want)
			if !strings.Contains(got, line) {
				t.Errorf("step %d: missing %q", i, strings.TrimSpace(line))
			}
		}
		var trans []string
		for _, l := range strings.Split(got, "\n") {
			if rest, ok := strings.CutPrefix(l, "circuit_breaker_transitions{"); ok {
				trans = append(trans, rest)
			}
		}
		want := make([]string, len(st.trans))
		for j, tr := range st.trans {
			want[j] = tr + "} 1"
		}
		if strings.Join(trans, "\n") != strings.Join(want, "\n") {
			t.Errorf("step %d: transitions\n%s\nwant\n%s", i, strings.Join(trans, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestTransitionSeries checks that every reason the core gives a pair of
// states is observed from the first collection, as zero, and the same
// series as the prometheus exporter's.
func TestTransitionSeries(t *testing.T) {
	b, err := circuit.New[int](circuit.WithName("fresh"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	mp, r := newReader(t)
	if _, err := circuitotel.Register(mp, b); err != nil {
		t.Fatal(err)
	}
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Name == "circuit_breaker_transitions" {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				n++
				if p.Value != 0 {
					t.Errorf("%v = %d, want 0", p.Attributes.ToSlice(), p.Value)
				}
			}
		}
	}
	if n != 15 {
		t.Errorf("%d transition series, want 15", n)
	}
}

// TestObserveLatency checks the histogram against explicit durations and
// Timed's single observation per call.
func TestObserveLatency(t *testing.T) {
	b, err := circuit.New[int](circuit.WithName("api"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	mp, r := newReader(t)
	e, err := circuitotel.Register(mp, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range []time.Duration{3 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 40 * time.Second} {
		e.ObserveLatency(ctx, "api", d)
	}
	var nilE *circuitotel.Exporter
	nilE.ObserveLatency(ctx, "api", time.Second)
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	const want = "\ncircuit_breaker_call_duration_seconds{name=api} count=4 sum=40.903 buckets=[1 0 0 0 0 0 2 0 0 0 0 0 1]\n"
	if got := flatten(t, ms); !strings.Contains(got, want) {
		t.Errorf("histogram:%s\nwant the line%s", got, want)
	}

	fn := circuitotel.Timed(e, "api", func(context.Context) (int, error) { return 7, schematest.ErrDown })
	if v, err := b.Execute(ctx, fn); v != 7 || !errors.Is(err, schematest.ErrDown) {
		t.Errorf("Timed call = %v, %v; want 7, %v", v, err, schematest.ErrDown)
	}
	ms, err = collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := flatten(t, ms); !strings.Contains(got, "circuit_breaker_call_duration_seconds{name=api} count=5 ") {
		t.Errorf("after a Timed call:%s\nwant count=5", got)
	}
}

func TestRegisterRejectsBadInput(t *testing.T) {
	a, err := circuit.New[int](circuit.WithName("a"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := circuit.New[string](circuit.WithName("a"))
	if err != nil {
		t.Fatal(err)
	}
	mp := noop.NewMeterProvider()
	for _, tc := range []struct {
		name string
		reg  func() (any, error)
		want string
	}{
		{"nil provider", func() (any, error) { return circuitotel.Register(nil, a) }, "otel: invalid config: MeterProvider = <nil>: must not be nil"},
		{"nil view", func() (any, error) { return circuitotel.Register(mp, a, nil) }, "otel: invalid config: views[1] = <nil>: must not be nil"},
		{"duplicate", func() (any, error) { return circuitotel.Register(mp, a, a2) }, `otel: invalid config: views[1].Name = "a": must be unique among the views`},
		{"nil source", func() (any, error) { return circuitotel.RegisterSource(mp, nil) }, "otel: invalid config: Source = <nil>: must not be nil"},
		{"source, nil provider", func() (any, error) { return circuitotel.RegisterSource(nil, &schematest.Source{}) }, "otel: invalid config: MeterProvider = <nil>: must not be nil"},
		{"bad buckets", func() (any, error) {
			return circuitotel.RegisterSource(mp, &schematest.Source{}, circuitotel.WithLatencyBuckets(1, 0.5))
		}, "otel: invalid config: LatencyBuckets = [1 0.5]: must be finite, positive and strictly increasing"},
		{"no buckets", func() (any, error) {
			return circuitotel.RegisterSource(mp, &schematest.Source{}, circuitotel.WithLatencyBuckets())
		}, "otel: invalid config: LatencyBuckets = []: must not be empty"},
	} {
		reg, err := tc.reg()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		var ce *circuit.ConfigError
		if !errors.Is(err, circuitotel.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Pkg != "otel" {
			t.Errorf("%s: error %v is not a *circuit.ConfigError of package otel", tc.name, err)
		}
		if e, ok := reg.(*circuitotel.Exporter); !ok || e != nil {
			t.Errorf("%s: registration %v, want nil", tc.name, reg)
		}
	}
	// The no-op provider accepts the instruments: Register works without an SDK.
	reg, err := circuitotel.Register(mp, a)
	if err != nil {
		t.Fatalf("Register on a no-op provider: %v", err)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
}

// TestRegisterSourceDuplicate checks that a name a Source returns twice is
// observed once and reported as a collection error.
func TestRegisterSourceDuplicate(t *testing.T) {
	first, err := circuit.New[int](circuit.WithName("a"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	second, err := circuit.New[int](circuit.WithName("a"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	second.Trip(circuit.ReasonManual)
	mp, r := newReader(t)
	if _, err := circuitotel.RegisterSource(mp, schematest.NewSource(first, second)); err != nil {
		t.Fatal(err)
	}
	ms, err := collect(t, r)
	if err == nil || !strings.Contains(err.Error(), `otel: duplicate breaker name "a"`) {
		t.Errorf("Collect error = %v, want a duplicate-name error", err)
	}
	got := flatten(t, ms)
	if !strings.Contains(got, "\ncircuit_breaker_state{name=a,state=closed} 1\n") {
		t.Errorf("the first breaker named a was not the one observed:%s", got)
	}
}

// TestCollectConcurrent collects while calls run and checks that the
// counters never go backwards and end at the number of calls made.
func TestCollectConcurrent(t *testing.T) {
	b, err := circuit.New[int](circuit.WithName("busy"), circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0))
	if err != nil {
		t.Fatal(err)
	}
	mp, r := newReader(t)
	if _, err := circuitotel.Register(mp, b); err != nil {
		t.Fatal(err)
	}
	const workers, calls = 4, 200
	done := schematest.Busy(b, workers, calls)

	counts := func() (succ, fail int64) {
		ms, err := collect(t, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Name != "circuit_breaker_calls" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				switch v, _ := p.Attributes.Value(circuitotel.AttrOutcome); v.AsString() {
				case circuitotel.OutcomeSuccess:
					succ = p.Value
				case circuitotel.OutcomeFailure:
					fail = p.Value
				}
			}
		}
		return succ, fail
	}
	var lastSucc, lastFail int64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		succ, fail := counts()
		if succ < lastSucc || fail < lastFail {
			t.Fatalf("counts went back: success %d -> %d, failure %d -> %d", lastSucc, succ, lastFail, fail)
		}
		lastSucc, lastFail = succ, fail
	}
	if lastSucc != workers*calls/2 || lastFail != workers*calls/2 {
		t.Errorf("after %d calls: success %d, failure %d; want %d each", workers*calls, lastSucc, lastFail, workers*calls/2)
	}
}
