package otel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitotel "github.com/breakerlab/circuit/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var errDown = errors.New("dependency down")

// call runs one call through b that takes lat on the mock clock and ends
// with err.
func call(b *circuit.Breaker[string], mock *clock.Mock, lat time.Duration, err error) {
	_, _ = b.Execute(context.Background(), func(context.Context) (string, error) {
		mock.Add(lat)
		return "ok", err
	})
}

// fleet builds three breakers on mock clocks, one in each state:
//
//   - inventory: new, closed, no calls;
//   - payments: 2 successes (10ms, 20ms), a canceled call, 3 failures
//     (30ms, 40ms, 50ms) that trip it after 3 in a row, then 2 rejected
//     calls; its fallback serves the canceled, failed and rejected calls;
//   - search: tripped by hand and left until its 10s timeout has passed,
//     so the collection finds it half-open.
func fleet(t *testing.T) (inventory, payments, search *circuit.Breaker[string]) {
	t.Helper()
	var err error
	inventory, err = circuit.New[string](circuit.WithName("inventory"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}

	pm := clock.NewMock()
	payments, err = circuit.New[string](
		circuit.WithName("payments"),
		circuit.WithClock(pm),
		circuit.WithConsecutiveFailures(3),
		circuit.WithOpenTimeout(time.Minute),
		circuit.WithFallback(func(context.Context, error) (string, error) { return "cached", nil }),
	)
	if err != nil {
		t.Fatal(err)
	}
	call(payments, pm, 10*time.Millisecond, nil)
	call(payments, pm, 20*time.Millisecond, nil)
	call(payments, pm, 5*time.Millisecond, context.Canceled)
	call(payments, pm, 30*time.Millisecond, errDown)
	call(payments, pm, 40*time.Millisecond, errDown)
	call(payments, pm, 50*time.Millisecond, errDown)
	call(payments, pm, 0, nil) // rejected
	call(payments, pm, 0, nil) // rejected
	if s := payments.State(); s != circuit.Open {
		t.Fatalf("payments is %v after 3 failures, want open", s)
	}

	sm := clock.NewMock()
	search, err = circuit.New[string](circuit.WithName("search"), circuit.WithClock(sm), circuit.WithOpenTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	search.Trip(circuit.ReasonManual)
	sm.Add(10 * time.Second)
	return inventory, payments, search
}

// The expected data points of fleet, one per line as flatten prints them:
// the instrument name, its attributes without the "circuit_breaker."
// prefix, sorted, and the value.
const fleetPoints = `
circuit_breaker.calls{call.outcome=canceled,name=inventory} 0
circuit_breaker.calls{call.outcome=canceled,name=payments} 1
circuit_breaker.calls{call.outcome=canceled,name=search} 0
circuit_breaker.calls{call.outcome=failure,name=inventory} 0
circuit_breaker.calls{call.outcome=failure,name=payments} 3
circuit_breaker.calls{call.outcome=failure,name=search} 0
circuit_breaker.calls{call.outcome=rejected,name=inventory} 0
circuit_breaker.calls{call.outcome=rejected,name=payments} 2
circuit_breaker.calls{call.outcome=rejected,name=search} 0
circuit_breaker.calls{call.outcome=success,name=inventory} 0
circuit_breaker.calls{call.outcome=success,name=payments} 2
circuit_breaker.calls{call.outcome=success,name=search} 0
circuit_breaker.error_rate{name=inventory} 0
circuit_breaker.error_rate{name=payments} 0.6
circuit_breaker.error_rate{name=search} 0
circuit_breaker.fallbacks{name=inventory} 0
circuit_breaker.fallbacks{name=payments} 6
circuit_breaker.fallbacks{name=search} 0
circuit_breaker.latency.p95{name=inventory} 0
circuit_breaker.latency.p95{name=payments} 0.05
circuit_breaker.latency.p95{name=search} 0
circuit_breaker.state{name=inventory,state=closed} 1
circuit_breaker.state{name=inventory,state=half-open} 0
circuit_breaker.state{name=inventory,state=open} 0
circuit_breaker.state{name=payments,state=closed} 0
circuit_breaker.state{name=payments,state=half-open} 0
circuit_breaker.state{name=payments,state=open} 1
circuit_breaker.state{name=search,state=closed} 0
circuit_breaker.state{name=search,state=half-open} 1
circuit_breaker.state{name=search,state=open} 0
circuit_breaker.transitions{name=inventory,transition.from=closed,transition.to=half-open} 0
circuit_breaker.transitions{name=inventory,transition.from=closed,transition.to=open} 0
circuit_breaker.transitions{name=inventory,transition.from=half-open,transition.to=closed} 0
circuit_breaker.transitions{name=inventory,transition.from=half-open,transition.to=open} 0
circuit_breaker.transitions{name=inventory,transition.from=open,transition.to=closed} 0
circuit_breaker.transitions{name=inventory,transition.from=open,transition.to=half-open} 0
circuit_breaker.transitions{name=payments,transition.from=closed,transition.to=half-open} 0
circuit_breaker.transitions{name=payments,transition.from=closed,transition.to=open} 1
circuit_breaker.transitions{name=payments,transition.from=half-open,transition.to=closed} 0
circuit_breaker.transitions{name=payments,transition.from=half-open,transition.to=open} 0
circuit_breaker.transitions{name=payments,transition.from=open,transition.to=closed} 0
circuit_breaker.transitions{name=payments,transition.from=open,transition.to=half-open} 0
circuit_breaker.transitions{name=search,transition.from=closed,transition.to=half-open} 0
circuit_breaker.transitions{name=search,transition.from=closed,transition.to=open} 1
circuit_breaker.transitions{name=search,transition.from=half-open,transition.to=closed} 0
circuit_breaker.transitions{name=search,transition.from=half-open,transition.to=open} 0
circuit_breaker.transitions{name=search,transition.from=open,transition.to=closed} 0
circuit_breaker.transitions{name=search,transition.from=open,transition.to=half-open} 1
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

// flatten prints one line per data point, sorted (see fleetPoints).
func flatten(t *testing.T, ms []metricdata.Metrics) string {
	t.Helper()
	var lines []string
	add := func(name string, set attribute.Set, v any) {
		var kv []string
		for _, a := range set.ToSlice() {
			kv = append(kv, strings.TrimPrefix(string(a.Key), "circuit_breaker.")+"="+a.Value.String())
		}
		sort.Strings(kv)
		lines = append(lines, fmt.Sprintf("%s{%s} %v", name, strings.Join(kv, ","), v))
	}
	for _, m := range ms {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				add(m.Name, p.Attributes, p.Value)
			}
		case metricdata.Gauge[float64]:
			for _, p := range d.DataPoints {
				add(m.Name, p.Attributes, p.Value)
			}
		default:
			t.Errorf("%s: unexpected data %T", m.Name, m.Data)
		}
	}
	sort.Strings(lines)
	return "\n" + strings.Join(lines, "\n") + "\n"
}

func TestRegisterFixedViews(t *testing.T) {
	inventory, payments, search := fleet(t)
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
	inventory, _, _ := fleet(t)
	mp, r := newReader(t)
	if _, err := circuitotel.Register(mp, inventory); err != nil {
		t.Fatal(err)
	}
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	type kind struct {
		unit, data string
		monotonic  bool
	}
	want := map[string]kind{
		circuitotel.MetricState:       {"{breaker}", "sum", false},
		circuitotel.MetricCalls:       {"{call}", "sum", true},
		circuitotel.MetricFallbacks:   {"{call}", "sum", true},
		circuitotel.MetricTransitions: {"{transition}", "sum", true},
		circuitotel.MetricErrorRate:   {"1", "gauge", false},
		circuitotel.MetricLatencyP95:  {"s", "gauge", false},
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

// source is a Source whose breakers a test can change between collections.
type source struct {
	mu    sync.Mutex
	views []circuit.View
}

func (s *source) Breakers() []circuit.View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]circuit.View(nil), s.views...)
}

func (s *source) set(views ...circuit.View) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.views = views
}

func TestRegisterSourceFollowsChangesAndUnregister(t *testing.T) {
	inventory, payments, search := fleet(t)
	src := &source{}
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

	src.set(inventory, nil, payments, search) // a nil view is skipped
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
		trans []string // transitions counted once so far
	}{
		{func() {}, "closed", nil},
		{func() { call(b, mock, time.Millisecond, errDown) }, "open", []string{"closed>open"}},
		{func() { mock.Add(time.Second) }, "half-open", []string{"closed>open", "open>half-open"}},
		{func() { call(b, mock, time.Millisecond, nil) }, "closed", []string{"closed>open", "open>half-open", "half-open>closed"}},
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
			line := fmt.Sprintf("\ncircuit_breaker.state{name=api,state=%s} %d\n", s, want)
			if !strings.Contains(got, line) {
				t.Errorf("step %d: missing %q", i, strings.TrimSpace(line))
			}
		}
		for _, from := range []string{"closed", "open", "half-open"} {
			for _, to := range []string{"closed", "open", "half-open"} {
				if from == to {
					continue
				}
				want := 0
				for _, tr := range st.trans {
					if tr == from+">"+to {
						want = 1
					}
				}
				line := fmt.Sprintf("\ncircuit_breaker.transitions{name=api,transition.from=%s,transition.to=%s} %d\n", from, to, want)
				if !strings.Contains(got, line) {
					t.Errorf("step %d: missing %q", i, strings.TrimSpace(line))
				}
			}
		}
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
		{"nil provider", func() (any, error) { return circuitotel.Register(nil, a) }, "otel: nil MeterProvider"},
		{"nil view", func() (any, error) { return circuitotel.Register(mp, a, nil) }, "otel: view 1 is nil"},
		{"duplicate", func() (any, error) { return circuitotel.Register(mp, a, a2) }, `otel: duplicate breaker name "a"`},
		{"nil source", func() (any, error) { return circuitotel.RegisterSource(mp, nil) }, "otel: nil source"},
		{"source, nil provider", func() (any, error) { return circuitotel.RegisterSource(nil, &source{}) }, "otel: nil MeterProvider"},
	} {
		reg, err := tc.reg()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if reg != nil {
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
	if _, err := circuitotel.RegisterSource(mp, &source{views: []circuit.View{first, second}}); err != nil {
		t.Fatal(err)
	}
	ms, err := collect(t, r)
	if err == nil || !strings.Contains(err.Error(), `otel: duplicate breaker name "a"`) {
		t.Errorf("Collect error = %v, want a duplicate-name error", err)
	}
	got := flatten(t, ms)
	if !strings.Contains(got, "\ncircuit_breaker.state{name=a,state=closed} 1\n") {
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
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
					if (w+i)%2 == 0 {
						return 0, errDown
					}
					return i, nil
				})
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	counts := func() (succ, fail int64) {
		ms, err := collect(t, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Name != circuitotel.MetricCalls {
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
