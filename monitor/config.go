package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("monitor: invalid config")

// MaxFlappingTransitions is the largest Config.FlappingTransitions that
// Validate accepts. The monitor keeps the times of that many recent
// transitions per breaker, so the bound is also a bound on memory.
const MaxFlappingTransitions = 10000

// Config holds the monitor's schedule and the thresholds of its alert
// rules. Start from DefaultConfig, change fields, and pass it to
// WithConfig. A rule whose threshold is 0 is disabled.
type Config struct {
	// Interval is the time between checks once Start is called. Must be
	// positive.
	Interval time.Duration

	// HandlerTimeout bounds how long a check waits for the alert handlers
	// to return, for each alert; see Monitor. Must be positive.
	HandlerTimeout time.Duration

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
}

// DefaultConfig returns the defaults: a check every 15s, 5s per handler;
// warn when a breaker has not closed for 5 minutes or made more than 20
// transitions in 10 minutes; critical when a closed breaker sees an error
// rate above 30% over more than 50 requests.
func DefaultConfig() Config {
	return Config{
		Interval:               15 * time.Second,
		HandlerTimeout:         5 * time.Second,
		ProlongedOpen:          5 * time.Minute,
		FlappingTransitions:    20,
		FlappingWindow:         10 * time.Minute,
		IneffectiveErrorRate:   0.3,
		IneffectiveMinRequests: 50,
	}
}

// Validate reports every invalid field, or nil. The error wraps
// ErrInvalidConfig and names each field and its value.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, fmt.Errorf("%w: %s = %v %s", ErrInvalidConfig, field, value, rule))
	}
	if c.Interval <= 0 {
		bad("Interval", c.Interval, "must be positive")
	}
	if c.HandlerTimeout <= 0 {
		bad("HandlerTimeout", c.HandlerTimeout, "must be positive")
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
	return errors.Join(errs...)
}

// Option configures a Monitor (New) or a status page (Handler).
type Option interface{ apply(*settings) }

type settings struct {
	cfg      Config
	clock    clock.Clock
	handlers []func(Alert)
	logger   *slog.Logger
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// WithConfig sets the whole Config. Monitor only.
func WithConfig(c Config) Option { return optionFunc(func(s *settings) { s.cfg = c }) }

// WithClock sets the clock the monitor reads and schedules with, or the
// clock the status page measures "since" with; the default is the real
// clock. Tests pass clock.NewMock().
func WithClock(c clock.Clock) Option { return optionFunc(func(s *settings) { s.clock = c }) }

// WithHandler adds a function that receives every raised and cleared
// alert; see Monitor for how handlers are run. A nil handler is ignored.
// Monitor only.
func WithHandler(h func(Alert)) Option {
	return optionFunc(func(s *settings) {
		if h != nil {
			s.handlers = append(s.handlers, h)
		}
	})
}

// WithLogger sets where the monitor reports handlers that panic, time out,
// or are skipped because they are still blocked; the default is
// slog.Default(). Monitor only.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(s *settings) { s.logger = l }) }

func newSettings(opts []Option) settings {
	s := settings{cfg: DefaultConfig()}
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	if s.clock == nil {
		s.clock = clock.New()
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s
}
