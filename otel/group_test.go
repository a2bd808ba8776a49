package otel_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema/schematest"
	"github.com/breakerlab/circuit/monitor"
	circuitotel "github.com/breakerlab/circuit/otel"
)

// TestRegisterGroup checks that a group's own four series and those of
// its two open keys with the most failures are observed, under the names
// the prometheus exporter gives them, and nothing of its other keys.
func TestRegisterGroup(t *testing.T) {
	mp, r := newReader(t)
	e, err := circuitotel.RegisterSource(mp, monitor.NewRegistry(),
		circuitotel.WithGroup("tenants", schematest.Tenants(t)), circuitotel.WithGroupMaxKeys(2))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Unregister()
	ms, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	lines := flatten(t, ms)
	for series, v := range schematest.TenantsOpen {
		// The Prometheus exposition's form, as flatten prints a point: the
		// instrument name (no _total) and unquoted attributes.
		point := strings.ReplaceAll(strings.Replace(series, "_total{", "{", 1), `"`, "")
		if want := "\n" + point + " " + fmt.Sprint(v) + "\n"; !strings.Contains(lines, want) {
			t.Errorf("no point %q in%s", strings.TrimSpace(want), lines)
		}
	}
	for _, key := range []string{"tenant-0", "tenant-2", "tenant-4"} {
		if strings.Contains(lines, "name="+key+",") || strings.Contains(lines, "name="+key+"}") {
			t.Errorf("points of %s, which is closed or not among the top 2:%s", key, lines)
		}
	}
}

func TestRegisterSourceRejectsBadGroups(t *testing.T) {
	mp, _ := newReader(t)
	_, err := circuitotel.RegisterSource(mp, monitor.NewRegistry(), circuitotel.WithGroupMaxKeys(0))
	var ce *circuit.ConfigError
	if !errors.Is(err, circuitotel.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Pkg != "otel" || ce.Field != "GroupMaxKeys" {
		t.Errorf("err = %v, want an otel GroupMaxKeys config error", err)
	}
}
