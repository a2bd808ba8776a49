package circuit

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits that Validate enforces: they keep a Config from asking for an
// absurd amount of memory, or for times that would overflow.
const (
	// MaxWindowSize is the largest WindowSize Validate accepts.
	MaxWindowSize = 1 << 20
	// MaxHalfOpenProbes is the largest HalfOpenMaxProbes Validate accepts.
	MaxHalfOpenProbes = 1 << 12
	// MaxOpenTimeout is the largest OpenTimeout Validate accepts: a century,
	// which is "until Reset" in practice. The bound keeps the end of an
	// open period representable as a Duration from the breaker's creation.
	MaxOpenTimeout = 100 * 365 * 24 * time.Hour
)

// Config holds every threshold of a breaker. It is a plain value: build one
// with DefaultConfig or Preset, change fields, and pass it to WithConfig, or
// set fields one at a time with the options named after them. Validate
// checks all of it; New refuses a Config that Validate rejects. A Config
// marshals to and from JSON with durations as strings ("30s").
//
// The zero Config is not valid; start from DefaultConfig.
type Config struct {
	// Name identifies the breaker in errors, transitions, metrics and logs.
	// It must be valid UTF-8 (metric labels and JSON require it).
	Name string

	// ConsecutiveFailures trips the breaker after this many failures in a
	// row while closed. 0 disables the criterion.
	ConsecutiveFailures int

	// ErrorRateThreshold trips the breaker when failures/outcomes over the
	// window is at least this value, once the window holds MinRequests
	// outcomes. 0 disables the criterion; otherwise it must be in (0, 1].
	ErrorRateThreshold float64

	// WindowSize is how many of the most recent outcomes the window keeps.
	// With WindowDuration set it only caps how many count (0 = no cap);
	// without, it must be at least 1.
	WindowSize int

	// WindowDuration, when positive, makes the window cover the outcomes
	// of the last WindowDuration, so that a dependency called rarely is
	// never judged on old failures. With WindowSize set, an outcome leaves
	// exactly WindowDuration after it was recorded; with WindowSize 0 the
	// window is 10 buckets of WindowDuration/10 (plus the one being
	// filled), and an outcome leaves at most one bucket late. 0 means a
	// count window. At least a millisecond.
	WindowDuration time.Duration

	// MinRequests is how many outcomes the window must hold before the
	// error-rate or latency criterion may trip. 0 means no minimum. At most
	// WindowSize when WindowSize is set.
	MinRequests int

	// LatencyThreshold trips the breaker when the window's
	// LatencyPercentile latency is at least this long, once the window holds
	// MinRequests outcomes. Latencies of failed calls count too. In
	// half-open, a probe that succeeds but takes at least this long counts
	// as failed. 0 disables the criterion.
	LatencyThreshold time.Duration

	// LatencyPercentile is the percentile the latency criterion uses, in
	// the open interval (0, 1): the nearest-rank one, the ceil(p*n)-th
	// smallest of n latencies, with p*n taken as the decimal product
	// (0.95*100 is 95), computed with a tolerance of 1e-9.
	LatencyPercentile float64

	// OpenTimeout is how long the breaker stays open before it admits
	// probes. Positive, at most MaxOpenTimeout.
	OpenTimeout time.Duration

	// OpenBackoff multiplies the open period by this factor for each
	// reopening from half-open without a close in between: with 2, a
	// dependency that fails its probes is left alone 30s, then 60s, then
	// 120s. Closing starts again from OpenTimeout. 0 or 1 turns it off;
	// otherwise at least 1.
	OpenBackoff float64

	// OpenTimeoutMax caps the open period that OpenBackoff grows. 0 means
	// MaxOpenTimeout. At least OpenTimeout when set.
	OpenTimeoutMax time.Duration

	// OpenJitter spreads each open period uniformly over ±OpenJitter of
	// its length, so that replicas that opened together do not probe in
	// lockstep. In [0, 1); 0 turns it off.
	OpenJitter float64

	// ProbeTimeout is how long a probe may run before it counts as failed
	// (ReasonProbeTimeout), which is what keeps a half-open breaker from
	// wedging on an abandoned call. 0 means OpenTimeout. At most
	// MaxOpenTimeout.
	ProbeTimeout time.Duration

	// HalfOpenMaxProbes is how many probe calls half-open admits at once.
	// At least 1.
	HalfOpenMaxProbes int

	// SuccessThreshold is how many probes in a row must succeed to close
	// the breaker. At least 1.
	SuccessThreshold int

	// RampDuration, when positive, lets a recovering dependency warm up:
	// after the probes close the breaker, it admits a share of calls that
	// grows linearly from RampStart to all of them over RampDuration, and
	// turns the others away with an *OpenError (ReasonRamp). Which calls
	// pass is deterministic: a call is admitted while the admitted share of
	// the ramp's calls so far is below the ramp's share at that instant. A
	// failure criterion that holds during the ramp reopens the breaker as
	// usual. Reset closes without a ramp. 0 turns it off.
	RampDuration time.Duration

	// RampStart is the share of calls admitted when a ramp begins, in
	// [0, 1).
	RampStart float64

	// CallTimeout, when positive, bounds each call: Execute gives fn a
	// context with that deadline (on the breaker's clock), and a call that
	// takes at least CallTimeout is recorded as a failure
	// (context.DeadlineExceeded) whatever it returned. 0 means none.
	CallTimeout time.Duration
}

// DefaultConfig returns the defaults: trip after 5 consecutive failures, or
// an error rate of 50% or a P95 latency of 5s over the last 100 calls (once
// 10 are in); stay open 30s, with no backoff or jitter; one probe at a
// time, which may run 30s; close after 3 successful probes; no call
// timeout.
func DefaultConfig() Config {
	return Config{
		ConsecutiveFailures: 5,
		ErrorRateThreshold:  0.5,
		WindowSize:          100,
		MinRequests:         10,
		LatencyThreshold:    5 * time.Second,
		LatencyPercentile:   0.95,
		OpenTimeout:         30 * time.Second,
		HalfOpenMaxProbes:   1,
		SuccessThreshold:    3,
	}
}

// minWindowDuration is the shortest WindowDuration Validate accepts.
const minWindowDuration = time.Millisecond

// Validate reports every invalid field. The result is nil or an error
// joining one *ConfigError per invalid field; each names the field and the
// value and wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Rule: rule})
	}
	if !utf8.ValidString(c.Name) {
		bad("Name", c.Name, "must be valid UTF-8")
	}
	if c.ConsecutiveFailures < 0 {
		bad("ConsecutiveFailures", c.ConsecutiveFailures, "must not be negative (0 disables)")
	}
	if math.IsNaN(c.ErrorRateThreshold) || c.ErrorRateThreshold < 0 || c.ErrorRateThreshold > 1 {
		bad("ErrorRateThreshold", c.ErrorRateThreshold, "must be in (0, 1], or 0 to disable")
	}
	switch {
	case c.WindowSize < 0:
		bad("WindowSize", c.WindowSize, "must not be negative")
	case c.WindowSize == 0 && c.WindowDuration == 0:
		bad("WindowSize", c.WindowSize, "must be at least 1 without a WindowDuration")
	case c.WindowSize > MaxWindowSize:
		bad("WindowSize", c.WindowSize, fmt.Sprintf("must be at most %d", MaxWindowSize))
	}
	switch {
	case c.WindowDuration < 0:
		bad("WindowDuration", c.WindowDuration, "must not be negative (0 means a count window)")
	case c.WindowDuration > 0 && c.WindowDuration < minWindowDuration:
		bad("WindowDuration", c.WindowDuration, fmt.Sprintf("must be at least %v, or 0 for a count window", minWindowDuration))
	case c.WindowDuration > MaxOpenTimeout:
		bad("WindowDuration", c.WindowDuration, fmt.Sprintf("must be at most %v (a century)", MaxOpenTimeout))
	}
	switch {
	case c.MinRequests < 0:
		bad("MinRequests", c.MinRequests, "must not be negative (0 means no minimum)")
	case c.WindowSize >= 1 && c.MinRequests > c.WindowSize:
		bad("MinRequests", c.MinRequests, fmt.Sprintf("must not exceed WindowSize (%d)", c.WindowSize))
	}
	if c.LatencyThreshold < 0 {
		bad("LatencyThreshold", c.LatencyThreshold, "must not be negative (0 disables)")
	}
	if math.IsNaN(c.LatencyPercentile) || c.LatencyPercentile <= 0 || c.LatencyPercentile >= 1 {
		bad("LatencyPercentile", c.LatencyPercentile, "must be in the open interval (0, 1)")
	}
	switch {
	case c.OpenTimeout <= 0:
		bad("OpenTimeout", c.OpenTimeout, "must be positive")
	case c.OpenTimeout > MaxOpenTimeout:
		bad("OpenTimeout", c.OpenTimeout, fmt.Sprintf("must be at most %v (a century)", MaxOpenTimeout))
	}
	if math.IsNaN(c.OpenBackoff) || math.IsInf(c.OpenBackoff, 0) || c.OpenBackoff < 0 || (c.OpenBackoff > 0 && c.OpenBackoff < 1) {
		bad("OpenBackoff", c.OpenBackoff, "must be at least 1, or 0 or 1 to turn it off")
	}
	switch {
	case c.OpenTimeoutMax < 0:
		bad("OpenTimeoutMax", c.OpenTimeoutMax, "must not be negative (0 means MaxOpenTimeout)")
	case c.OpenTimeoutMax > MaxOpenTimeout:
		bad("OpenTimeoutMax", c.OpenTimeoutMax, fmt.Sprintf("must be at most %v (a century)", MaxOpenTimeout))
	case c.OpenTimeoutMax > 0 && c.OpenTimeoutMax < c.OpenTimeout:
		bad("OpenTimeoutMax", c.OpenTimeoutMax, fmt.Sprintf("must be at least OpenTimeout (%v)", c.OpenTimeout))
	}
	if math.IsNaN(c.OpenJitter) || c.OpenJitter < 0 || c.OpenJitter >= 1 {
		bad("OpenJitter", c.OpenJitter, "must be in [0, 1)")
	}
	switch {
	case c.ProbeTimeout < 0:
		bad("ProbeTimeout", c.ProbeTimeout, "must not be negative (0 means OpenTimeout)")
	case c.ProbeTimeout > MaxOpenTimeout:
		bad("ProbeTimeout", c.ProbeTimeout, fmt.Sprintf("must be at most %v (a century)", MaxOpenTimeout))
	}
	switch {
	case c.HalfOpenMaxProbes < 1:
		bad("HalfOpenMaxProbes", c.HalfOpenMaxProbes, "must be at least 1")
	case c.HalfOpenMaxProbes > MaxHalfOpenProbes:
		bad("HalfOpenMaxProbes", c.HalfOpenMaxProbes, fmt.Sprintf("must be at most %d", MaxHalfOpenProbes))
	}
	if c.SuccessThreshold < 1 {
		bad("SuccessThreshold", c.SuccessThreshold, "must be at least 1")
	}
	if c.CallTimeout < 0 {
		bad("CallTimeout", c.CallTimeout, "must not be negative (0 means none)")
	}
	switch {
	case c.RampDuration < 0:
		bad("RampDuration", c.RampDuration, "must not be negative (0 turns the ramp off)")
	case c.RampDuration > MaxOpenTimeout:
		bad("RampDuration", c.RampDuration, fmt.Sprintf("must be at most %v (a century)", MaxOpenTimeout))
	}
	if math.IsNaN(c.RampStart) || c.RampStart < 0 || c.RampStart >= 1 {
		bad("RampStart", c.RampStart, "must be in [0, 1)")
	}
	return errors.Join(errs...)
}

// probeTimeout is ProbeTimeout with its default applied.
func (c *Config) probeTimeout() time.Duration {
	if c.ProbeTimeout > 0 {
		return c.ProbeTimeout
	}
	return c.OpenTimeout
}

// Preset names, for Preset, WithPreset and the simulator's -preset flag.
// The README's presets table gives each one's thresholds and reasons.
const (
	// PresetPayment: money movement; trips early (3 in a row, 25%),
	// allows 2s at P95, stays open a minute, closes after 5 good probes.
	PresetPayment = "payment"
	// PresetAuth: on every request's path; 500ms at P95, recovers in 15s
	// with two probes.
	PresetAuth = "auth"
	// PresetCore: internal business logic; the defaults with a 1s P95
	// and a 3s call timeout, three probes.
	PresetCore = "core"
	// PresetAnalytics: nothing waits on it; tolerates 60% errors and 5s,
	// judges a window of 200, backs off a minute.
	PresetAnalytics = "analytics"
	// PresetThirdParty: outages out of our hands and rate limits that
	// punish hammering; trips early and waits two minutes.
	PresetThirdParty = "third-party"
	// PresetTools: internal tools with humans in the loop; trips only on a
	// clear outage, ignores latency, retries after 10s.
	PresetTools = "tools"
)

// presets is the tuning matrix. Each entry's comment is the rationale that
// README's presets table repeats.
var presets = map[string]Config{
	// Payment or financial: a critical external dependency where a hung call
	// holds money in limbo. Trip early (3 in a row, 25%), allow 2s at P95,
	// stay open a full minute, and close only after 5 clean probes.
	PresetPayment: {
		ConsecutiveFailures: 3, ErrorRateThreshold: 0.25, WindowSize: 50, MinRequests: 10,
		LatencyThreshold: 2 * time.Second, LatencyPercentile: 0.95,
		OpenTimeout: 60 * time.Second, HalfOpenMaxProbes: 1, SuccessThreshold: 5,
		CallTimeout: 10 * time.Second,
	},
	// User authentication: on every request's path, so latency matters most
	// (500ms P95) and recovery should be quick (15s) with two probes.
	PresetAuth: {
		ConsecutiveFailures: 5, ErrorRateThreshold: 0.3, WindowSize: 100, MinRequests: 20,
		LatencyThreshold: 500 * time.Millisecond, LatencyPercentile: 0.95,
		OpenTimeout: 15 * time.Second, HalfOpenMaxProbes: 2, SuccessThreshold: 3,
		CallTimeout: 2 * time.Second,
	},
	// Core business logic (internal): the defaults, with a 1s P95 and a 3s
	// call timeout; three probes so recovery is judged on more than one call.
	PresetCore: {
		ConsecutiveFailures: 5, ErrorRateThreshold: 0.5, WindowSize: 100, MinRequests: 20,
		LatencyThreshold: time.Second, LatencyPercentile: 0.95,
		OpenTimeout: 30 * time.Second, HalfOpenMaxProbes: 3, SuccessThreshold: 3,
		CallTimeout: 3 * time.Second,
	},
	// Analytics or reporting: nothing waits on it, so tolerate errors (60%)
	// and slowness (5s), judge over a large window, and back off a minute.
	PresetAnalytics: {
		ConsecutiveFailures: 10, ErrorRateThreshold: 0.6, WindowSize: 200, MinRequests: 50,
		LatencyThreshold: 5 * time.Second, LatencyPercentile: 0.95,
		OpenTimeout: 60 * time.Second, HalfOpenMaxProbes: 1, SuccessThreshold: 2,
		CallTimeout: 10 * time.Second,
	},
	// Third-party API: outages are long and out of our hands, and rate
	// limits punish hammering, so trip early and wait two minutes.
	PresetThirdParty: {
		ConsecutiveFailures: 3, ErrorRateThreshold: 0.4, WindowSize: 50, MinRequests: 10,
		LatencyThreshold: 3 * time.Second, LatencyPercentile: 0.95,
		OpenTimeout: 120 * time.Second, HalfOpenMaxProbes: 1, SuccessThreshold: 3,
		CallTimeout: 5 * time.Second,
	},
	// Internal tools: low traffic, humans in the loop; trip only on a clear
	// outage, ignore latency, and retry soon (10s).
	PresetTools: {
		ConsecutiveFailures: 10, ErrorRateThreshold: 0.7, WindowSize: 50, MinRequests: 10,
		LatencyThreshold: 0, LatencyPercentile: 0.95,
		OpenTimeout: 10 * time.Second, HalfOpenMaxProbes: 2, SuccessThreshold: 1,
		CallTimeout: 0,
	},
}

// Preset returns the thresholds of the named preset, with an empty Name:
// a preset describes a kind of dependency, not a breaker, so two breakers
// built from one preset never share a name by accident (WithPreset and
// WithConfig keep the breaker's name). An unknown name returns an error
// that lists the valid ones. See the README's presets table for the
// rationale of each.
func Preset(name string) (Config, error) {
	c, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("circuit: unknown preset %q (valid: %v)", name, PresetNames())
	}
	return c, nil
}

// joinNames lists names as "a, b or c".
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// PresetNames returns the names Preset accepts, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
