package otel_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sort"
	"sync/atomic"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	circuitotel "github.com/breakerlab/circuit/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// ExampleRegister exports one breaker and reads it back with the SDK's
// ManualReader. A service passes its own MeterProvider instead (or
// otel.GetMeterProvider()), with an OTLP or Prometheus exporter as reader.
func ExampleRegister() {
	payments, err := circuit.New[string](circuit.WithName("payments"), circuit.WithConsecutiveFailures(2))
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		_, _ = payments.Execute(context.Background(), func(context.Context) (string, error) {
			return "", errors.New("upstream 503")
		})
	}

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := circuitotel.Register(mp, payments)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		sum, ok := m.Data.(metricdata.Sum[int64])
		if !ok || (m.Name != "circuit_breaker_state" && m.Name != "circuit_breaker_calls") {
			continue
		}
		for _, p := range sum.DataPoints {
			label, _ := p.Attributes.Value(circuitotel.AttrState)
			if m.Name == "circuit_breaker_calls" {
				label, _ = p.Attributes.Value(circuitotel.AttrOutcome)
			}
			lines = append(lines, fmt.Sprintf("%s [%s] %s=%d", m.Name, m.Unit, label.Emit(), p.Value))
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// circuit_breaker_calls [{call}] failure=2
	// circuit_breaker_calls [{call}] ignored=0
	// circuit_breaker_calls [{call}] rejected=1
	// circuit_breaker_calls [{call}] success=0
	// circuit_breaker_state [{breaker}] closed=0
	// circuit_breaker_state [{breaker}] disabled=0
	// circuit_breaker_state [{breaker}] forced-open=0
	// circuit_breaker_state [{breaker}] half-open=0
	// circuit_breaker_state [{breaker}] open=1
}

// ExampleTimed wraps the function a breaker runs, so that the duration of
// every call it admits goes into circuit_breaker_call_duration_seconds,
// the histogram that aggregates across replicas.
func ExampleTimed() {
	payments, err := circuit.New[string](circuit.WithName("payments"))
	if err != nil {
		log.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	exp, err := circuitotel.Register(mp, payments)
	if err != nil {
		log.Fatal(err)
	}
	defer exp.Unregister()

	charge := circuitotel.Timed(exp, "payments", func(context.Context) (string, error) {
		return "paid", nil // the real call to the payment provider
	})
	for range 3 {
		if _, err := payments.Execute(context.Background(), charge); err != nil {
			log.Fatal(err)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			p := h.DataPoints[0]
			fmt.Printf("%s [%s]: %d calls, %d bounds\n", m.Name, m.Unit, p.Count, len(p.Bounds))
		}
	}
	// Output:
	// circuit_breaker_call_duration_seconds [s]: 3 calls, 12 bounds
}

// ExampleWithGroup observes a group of breakers keyed by endpoint: its
// breakers held and not closed, and which endpoints have series of their
// own (only the open one).
func ExampleWithGroup() {
	endpoints, err := circuit.NewGroup[string, []byte]()
	if err != nil {
		log.Fatal(err)
	}
	for _, route := range []string{"GET /invoices/{id}", "POST /invoices", "GET /reports/{id}"} {
		endpoints.Get(route)
	}
	endpoints.Get("GET /reports/{id}").Trip(circuit.ReasonManual)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	exp, err := circuitotel.RegisterSource(mp, monitor.NewRegistry(), circuitotel.WithGroup("billing-api", endpoints))
	if err != nil {
		log.Fatal(err)
	}
	defer exp.Unregister()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Gauge[float64]:
			for _, p := range d.DataPoints {
				if g, ok := p.Attributes.Value("group"); ok {
					fmt.Printf("%s{group=%s} %v\n", m.Name, g.Emit(), p.Value)
				}
			}
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				if name, ok := p.Attributes.Value(circuitotel.AttrName); ok {
					keys[name.Emit()] = true
				}
			}
		}
	}
	fmt.Println("per-key series:", len(keys), keys)
	// Output:
	// circuit_breaker_group_breakers{group=billing-api} 3
	// circuit_breaker_group_not_closed{group=billing-api} 1
	// per-key series: 1 map[GET /reports/{id}:true]
}

// ExampleWithFleetCoordinator observes whether this replica reaches the
// fleet coordinator that shares breaker state. An atomic.Bool stands in for
// the coordinator here; with the redis module, pass
// func() bool { return coord.Health().Up }.
func ExampleWithFleetCoordinator() {
	var reachable atomic.Bool
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	exp, err := circuitotel.RegisterSource(mp, monitor.NewRegistry(), circuitotel.WithFleetCoordinator(reachable.Load))
	if err != nil {
		log.Fatal(err)
	}
	defer exp.Unregister()

	for _, up := range []bool{true, false} {
		reachable.Store(up)
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			log.Fatal(err)
		}
		for _, m := range rm.ScopeMetrics[0].Metrics {
			if g, ok := m.Data.(metricdata.Gauge[float64]); ok && m.Name == "circuit_breaker_fleet_coordinator_up" {
				fmt.Println(m.Name, g.DataPoints[0].Value)
			}
		}
	}
	// Output:
	// circuit_breaker_fleet_coordinator_up 1
	// circuit_breaker_fleet_coordinator_up 0
}
