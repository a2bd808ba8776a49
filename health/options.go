package health

import (
	"errors"
	"reflect"
	"time"

	"github.com/breakerlab/circuit"
)

// Defaults used by Watch when an option is not given.
const (
	// DefaultInterval is the time between two checks.
	DefaultInterval = 30 * time.Second
	// DefaultTimeout bounds one check. When the interval is shorter, the
	// default timeout is the interval instead.
	DefaultTimeout = 5 * time.Second
	// DefaultUnhealthyThreshold is the number of unhealthy checks in a row
	// that open the breaker.
	DefaultUnhealthyThreshold = 3
)

// Option configures a Watcher in Watch. Options apply in order, so a later
// one overrides an earlier one. A nil Option is ignored. Each option is
// named after the field it sets, which is the name a *circuit.ConfigError
// gives when the value is invalid. Options only record values: Watch
// validates the result and reports every bad one.
type Option interface {
	apply(*config)
}

type config struct {
	interval   time.Duration
	timeout    time.Duration
	timeoutSet bool
	threshold  int
	recovery   int // 0: proactive recovery off
	clock      Clock
	onCheck    func(Result)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithInterval sets the time between two checks (default DefaultInterval).
// It must be positive. The first check runs one interval after Watch; call
// CheckNow for one at once.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.interval = d })
}

// WithTimeout sets how long one check may take before it counts as
// unhealthy (default DefaultTimeout, or the interval if that is shorter).
// It must be positive. The check's context carries this deadline, measured
// on the watcher's clock. A timeout longer than the interval is allowed:
// ticks that fall during a check are dropped, as with a time.Ticker.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout, c.timeoutSet = d, true })
}

// WithUnhealthyThreshold sets how many unhealthy checks in a row open the
// breaker with circuit.ReasonHealthCheck (default
// DefaultUnhealthyThreshold). It must be at least 1.
func WithUnhealthyThreshold(n int) Option {
	return optionFunc(func(c *config) { c.threshold = n })
}

// WithRecovery turns on proactive recovery: while the breaker is open, n
// healthy checks in a row move it to half-open early with
// circuit.ReasonHealthRecovered, instead of waiting out its whole open
// timeout; the breaker's probes then decide whether it closes. Only checks
// made during one open period count toward n. n = 0 turns recovery off,
// which is the default; n must not be negative.
func WithRecovery(n int) Option {
	return optionFunc(func(c *config) { c.recovery = n })
}

// WithClock sets the clock that drives the interval and the check timeout.
// Tests pass clock.NewMock(); nil means the real clock.
func WithClock(c Clock) Option {
	return optionFunc(func(cfg *config) { cfg.clock = c })
}

// WithOnCheck sets a hook that receives the Result of every check the
// watcher applied to the breaker, after the breaker was updated. It runs
// outside the watcher's locks, on the goroutine that ran the check (the
// watcher's own, or CheckNow's caller), so it may run concurrently with
// itself when CheckNow is used; it must not call Stop (see Stop). A hook
// that panics is recovered and logged through slog.Default(). nil removes
// the hook.
func WithOnCheck(hook func(Result)) Option {
	return optionFunc(func(c *config) { c.onCheck = hook })
}

// build applies opts over the defaults and validates the result together
// with Watch's arguments, reporting every problem at once.
func build(b circuit.Controller, check any, opts []Option) (config, error) {
	c := config{interval: DefaultInterval, threshold: DefaultUnhealthyThreshold}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "health", Field: field, Value: value, Rule: rule})
	}
	if isNil(b) {
		bad("breaker", "nil", "must be a breaker")
	}
	if isNil(check) {
		bad("check", "nil", "must be a func")
	}
	if c.interval <= 0 {
		bad("Interval", c.interval, "must be positive")
	}
	if c.timeoutSet && c.timeout <= 0 {
		bad("Timeout", c.timeout, "must be positive")
	}
	if c.threshold < 1 {
		bad("UnhealthyThreshold", c.threshold, "must be at least 1")
	}
	if c.recovery < 0 {
		bad("Recovery", c.recovery, "must not be negative (0 turns it off)")
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	if !c.timeoutSet {
		c.timeout = min(DefaultTimeout, c.interval)
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	return c, nil
}

// isNil reports whether v is nil or holds a nil pointer or func, so that a
// typed nil such as (*circuit.Breaker[int])(nil) is refused in Watch rather
// than panicking later on the watcher's goroutine.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Interface, reflect.Map, reflect.Slice, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
