package sim_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

const validScenario = `{
  "name": "mine",
  "duration": "1m",
  "rate": 10,
  "workers": 5,
  "phases": [{"start": "0s", "latency": "20ms"}, {"start": "30s", "latency": "2s", "fault": true}]
}`

func TestParseScenarioValid(t *testing.T) {
	sc, err := sim.ParseScenario("mine.json", []byte(validScenario))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "mine" || sc.Duration != time.Minute || sc.Rate != 10 || sc.Workers != 5 || len(sc.Phases) != 2 {
		t.Errorf("parsed %+v", sc)
	}
	if ph := sc.Phases[1]; ph.Start != 30*time.Second || ph.Latency != 2*time.Second || !ph.Fault {
		t.Errorf("phase 1 = %+v", ph)
	}
	if sc.Config != nil {
		t.Errorf("config = %+v, want nil (the defaults)", sc.Config)
	}
	if got := sc.BreakerConfig(); got != circuit.DefaultConfig() {
		t.Errorf("BreakerConfig = %+v, want the defaults", got)
	}
}

func TestParseScenarioPresetAndConfig(t *testing.T) {
	data := strings.Replace(validScenario, `"rate": 10,`, `"rate": 10, "preset": "auth", "config": {"openTimeout": "5s"},`, 1)
	sc, err := sim.ParseScenario("mine.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := circuit.Preset(circuit.PresetAuth)
	want.OpenTimeout = 5 * time.Second
	if got := sc.BreakerConfig(); got != want {
		t.Errorf("config = %+v\nwant %+v", got, want)
	}
}

// Every bad scenario names the file, the field and the value.
func TestParseScenarioErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(validScenario, old) {
			t.Fatalf("test bug: %q not in the scenario", old)
		}
		return strings.Replace(validScenario, old, new, 1)
	}
	cases := []struct {
		name, data string
		want       []string // all must appear in the message
	}{
		{"empty", "  ", []string{"bad.json", "empty"}},
		{"syntax", "{\n  \"rate\": 10,\n  oops\n}", []string{"bad.json", "line 3, column 3"}},
		{"not an object", `[1, 2]`, []string{"bad.json", "must be a JSON object"}},
		{"unknown field", replace(`"rate": 10`, `"rate": 10, "rat": 3`), []string{"bad.json", "rat", "unknown field", "valid:", "queueTimeout"}},
		{"bad duration", replace(`"1m"`, `"1 minute"`), []string{"bad.json", "duration", `"1 minute"`, "not a duration"}},
		{"duration as number", replace(`"1m"`, `60`), []string{"bad.json", "duration = 60", "duration string"}},
		{"rate as string", replace(`"rate": 10`, `"rate": "fast"`), []string{"bad.json", `rate = "fast"`, "must be a number"}},
		{"fractional workers", replace(`"workers": 5`, `"workers": 2.5`), []string{"bad.json", "workers = 2.5", "whole number"}},
		{"zero workers", replace(`"workers": 5`, `"workers": 0`), []string{"bad.json", "workers = 0", "between 1 and"}},
		{"negative rate", replace(`"rate": 10`, `"rate": -1`), []string{"bad.json", "rate = -1", "positive"}},
		{"too many requests", replace(`"rate": 10`, `"rate": 1e9`), []string{"bad.json", "rate = 1e+09", "at most"}},
		{"bad arrivals", replace(`"rate": 10`, `"rate": 10, "arrivals": "bursty"`), []string{"bad.json", `arrivals = "bursty"`, "poisson"}},
		{"bad phase field", replace(`"latency": "20ms"`, `"latency": "20ms", "errors": 0.5`), []string{"bad.json", "phases[0].errors", "unknown field", "errorRate"}},
		{"phase error rate", replace(`"latency": "2s"`, `"latency": "2s", "errorRate": 1.5`), []string{"bad.json", "phases[1].errorRate = 1.5", "between 0 and 1"}},
		{"phase latency", replace(`"latency": "20ms"`, `"latency": "-20ms"`), []string{"bad.json", `phases[0].latency = "-20ms"`, "positive"}},
		{"first phase start", replace(`"start": "0s"`, `"start": "1s"`), []string{"bad.json", `phases[0].start = "1s"`, "start at 0"}},
		{"phases out of order", replace(`"start": "30s"`, `"start": "0s"`), []string{"bad.json", `phases[1].start = "0s"`, "after the previous"}},
		{"phase after the end", replace(`"start": "30s"`, `"start": "2m"`), []string{"bad.json", `phases[1].start = "2m0s"`, "before the end"}},
		{"no phases", replace(`"phases"`, `"oldPhases"`), []string{"bad.json", "oldPhases", "unknown field"}},
		{"empty phases", `{"duration": "1m", "rate": 1, "workers": 1, "phases": []}`, []string{"bad.json", "phases", "at least one phase"}},
		{"phases not a list", replace(`"phases": [`, `"phases": {"x": [`) + "}", []string{"bad.json", "phases", "list of phases"}},
		{"unknown preset", replace(`"rate": 10`, `"rate": 10, "preset": "fast"`), []string{"bad.json", `preset = "fast"`, "valid:", "payment"}},
		{"bad config field", replace(`"rate": 10`, `"rate": 10, "config": {"WindowSize": 0}`), []string{"bad.json", "config.WindowSize = 0", "at least 1"}},
		{"unknown config field", replace(`"rate": 10`, `"rate": 10, "config": {"Window": 5}`), []string{"bad.json", "config.Window", "unknown field", "WindowSize"}},
		{"bad retry", replace(`"rate": 10`, `"rate": 10, "retry": {"maxAttempts": 1, "backoff": "0s"}`), []string{"bad.json", "retry.maxAttempts = 1", `retry.backoff = "0s"`}},
		{"dependency share", replace(`"rate": 10`, `"rate": 10, "dependencyShare": 1.5`), []string{"bad.json", "dependencyShare = 1.5", "(0, 1]"}},
		{"negative bulkhead", replace(`"rate": 10`, `"rate": 10, "bulkhead": -1`), []string{"bad.json", "bulkhead = -1", "between 0"}},
		{"null", replace(`"rate": 10`, `"rate": null`), []string{"bad.json", "rate = null", "must be a number"}},
		{"overload below 1", replace(`"rate": 10`, `"rate": 10, "capacity": 5, "overloadFailure": 0.5`), []string{"bad.json", "overloadFailure = 0.5", "between 1 and 1000"}},
		{"overload without capacity", replace(`"rate": 10`, `"rate": 10, "overloadFailure": 2`), []string{"bad.json", "overloadFailure = 2", "needs capacity"}},
		{"overload as string", replace(`"rate": 10`, `"rate": 10, "capacity": 5, "overloadFailure": "2x"`), []string{"bad.json", `overloadFailure = "2x"`, "must be a number"}},
		{"capacity share above 1", replace(`"latency": "2s"`, `"latency": "2s", "capacityShare": 1.5`), []string{"bad.json", "phases[1].capacityShare = 1.5", "(0, 1]"}},
		{"capacity share without capacity", replace(`"latency": "2s"`, `"latency": "2s", "capacityShare": 0.5`), []string{"bad.json", "phases[1].capacityShare = 0.5", "needs capacity"}},
		{"negative capacity ramp", replace(`"latency": "2s"`, `"latency": "2s", "capacityShare": 0.5, "capacityRamp": "-1s"`), []string{"bad.json", `phases[1].capacityRamp = "-1s"`, "between 0"}},
		{"capacity ramp from full", replace(`"latency": "2s"`, `"latency": "2s", "capacityRamp": "30s"`), []string{"bad.json", `phases[1].capacityRamp = "30s"`, "capacityShare below 1"}},
		{"capacity ramp as number", replace(`"latency": "2s"`, `"latency": "2s", "capacityShare": 0.5, "capacityRamp": 30`), []string{"bad.json", "phases[1].capacityRamp = 30", "duration string"}},
		{"ramp duration", replace(`"rate": 10`, `"rate": 10, "ramp": {"duration": "0s", "start": 0.1}`), []string{"bad.json", `ramp.duration = "0s"`, "positive"}},
		{"ramp too long", replace(`"rate": 10`, `"rate": 10, "ramp": {"duration": "2h"}`), []string{"bad.json", `ramp.duration = "2h0m0s"`, "at most 1h"}},
		{"ramp start", replace(`"rate": 10`, `"rate": 10, "ramp": {"duration": "30s", "start": 1}`), []string{"bad.json", "ramp.start = 1", "[0, 1)"}},
		{"ramp field", replace(`"rate": 10`, `"rate": 10, "ramp": {"duration": "30s", "from": 0.1}`), []string{"bad.json", "ramp.from", "unknown field", "start"}},
		{"ramp not an object", replace(`"rate": 10`, `"rate": 10, "ramp": "30s"`), []string{"bad.json", "ramp", "object"}},
		{"one tenant", replace(`"rate": 10`, `"rate": 10, "tenants": {"count": 1, "failing": 1}`), []string{"bad.json", "tenants.count = 1", "between 2 and 10000"}},
		{"all tenants failing", replace(`"rate": 10`, `"rate": 10, "tenants": {"count": 3, "failing": 3}`), []string{"bad.json", "tenants.failing = 3", "less than tenants.count"}},
		{"no failing tenant", replace(`"rate": 10`, `"rate": 10, "tenants": {"count": 5}`), []string{"bad.json", "tenants.failing = 0", "at least 1"}},
		{"tenant share", replace(`"rate": 10`, `"rate": 10, "tenants": {"count": 5, "failing": 1, "share": 1}`), []string{"bad.json", "tenants.share = 1", "[0, 1)"}},
		{"tenants without a fault", strings.Replace(replace(`, "fault": true`, ``), `"rate": 10`, `"rate": 10, "tenants": {"count": 5, "failing": 1}`, 1), []string{"bad.json", "tenants", "needs a fault phase"}},
		{"tenant field", replace(`"rate": 10`, `"rate": 10, "tenants": {"count": 5, "bad": 1}`), []string{"bad.json", "tenants.bad", "unknown field", "failing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sim.ParseScenario("bad.json", []byte(c.data))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			var ie *sim.InputError
			if !errors.As(err, &ie) || ie.File != "bad.json" {
				t.Errorf("error %v is not an *InputError naming the file", err)
			}
		})
	}
}

func TestParseScenarioReportsEveryBadField(t *testing.T) {
	data := `{"duration": "-1s", "rate": 0, "workers": 0, "phases": [{"latency": "1ms", "spread": 9}]}`
	_, err := sim.ParseScenario("many.json", []byte(data))
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range []string{"duration", "rate", "workers", "phases[0].spread"} {
		if !strings.Contains(err.Error(), f+" = ") {
			t.Errorf("error %q does not report %s", err, f)
		}
	}
}

func TestParseConfig(t *testing.T) {
	base, _ := circuit.Preset(circuit.PresetCore)
	got, err := sim.ParseConfig("c.json", []byte(`{"OpenTimeout": "10s", "errorRateThreshold": 0.3}`), base)
	if err != nil {
		t.Fatal(err)
	}
	want := base
	want.OpenTimeout = 10 * time.Second
	want.ErrorRateThreshold = 0.3
	if got != want {
		t.Errorf("ParseConfig = %+v\nwant %+v (the rest from the base)", got, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name, data string
		want       []string
	}{
		{"syntax", `{"OpenTimeout": }`, []string{"c.json", "invalid JSON", "line 1"}},
		{"unknown field", `{"Timeout": "1s"}`, []string{"c.json", "Timeout", "unknown field", "OpenTimeout", "CallTimeout"}},
		{"bad duration", `{"OpenTimeout": "30 seconds"}`, []string{"c.json", `OpenTimeout = "30 seconds"`, "must be a duration string"}},
		{"nanoseconds", `{"OpenTimeout": 30000000000}`, []string{"c.json", "OpenTimeout = 30000000000", `"30s"`}},
		{"invalid value", `{"WindowSize": 0}`, []string{"c.json", "WindowSize = 0", "at least 1"}},
		{"invalid rate", `{"ErrorRateThreshold": 2}`, []string{"c.json", "ErrorRateThreshold = 2", "(0, 1]"}},
		{"negative duration", `{"OpenTimeout": "-5s"}`, []string{"c.json", `OpenTimeout = "-5s"`, "positive"}},
		{"cross-field", `{"WindowSize": 10, "MinRequests": 20}`, []string{"c.json", "MinRequests = 20", "WindowSize (10)"}},
		{"string for int", `{"WindowSize": "ten"}`, []string{"c.json", `WindowSize = "ten"`, "must be an integer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sim.ParseConfig("c.json", []byte(c.data), circuit.DefaultConfig())
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

func TestBuiltin(t *testing.T) {
	names := sim.BuiltinNames()
	want := []string{"brownout", "db-slowdown", "error-burst", "flaky", "flapping", "noisy-tenant", "retry-storm", "slow-recovery"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("BuiltinNames = %v, want %v", names, want)
	}
	for _, n := range names {
		sc, err := sim.Builtin(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
		}
		if sc.Name != n || sc.Description == "" {
			t.Errorf("%s: name %q, description %q", n, sc.Name, sc.Description)
		}
	}
	for _, n := range []string{"nope", "../sim", "scenarios/flaky", ""} {
		_, err := sim.Builtin(n)
		if err == nil || !strings.Contains(err.Error(), "valid: brownout, db-slowdown, error-burst, flaky, flapping, noisy-tenant, retry-storm, slow-recovery") {
			t.Errorf("Builtin(%q) error = %v, want one listing the valid names", n, err)
		}
	}
}
