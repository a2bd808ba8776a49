package schema_test

import (
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
	"github.com/breakerlab/circuit/internal/schema/schematest"
)

func names(vs []circuit.View) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name())
	}
	return out
}

func TestViewsTopFailures(t *testing.T) {
	g := schematest.Tenants(t)
	other, _ := circuit.New[string](circuit.WithName("other"))
	for _, c := range []struct {
		max  int
		want []string
	}{
		{1, []string{"other", "tenant-1"}},                           // tenant-1 and tenant-3 tie on 3 failures: by name
		{2, []string{"other", "tenant-1", "tenant-3"}},               // tenant-2 has fewer
		{100, []string{"other", "tenant-1", "tenant-2", "tenant-3"}}, // every key not closed, never tenant-0 or tenant-4
	} {
		cfg, err := schema.NewConfig("x", []schema.Option{schema.WithGroup("tenants", g), schema.WithGroupMaxKeys(c.max)})
		if err != nil {
			t.Fatal(err)
		}
		got := names(cfg.Views([]circuit.View{other}))
		if c.max == 100 { // below the bound, Breakers' order is the group's
			got = append(got[:1], sorted(got[1:])...)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("max %d: Views = %v, want %v", c.max, got, c.want)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestGroupSamples(t *testing.T) {
	g := schematest.Tenants(t)
	cfg, err := schema.NewConfig("x", []schema.Option{schema.WithGroup("tenants", g)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	cfg.GroupSamples(func(f *schema.Family, v float64, labels ...string) {
		if len(labels) != 1 || labels[0] != "tenants" {
			t.Errorf("%s: labels %v, want [tenants]", f.Name, labels)
		}
		got[f.Name] = v
	})
	want := map[string]float64{
		"circuit_breaker_group_breakers": 5, "circuit_breaker_group_not_closed": 3,
		"circuit_breaker_group_evictions_total": 0, "circuit_breaker_group_overflows_total": 0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GroupSamples = %v, want %v", got, want)
	}
}

func TestGroupOptionsRejected(t *testing.T) {
	g := schematest.Tenants(t)
	_, err := schema.NewConfig("otel", []schema.Option{
		schema.WithGroup("a", g), schema.WithGroup("a", g), schema.WithGroup("", g),
		schema.WithGroup("b", nil), schema.WithGroupMaxKeys(0),
	})
	if !errors.Is(err, circuit.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	want := `otel: invalid config: GroupMaxKeys = 0: must be at least 1
otel: invalid config: groups[1].Name = "a": must be unique among the groups
otel: invalid config: groups[2].Name = "": must not be empty
otel: invalid config: groups[3] = <nil>: must not be nil`
	if err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}
