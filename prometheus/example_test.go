package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Example exports one breaker and scrapes it over HTTP, as Prometheus
// would, printing the series that are not zero. The mock clock only keeps
// the latencies, and so the output, deterministic; a real service leaves
// WithClock out and wraps its calls with Timed instead of calling
// ObserveLatency.
func Example() {
	mock := clock.NewMock()
	payments, err := circuit.New[string](
		circuit.WithName("payments"),
		circuit.WithClock(mock),
		circuit.WithConsecutiveFailures(2),
		circuit.WithLatencyThreshold(time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	c, err := circuitprom.New(payments)
	if err != nil {
		log.Fatal(err)
	}
	reg := prom.NewRegistry()
	reg.MustRegister(c)

	for _, fail := range []bool{false, true, true, false} {
		_, _ = payments.Execute(context.Background(), func(context.Context) (string, error) {
			mock.Add(120 * time.Millisecond) // the call's latency
			c.ObserveLatency("payments", 120*time.Millisecond)
			if fail {
				return "", errors.New("upstream 503")
			}
			return "paid", nil
		})
	}

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasSuffix(line, " 0") {
			fmt.Println(line)
		}
	}
	// Output:
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="0.25"} 3
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="0.5"} 3
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="1"} 3
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="2"} 3
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="5"} 3
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="10"} 3
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="30"} 3
	// circuit_breaker_call_duration_seconds_bucket{name="payments",le="+Inf"} 3
	// circuit_breaker_call_duration_seconds_sum{name="payments"} 0.36
	// circuit_breaker_call_duration_seconds_count{name="payments"} 3
	// circuit_breaker_calls_total{name="payments",outcome="failure"} 2
	// circuit_breaker_calls_total{name="payments",outcome="rejected"} 1
	// circuit_breaker_calls_total{name="payments",outcome="success"} 1
	// circuit_breaker_error_ratio{name="payments"} 0.6666666666666666
	// circuit_breaker_error_threshold_ratio{name="payments"} 0.5
	// circuit_breaker_latency_threshold_seconds{name="payments"} 1
	// circuit_breaker_state{name="payments",state="open"} 1
	// circuit_breaker_transitions_total{from="closed",name="payments",reason="consecutive-failures",to="open"} 1
	// circuit_breaker_window_latency_seconds{name="payments"} 0.12058624
	// circuit_breaker_window_requests{name="payments"} 3
}

// ExampleTimed wraps the function a breaker runs, so that the duration of
// every call it admits goes into circuit_breaker_call_duration_seconds,
// the histogram that aggregates across replicas.
func ExampleTimed() {
	payments, err := circuit.New[string](circuit.WithName("payments"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := circuitprom.New(payments)
	if err != nil {
		log.Fatal(err)
	}
	charge := circuitprom.Timed(c, "payments", func(context.Context) (string, error) {
		return "paid", nil // the real call to the payment provider
	})
	for range 3 {
		if _, err := payments.Execute(context.Background(), charge); err != nil {
			log.Fatal(err)
		}
	}

	reg := prom.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "circuit_breaker_call_duration_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			fmt.Printf("%s: %d calls, %d buckets\n", mf.GetName(), h.GetSampleCount(), len(h.GetBucket()))
		}
	}
	// Output:
	// circuit_breaker_call_duration_seconds: 3 calls, 12 buckets
}

// ExampleWithGroup exports a group of breakers keyed by tenant: the
// group's own series, and the state of the one tenant whose breaker is
// open. The 999 closed tenants have no series.
func ExampleWithGroup() {
	tenants, err := circuit.NewGroup[int, string](
		circuit.WithKeyName(func(t int) string { return fmt.Sprintf("billing/tenant-%d", t) }))
	if err != nil {
		log.Fatal(err)
	}
	for t := 0; t < 1000; t++ {
		tenants.Get(t)
	}
	tenants.Get(42).Trip(circuit.ReasonManual)

	c, err := circuitprom.NewFromSource(monitor.NewRegistry(), circuitprom.WithGroup("billing", tenants))
	if err != nil {
		log.Fatal(err)
	}
	reg := prom.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			if strings.HasPrefix(mf.GetName(), "circuit_breaker_group_") || (mf.GetName() == "circuit_breaker_state" && v == 1) {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetValue())
				}
				fmt.Println(mf.GetName(), strings.Join(labels, " "), v)
			}
		}
	}
	// Output:
	// circuit_breaker_group_breakers billing 1000
	// circuit_breaker_group_evictions_total billing 0
	// circuit_breaker_group_not_closed billing 1
	// circuit_breaker_group_overflows_total billing 0
	// circuit_breaker_state billing/tenant-42 open 1
}

// ExampleWithFleetCoordinator exports whether this replica reaches the
// fleet coordinator that shares breaker state. An atomic.Bool stands in for
// the coordinator here; with the redis module, pass
// func() bool { return coord.Health().Up }.
func ExampleWithFleetCoordinator() {
	var reachable atomic.Bool
	c, err := circuitprom.NewFromSource(monitor.NewRegistry(), circuitprom.WithFleetCoordinator(reachable.Load))
	if err != nil {
		log.Fatal(err)
	}
	reg := prom.NewRegistry()
	reg.MustRegister(c)
	for _, up := range []bool{true, false} {
		reachable.Store(up)
		mfs, err := reg.Gather()
		if err != nil {
			log.Fatal(err)
		}
		for _, mf := range mfs {
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	// Output:
	// circuit_breaker_fleet_coordinator_up 1
	// circuit_breaker_fleet_coordinator_up 0
}
