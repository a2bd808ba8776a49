package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultRun(t *testing.T) {
	code, out, errOut := runCmd(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"scenario db-slowdown", "no breaker", "with breaker", "timeline (counts per 10s)",
		"goodput", "p99 latency", "peak workers busy", "queue timeouts", "time to detect", "time to recover",
		"false opens", "calls spared"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestSameSeedSameOutput(t *testing.T) {
	_, a, _ := runCmd(t, "-scenario", "error-burst", "-seed", "5")
	_, b, _ := runCmd(t, "-seed", "5", "error-burst")
	if a != b || a == "" {
		t.Error("the same scenario and seed printed different reports")
	}
	_, c, _ := runCmd(t, "-scenario", "error-burst", "-seed", "6")
	if a == c {
		t.Error("seeds 5 and 6 printed the same report")
	}
}

func TestJSONAndSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "chart.svg")
	code, out, errOut := runCmd(t, "-json", "-svg", svg, "-scenario", "retry-storm")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Scenario string
		Runs     []struct{ Summary map[string]any }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if v.Scenario != "retry-storm" || len(v.Runs) != 2 {
		t.Errorf("JSON = %+v", v)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("chart is not well-formed: %v", err)
		}
	}
	if !strings.Contains(errOut, "wrote the chart to "+svg) {
		t.Errorf("stderr = %q, want a note about the chart", errOut)
	}
}

func TestListShowsScenariosAndPresets(t *testing.T) {
	code, out, _ := runCmd(t, "-list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"db-slowdown (default)", "error-burst", "retry-storm", "flaky",
		"payment", "auth", "core", "analytics", "third-party", "tools"} {
		if !strings.Contains(out, want) {
			t.Errorf("-list lacks %q", want)
		}
	}
}

// -ramp adds the comparison run to a scenario without one, -ramp-start
// changes a scenario's, and -ramp 0 drops it: the text report's "the ramp"
// table and the JSON's "ramp" follow.
func TestRampFlags(t *testing.T) {
	cases := []struct {
		args     []string
		wantRamp string // the comparison's ramp column, "" for no comparison
	}{
		{[]string{"-scenario", "error-burst"}, ""},
		{[]string{"-scenario", "error-burst", "-ramp", "20s"}, "20s from 10%"},
		{[]string{"-scenario", "error-burst", "-ramp", "20s", "-ramp-start", "0.25"}, "20s from 25%"},
		{[]string{"-scenario", "flapping"}, "30s from 10%"},
		{[]string{"-scenario", "flapping", "-ramp-start", "0.5"}, "30s from 50%"},
		{[]string{"-scenario", "flapping", "-ramp", "45s"}, "45s from 10%"},
		{[]string{"-scenario", "flapping", "-ramp", "0"}, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			i := strings.Index(out, "\nthe ramp ")
			if c.wantRamp == "" {
				if i >= 0 {
					t.Errorf("a comparison without a ramp:\n%s", out[i:])
				}
			} else if i < 0 || !strings.Contains(strings.Join(strings.Fields(out[i:]), " "), "ramp none "+c.wantRamp) {
				t.Errorf("no comparison with %q in:\n%s", c.wantRamp, out[max(i, 0):])
			}

			code, out, errOut = runCmd(t, append([]string{"-json"}, c.args...)...)
			if code != 0 {
				t.Fatalf("-json: exit %d: %s", code, errOut)
			}
			var v struct {
				Ramp *struct {
					Config struct{ RampDuration string }
					Run    struct{ Label string }
				}
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			if (v.Ramp != nil) != (c.wantRamp != "") {
				t.Fatalf("JSON ramp = %+v, want one: %v", v.Ramp, c.wantRamp != "")
			}
			if v.Ramp != nil && (!strings.HasPrefix(c.wantRamp, v.Ramp.Config.RampDuration) || v.Ramp.Run.Label != "with ramp") {
				t.Errorf("JSON ramp = %+v, want RampDuration from %q", v.Ramp, c.wantRamp)
			}
		})
	}
}

func TestPresetAndConfigFile(t *testing.T) {
	cfg := writeFile(t, "cfg.json", `{"OpenTimeout": "7s"}`)
	code, out, errOut := runCmd(t, "-preset", "auth", "-config", cfg, "-scenario", "error-burst")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// auth: 30% errors, P95 500ms, 2 probes; the file sets open to 7s.
	// The header wraps long lines; compare with the spacing flattened.
	flat := strings.Join(strings.Fields(out), " ")
	if !strings.Contains(flat, "30% errors or p95 >= 500ms over 100 calls (min 20); open 7s; 2 probe(s)") {
		t.Errorf("breaker line does not show the auth preset with OpenTimeout 7s:\n%s", out[:min(len(out), 600)])
	}
}

func TestScenarioFile(t *testing.T) {
	sc := writeFile(t, "mine.json", `{"duration": "1m", "rate": 5, "workers": 4,
		"phases": [{"start": "0s", "latency": "10ms"}]}`)
	code, out, errOut := runCmd(t, "-scenario", sc)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "scenario mine:") {
		t.Errorf("a nameless scenario file is not named after the file:\n%s", out[:min(len(out), 300)])
	}
}

// Bad input: exit 2, a message naming what was wrong, and no panic.
func TestBadInput(t *testing.T) {
	badScenario := writeFile(t, "bad.json", `{"duration": "1m", "rate": 5, "workers": 4,
		"phases": [{"start": "0s", "latency": "10 ms"}]}`)
	brokenScenario := writeFile(t, "broken.json", `{"duration": "1m",`)
	badConfig := writeFile(t, "cfg.json", `{"WindowSize": -3}`)
	unknownConfig := writeFile(t, "cfg2.json", `{"Threshold": 0.5}`)
	// A day of 57 req/s retried up to 10 times, failing after 5h, through a
	// breaker that opens for 1ms: inside every other limit, minutes of work.
	costly := writeFile(t, "day.json", `{"duration": "24h", "interval": "1m", "rate": 57, "workers": 200,
		"retry": {"maxAttempts": 10, "backoff": "1ms"},
		"config": {"WindowSize": 1048576, "OpenTimeout": "1ms"},
		"phases": [{"start": "0s", "latency": "50ms"}, {"start": "5h", "latency": "50ms", "errorRate": 1}]}`)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"-bogus"}, []string{"-bogus", "-scenario", "-preset", "-config", "-seed", "-svg", "-json", "-list",
			"-sweep", "-grid", "-grid-file", "-top", "-reject-weight"}},
		{"bad seed", []string{"-seed", "abc"}, []string{"-seed", "abc"}},
		{"unknown scenario", []string{"-scenario", "db-slow"}, []string{`"db-slow"`, "brownout, db-slowdown, error-burst, flaky, flapping, noisy-tenant, retry-storm, slow-recovery"}},
		{"unknown scenario argument", []string{"errorburst"}, []string{`"errorburst"`, "valid: brownout, db-slowdown"}},
		{"two scenarios", []string{"-scenario", "flaky", "error-burst"}, []string{"scenario given twice"}},
		{"too many arguments", []string{"flaky", "error-burst"}, []string{"too many arguments"}},
		{"missing scenario file", []string{"-scenario", "nope/missing.json"}, []string{"nope/missing.json", "no such file"}},
		{"scenario field", []string{"-scenario", badScenario}, []string{badScenario, "phases[0].latency", `"10 ms"`}},
		{"scenario syntax", []string{"-scenario", brokenScenario}, []string{brokenScenario, "invalid JSON"}},
		{"unknown preset", []string{"-preset", "fast"}, []string{`"fast"`, "analytics, auth, core, payment, third-party, tools"}},
		{"config value", []string{"-config", badConfig}, []string{badConfig, "WindowSize = -3", "must not be negative"}},
		{"config field", []string{"-config", unknownConfig}, []string{unknownConfig, "Threshold", "unknown field", "ErrorRateThreshold"}},
		{"missing config", []string{"-config", "/nonexistent/cfg.json"}, []string{"-config", "/nonexistent/cfg.json"}},
		{"interval", []string{"-interval", "0s"}, []string{"-interval", "positive"}},
		{"interval too short", []string{"-interval", "10ms"}, []string{"interval", "rows"}},
		{"negative ramp", []string{"-ramp", "-1s"}, []string{"-ramp -1s", "between 0"}},
		{"ramp too long", []string{"-ramp", "2h"}, []string{"-ramp 2h0m0s", "1h"}},
		{"ramp start without a ramp", []string{"-ramp-start", "0.2", "-scenario", "error-burst"}, []string{"-ramp-start 0.2", "needs -ramp", "error-burst"}},
		{"ramp start with ramp 0", []string{"-ramp", "0", "-ramp-start", "0.2", "-scenario", "flapping"}, []string{"-ramp-start 0.2", "-ramp 0"}},
		{"ramp start 1", []string{"-ramp", "10s", "-ramp-start", "1"}, []string{"-ramp-start 1", "[0, 1)"}},
		{"ramp start NaN", []string{"-scenario", "flapping", "-ramp-start", "NaN"}, []string{"-ramp-start NaN", "[0, 1)"}},
		{"predicted cost", []string{"-scenario", costly}, []string{`OpenTimeout = "1ms"`, "limit of 1m0s (MaxRunTime)", "state up to"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("bad input printed to stdout: %q", out)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not mention %q", errOut, w)
				}
			}
		})
	}
}

func TestUnwritableChart(t *testing.T) {
	code, _, errOut := runCmd(t, "-svg", filepath.Join(t.TempDir(), "no", "such", "dir", "c.svg"))
	if code != 1 || !strings.Contains(errOut, "-svg") {
		t.Errorf("exit %d, stderr %q; want 1 and an -svg error", code, errOut)
	}
}

func TestHelp(t *testing.T) {
	code, _, errOut := runCmd(t, "-h")
	if code != 0 || !strings.Contains(errOut, "usage: circuitsim") {
		t.Errorf("-h: exit %d, stderr %q", code, errOut)
	}
}

// sweepJSON is the part of -sweep -json the tests read.
type sweepJSON struct {
	Scenario       string
	Configurations int
	Recommended    string
	Tied           int `json:"tiedForLowest"`
	NoBreaker      struct {
		Cost    float64
		Summary struct{ Offered int }
	}
	Ranking []struct {
		Rank              int
		Recommended       bool
		Name              string
		Cost              float64
		GoodCallsRejected int
		FailedRequests    int
		Config            json.RawMessage
		Summary           struct {
			Offered    int
			FalseOpens int
			Opens      int
		}
	}
}

func TestSweep(t *testing.T) {
	code, out, errOut := runCmd(t, "-sweep", "-scenario", "flaky", "-grid", "ConsecutiveFailures=1,5;OpenTimeout=10s,30s", "-top", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The base, 6 presets, and 4 combinations of which one is the base.
	for _, want := range []string{
		"sweep of flaky: 10 configurations, the same traffic (seed 1, 10m0s) through each",
		"fault:  none (every open is a false open)",
		"cost:   1 × good calls rejected + failed requests, lowest first",
		"rank      cost  rejected  failed  detect  false  recover  configuration",
		"1*        4718         0    4718       -      0        -  base = ConsecutiveFailures=5 OpenTimeout=30s\n",
		"(7 more not shown)",
		"no breaker, for reference",
		"* recommended: base = ConsecutiveFailures=5 OpenTimeout=30s, the lowest cost, tied with",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("stderr: %q", errOut)
	}

	// Every configuration: the two that trip on one failure come last.
	code, out, errOut = runCmd(t, "-sweep", "-scenario", "flaky", "-grid", "ConsecutiveFailures=1,5;OpenTimeout=10s,30s", "-top", "0", "-json")
	if code != 0 {
		t.Fatalf("-json: exit %d: %s", code, errOut)
	}
	var v sweepJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if v.Scenario != "flaky" || v.Configurations != 10 || len(v.Ranking) != 10 || v.Recommended != v.Ranking[0].Name || !v.Ranking[0].Recommended {
		t.Fatalf("JSON = %+v", v)
	}
	for i, e := range v.Ranking {
		if e.Summary.Offered != v.NoBreaker.Summary.Offered || e.Summary.Offered == 0 {
			t.Errorf("%s: %d requests offered, the run without a breaker %d: not the same traffic",
				e.Name, e.Summary.Offered, v.NoBreaker.Summary.Offered)
		}
		touchy := strings.Contains(e.Name, "ConsecutiveFailures=1")
		if touchy != (i >= 8) {
			t.Errorf("rank %d is %s", e.Rank, e.Name)
		}
		if touchy && (e.Summary.FalseOpens == 0 || e.GoodCallsRejected == 0 || e.Cost <= v.NoBreaker.Cost) {
			t.Errorf("%s: %d false opens, %d good calls rejected, cost %g (no breaker %g)",
				e.Name, e.Summary.FalseOpens, e.GoodCallsRejected, e.Cost, v.NoBreaker.Cost)
		}
	}

	// A ranked config, saved, is a -config file: the single run agrees.
	last := v.Ranking[9]
	cfg := writeFile(t, "cfg.json", string(last.Config))
	code, out, errOut = runCmd(t, "-scenario", "flaky", "-config", cfg, "-json")
	if code != 0 {
		t.Fatalf("-config from the sweep: exit %d: %s", code, errOut)
	}
	var single struct {
		Runs []struct {
			Summary struct {
				FalseOpens        int
				GoodCallsRejected int
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &single); err != nil {
		t.Fatal(err)
	}
	if s := single.Runs[1].Summary; s.FalseOpens != last.Summary.FalseOpens || s.GoodCallsRejected != last.GoodCallsRejected {
		t.Errorf("%s run alone: %d false opens, %d good calls rejected; in the sweep %d, %d",
			last.Name, s.FalseOpens, s.GoodCallsRejected, last.Summary.FalseOpens, last.GoodCallsRejected)
	}
}

// The file form of the grid gives the same sweep as the flag form, and a
// sweep prints the same twice.
func TestSweepGridFile(t *testing.T) {
	file := writeFile(t, "grid.json", `{"ErrorRateThreshold": [0.2, 0.5], "MinRequests": [10, 50], "OpenTimeout": "5s"}`)
	args := []string{"-sweep", "-scenario", "error-burst", "-preset", "core", "-reject-weight", "0.5", "-top", "0"}
	code, fromFile, errOut := runCmd(t, append(args, "-grid-file", file)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, fromFlag, _ := runCmd(t, append(args, "-grid", "ErrorRateThreshold=0.2,0.5;MinRequests=10,50;OpenTimeout=5s")...)
	if fromFile != fromFlag {
		t.Errorf("-grid-file and -grid differ:\n%s\n%s", fromFile, fromFlag)
	}
	if _, again, _ := runCmd(t, append(args, "-grid-file", file)...); again != fromFile {
		t.Error("the same sweep printed two reports")
	}
	for _, want := range []string{"base = preset core", "cost:   0.5 × good calls rejected", "ErrorRateThreshold=0.2 MinRequests=50 OpenTimeout=5s"} {
		if !strings.Contains(fromFile, want) {
			t.Errorf("output lacks %q:\n%s", want, fromFile)
		}
	}
}

// Bad sweep input: exit 2, a message naming the flag, the field and the
// value, nothing on stdout.
func TestSweepBadInput(t *testing.T) {
	badFile := writeFile(t, "grid.json", `{"MinRequests": [10, "twenty"]}`)
	brokenFile := writeFile(t, "broken.json", `{"MinRequests": [10,`)
	var big []string
	for i := 1; i <= 32; i++ {
		big = append(big, fmt.Sprint(i))
	}
	bigGrid := "MinRequests=" + strings.Join(big, ",") + ";ConsecutiveFailures=" + strings.Join(big, ",")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"grid syntax", []string{"-sweep", "-grid", "OpenTimeout 5s"}, []string{"-grid: ", `axis = "OpenTimeout 5s"`, "Field=value"}},
		{"grid field", []string{"-sweep", "-grid", "Treshold=0.5"}, []string{"-grid: ", "Treshold", "unknown field", "ErrorRateThreshold"}},
		{"grid value", []string{"-sweep", "-grid", "MinRequests=10,ten"}, []string{"-grid: ", `MinRequests = "ten"`, "whole number"}},
		{"grid duration", []string{"-sweep", "-grid", "OpenTimeout=5s,30"}, []string{`OpenTimeout = "30"`, "not a duration"}},
		{"grid out of range", []string{"-sweep", "-grid", "ErrorRateThreshold=0.5,2"}, []string{"-sweep: ", "ErrorRateThreshold = 2", "(0, 1]", "1 of the 2 grid combinations"}},
		{"grid too big", []string{"-sweep", "-grid", bigGrid}, []string{"grid = 32 × 32 values", "1024 combinations", "limit of 1000"}},
		{"grid file value", []string{"-sweep", "-grid-file", badFile}, []string{"-grid-file: ", badFile, `MinRequests[1] = "twenty"`, "whole number"}},
		{"grid file syntax", []string{"-sweep", "-grid-file", brokenFile}, []string{brokenFile, "invalid JSON"}},
		{"grid file missing", []string{"-sweep", "-grid-file", "/nonexistent/grid.json"}, []string{"-grid-file", "/nonexistent/grid.json"}},
		{"two grids", []string{"-sweep", "-grid", "OpenTimeout=5s", "-grid-file", badFile}, []string{"-grid and -grid-file"}},
		{"negative top", []string{"-sweep", "-top", "-1"}, []string{"-top -1"}},
		{"negative weight", []string{"-sweep", "-reject-weight", "-1"}, []string{"-reject-weight -1", "between 0 and"}},
		{"NaN weight", []string{"-sweep", "-reject-weight", "NaN"}, []string{"-reject-weight NaN"}},
		{"grid without sweep", []string{"-grid", "OpenTimeout=5s"}, []string{"-grid: needs -sweep"}},
		{"grid file without sweep", []string{"-grid-file", badFile}, []string{"-grid-file: needs -sweep"}},
		{"top without sweep", []string{"-top", "5"}, []string{"-top: needs -sweep"}},
		{"weight without sweep", []string{"-reject-weight", "2"}, []string{"-reject-weight: needs -sweep"}},
		{"svg with sweep", []string{"-sweep", "-svg", filepath.Join(t.TempDir(), "c.svg")}, []string{"-svg: not with -sweep"}},
		{"ramp with sweep", []string{"-sweep", "-ramp", "10s"}, []string{"-ramp: not with -sweep", "RampDuration"}},
		{"unknown scenario", []string{"-sweep", "-scenario", "nope"}, []string{`"nope"`, "valid: brownout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("bad input printed to stdout: %q", out)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not mention %q", errOut, w)
				}
			}
		})
	}
}
