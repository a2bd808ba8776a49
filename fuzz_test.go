package circuit_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/breakerlab/circuit"
)

// FuzzConfig feeds arbitrary field values to Validate and New: neither may
// panic, every valid Config builds a working breaker (through WithConfig
// and through the single-field options alike), and every invalid one is
// refused with one *ConfigError per bad field, each wrapping
// ErrInvalidConfig and naming the field and its value.
func FuzzConfig(f *testing.F) {
	add := func(c circuit.Config) {
		f.Add(c.Name, c.ConsecutiveFailures, c.ErrorRateThreshold, c.WindowSize, c.MinRequests,
			int64(c.LatencyThreshold), c.LatencyPercentile, int64(c.OpenTimeout),
			c.HalfOpenMaxProbes, c.SuccessThreshold, int64(c.CallTimeout),
			int64(c.WindowDuration), c.OpenBackoff, int64(c.OpenTimeoutMax), c.OpenJitter, int64(c.ProbeTimeout),
			int64(c.RampDuration), c.RampStart)
	}
	add(circuit.DefaultConfig())
	add(circuit.Config{})
	for _, name := range circuit.PresetNames() {
		c, err := circuit.Preset(name)
		if err != nil {
			f.Fatal(err)
		}
		add(c)
	}
	edge := circuit.DefaultConfig()
	edge.WindowSize, edge.MinRequests = 1, 1
	edge.ErrorRateThreshold, edge.LatencyPercentile = 1, math.SmallestNonzeroFloat64
	edge.HalfOpenMaxProbes, edge.OpenTimeout = circuit.MaxHalfOpenProbes, 1
	add(edge)
	bad := circuit.Config{
		Name: "bad", ConsecutiveFailures: -1, ErrorRateThreshold: math.NaN(), WindowSize: circuit.MaxWindowSize + 1,
		MinRequests: -1, LatencyThreshold: -1, LatencyPercentile: 1, OpenTimeout: -time.Second,
		HalfOpenMaxProbes: circuit.MaxHalfOpenProbes + 1, SuccessThreshold: 0, CallTimeout: -1,
	}
	add(bad)
	bad.WindowDuration, bad.OpenBackoff, bad.OpenTimeoutMax, bad.OpenJitter, bad.ProbeTimeout = time.Microsecond, 0.5, -1, 1, -1
	add(bad)
	timed := circuit.DefaultConfig()
	timed.WindowSize, timed.WindowDuration, timed.MinRequests = 0, time.Minute, 20
	timed.OpenBackoff, timed.OpenTimeoutMax, timed.OpenJitter, timed.ProbeTimeout = 2, 10*time.Minute, 0.2, time.Minute
	timed.RampDuration, timed.RampStart = time.Minute, 0.1
	add(timed)
	bad.WindowSize, bad.MinRequests, bad.ErrorRateThreshold, bad.LatencyPercentile = 10, 11, math.Inf(1), math.NaN()
	add(bad)
	bad.WindowSize, bad.MinRequests, bad.ErrorRateThreshold, bad.LatencyPercentile = 0, 5, -0.5, math.Inf(-1)
	add(bad)

	f.Fuzz(func(t *testing.T, name string, consecutive int, rate float64, window, minRequests int,
		latency int64, percentile float64, openTimeout int64, probes, successes int, callTimeout int64,
		windowDuration int64, backoff float64, openTimeoutMax int64, jitter float64, probeTimeout int64,
		rampDuration int64, rampStart float64) {
		c := circuit.Config{
			Name: name, ConsecutiveFailures: consecutive, ErrorRateThreshold: rate, WindowSize: window,
			MinRequests: minRequests, LatencyThreshold: time.Duration(latency), LatencyPercentile: percentile,
			OpenTimeout: time.Duration(openTimeout), HalfOpenMaxProbes: probes, SuccessThreshold: successes,
			CallTimeout: time.Duration(callTimeout), WindowDuration: time.Duration(windowDuration),
			OpenBackoff: backoff, OpenTimeoutMax: time.Duration(openTimeoutMax), OpenJitter: jitter,
			ProbeTimeout: time.Duration(probeTimeout), RampDuration: time.Duration(rampDuration), RampStart: rampStart,
		}
		must, may := invalidFields(c)

		err := c.Validate()
		checkConfigError(t, "Validate", c, err, must, may)

		b, err := circuit.New[int](circuit.WithConfig(c), circuit.WithClock(newStepClock()))
		checkConfigError(t, "New(WithConfig)", c, err, must, may)
		if (b == nil) == (err == nil) {
			t.Fatalf("New = (%v, %v): want exactly one of a breaker and an error", b, err)
		}

		// The single-field options build the same Config.
		b2, err := circuit.New[int](
			circuit.WithName(name), circuit.WithConsecutiveFailures(consecutive), circuit.WithErrorRateThreshold(rate),
			circuit.WithWindowSize(window), circuit.WithMinRequests(minRequests),
			circuit.WithLatencyThreshold(time.Duration(latency)), circuit.WithLatencyPercentile(percentile),
			circuit.WithOpenTimeout(time.Duration(openTimeout)), circuit.WithHalfOpenMaxProbes(probes),
			circuit.WithSuccessThreshold(successes), circuit.WithCallTimeout(time.Duration(callTimeout)),
			circuit.WithWindowDuration(time.Duration(windowDuration)), circuit.WithOpenBackoff(backoff),
			circuit.WithOpenTimeoutMax(time.Duration(openTimeoutMax)), circuit.WithOpenJitter(jitter),
			circuit.WithProbeTimeout(time.Duration(probeTimeout)),
			circuit.WithRampDuration(time.Duration(rampDuration)), circuit.WithRampStart(rampStart),
			circuit.WithClock(newStepClock()))
		checkConfigError(t, "New(With...)", c, err, must, may)

		if b == nil {
			return
		}
		if got := b.Config(); got != c || b2.Config() != c {
			t.Fatalf("Config() = %+v / %+v, want %+v", got, b2.Config(), c)
		}
		// It round-trips through JSON exactly.
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("json.Marshal(%+v): %v", c, err)
		}
		var back circuit.Config
		if err := json.Unmarshal(data, &back); err != nil || back != c {
			t.Fatalf("JSON round trip of %+v via %s = %+v, %v", c, data, back, err)
		}
		// A valid config gives a working breaker.
		if _, err := b.Execute(context.Background(), okFn); err != nil || b.State() != circuit.Closed {
			t.Fatalf("a fresh breaker: Execute = %v, State = %v", err, b.State())
		}
		if m := b.Metrics(); m.Successes != 1 || m.Name != name {
			t.Fatalf("Metrics after one success: %+v", m)
		}
		checkTripHolds(t, c)
	})
}

// checkTripHolds checks that a breaker built from c, tripped an hour
// after it was created, is open from that instant until exactly its
// RetryAt, which is OpenTimeout later (spread by OpenJitter), whatever the
// OpenTimeout.
func checkTripHolds(t *testing.T, c circuit.Config) {
	t.Helper()
	clk := newStepClock()
	b, err := circuit.New[int](circuit.WithConfig(c), circuit.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	tripped := clk.Now()
	b.Trip(circuit.ReasonManual)
	m := b.Metrics()
	if m.State != circuit.Open || !m.StateSince.Equal(tripped) {
		t.Fatalf("after Trip at %v: %v since %v, want open since then", tripped, m.State, m.StateSince)
	}
	var oe *circuit.OpenError
	if _, err := b.Execute(context.Background(), okFn); !errors.As(err, &oe) || oe.State != circuit.Open {
		t.Fatalf("Execute on a tripped breaker = %v, want an open rejection", err)
	}
	// The first open period is OpenTimeout, spread by at most OpenJitter.
	lo := time.Duration(float64(c.OpenTimeout) * (1 - c.OpenJitter))
	hi := time.Duration(float64(c.OpenTimeout) * (1 + c.OpenJitter))
	if d := oe.RetryAt.Sub(tripped); (c.OpenJitter == 0 && d != c.OpenTimeout) || d < lo-1 || d > hi+1 {
		t.Fatalf("RetryAt = %v after the trip, want OpenTimeout %v ± %v", d, c.OpenTimeout, c.OpenJitter)
	}
	clk.Add(oe.RetryAt.Sub(tripped) - 1)
	if s := b.State(); s != circuit.Open {
		t.Fatalf("1ns before RetryAt: %v, want open", s)
	}
	clk.Add(1)
	if m := b.Metrics(); m.State != circuit.HalfOpen || !m.StateSince.Equal(oe.RetryAt) {
		t.Fatalf("at RetryAt: %v since %v, want half-open since %v", m.State, m.StateSince, oe.RetryAt)
	}
}

// TestHugeOpenTimeout: OpenTimeout is valid up to circuit.MaxOpenTimeout (a
// user may mean "recover only by Reset"), so the end of the open period and
// the probe deadline must not overflow.
//
// Found by this suite: with OpenTimeout = math.MaxInt64 and a Trip one
// hour after New, opened+OpenTimeout wraps negative, so the breaker is at
// once half-open, with transitions dated 1733 (StateSince goes backwards),
// and admits a call it should reject. Fixed by bounding OpenTimeout to a
// century in Validate (beyond that the end of an open period is not
// representable from the breaker's creation) and saturating the additions.
func TestHugeOpenTimeout(t *testing.T) {
	c := circuit.DefaultConfig()
	c.OpenTimeout = circuit.MaxOpenTimeout
	checkTripHolds(t, c)
	c.OpenTimeout = math.MaxInt64
	if err := c.Validate(); !errors.Is(err, circuit.ErrInvalidConfig) {
		t.Fatalf("Validate(OpenTimeout = MaxInt64) = %v, want an invalid-config error", err)
	}
	// A probe admitted an hour later must not time out at once either.
	clk := newStepClock()
	c.OpenTimeout = circuit.MaxOpenTimeout
	b, err := circuit.New[int](circuit.WithConfig(c), circuit.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	b.Trip(circuit.ReasonManual)
	if !b.EndOpen(circuit.ReasonHealthRecovered) {
		t.Fatal("ForceHalfOpen on an open breaker did nothing")
	}
	clk.Add(2 * time.Hour)
	permit, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	defer permit.Done(0, nil)
	if m := b.Metrics(); m.State != circuit.HalfOpen || m.Transitions != 2 {
		t.Fatalf("a probe admitted 2h after New timed out at once: %v after %d transitions", m.State, m.Transitions)
	}
}

// invalidFields is the oracle for Validate, read off the Config docs:
// must holds the fields that are invalid on their own; may holds
// MinRequests when it exceeds a WindowSize that is itself invalid (below 1),
// where naming it is optional.
func invalidFields(c circuit.Config) (must, may []string) {
	bad := func(cond bool, field string) {
		if cond {
			must = append(must, field)
		}
	}
	bad(!utf8.ValidString(c.Name), "Name")
	bad(c.ConsecutiveFailures < 0, "ConsecutiveFailures")
	bad(math.IsNaN(c.ErrorRateThreshold) || c.ErrorRateThreshold < 0 || c.ErrorRateThreshold > 1, "ErrorRateThreshold")
	bad(c.WindowSize < 0 || (c.WindowSize == 0 && c.WindowDuration == 0) || c.WindowSize > circuit.MaxWindowSize, "WindowSize")
	bad(c.WindowDuration < 0 || (c.WindowDuration > 0 && c.WindowDuration < time.Millisecond) || c.WindowDuration > circuit.MaxOpenTimeout, "WindowDuration")
	bad(c.MinRequests < 0 || (c.WindowSize >= 1 && c.MinRequests > c.WindowSize), "MinRequests")
	bad(c.LatencyThreshold < 0, "LatencyThreshold")
	bad(math.IsNaN(c.LatencyPercentile) || c.LatencyPercentile <= 0 || c.LatencyPercentile >= 1, "LatencyPercentile")
	bad(c.OpenTimeout <= 0 || c.OpenTimeout > circuit.MaxOpenTimeout, "OpenTimeout")
	bad(c.HalfOpenMaxProbes < 1 || c.HalfOpenMaxProbes > circuit.MaxHalfOpenProbes, "HalfOpenMaxProbes")
	bad(c.SuccessThreshold < 1, "SuccessThreshold")
	bad(c.CallTimeout < 0, "CallTimeout")
	bad(math.IsNaN(c.OpenBackoff) || math.IsInf(c.OpenBackoff, 0) || c.OpenBackoff < 0 || (c.OpenBackoff > 0 && c.OpenBackoff < 1), "OpenBackoff")
	bad(c.OpenTimeoutMax < 0 || c.OpenTimeoutMax > circuit.MaxOpenTimeout ||
		(c.OpenTimeoutMax > 0 && c.OpenTimeoutMax < c.OpenTimeout), "OpenTimeoutMax")
	bad(math.IsNaN(c.OpenJitter) || c.OpenJitter < 0 || c.OpenJitter >= 1, "OpenJitter")
	bad(c.ProbeTimeout < 0 || c.ProbeTimeout > circuit.MaxOpenTimeout, "ProbeTimeout")
	bad(c.RampDuration < 0 || c.RampDuration > circuit.MaxOpenTimeout, "RampDuration")
	bad(math.IsNaN(c.RampStart) || c.RampStart < 0 || c.RampStart >= 1, "RampStart")
	return must, may
}

// checkConfigError checks err against the oracle's fields.
func checkConfigError(t *testing.T, what string, c circuit.Config, err error, must, may []string) {
	t.Helper()
	if len(must) == 0 {
		if err != nil {
			t.Fatalf("%s(%+v) = %v, want nil", what, c, err)
		}
		return
	}
	if err == nil || !errors.Is(err, circuit.ErrInvalidConfig) {
		t.Fatalf("%s(%+v) = %v, want an error wrapping ErrInvalidConfig naming %v", what, c, err, must)
	}
	var got []string
	for _, ce := range configErrors(err) {
		if !errors.Is(ce, circuit.ErrInvalidConfig) {
			t.Fatalf("%s: %v does not wrap ErrInvalidConfig", what, ce)
		}
		if msg := ce.Error(); !strings.HasPrefix(msg, "circuit: invalid config: "+ce.Field+" = ") {
			t.Fatalf("%s: %q does not name the field %s", what, msg, ce.Field)
		}
		v := reflect.ValueOf(c).FieldByName(ce.Field)
		if !v.IsValid() {
			t.Fatalf("%s: ConfigError names %q, which is not a Config field", what, ce.Field)
		}
		if want := v.Interface(); !reflect.DeepEqual(ce.Value, want) && !bothNaN(ce.Value, want) {
			t.Fatalf("%s: ConfigError{%s}.Value = %#v, want %#v", what, ce.Field, ce.Value, want)
		}
		got = append(got, ce.Field)
	}
	want := append([]string(nil), must...)
	for _, f := range may {
		for _, g := range got {
			if g == f {
				want = append(want, f)
				break
			}
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s(%+v) names %v, want %v (error: %v)", what, c, got, want, err)
	}
}

func bothNaN(a, b any) bool {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	return ok1 && ok2 && math.IsNaN(x) && math.IsNaN(y)
}

// configErrors flattens the *ConfigErrors in err's tree.
func configErrors(err error) []*circuit.ConfigError {
	switch e := err.(type) {
	case *circuit.ConfigError:
		return []*circuit.ConfigError{e}
	case interface{ Unwrap() []error }:
		var out []*circuit.ConfigError
		for _, x := range e.Unwrap() {
			out = append(out, configErrors(x)...)
		}
		return out
	case interface{ Unwrap() error }:
		return configErrors(e.Unwrap())
	}
	return nil
}

// FuzzSequence decodes bytes into a valid Config and an operation sequence
// (see decodeSequence) and runs it through the model runner, which asserts the
// invariants after every step: the breaker agrees with the reference model;
// calls are conserved; State and Metrics agree; StateSince never goes
// backwards; the hooks see a valid path of transitions, in order.
func FuzzSequence(f *testing.F) {
	f.Add([]byte{})
	// Three failures in a row trip; probes time out; a probe succeeds.
	f.Add([]byte{3, 0, 9, 0, 0, 0, 9, 0, 0, 0,
		byte(opExec), byte(outFail), byte(opExec), byte(outFail), byte(opExec), byte(outFail),
		byte(opAdvance), 10, byte(opAllow), 0, byte(opAdvance), 10, byte(opExec), 0,
		byte(opDone), byte(outOK), byte(opMetrics), 0})
	// Two probes, one abandoned, a Trip and a Reset in between.
	f.Add([]byte{1, 5, 3, 2, 9, 2, 4, 1, 1, 1,
		byte(opExec), byte(outDeadline), byte(opAdvance), 5, byte(opAllow), 0, byte(opAllow), 0,
		byte(opTrip), 0, byte(opDone), 1, byte(opAdvance), 9, byte(opReset), 0,
		byte(opExec), byte(outPanic), byte(opState), 0})
	// Reconfigure amid probes: three probe slots, then one while three
	// probes are in flight (the ProbeTimeout kept): no probe is admitted
	// until two have reported, and three successes close the breaker.
	f.Add([]byte{1, 0, 4, 0, 0, 0, 9, 0, 2, 0,
		byte(opExec), byte(outFail), byte(opAdvance), 10, byte(opAllow), 0,
		byte(opReconfigure), reconfProbesUp, byte(opAllow), 0, byte(opAllow), 0,
		byte(opReconfigure), reconfProbesDown + 2*numReconf, byte(opAllow), 0,
		byte(opDone), byte(outOK), byte(opAllow), 0, byte(opDone), 1*byte(numOutcomes) + byte(outOK),
		byte(opAllow), 0, byte(opDone), 2*byte(numOutcomes) + byte(outOK), byte(opState), 0})
	// Reconfigure the latency criterion with slow calls in flight: the
	// window and the slow calls are forgotten, a call in flight is judged
	// slow by the new threshold, and back to the base clears it again.
	f.Add([]byte{0, 5, 9, 2, 9, 0, 19, 0, 0, 0,
		byte(opExec), byte(outOK), byte(opExec), byte(outOK), byte(opExec), byte(outOK),
		byte(opAllow), 0, byte(opAllow), 0, byte(opAdvance), 15, byte(opMetrics), 0,
		byte(opReconfigure), reconfLatency, byte(opState), 0,
		byte(opDone), byte(outOK), byte(opExec), byte(outOK),
		byte(opReconfigure), reconfBase, byte(opMetrics), 0})
	// Reconfigure during a ramp (it ends), with a call in flight across a
	// shorter CallTimeout (it fails by the new one), then thresholds that
	// keep the window, two refused Configs and the base under an empty
	// Name.
	f.Add([]byte{2, 0, 4, 32, 244, 12, 4, 0, 0, 0,
		byte(opExec), byte(outFail), byte(opExec), byte(outFail), byte(opAdvance), 5,
		byte(opExec), byte(outOK), byte(opExec), byte(outOK), byte(opExec), byte(outOK), byte(opExec), byte(outOK),
		byte(opAdvance), 3, byte(opMetrics), 0, byte(opReconfigure), reconfRamp, byte(opExec), byte(outOK),
		byte(opAllow), 0, byte(opReconfigure), reconfCallTimeout, byte(opAdvance), 3,
		byte(opDone), byte(outOK), byte(opReconfigure), reconfThresholds, byte(opExec), byte(outFail),
		byte(opMetrics), 0, byte(opReconfigure), reconfInvalid, byte(opReconfigure), reconfInvalid + numReconf,
		byte(opReconfigure), reconfBase + numReconf, byte(opState), 0})
	// Reconfigure to a shorter ProbeTimeout while a probe has run longer:
	// it times out at the reconfiguration, not back when the old
	// ProbeTimeout was in force; then a probe closes the breaker.
	f.Add([]byte{1, 0, 4, 0, 0, 0, 9, 0, 0, 0,
		byte(opExec), byte(outFail), byte(opAdvance), 10, byte(opReconfigure), reconfProbesUp,
		byte(opAllow), 0, byte(opAdvance), 15, byte(opReconfigure), reconfBase, byte(opState), 0,
		byte(opAdvance), 10, byte(opExec), byte(outOK), byte(opDone), byte(outOK), byte(opMetrics), 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, fallback, ops := decodeSequence(data)
		runSequence(t, cfg, fallback, ops)
	})
}

// decodeSequence turns fuzzer bytes into a valid Config (the first 10 bytes,
// zero-padded) and up to 500 operations (two bytes each: kind, argument).
func decodeSequence(data []byte) (circuit.Config, bool, []op) {
	var h [10]byte
	copy(h[:], data)
	rates := []float64{0, 0.1, 0.2, 0.25, 1.0 / 3, 0.5, 0.6, 2.0 / 3, 0.75, 0.9, 1}
	c := circuit.Config{
		ConsecutiveFailures: int(h[0] % 6),
		ErrorRateThreshold:  rates[int(h[1])%len(rates)],
		WindowSize:          int(h[2]%12) + 1,
		LatencyPercentile:   genPercentiles[int(h[5])%len(genPercentiles)],
		OpenTimeout:         time.Duration(h[6]%40+1) * time.Millisecond,
		HalfOpenMaxProbes:   int(h[7]%3) + 1,
		SuccessThreshold:    int(h[8]%3) + 1,
	}
	if h[2] >= 240 {
		c.WindowSize = 25 // where decimal and float64 percentile ranks differ
	}
	c.MinRequests = int(h[3]) % (c.WindowSize + 1)
	if h[4]%4 != 0 {
		c.LatencyThreshold = time.Duration(h[4]%30+1) * time.Millisecond
	}
	if h[9]&2 != 0 {
		c.Name = "svc"
	}
	// The high bits of the header choose the v1 features, so that older
	// corpus entries (zero there) keep the count window and no backoff.
	switch (h[9] >> 2) % 6 {
	case 1:
		c.WindowDuration = time.Duration(h[0]/6%80+1) * time.Millisecond
	case 2:
		c.WindowDuration = time.Duration(h[0]/6%80+1) * time.Millisecond
		c.WindowSize = 0
	}
	c.OpenBackoff = []float64{0, 1.5, 2, 3}[(h[9]>>5)%4]
	c.OpenJitter = []float64{0, 0.1, 0.5, 0.99}[h[6]/40%4]
	if h[7]/3%2 == 1 {
		c.OpenTimeoutMax = c.OpenTimeout + time.Duration(h[7]/6%50)*time.Millisecond
	}
	if h[8]/3%3 != 0 {
		c.ProbeTimeout = time.Duration(h[8]/9%60+1) * time.Millisecond
	}
	if h[4]/4%3 == 1 {
		c.RampDuration = time.Duration(h[4]/12%50+1) * time.Millisecond
		c.RampStart = []float64{0, 0.1, 0.5, 0.9}[h[3]/16%4]
	}
	if h[5]/12%4 == 1 {
		c.CallTimeout = time.Duration(h[5]/48+1) * 5 * time.Millisecond
	}
	fallback := h[9]&1 != 0

	var ops []op
	for i := 10; i+1 < len(data) && len(ops) < 500; i += 2 {
		k, a := opKind(data[i]%byte(numOpKinds)), int(data[i+1])
		o := op{Kind: k}
		switch k {
		case opExec:
			o.Out = outcome(a % int(numOutcomes))
			o.Lat = time.Duration(a/int(numOutcomes)) * time.Millisecond
		case opDone:
			o.Out = outcome(a % int(numOutcomes))
			o.Arg = a / int(numOutcomes)
		case opAdvance:
			o.Lat = time.Duration(a%64) * time.Millisecond
		case opReconfigure:
			o.Arg = a // a variant of the base Config: see reconfigured
		}
		ops = append(ops, o)
	}
	return c, fallback, ops
}
