package otel_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema/schematest"
	"github.com/breakerlab/circuit/monitor"
	circuitotel "github.com/breakerlab/circuit/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

const fleetUp = "circuit_breaker_fleet_coordinator_up"

// TestRegisterFleetCoordinator checks that the gauge follows the func,
// which each collection calls once and no collection calls after
// Unregister, beside a breaker's series.
func TestRegisterFleetCoordinator(t *testing.T) {
	inventory, _, _ := schematest.Fleet(t)
	var up atomic.Bool
	var calls atomic.Int64
	mp, r := newReader(t)
	e, err := circuitotel.RegisterSource(mp, schematest.NewSource(inventory),
		circuitotel.WithFleetCoordinator(func() bool { calls.Add(1); return up.Load() }))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []bool{true, false, true} {
		up.Store(v)
		want := map[bool]string{true: "1", false: "0"}[v]
		before := calls.Load()
		ms, err := collect(t, r)
		if err != nil {
			t.Fatal(err)
		}
		got := flatten(t, ms)
		if line := "\n" + fleetUp + "{} " + want + "\n"; !strings.Contains(got, line) || strings.Count(got, fleetUp) != 1 {
			t.Errorf("step %d, up %v: want the one point %q in%s", i, v, strings.TrimSpace(line), got)
		}
		if !strings.Contains(got, "\ncircuit_breaker_state{name=inventory,state=closed} 1\n") {
			t.Errorf("step %d: the breaker's series are missing beside the gauge:%s", i, got)
		}
		if n := calls.Load() - before; n != 1 {
			t.Errorf("step %d: one collection called the func %d times, want 1", i, n)
		}
		for _, m := range ms {
			if m.Name != fleetUp {
				continue
			}
			if _, ok := m.Data.(metricdata.Gauge[float64]); !ok || m.Unit != "" || m.Description == "" {
				t.Errorf("%s: data %T, unit %q, description %q; want a float64 gauge without unit, with a description", m.Name, m.Data, m.Unit, m.Description)
			}
		}
	}
	if err := e.Unregister(); err != nil {
		t.Fatal(err)
	}
	before := calls.Load()
	if _, err := collect(t, r); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load() - before; n != 0 {
		t.Errorf("a collection after Unregister called the func %d times, want 0", n)
	}
}

// TestRegisterFleetCoordinatorAbsent checks that without the option there
// is no such instrument.
func TestRegisterFleetCoordinatorAbsent(t *testing.T) {
	inventory, _, _ := schematest.Fleet(t)
	mp, r := newReader(t)
	e, err := circuitotel.Register(mp, inventory)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Unregister()
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("nothing collected")
	}
	for _, m := range ms {
		if m.Name == fleetUp {
			t.Errorf("%s observed without WithFleetCoordinator", m.Name)
		}
	}
}

func TestRegisterSourceRejectsBadFleetCoordinator(t *testing.T) {
	up := func() bool { return true }
	mp, _ := newReader(t)
	for _, tc := range []struct {
		name string
		opts []circuitotel.Option
		want string
	}{
		{"nil", []circuitotel.Option{circuitotel.WithFleetCoordinator(nil)},
			"otel: invalid config: FleetCoordinator = <nil>: must not be nil"},
		{"twice", []circuitotel.Option{circuitotel.WithFleetCoordinator(up), circuitotel.WithFleetCoordinator(up)},
			"otel: invalid config: FleetCoordinator = 2: WithFleetCoordinator must be given at most once"},
	} {
		e, err := circuitotel.RegisterSource(mp, monitor.NewRegistry(), tc.opts...)
		var ce *circuit.ConfigError
		if e != nil || !errors.Is(err, circuitotel.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Pkg != "otel" || ce.Field != "FleetCoordinator" {
			t.Errorf("%s: RegisterSource = %v, %v; want nil and an otel FleetCoordinator config error", tc.name, e, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s: err = %q, want %q", tc.name, err, tc.want)
		}
	}
}
