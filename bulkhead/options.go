package bulkhead

import (
	"errors"
	"time"

	"github.com/breakerlab/circuit"
)

// Option configures a Bulkhead in New. Options apply in order, so a later
// one overrides an earlier one; a nil Option is ignored. Each option is
// named after the field it sets, which is the name a *circuit.ConfigError
// gives when the value is invalid.
type Option interface {
	apply(*settings)
}

type settings struct {
	maxConcurrent int
	maxQueue      int
	maxWait       time.Duration
	clock         Clock
}

// validate reports every invalid value as a *circuit.ConfigError, joined.
func (s *settings) validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "bulkhead", Field: field, Value: value, Rule: rule})
	}
	if s.maxConcurrent < 1 {
		bad("MaxConcurrent", s.maxConcurrent, "must be at least 1")
	}
	if s.maxQueue < 0 {
		bad("MaxQueue", s.maxQueue, "must not be negative")
	}
	if s.maxWait < 0 {
		bad("MaxWait", s.maxWait, "must not be negative")
	}
	return errors.Join(errs...)
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// WithMaxConcurrent sets how many calls may hold a slot at once. It has no
// default, since no limit fits every dependency: New without it reports
// MaxConcurrent = 0. Less than 1 is invalid.
func WithMaxConcurrent(n int) Option {
	return optionFunc(func(s *settings) { s.maxConcurrent = n })
}

// WithMaxQueue sets how many calls may wait for a slot beyond the
// concurrent ones. The default is 0: a call that finds every slot taken
// fails at once with ErrFull. Negative is invalid.
func WithMaxQueue(n int) Option { return optionFunc(func(s *settings) { s.maxQueue = n }) }

// WithMaxWait sets how long a queued call waits for a slot before it fails
// with ErrTimeout. The default, 0, means no limit other than the caller's
// context. Negative is invalid.
func WithMaxWait(d time.Duration) Option { return optionFunc(func(s *settings) { s.maxWait = d }) }

// WithClock sets the clock the maximum wait is measured on. Tests pass
// clock.NewMock(); nil means the real clock.
func WithClock(c Clock) Option { return optionFunc(func(s *settings) { s.clock = c }) }
