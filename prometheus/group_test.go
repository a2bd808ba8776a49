package prometheus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema/schematest"
	"github.com/breakerlab/circuit/monitor"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCollectorGroup checks that a group adds its own four series and the
// series of its open keys with the most failures, never of a closed key,
// and that the whole passes the linter.
func TestCollectorGroup(t *testing.T) {
	c, err := circuitprom.NewFromSource(monitor.NewRegistry(),
		circuitprom.WithGroup("tenants", schematest.Tenants(t)), circuitprom.WithGroupMaxKeys(2))
	if err != nil {
		t.Fatal(err)
	}
	got := gather(t, c)
	for k, want := range schematest.TenantsOpen {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	for k := range got {
		for _, key := range []string{"tenant-0", "tenant-2", "tenant-4"} {
			if strings.Contains(k, `name="`+key+`"`) {
				t.Errorf("series %s of %s, which is closed or not among the top 2", k, key)
			}
		}
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestNewFromSourceRejectsBadGroups(t *testing.T) {
	_, err := circuitprom.NewFromSource(monitor.NewRegistry(), circuitprom.WithGroup("", schematest.Tenants(t)))
	var ce *circuit.ConfigError
	if !errors.Is(err, circuitprom.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Pkg != "prometheus" || ce.Field != "groups[0].Name" {
		t.Errorf("err = %v, want a prometheus groups[0].Name config error", err)
	}
}
