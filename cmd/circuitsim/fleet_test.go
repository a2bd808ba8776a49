package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestFleetRun(t *testing.T) {
	code, out, errOut := runCmd(t, "fleet")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"fleet: 20 replicas", "0.2 req/s per replica (poisson, seed 1) for 5m0s",
		"from 1:00 to 3:00", "propagation", "failed calls", "first open", "all open", "probes/round",
		"closed after", "rejected after", "\nper-replica ", "\nfleet ", "\nfleet+window ", "calls through to the dead dependency"} {
		if !strings.Contains(out, want) && !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The fleet modes probe once per round; the table says so.
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 8 && strings.HasPrefix(f[0], "fleet") && f[5] != "1.0" {
			t.Errorf("row %q: probes/round %s, want 1.0", l, f[5])
		}
	}
}

func TestFleetFlags(t *testing.T) {
	code, out, errOut := runCmd(t, "fleet", "-replicas", "5", "-rate", "2", "-propagation", "1s",
		"-fault-start", "30s", "-fault-end", "6m", "-latency", "5ms", "-flush", "1s", "-window", "5s",
		"-min-replicas", "2", "-seed", "3", "-preset", "auth")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Without -duration the run lasts two minutes past the fault.
	for _, want := range []string{"fleet: 5 replicas", "2 req/s per replica (poisson, seed 3) for 8m0s",
		"takes 5ms", "from 0:30 to 6:00", "1s later", "every 1s over 5s", "from 2 replicas", "open 15s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	cfg := writeFile(t, "c.json", `{"ConsecutiveFailures": 2, "SuccessThreshold": 1}`)
	if code, out, errOut = runCmd(t, "fleet", "-config", cfg, "-duration", "4m"); code != exitOK {
		t.Fatalf("-config: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "trips on 2 consecutive failures") || !strings.Contains(out, "for 4m0s") {
		t.Errorf("-config/-duration not applied:\n%s", out)
	}
}

func TestFleetSameSeedSameOutput(t *testing.T) {
	_, a, _ := runCmd(t, "fleet", "-seed", "5")
	_, b, _ := runCmd(t, "fleet", "-seed", "5")
	if a != b || a == "" {
		t.Error("the same seed printed different reports")
	}
	_, c, _ := runCmd(t, "fleet", "-seed", "6")
	if a == c {
		t.Error("seeds 5 and 6 printed the same report")
	}
	_, j1, _ := runCmd(t, "fleet", "-json", "-seed", "5")
	_, j2, _ := runCmd(t, "fleet", "-json", "-seed", "5")
	if j1 != j2 {
		t.Error("the same seed printed different JSON")
	}
}

func TestFleetJSONOutput(t *testing.T) {
	code, out, errOut := runCmd(t, "fleet", "-json", "-replicas", "8")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Replicas      int     `json:"replicas"`
		PropagationMs float64 `json:"propagationMs"`
		Runs          []struct {
			Mode           string   `json:"mode"`
			ProbesPerRound *float64 `json:"probesPerRound"`
		} `json:"runs"`
		Reading string `json:"reading"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if v.Replicas != 8 || v.PropagationMs != 500 || len(v.Runs) != 3 || v.Runs[1].Mode != "fleet" || v.Reading == "" {
		t.Errorf("JSON = %+v", v)
	}
	if p := v.Runs[1].ProbesPerRound; p == nil || *p != 1 {
		t.Errorf("fleet probesPerRound = %v, want 1", p)
	}
}

func TestFleetBadInput(t *testing.T) {
	missing := writeFile(t, "x", "") + ".missing"
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-replicas", "0"}, []string{"circuitsim fleet: -replicas 0: must be from 1 to 1000"}},
		{[]string{"-rate", "-1"}, []string{"-rate -1: must be a positive number"}},
		{[]string{"-rate", "5000"}, []string{"requests per mode; at most 1000000 (lower the replicas, the rate or the duration)"}},
		{[]string{"-fault-start", "2m", "-fault-end", "1m"}, []string{"-fault-end 1m0s: must be after the fault's start (2m0s)"}},
		{[]string{"-fault-end", "10m", "-duration", "5m"}, []string{"-fault-end 10m0s: must be before the end of the run (5m0s)"}},
		{[]string{"-propagation", "40s"}, []string{"-propagation 40s: must be shorter than the breaker's OpenTimeout (30s)"}},
		{[]string{"-min-replicas", "30"}, []string{"-min-replicas 30: must be from 1 to the number of replicas (20)"}},
		{[]string{"-window", "1ms"}, []string{"-window 1ms: must be from the flush interval (250ms)"}},
		{[]string{"-replicas", "0", "-latency", "-1s"}, []string{"-replicas 0:", "-latency -1s:"}},
		{[]string{"-preset", "nope"}, []string{"-preset: unknown preset \"nope\" (valid: analytics"}},
		{[]string{"-config", missing}, []string{"-config: open " + missing}},
		{[]string{"-config", writeFile(t, "t.json", `{"OpenTimeout": "0s"}`)}, []string{"t.json: OpenTimeout = \"0s\": must be positive"}},
		{[]string{"-nope"}, []string{"flag provided but not defined: -nope", "-replicas int"}},
		{[]string{"-rate", "lots"}, []string{"invalid value \"lots\" for flag -rate"}},
		{[]string{"db-slowdown"}, []string{"unexpected arguments [\"db-slowdown\"]: the fleet scenario takes flags only"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, append([]string{"fleet"}, c.args...)...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d", code, exitBadInput)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

func TestFleetHelp(t *testing.T) {
	code, out, errOut := runCmd(t, "fleet", "-h")
	if code != exitOK || out != "" || !strings.Contains(errOut, "usage: circuitsim fleet [flags]") ||
		!strings.Contains(errOut, "-propagation") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// docs/fleet-sim.md quotes the default run: it must be what the command
// prints today. Regenerate with
//
//	go run ./cmd/circuitsim fleet   (then paste into docs/fleet-sim.md)
func TestFleetDocsShowTheDefaultRun(t *testing.T) {
	page, err := os.ReadFile("../../docs/fleet-sim.md")
	if err != nil {
		t.Fatal(err)
	}
	const open = "\n```text\n"
	i := strings.Index(string(page), open)
	if i < 0 {
		t.Fatal("docs/fleet-sim.md has no text block for the default run")
	}
	block := string(page[i+len(open):])
	block = block[:strings.Index(block, "```\n")]
	code, out, errOut := runCmd(t, "fleet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if block != out {
		n := diffLine(block, out)
		t.Errorf("docs/fleet-sim.md's default run differs from the command's output, first at line %d:\ndocs: %q\nrun:  %q",
			n, lineAt(block, n), lineAt(out, n))
	}
}
