package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/breakerlab/circuit"
)

// ErrInvalidConfig is the module's single sentinel for bad configuration:
// it is circuit.ErrInvalidConfig itself, so one errors.Is check covers
// every package. Every error Config.Validate and New return wraps it,
// through one *circuit.ConfigError per bad field.
var ErrInvalidConfig = circuit.ErrInvalidConfig

// MaxFlappingTransitions is the largest Config.FlappingTransitions that
// Validate accepts. The monitor keeps the times of at most this many
// recent transitions (plus one) per breaker, so the bound is also a bound
// on memory.
const MaxFlappingTransitions = 10000

// Config holds the monitor's schedule and the thresholds of its alert
// rules. Start from DefaultConfig, change fields, and pass it to
// WithConfig. A rule whose threshold is 0 is disabled.
type Config struct {
	// Interval is the time between checks once Start is called. Must be
	// positive.
	Interval time.Duration

	// OnAlertTimeout bounds how long a check waits for the alert callbacks
	// (WithOnAlert) to return, for each alert; see Monitor. Must be
	// positive.
	OnAlertTimeout time.Duration

	// ProlongedOpen raises a warning when a breaker has not been closed
	// (it has been open or half-open without closing in between) for
	// longer than this. 0 disables the rule.
	ProlongedOpen time.Duration

	// FlappingTransitions raises a warning when a breaker made more than
	// this many transitions within FlappingWindow. 0 disables the rule.
	FlappingTransitions int // at most MaxFlappingTransitions
	// FlappingWindow is the span over which transitions are counted. Must
	// be positive when FlappingTransitions is.
	FlappingWindow time.Duration

	// IneffectiveErrorRate raises a critical alert when a closed breaker's
	// window has more than IneffectiveMinRequests outcomes and an error
	// rate above this: the breaker lets a failing dependency be called.
	// 0 disables the rule; otherwise it must be in (0, 1).
	IneffectiveErrorRate float64
	// IneffectiveMinRequests is how many outcomes the window must exceed
	// before IneffectiveErrorRate applies. At least 0.
	IneffectiveMinRequests int

	// TransitionLogInterval, when positive, makes the monitor log the
	// transitions of the breakers it watches to its logger, at most one
	// line per breaker per interval: the first transition of an interval
	// is logged as it happens, the rest are counted and logged as one
	// summary line (with the count per reason) at the first check or
	// transition after the interval has passed. A flapping breaker then
	// costs two lines per interval, not one per transition. 0 (the
	// default) logs no transitions. Must not be negative.
	TransitionLogInterval time.Duration
}

// DefaultConfig returns the defaults: a check every 15s, 5s per alert
// callback; warn when a breaker has not closed for 5 minutes or made more
// than 20 transitions in 10 minutes; critical when a closed breaker sees
// an error rate above 30% over more than 50 requests; no transition log.
func DefaultConfig() Config {
	return Config{
		Interval:               15 * time.Second,
		OnAlertTimeout:         5 * time.Second,
		ProlongedOpen:          5 * time.Minute,
		FlappingTransitions:    20,
		FlappingWindow:         10 * time.Minute,
		IneffectiveErrorRate:   0.3,
		IneffectiveMinRequests: 50,
	}
}

// Validate reports every invalid field, or nil. The error joins one
// *circuit.ConfigError per bad field, such as
// "monitor: invalid config: Interval = 0s: must be positive", and wraps
// ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "monitor", Field: field, Value: value, Rule: rule})
	}
	if c.Interval <= 0 {
		bad("Interval", c.Interval, "must be positive")
	}
	if c.OnAlertTimeout <= 0 {
		bad("OnAlertTimeout", c.OnAlertTimeout, "must be positive")
	}
	if c.ProlongedOpen < 0 {
		bad("ProlongedOpen", c.ProlongedOpen, "must be 0 (disabled) or positive")
	}
	switch {
	case c.FlappingTransitions < 0:
		bad("FlappingTransitions", c.FlappingTransitions, "must be 0 (disabled) or positive")
	case c.FlappingTransitions > MaxFlappingTransitions:
		bad("FlappingTransitions", c.FlappingTransitions, fmt.Sprintf("must be at most %d", MaxFlappingTransitions))
	}
	if c.FlappingTransitions > 0 && c.FlappingWindow <= 0 {
		bad("FlappingWindow", c.FlappingWindow, "must be positive when FlappingTransitions is set")
	}
	if c.IneffectiveErrorRate < 0 || c.IneffectiveErrorRate >= 1 || c.IneffectiveErrorRate != c.IneffectiveErrorRate {
		bad("IneffectiveErrorRate", c.IneffectiveErrorRate, "must be 0 (disabled) or in (0, 1)")
	}
	if c.IneffectiveMinRequests < 0 {
		bad("IneffectiveMinRequests", c.IneffectiveMinRequests, "must be at least 0")
	}
	if c.TransitionLogInterval < 0 {
		bad("TransitionLogInterval", c.TransitionLogInterval, "must be 0 (off) or positive")
	}
	return errors.Join(errs...)
}

// LogValue logs the Config as a group whose durations carry their units
// ("15s"), so that a JSON log does not show nanoseconds.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("interval", c.Interval.String()),
		slog.String("on_alert_timeout", c.OnAlertTimeout.String()),
		slog.String("prolonged_open", c.ProlongedOpen.String()),
		slog.Int("flapping_transitions", c.FlappingTransitions),
		slog.String("flapping_window", c.FlappingWindow.String()),
		slog.Float64("ineffective_error_rate", c.IneffectiveErrorRate),
		slog.Int("ineffective_min_requests", c.IneffectiveMinRequests),
		slog.String("transition_log_interval", c.TransitionLogInterval.String()),
	)
}
