package circuit

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Limits that keep a Config from asking for an absurd amount of memory.
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
// with DefaultConfig or a preset, change fields, and pass it to WithConfig,
// or set fields one at a time with the With options. Validate checks all of
// it; New refuses a Config that Validate rejects.
//
// The zero Config is not valid (WindowSize, HalfOpenMaxProbes,
// SuccessThreshold and OpenTimeout must be positive); start from
// DefaultConfig.
type Config struct {
	// Name identifies the breaker in errors, transitions, metrics and logs.
	Name string

	// ConsecutiveFailures trips the breaker after this many failures in a
	// row while closed. 0 disables the criterion.
	ConsecutiveFailures int

	// ErrorRateThreshold trips the breaker when failures/outcomes over the
	// window is at least this value, once the window holds MinRequests
	// outcomes. 0 disables the criterion; otherwise it must be in (0, 1].
	ErrorRateThreshold float64

	// WindowSize is how many of the most recent outcomes, and their
	// latencies, the ring-buffer windows keep. At least 1.
	WindowSize int

	// MinRequests is how many outcomes the window must hold before the
	// error-rate or latency criterion may trip. 0 means no minimum. At most
	// WindowSize.
	MinRequests int

	// LatencyThreshold trips the breaker when the window's
	// LatencyPercentile latency is at least this long, once the window holds
	// MinRequests samples. Latencies of failed calls count too. In
	// half-open, a probe that succeeds but takes at least this long counts
	// as failed. 0 disables the criterion.
	LatencyThreshold time.Duration

	// LatencyPercentile is the percentile the latency criterion and
	// Metrics.PercentileLatency use, in the open interval (0, 1). The
	// percentile of n samples is the nearest-rank one: the ceil(p*n)-th
	// smallest, with p*n taken as the decimal product (0.95*100 is 95, not
	// the float64 95.00000000000001), which the breaker computes with a
	// tolerance of 1e-9.
	LatencyPercentile float64

	// OpenTimeout is how long the breaker stays open before it admits
	// probes, and how long a probe may run before it counts as failed (a
	// probe still running OpenTimeout after its admission has failed).
	// Positive, at most MaxOpenTimeout.
	OpenTimeout time.Duration

	// HalfOpenMaxProbes is how many probe calls half-open admits at once.
	// At least 1.
	HalfOpenMaxProbes int

	// SuccessThreshold is how many probes in a row must succeed to close
	// the breaker. At least 1.
	SuccessThreshold int

	// CallTimeout, when positive, is put as a deadline on the context that
	// Execute passes to fn (through the breaker's clock). 0 means none.
	CallTimeout time.Duration
}

// DefaultConfig returns the defaults: trip after 5 consecutive failures, or
// an error rate of 50% or a P95 latency of 5s over the last 100 calls (once
// 10 are in); stay open 30s; one probe at a time; close after 3 successful
// probes; no call timeout.
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
		CallTimeout:         0,
	}
}

// Validate reports every invalid field. The result is nil or an error
// joining one *ConfigError per invalid field; each names the field and the
// value and wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Rule: rule})
	}
	if c.ConsecutiveFailures < 0 {
		bad("ConsecutiveFailures", c.ConsecutiveFailures, "must not be negative (0 disables)")
	}
	if math.IsNaN(c.ErrorRateThreshold) || c.ErrorRateThreshold < 0 || c.ErrorRateThreshold > 1 {
		bad("ErrorRateThreshold", c.ErrorRateThreshold, "must be in (0, 1], or 0 to disable")
	}
	switch {
	case c.WindowSize < 1:
		bad("WindowSize", c.WindowSize, "must be at least 1")
	case c.WindowSize > MaxWindowSize:
		bad("WindowSize", c.WindowSize, fmt.Sprintf("must be at most %d", MaxWindowSize))
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
	return errors.Join(errs...)
}

// Preset names, for Preset and the simulator's -preset flag.
const (
	PresetPayment    = "payment"
	PresetAuth       = "auth"
	PresetCore       = "core"
	PresetAnalytics  = "analytics"
	PresetThirdParty = "third-party"
	PresetTools      = "tools"
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

// Preset returns the named preset Config with Name set to name. An unknown
// name returns an error that lists the valid ones. See the README's presets
// table for the rationale of each.
func Preset(name string) (Config, error) {
	c, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("circuit: unknown preset %q (valid: %v)", name, PresetNames())
	}
	c.Name = name
	return c, nil
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
