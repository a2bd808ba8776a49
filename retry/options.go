package retry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/breakerlab/circuit"
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

// MarshalText returns String's text, so that a Strategy reads as a word in
// JSON and structured logs.
func (s Strategy) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Defaults of a Policy built with no options.
const (
	DefaultMaxAttempts = 3
	DefaultBackoff     = Exponential
	DefaultBaseDelay   = 100 * time.Millisecond
	DefaultMaxDelay    = 60 * time.Second
	DefaultJitter      = 0.1
)

// Option configures a Policy (New) or a single call (Do). Options apply in
// order, so a later one overrides an earlier one; a nil Option is ignored.
// Each option is named after the field it sets, which is the name a
// *circuit.ConfigError gives when the value is invalid. Options only
// record values: New validates the result.
type Option interface {
	apply(*settings)
}

// settings is what the options build; each field is named in the
// ConfigError that reports it.
type settings struct {
	maxAttempts int
	backoff     Strategy
	baseDelay   time.Duration
	maxDelay    time.Duration
	jitter      float64
	fullJitter  bool
	retryIf     func(error) bool
	onRetry     func(attempt int, err error, delay time.Duration)
	clock       Clock
	rand        *rand.Rand
	budget      *Budget
}

func defaults() settings {
	return settings{
		maxAttempts: DefaultMaxAttempts,
		backoff:     DefaultBackoff,
		baseDelay:   DefaultBaseDelay,
		maxDelay:    DefaultMaxDelay,
		jitter:      DefaultJitter,
	}
}

// validate reports every invalid value as a *circuit.ConfigError, joined.
func (s *settings) validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "retry", Field: field, Value: value, Rule: rule})
	}
	if s.maxAttempts < 1 {
		bad("MaxAttempts", s.maxAttempts, "must be at least 1")
	}
	if s.backoff < Exponential || s.backoff > Fixed {
		bad("Backoff", s.backoff, "must be Exponential, Linear or Fixed")
	}
	if s.baseDelay < 0 {
		bad("BaseDelay", s.baseDelay, "must not be negative")
	}
	if s.maxDelay < 0 {
		bad("MaxDelay", s.maxDelay, "must not be negative")
	}
	if math.IsNaN(s.jitter) || s.jitter < 0 || s.jitter > 1 {
		bad("Jitter", s.jitter, "must be in [0, 1]")
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

// WithBackoff sets how the delay grows from one retry to the next. The
// default is Exponential; a value other than Exponential, Linear or Fixed
// is invalid.
func WithBackoff(strategy Strategy) Option {
	return optionFunc(func(s *settings) { s.backoff = strategy })
}

// WithBaseDelay sets the delay the backoff strategy starts from (see
// Strategy). The default is 100ms. 0 retries without waiting; negative is
// invalid.
func WithBaseDelay(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.baseDelay = d })
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
// another attempt. It is a decision, not a notification, hence not a
// WithOn... hook. It is never asked about a breaker rejection
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

// ClockOption is what WithClock returns: an Option that NewBudget accepts
// too, so that one clock option serves both.
type ClockOption interface {
	Option
	BudgetOption
}

type clockOption struct{ c Clock }

func (o clockOption) apply(s *settings)             { s.clock = o.c }
func (o clockOption) applyBudget(s *budgetSettings) { s.clock = o.c }

// WithClock sets the clock that a Policy's backoff waits on, or that a
// Budget's window is read on. Tests pass clock.NewMock(); nil means the
// real clock.
func WithClock(c Clock) ClockOption { return clockOption{c} }

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
