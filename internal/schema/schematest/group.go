package schematest

import (
	"context"
	"testing"

	"github.com/breakerlab/circuit"
)

// Tenants returns a group of five keys, tenant-0 to tenant-4, with
// 0, 3, 1, 3 and 2 failures; tenant-1, tenant-2 and tenant-3 are open
// (tripped by hand), the others closed. By failures, then name, the open
// ones rank tenant-1, tenant-3, tenant-2.
func Tenants(t testing.TB) *circuit.Group[string, string] {
	t.Helper()
	g, err := circuit.NewGroup[string, string](circuit.WithBreakerOptions(circuit.WithConsecutiveFailures(100)))
	if err != nil {
		t.Fatal(err)
	}
	fail := func(context.Context) (string, error) { return "", ErrDown }
	for i, failures := range []int{0, 3, 1, 3, 2} {
		key := "tenant-" + string(rune('0'+i))
		g.Get(key)
		for n := 0; n < failures; n++ {
			_, _ = g.Execute(context.Background(), key, fail)
		}
		if i >= 1 && i <= 3 {
			g.Get(key).Trip(circuit.ReasonManual)
		}
	}
	return g
}

// TenantsOpen is the series each exporter should publish of Tenants under
// the group name "tenants" with at most two keys: the group's own four,
// and the state of the two open keys with the most failures.
var TenantsOpen = map[string]float64{
	`circuit_breaker_group_breakers{group="tenants"}`:        5,
	`circuit_breaker_group_not_closed{group="tenants"}`:      3,
	`circuit_breaker_group_evictions_total{group="tenants"}`: 0,
	`circuit_breaker_group_overflows_total{group="tenants"}`: 0,
	`circuit_breaker_state{name="tenant-1",state="open"}`:    1,
	`circuit_breaker_state{name="tenant-3",state="open"}`:    1,
}
