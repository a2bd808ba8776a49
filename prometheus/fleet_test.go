package prometheus_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema/schematest"
	"github.com/breakerlab/circuit/monitor"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const fleetUp = "circuit_breaker_fleet_coordinator_up"

// fleetExpo is the exposition of the fleet coordinator gauge at v.
func fleetExpo(v string) string {
	return `
# HELP circuit_breaker_fleet_coordinator_up 1 while this replica reaches the fleet coordinator that shares breaker state, 0 when it does not.
# TYPE circuit_breaker_fleet_coordinator_up gauge
circuit_breaker_fleet_coordinator_up ` + v + "\n"
}

// TestCollectorFleetCoordinator checks that the gauge follows the func,
// which each scrape calls once, and that the whole passes the linter and
// the pedantic registry beside a breaker and a group.
func TestCollectorFleetCoordinator(t *testing.T) {
	inventory, _, _ := schematest.Fleet(t)
	var up atomic.Bool
	var calls atomic.Int64
	c, err := circuitprom.NewFromSource(schematest.NewSource(inventory),
		circuitprom.WithGroup("tenants", schematest.Tenants(t)),
		circuitprom.WithFleetCoordinator(func() bool { calls.Add(1); return up.Load() }))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []bool{true, false, true} {
		up.Store(v)
		want := map[bool]string{true: "1", false: "0"}[v]
		before := calls.Load()
		if err := testutil.CollectAndCompare(c, strings.NewReader(fleetExpo(want)), fleetUp); err != nil {
			t.Errorf("step %d, up %v: %v", i, v, err)
		}
		if n := calls.Load() - before; n != 1 {
			t.Errorf("step %d: one scrape called the func %d times, want 1", i, n)
		}
	}
	got := gather(t, c) // a pedantic registry: the gauge is described
	if v, ok := got[fleetUp+"{}"]; !ok || v != 1 {
		t.Errorf("%s{} = %v (present %v), want 1", fleetUp, v, ok)
	}
	if got[`circuit_breaker_state{name="inventory",state="closed"}`] != 1 || got[`circuit_breaker_group_breakers{group="tenants"}`] != 5 {
		t.Errorf("the breaker's or the group's series are missing beside the gauge: %v", got)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestCollectorFleetCoordinatorAbsent checks that without the option the
// gauge is neither collected nor described.
func TestCollectorFleetCoordinatorAbsent(t *testing.T) {
	inventory, _, _ := schematest.Fleet(t)
	c, err := circuitprom.New(inventory)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, fleetUp); n != 0 {
		t.Errorf("%d %s series without WithFleetCoordinator, want 0", n, fleetUp)
	}
	ch := make(chan *prom.Desc, 100)
	c.Describe(ch)
	close(ch)
	n := 0
	for d := range ch {
		n++
		if strings.Contains(d.String(), `"`+fleetUp+`"`) {
			t.Errorf("described %s without WithFleetCoordinator", d)
		}
	}
	if n == 0 {
		t.Fatal("Describe sent nothing")
	}
}

// TestCollectorFleetCoordinatorUnlocked checks that the func runs outside
// any lock of the Collector: it can scrape the same Collector itself.
func TestCollectorFleetCoordinatorUnlocked(t *testing.T) {
	var c *circuitprom.Collector
	var nested atomic.Bool
	inner := 0
	c, err := circuitprom.NewFromSource(monitor.NewRegistry(), circuitprom.WithFleetCoordinator(func() bool {
		if nested.CompareAndSwap(false, true) {
			inner = testutil.CollectAndCount(c, fleetUp)
		}
		return true
	}))
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, fleetUp); n != 1 || inner != 1 {
		t.Errorf("outer scrape %d series, inner scrape %d; want 1 each", n, inner)
	}
}

func TestNewFromSourceRejectsBadFleetCoordinator(t *testing.T) {
	up := func() bool { return true }
	for _, tc := range []struct {
		name string
		opts []circuitprom.Option
		want string
	}{
		{"nil", []circuitprom.Option{circuitprom.WithFleetCoordinator(nil)},
			"prometheus: invalid config: FleetCoordinator = <nil>: must not be nil"},
		{"twice", []circuitprom.Option{circuitprom.WithFleetCoordinator(up), circuitprom.WithFleetCoordinator(up)},
			"prometheus: invalid config: FleetCoordinator = 2: WithFleetCoordinator must be given at most once"},
	} {
		c, err := circuitprom.NewFromSource(monitor.NewRegistry(), tc.opts...)
		var ce *circuit.ConfigError
		if c != nil || !errors.Is(err, circuitprom.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Pkg != "prometheus" || ce.Field != "FleetCoordinator" {
			t.Errorf("%s: NewFromSource = %v, %v; want nil and a prometheus FleetCoordinator config error", tc.name, c, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s: err = %q, want %q", tc.name, err, tc.want)
		}
	}
}
