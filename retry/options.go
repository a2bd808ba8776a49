package retry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/benbjohnson/clock"
)

// Strategy is how the delay grows from one retry to the next.
type Strategy int

// The backoff strategies. For retry number n (1 for the first retry) and
// base delay b, before jitter and the cap at the max delay:
const (
	// Exponential waits b * 2^(n-1): b, 2b, 4b, 8b, ...
	Exponential Strategy = iota
	// Linear waits b * n: b, 2b, 3b, ...
	Linear
	// Fixed waits b every time.
	Fixed
)

// String returns "exponential", "linear" or "fixed", and "strategy(N)" for
// any other value.
func (s Strategy) String() string {
	switch s {
	case Exponential:
		return "exponential"
	case Linear:
		return "linear"
	case Fixed:
		return "fixed"
	}
	return fmt.Sprintf("strategy(%d)", int(s))
}

// Defaults of a Policy built with no options.
const (
	DefaultMaxAttempts = 3
	DefaultBase        = 100 * time.Millisecond
	DefaultMaxDelay    = 60 * time.Second
	DefaultJitter      = 0.1
)

// Option configures a Policy (NewPolicy) or a single call (Do). Options
// apply in order, so a later one overrides an earlier one; a nil Option is
// ignored. Options only record values: NewPolicy validates the result.
type Option interface {
	apply(*settings)
}

// settings is what the options build. bad records the options whose
// values can only be judged on their own (the rest are checked in
// validate).
type settings struct {
	maxAttempts int
	strategy    Strategy
	base        time.Duration
	maxDelay    time.Duration
	jitter      float64
	fullJitter  bool
	retryIf     func(error) bool
	onRetry     func(attempt int, err error, delay time.Duration)
	clock       clock.Clock
	rand        *rand.Rand
	budget      *Budget
}

func defaults() settings {
	return settings{
		maxAttempts: DefaultMaxAttempts,
		strategy:    Exponential,
		base:        DefaultBase,
		maxDelay:    DefaultMaxDelay,
		jitter:      DefaultJitter,
	}
}

// validate reports every invalid value, each naming its option.
func (s *settings) validate() error {
	var errs []error
	bad := func(option string, value any, rule string) {
		errs = append(errs, fmt.Errorf("retry: %s(%v): %s: %w", option, value, rule, ErrInvalidOption))
	}
	if s.maxAttempts < 1 {
		bad("WithMaxAttempts", s.maxAttempts, "must be at least 1")
	}
	if s.strategy < Exponential || s.strategy > Fixed {
		bad("WithBackoff", s.strategy, "strategy must be Exponential, Linear or Fixed")
	}
	if s.base < 0 {
		bad("WithBackoff", s.base, "base delay must not be negative")
	}
	if s.maxDelay < 0 {
		bad("WithMaxDelay", s.maxDelay, "must not be negative")
	}
	if math.IsNaN(s.jitter) || s.jitter < 0 || s.jitter > 1 {
		bad("WithJitter", s.jitter, "fraction must be in [0, 1]")
	}
	return errors.Join(errs...)
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// WithMaxAttempts sets how many times fn is called at most, counting the
// first call: 1 disables retrying. The default is 3. Less than 1 is
// invalid.
func WithMaxAttempts(n int) Option {
	return optionFunc(func(s *settings) { s.maxAttempts = n })
}

// WithBackoff sets the strategy and the base delay. The default is
// Exponential from 100ms. A base of 0 retries without waiting; a negative
// base or an unknown strategy is invalid.
func WithBackoff(strategy Strategy, base time.Duration) Option {
	return optionFunc(func(s *settings) { s.strategy, s.base = strategy, base })
}

// WithMaxDelay caps every delay: the strategy's delay is capped, then
// jittered within its range cut at the cap. The default is 60s; 0 means
// never wait; negative is invalid.
func WithMaxDelay(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.maxDelay = d })
}

// WithJitter spreads each delay uniformly over +-fraction of itself, so
// that clients that failed together do not retry together. The default is
// 0.1 (+-10%); 0 disables jitter. The fraction must be in [0, 1]. It
// replaces an earlier WithFullJitter.
func WithJitter(fraction float64) Option {
	return optionFunc(func(s *settings) { s.jitter, s.fullJitter = fraction, false })
}

// WithFullJitter draws each delay uniformly from [0, computed delay]
// ("full jitter"), which spreads a herd of clients the most. It replaces
// an earlier WithJitter.
func WithFullJitter() Option {
	return optionFunc(func(s *settings) { s.fullJitter = true })
}

// WithRetryIf sets the predicate that decides whether an error is worth
// another attempt. It is never asked about a breaker rejection
// (circuit.ErrOpen) or context.Canceled, which are never retried. The
// default retries every other error; nil restores the default. It must be
// safe for concurrent use when the Policy is shared.
func WithRetryIf(pred func(error) bool) Option {
	return optionFunc(func(s *settings) { s.retryIf = pred })
}

// WithOnRetry sets a hook called before each wait, with the number of the
// attempt that just failed (1 for the first), its error, and the delay
// about to be waited. The hook runs on the caller's goroutine after the
// backoff timer has started, so a test can advance a mock clock from it.
// nil removes the hook.
func WithOnRetry(hook func(attempt int, err error, delay time.Duration)) Option {
	return optionFunc(func(s *settings) { s.onRetry = hook })
}

// WithClock sets the clock whose timers the backoff waits on. Tests pass
// clock.NewMock(); nil means the real clock.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(s *settings) { s.clock = c })
}

// WithRand sets the random source of the jitter, for reproducible delays.
// The Policy locks around it, so one *rand.Rand may serve concurrent calls.
// nil means the global math/rand/v2 source.
func WithRand(r *rand.Rand) Option {
	return optionFunc(func(s *settings) { s.rand = r })
}

// WithBudget makes every call record its first attempt in b and spend one
// of b's retries before each retry; when b refuses, the call fails with
// ErrBudgetExhausted. Share one Budget among every client of a dependency.
// nil removes the budget.
func WithBudget(b *Budget) Option {
	return optionFunc(func(s *settings) { s.budget = b })
}
