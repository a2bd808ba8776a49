package schema_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
)

// all returns every family of the schema.
func all() []*schema.Family {
	return slices.Concat(schema.Families, schema.GroupFamilies, schema.FleetFamilies)
}

// TestFamilies checks the rules that make the two exporters agree: the
// instrument name is the Prometheus name without a counter's "_total", a
// unit the OpenTelemetry Prometheus exporter turns into a suffix is
// already at the end of the name, and the breaker's name is the first
// label (the group's for a group family; a fleet family has none).
func TestFamilies(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range all() {
		if seen[f.Name] {
			t.Errorf("%s listed twice", f.Name)
		}
		seen[f.Name] = true
		want := f.Name
		if f.Kind == schema.Counter {
			want = strings.TrimSuffix(f.Name, "_total")
			if want == f.Name {
				t.Errorf("counter %s does not end in _total", f.Name)
			}
		}
		if f.Instrument != want {
			t.Errorf("%s: instrument %q, want %q", f.Name, f.Instrument, want)
		}
		switch f.Unit {
		case "s":
			if !strings.HasSuffix(f.Name, "_seconds") {
				t.Errorf("%s has unit s but no _seconds suffix", f.Name)
			}
		case "1":
			if !strings.HasSuffix(f.Name, "_ratio") {
				t.Errorf("%s has unit 1 but no _ratio suffix", f.Name)
			}
		case "":
		default:
			if !strings.HasPrefix(f.Unit, "{") || !strings.HasSuffix(f.Unit, "}") {
				t.Errorf("%s: unit %q is neither s, 1 nor an {annotation}", f.Name, f.Unit)
			}
		}
		switch {
		case slices.Contains(schema.FleetFamilies, f):
			if len(f.Labels) != 0 {
				t.Errorf("%s: labels %v, want none: it is one series per replica", f.Name, f.Labels)
			}
		case slices.Contains(schema.GroupFamilies, f):
			if !slices.Equal(f.Labels, []string{schema.LabelGroup}) {
				t.Errorf("%s: labels %v, want only %q", f.Name, f.Labels, schema.LabelGroup)
			}
		default:
			if len(f.Labels) == 0 || f.Labels[0] != schema.LabelName {
				t.Errorf("%s: labels %v do not start with %q", f.Name, f.Labels, schema.LabelName)
			}
		}
		if f.Help == "" {
			t.Errorf("%s has no help", f.Name)
		}
	}
}

func TestCheckBuckets(t *testing.T) {
	if err := schema.CheckBuckets("x", schema.LatencyBuckets); err != nil {
		t.Errorf("default buckets: %v", err)
	}
	err := schema.CheckBuckets("x", []float64{1, 0.5})
	var ce *circuit.ConfigError
	if !errors.As(err, &ce) || ce.Pkg != "x" || ce.Field != "LatencyBuckets" || !errors.Is(err, circuit.ErrInvalidConfig) {
		t.Errorf("decreasing buckets: %v, want a LatencyBuckets ConfigError of package x", err)
	}
}

// collect returns the transition series Samples emits, keyed
// "from>to:reason".
func collect(v circuit.View, w *schema.Watch) map[string]float64 {
	got := map[string]float64{}
	schema.Samples(func(f *schema.Family, x float64, labels ...string) {
		if f == schema.Transitions {
			got[labels[1]+">"+labels[2]+":"+labels[3]] += x
		}
	}, v, v.Metrics(), w)
	return got
}

// TestWatchBaseline checks that transitions before the watch are counted
// once, as unknown, and those after it once, by reason.
func TestWatchBaseline(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[int](circuit.WithName("b"), circuit.WithClock(mock))
	if err != nil {
		t.Fatal(err)
	}
	b.Trip(circuit.ReasonManual)
	b.Reset()
	w := schema.NewWatch(b)
	defer w.Stop()
	b.Trip(circuit.ReasonManual)
	got := collect(b, w)
	for k, want := range map[string]float64{
		"closed>open:unknown": 1, "half-open>closed:unknown": 0, "open>closed:unknown": 1,
		"closed>open:manual": 1, "open>closed:reset": 0, "closed>open:error-rate": 0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if all := collect(b, nil); all["closed>open:unknown"] != 2 || all["open>closed:unknown"] != 1 {
		t.Errorf("without a watch: %v, want every transition unknown", all)
	}
}

// TestWatchConcurrent races transitions against the watch's start and
// checks that, once every hook has run, each transition is counted exactly
// once.
func TestWatchConcurrent(t *testing.T) {
	for round := 0; round < 50; round++ {
		b, err := circuit.New[int](circuit.WithName("b"), circuit.WithConsecutiveFailures(1))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				b.Trip(circuit.ReasonManual)
				b.Reset()
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("x") })
			}
		}()
		w := schema.NewWatch(b)
		wg.Wait()
		var sum float64
		for _, n := range collect(b, w) {
			sum += n
		}
		w.Stop()
		if want := float64(b.Metrics().Transitions); sum != want {
			t.Fatalf("round %d: %v transitions counted, want %v", round, sum, want)
		}
	}
}

// TestWatches checks that a source's breakers are watched while listed.
func TestWatches(t *testing.T) {
	a, _ := circuit.New[int](circuit.WithName("a"))
	b, _ := circuit.New[int](circuit.WithName("b"))
	var ws schema.Watches
	w1 := ws.Sync([]circuit.View{a, nil, b})
	if w1[0] == nil || w1[1] != nil || w1[2] == nil {
		t.Fatalf("Sync = %v, want watches for a and b only", w1)
	}
	w2 := ws.Sync([]circuit.View{b})
	if w2[0] != w1[2] {
		t.Error("b's watch was not kept")
	}
	a.Trip(circuit.ReasonManual) // a is no longer watched
	if got := collect(a, w1[0]); got["closed>open:manual"] != 0 {
		t.Errorf("a stopped watch counted %v", got)
	}
	ws.Stop()
}

// TestDocTable checks docs/metrics.md against the schema: one table row
// per family with its name, kind, unit and labels, the option that
// publishes a fleet family, and the bucket list.
func TestDocTable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	rows := map[string][]string{}
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`circuit_breaker_") {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[strings.Trim(cells[1], "`")] = cells[2:6]
	}
	all := all()
	if len(rows) != len(all) {
		t.Errorf("docs/metrics.md has %d rows, the schema %d families", len(rows), len(all))
	}
	for _, f := range all {
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("%s: no row in docs/metrics.md", f.Name)
			continue
		}
		unit := ""
		if f.Unit != "" {
			unit = "`" + f.Unit + "`"
		}
		labels := "(none)"
		if len(f.Labels) > 0 {
			labels = "`" + strings.Join(f.Labels, "`, `") + "`"
		}
		if got, want := strings.Join(row[:3], " | "), f.Kind.String()+" | "+unit+" | "+labels; got != want {
			t.Errorf("%s: row %q, want %q", f.Name, got, want)
		}
		// A fleet family exists only with the option: its row names it.
		if slices.Contains(schema.FleetFamilies, f) && !strings.Contains(row[3], "`WithFleetCoordinator`") {
			t.Errorf("%s: row %q does not name `WithFleetCoordinator`", f.Name, row[3])
		}
	}
	var b []string
	for _, x := range schema.LatencyBuckets {
		b = append(b, strconv.FormatFloat(x, 'g', -1, 64))
	}
	if want := "Histogram buckets (seconds): `" + strings.Join(b, ", ") + "`"; !strings.Contains(doc, want) {
		t.Errorf("docs/metrics.md does not say %q", want)
	}
}
