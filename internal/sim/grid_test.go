package sim_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

func TestParseGrid(t *testing.T) {
	g, err := sim.ParseGrid(" errorRateThreshold = 0.2, 0.3 ;MinRequests=10,20,50; OpenTimeout=5s,1m;")
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Grid{Axes: []sim.Axis{
		{Field: "ErrorRateThreshold", Values: []any{0.2, 0.3}},
		{Field: "MinRequests", Values: []any{10, 20, 50}},
		{Field: "OpenTimeout", Values: []any{5 * time.Second, time.Minute}},
	}}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("ParseGrid = %+v\nwant %+v", g, want)
	}
	if g.Size() != 12 {
		t.Errorf("Size = %d, want 12", g.Size())
	}
}

// The file form reads as the flag form does, in the file's order, and a
// single value is a list of one.
func TestParseGridJSON(t *testing.T) {
	g, err := sim.ParseGridJSON("grid.json", []byte(`{
		"OpenTimeout": ["5s", "1m"],
		"minrequests": [10, 20, 50],
		"ErrorRateThreshold": 0.2
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Grid{Axes: []sim.Axis{
		{Field: "OpenTimeout", Values: []any{5 * time.Second, time.Minute}},
		{Field: "MinRequests", Values: []any{10, 20, 50}},
		{Field: "ErrorRateThreshold", Values: []any{0.2}},
	}}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("ParseGridJSON = %+v\nwant %+v", g, want)
	}
}

// Every bad grid is an *InputError (or several) naming the field and the
// value.
func TestParseGridErrors(t *testing.T) {
	cases := []struct {
		spec string
		want []string
	}{
		{"", []string{"no axes"}},
		{" ; ", []string{"no axes"}},
		{"OpenTimeout", []string{`"OpenTimeout"`, "want Field=value,value"}},
		{"=5s", []string{`"=5s"`, "want Field=value"}},
		{"Threshold=0.5", []string{"Threshold", "unknown field", "ErrorRateThreshold", "OpenTimeout"}},
		{"Name=a,b", []string{"Name", "not a threshold"}},
		{"MinRequests=10,ten", []string{`MinRequests = "ten"`, "whole number"}},
		{"MinRequests=1.5", []string{`MinRequests = "1.5"`, "whole number"}},
		{"ErrorRateThreshold=0.2,abc", []string{`ErrorRateThreshold = "abc"`, "finite number"}},
		{"ErrorRateThreshold=NaN", []string{`ErrorRateThreshold = "NaN"`, "finite number"}},
		{"OpenTimeout=5s,5", []string{`OpenTimeout = "5"`, "not a duration"}},
		{"OpenTimeout=5s,,30s", []string{`OpenTimeout = ""`, "empty value"}},
		{"OpenTimeout=", []string{`OpenTimeout = ""`, "empty value"}},
		{"OpenTimeout=5s,5000ms", []string{"OpenTimeout = 5s", "given twice"}},
		{"OpenTimeout=5s;openTimeout=30s", []string{"OpenTimeout", "given twice: list all its values in one axis"}},
		// Every problem, not just the first.
		{"MinRequests=x;OpenTimeout=y", []string{`MinRequests = "x"`, `OpenTimeout = "y"`}},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			_, err := sim.ParseGrid(c.spec)
			if err == nil {
				t.Fatal("no error")
			}
			var ie *sim.InputError
			if !errors.As(err, &ie) {
				t.Errorf("%T is not an *InputError: %v", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseGridJSONErrors(t *testing.T) {
	cases := []struct {
		data string
		want []string
	}{
		{``, []string{"grid.json", "empty"}},
		{`{"OpenTimeout": ["5s"]`, []string{"grid.json", "invalid JSON"}},
		{`["OpenTimeout"]`, []string{"grid.json", "must be a JSON object"}},
		{`{}`, []string{"grid.json", "no axes"}},
		{`{"Threshold": [0.5]}`, []string{"grid.json: Threshold", "unknown field"}},
		{`{"OpenTimeout": ["5s", 30]}`, []string{"grid.json: OpenTimeout[1] = 30", "duration string"}},
		{`{"OpenTimeout": ["5 s"]}`, []string{`grid.json: OpenTimeout[0] = "5 s"`, "not a duration"}},
		{`{"MinRequests": [10, 2.5]}`, []string{"grid.json: MinRequests[1] = 2.5", "whole number"}},
		{`{"MinRequests": [null]}`, []string{"grid.json: MinRequests[0] = null", "whole number"}},
		{`{"ErrorRateThreshold": ["0.2"]}`, []string{`grid.json: ErrorRateThreshold[0] = "0.2"`, "must be a number"}},
		{`{"ErrorRateThreshold": []}`, []string{"grid.json: ErrorRateThreshold", "no values"}},
		{`{"MinRequests": [10, 10]}`, []string{"grid.json: MinRequests = 10", "given twice"}},
		{`{"MinRequests": [10], "minRequests": [20]}`, []string{"grid.json: MinRequests", "given twice"}},
	}
	for _, c := range cases {
		t.Run(c.data, func(t *testing.T) {
			_, err := sim.ParseGridJSON("grid.json", []byte(c.data))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The candidates come in a known order: the base, the presets, then the
// grid with its first axis varying slowest; a repeat is dropped and named
// after the first.
func TestCandidates(t *testing.T) {
	base := circuit.DefaultConfig()
	g, err := sim.ParseGrid("ErrorRateThreshold=0.2,0.5;OpenTimeout=5s,30s")
	if err != nil {
		t.Fatal(err)
	}
	cands, err := sim.Candidates(base, g)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cands {
		names = append(names, c.Name)
	}
	want := []string{"base = ErrorRateThreshold=0.5 OpenTimeout=30s"}
	for _, p := range circuit.PresetNames() {
		want = append(want, "preset "+p)
	}
	want = append(want, "ErrorRateThreshold=0.2 OpenTimeout=5s", "ErrorRateThreshold=0.2 OpenTimeout=30s",
		"ErrorRateThreshold=0.5 OpenTimeout=5s")
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names = %q\nwant %q", names, want)
	}
	last := cands[len(cands)-1].Config
	wantLast := base
	wantLast.ErrorRateThreshold, wantLast.OpenTimeout = 0.5, 5*time.Second
	if last != wantLast {
		t.Errorf("last config = %+v\nwant %+v", last, wantLast)
	}
	core, _ := circuit.Preset(circuit.PresetCore)
	if cands[3].Name != "preset core" || cands[3].Config != core {
		t.Errorf("candidate 3 = %+v, want preset core", cands[3])
	}

	// The base is a preset: one candidate, both names.
	cands, err = sim.Candidates(core, sim.Grid{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != len(circuit.PresetNames()) || cands[0].Name != "base = preset core" {
		t.Errorf("with the core preset as base: %d candidates, the first %q", len(cands), cands[0].Name)
	}
}

func TestCandidatesErrors(t *testing.T) {
	base := circuit.DefaultConfig()
	mustGrid := func(spec string) sim.Grid {
		g, err := sim.ParseGrid(spec)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	cases := []struct {
		name string
		base circuit.Config
		grid sim.Grid
		want []string
	}{
		{"value out of range", base, mustGrid("ErrorRateThreshold=0.2,1.5;MinRequests=10,20"),
			[]string{"ErrorRateThreshold = 1.5", "(0, 1]", "in 2 of the 4 grid combinations, such as ErrorRateThreshold=1.5 MinRequests=10"}},
		{"fields that clash", base, mustGrid("MinRequests=10,200;WindowSize=100,500"),
			[]string{"MinRequests = 200", "must not exceed WindowSize (100)", "in 1 of the 4 grid combinations, such as MinRequests=200 WindowSize=100"}},
		{"clash with the base", base, mustGrid("MinRequests=10,200"),
			[]string{"MinRequests = 200", "must not exceed WindowSize (100)"}},
		{"over the cap", base, mustGrid("MinRequests=1,2,3,4,5,6,7,8,9,10;WindowSize=100,101,102,103,104,105,106,107,108,109;" +
			"OpenTimeout=1s,2s,3s,4s,5s,6s,7s,8s,9s,10s"),
			[]string{"grid = 10 × 10 × 10 values", "1000 combinations", "limit of 1000 configurations (MaxSweep)"}},
		{"wrong type in code", base, sim.Grid{Axes: []sim.Axis{{Field: "MinRequests", Values: []any{1.5}}}},
			[]string{"MinRequests = 1.5", "float64", "want a int"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cands, err := sim.Candidates(c.base, c.grid)
			if err == nil {
				t.Fatalf("no error; %d candidates", len(cands))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// A grid just under the cap is accepted: the cap counts the base and the
// presets with it.
func TestCandidatesCapBoundary(t *testing.T) {
	room := sim.MaxSweep - 1 - len(circuit.PresetNames())
	vals := make([]any, room)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Second
	}
	g := sim.Grid{Axes: []sim.Axis{{Field: "OpenTimeout", Values: vals}}}
	cands, err := sim.Candidates(circuit.DefaultConfig(), g)
	if err != nil {
		t.Fatal(err)
	}
	// 30s is the base's: one fewer.
	if len(cands) != sim.MaxSweep-1 {
		t.Errorf("%d candidates, want %d", len(cands), sim.MaxSweep-1)
	}
	g.Axes[0].Values = append(g.Axes[0].Values, time.Hour)
	if _, err := sim.Candidates(circuit.DefaultConfig(), g); err == nil {
		t.Error("one more value than the cap allows: no error")
	}
}
