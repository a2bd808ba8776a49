package sim_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

func handResult(t *testing.T) *sim.Result {
	t.Helper()
	sc := sim.Scenario{
		Name: "tiny", Description: "by hand", Duration: 14 * time.Second, Interval: 5 * time.Second,
		Rate: 1, Arrivals: "uniform", Workers: 1,
		Phases: []sim.Phase{
			{Start: 0, Latency: 100 * ms},
			{Start: 5 * time.Second, Latency: 100 * ms, ErrorRate: 1, Fault: true},
			{Start: 9 * time.Second, Latency: 100 * ms},
		},
	}
	res, err := sim.Run(sc, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sim.WriteText(&b, handResult(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// The rows are the hand-computed intervals of TestRunHandComputed.
	for _, re := range []string{
		`(?m)^ 0:05 +5 \| +1 +4 +1 +0 +100ms \| +1 +2 +2 +1 +0 +100ms +closed\*$`,
		`(?m)^ 0:10 +4 \| +4 +0 +1 +0 +100ms \| +4 +0 +0 +1 +0 +100ms +closed$`,
		`(?m)^time to detect \(first open\) +- +1\.1s$`,
		`(?m)^time to recover \(closed again\) +- +100ms$`,
		`(?m)^calls spared +- +2$`,
		`(?m)^goodput \(full answers/s\) +0\.7 +0\.7\n  during the fault +0\.0 +0\.0$`,
		`(?m)^served, fallbacks included \(/s\) +0\.7 +0\.9\n  during the fault +0\.0 +0\.5$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("report does not match %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, " \n") {
		t.Error("report has trailing spaces")
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWritersReturnWriteErrors(t *testing.T) {
	res := handResult(t)
	// Text and SVG fail after a few writes; JSON is written in one.
	for name, write := range map[string]func(io.Writer, *sim.Result) error{
		"text": sim.WriteText, "svg": sim.WriteSVG, "json": sim.WriteJSON,
	} {
		n := 3
		if name == "json" {
			n = 0
		}
		if err := write(&failWriter{n: n}, res); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: error = %v, want the write error", name, err)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	res := handResult(t)
	var b bytes.Buffer
	if err := sim.WriteSVG(&b, res); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, with the parts the README promises.
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	counts := map[string]int{}
	fills := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if a.Name.Local == "fill" {
					fills[a.Value]++
				}
			}
		}
	}
	if counts["svg"] != 1 {
		t.Errorf("%d svg elements", counts["svg"])
	}
	// Offered, served with the breaker, goodput and p99 for both runs.
	if counts["polyline"] != 6 {
		t.Errorf("%d polylines, want 6 (offered, served with the breaker, goodput and p99 for both runs)", counts["polyline"])
	}
	// The state strip: closed 0-6.1s, open 6.1-8.1s, half-open 8.1-9.1s,
	// closed 9.1-14s, plus one legend swatch per color.
	if fills["#d62728"] < 2 || fills["#ff9f1c"] < 2 || fills["#2ca02c"] < 3 {
		t.Errorf("state fills = %v, want the open, half-open and two closed spans", fills)
	}
	if !strings.Contains(b.String(), "tiny") {
		t.Error("chart does not name the scenario")
	}
}

func TestWriteSVGEscapesText(t *testing.T) {
	res := handResult(t)
	res.Scenario.Name = `<b>&"x"`
	requireWellFormedSVG(t, res)
}

// requireWellFormedSVG writes res's chart and fails unless it parses as XML.
func requireWellFormedSVG(t *testing.T, res *sim.Result) {
	t.Helper()
	var b bytes.Buffer
	if err := sim.WriteSVG(&b, res); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("scenario name %q broke the XML: %v", res.Scenario.Name, err)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	res := handResult(t)
	var b bytes.Buffer
	if err := sim.WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Scenario string
		Seed     uint64
		Config   map[string]any
		Runs     []struct {
			Label   string
			Summary map[string]any
		}
		FaultGoodputRatio *float64
		Ramp              any
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b.String())
	}
	if got.Scenario != "tiny" || got.Seed != 1 || len(got.Runs) != 2 {
		t.Fatalf("decoded %+v", got)
	}
	if got.Config["OpenTimeout"] != "2s" {
		t.Errorf("config OpenTimeout = %v, want \"2s\"", got.Config["OpenTimeout"])
	}
	brk := got.Runs[1].Summary
	for k, want := range map[string]any{
		"callsSpared": 2.0, "timeToDetectMs": 1100.0, "timeToRecoverMs": 100.0, "ok": 10.0, "fallbacks": 2.0,
		// One outage, 6.1s to 9.1s; calls at 9s to 13s in the 5s after the fault.
		"reTrips": 0.0, "meanTimeToRecoveryMs": 3000.0, "outagesRecovered": 1.0, "recoveryCalls": 5.0,
		"recoveryCallsPerSecond": 1.0, "falsePositiveRate": 0.0, "fallbackSuccessRate": 1.0, "fallbacksInTime": 2.0,
		"saturatedIntervals": 3.0, "cascadesPrevented": 0.0,
	} {
		if brk[k] != want {
			t.Errorf("with breaker %s = %v, want %v", k, brk[k], want)
		}
	}
	for _, k := range []string{"timeToDetectMs", "falsePositiveRate", "fallbackSuccessRate", "meanTimeToRecoveryMs"} {
		if v, ok := got.Runs[0].Summary[k]; !ok || v != nil {
			t.Errorf("no breaker %s = %v, want null", k, v)
		}
	}
	if got.Ramp != nil {
		t.Errorf("ramp = %v, want null without a ramp", got.Ramp)
	}
	// The no-breaker run had no good answers in the fault: no ratio.
	if got.FaultGoodputRatio != nil {
		t.Errorf("faultGoodputRatio = %v, want null (division by zero)", *got.FaultGoodputRatio)
	}
}

// With a ramp, the JSON carries the comparison run under "ramp".
func TestWriteJSONRamp(t *testing.T) {
	sc := handResult(t).Scenario
	sc.Ramp = &sim.Ramp{Duration: time.Second, Start: 0.5}
	res, err := sim.Run(sc, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := sim.WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Config struct{ RampDuration string }
		Ramp   *struct {
			Config struct {
				RampDuration string
				RampStart    float64
			}
			Run struct {
				Label   string
				Summary map[string]any
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Config.RampDuration != "0s" || got.Ramp == nil {
		t.Fatalf("config RampDuration %q, ramp %+v; want 0s and a ramp run", got.Config.RampDuration, got.Ramp)
	}
	if c := got.Ramp.Config; c.RampDuration != "1s" || c.RampStart != 0.5 || got.Ramp.Run.Label != "with ramp" {
		t.Errorf("ramp config %+v, label %q", c, got.Ramp.Run.Label)
	}
	if got.Ramp.Run.Summary["timeToDetectMs"] != 1100.0 {
		t.Errorf("ramp run detects at %v, want 1100 (the ramp changes only what follows a close)", got.Ramp.Run.Summary["timeToDetectMs"])
	}
	var text bytes.Buffer
	if err := sim.WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "\nthe ramp ") || !strings.Contains(text.String(), "1s from 50%") {
		t.Errorf("the text report lacks the ramp comparison:\n%s", text.String())
	}
	if got := sim.FormatConfig(res.RampConfig); !strings.HasSuffix(got, "; ramp 1s from 50%") {
		t.Errorf("FormatConfig of the ramp run = %q, want the ramp at the end", got)
	}
}

func TestFormatConfig(t *testing.T) {
	got := sim.FormatConfig(circuit.DefaultConfig())
	want := "trips on 5 consecutive failures or 50% errors or p95 >= 5s over 100 calls (min 10); open 30s; 1 probe(s), 3 to close"
	if got != want {
		t.Errorf("FormatConfig(default) = %q\nwant %q", got, want)
	}
}

func TestWrapText(t *testing.T) {
	cases := []struct {
		s      string
		width  int
		indent string
		want   string
	}{
		{"a bb ccc", 100, "", "a bb ccc"},
		{"a bb ccc dddd", 6, "", "a bb\nccc\ndddd"},
		{"a bb ccc", 6, "  ", "a bb\n  ccc"},
		{"averyveryverylongword b", 5, "", "averyveryverylongword\nb"},
		{"  spaced   out  ", 100, "", "spaced out"},
		{"", 10, "", ""},
	}
	for _, c := range cases {
		if got := sim.WrapText(c.s, c.width, c.indent); got != c.want {
			t.Errorf("WrapText(%q, %d, %q) = %q, want %q", c.s, c.width, c.indent, got, c.want)
		}
	}
}

func TestWriteSVGDropsControlCharacters(t *testing.T) {
	res := handResult(t)
	res.Scenario.Name = "\x01<x>\x1b"
	requireWellFormedSVG(t, res)
}
