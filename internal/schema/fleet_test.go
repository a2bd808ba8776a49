package schema_test

import (
	"errors"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
)

// TestFleetSamples checks that FleetSamples calls the func once per call
// and emits its answer as 1 or 0, and emits nothing without the option.
func TestFleetSamples(t *testing.T) {
	up, calls := true, 0
	cfg, err := schema.NewConfig("x", []schema.Option{schema.WithFleetCoordinator(func() bool { calls++; return up })})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Fleet() {
		t.Error("Fleet() = false with WithFleetCoordinator")
	}
	for i, c := range []struct {
		up   bool
		want float64
	}{{true, 1}, {false, 0}, {true, 1}} {
		up = c.up
		var got []float64
		cfg.FleetSamples(func(f *schema.Family, v float64, labels ...string) {
			if f != schema.FleetCoordinatorUp || len(labels) != 0 {
				t.Errorf("step %d: emitted %s %v, want %s without labels", i, f.Name, labels, schema.FleetCoordinatorUp.Name)
			}
			got = append(got, v)
		})
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("step %d: up %v emitted %v, want [%v]", i, c.up, got, c.want)
		}
		if calls != i+1 {
			t.Errorf("step %d: func called %d times in all, want %d", i, calls, i+1)
		}
	}

	none, err := schema.NewConfig("x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if none.Fleet() {
		t.Error("Fleet() = true without WithFleetCoordinator")
	}
	none.FleetSamples(func(f *schema.Family, v float64, labels ...string) {
		t.Errorf("emitted %s %v without WithFleetCoordinator", f.Name, v)
	})
}

func TestFleetOptionRejected(t *testing.T) {
	up := func() bool { return true }
	for _, c := range []struct {
		name string
		opts []schema.Option
		want string
	}{
		{"nil", []schema.Option{schema.WithFleetCoordinator(nil)},
			"otel: invalid config: FleetCoordinator = <nil>: must not be nil"},
		{"twice", []schema.Option{schema.WithFleetCoordinator(up), schema.WithFleetCoordinator(up)},
			"otel: invalid config: FleetCoordinator = 2: WithFleetCoordinator must be given at most once"},
		{"twice, once nil", []schema.Option{schema.WithFleetCoordinator(up), schema.WithFleetCoordinator(nil)},
			"otel: invalid config: FleetCoordinator = <nil>: must not be nil\n" +
				"otel: invalid config: FleetCoordinator = 2: WithFleetCoordinator must be given at most once"},
	} {
		_, err := schema.NewConfig("otel", c.opts)
		var ce *circuit.ConfigError
		if !errors.Is(err, circuit.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Pkg != "otel" || ce.Field != "FleetCoordinator" {
			t.Errorf("%s: err = %v, want an otel FleetCoordinator config error", c.name, err)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%s: err =\n%v\nwant\n%s", c.name, err, c.want)
		}
	}
}
