package tune

import (
	"errors"
	"math"

	"github.com/breakerlab/circuit"
)

// Defaults of Attach and NewSplit with no options.
const (
	// DefaultGoodRejectedCost is the cost of one call that would have
	// succeeded but was rejected: a lost good call.
	DefaultGoodRejectedCost = 1.0
	// DefaultFailureLetThroughCost is the cost of one failure let through
	// while closed. Equal to DefaultGoodRejectedCost: to the caller both
	// are a failed request.
	DefaultFailureLetThroughCost = 1.0
	// DefaultHealthyRun is how many successes in a row end an incident
	// (and make the next failure the onset of a new one).
	DefaultHealthyRun = 5
	// DefaultIncidentFailures is how many failures an incident needs,
	// before a healthy run, to count: fewer is a blip.
	DefaultIncidentFailures = 3
)

// Option configures Attach or NewSplit. Options apply in order, so a later
// one overrides an earlier one; a nil Option is ignored. Each is named
// after the field it sets, which is the name a *circuit.ConfigError gives
// when the value is invalid. Options only record values: Attach and
// NewSplit validate the result.
type Option interface {
	apply(*settings)
}

type settings struct {
	goodRejectedCost      float64
	failureLetThroughCost float64
	healthyRun            int
	incidentFailures      int
	counterRouting        bool // NewSplit only
	batch                 int  // calls replayed at once; 0: batchSize (see WithBatchSize in export_test.go)
}

func newSettings(opts []Option) settings {
	s := settings{
		goodRejectedCost:      DefaultGoodRejectedCost,
		failureLetThroughCost: DefaultFailureLetThroughCost,
		healthyRun:            DefaultHealthyRun,
		incidentFailures:      DefaultIncidentFailures,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	return s
}

// validate reports every invalid value as a *circuit.ConfigError, joined.
func (s *settings) validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "tune", Field: field, Value: value, Rule: rule})
	}
	for _, c := range []struct {
		field string
		v     float64
	}{{"GoodRejectedCost", s.goodRejectedCost}, {"FailureLetThroughCost", s.failureLetThroughCost}} {
		if math.IsNaN(c.v) || math.IsInf(c.v, 0) || c.v < 0 {
			bad(c.field, c.v, "must be a finite number, at least 0")
		}
	}
	if s.goodRejectedCost == 0 && s.failureLetThroughCost == 0 {
		bad("FailureLetThroughCost", s.failureLetThroughCost, "must be positive when GoodRejectedCost is 0: with both 0 every configuration costs nothing")
	}
	if s.healthyRun < 1 {
		bad("HealthyRun", s.healthyRun, "must be at least 1")
	}
	if s.incidentFailures < 1 {
		bad("IncidentFailures", s.incidentFailures, "must be at least 1")
	}
	return errors.Join(errs...)
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// WithGoodRejectedCost sets what one rejected call that would have
// succeeded costs in Report.Cost and the verdicts (default 1). Finite and
// at least 0.
func WithGoodRejectedCost(w float64) Option {
	return optionFunc(func(s *settings) { s.goodRejectedCost = w })
}

// WithFailureLetThroughCost sets what one failure let through while closed
// costs in Report.Cost and the verdicts (default 1). Raise it where a call
// to a failing dependency is dearer than a refused one: it holds a worker
// for a timeout, or adds load to a dependency that is trying to recover.
// Finite and at least 0; not 0 together with the other weight.
func WithFailureLetThroughCost(w float64) Option {
	return optionFunc(func(s *settings) { s.failureLetThroughCost = w })
}

// WithHealthyRun sets how many successes in a row end an incident; see
// Report.Incidents (default 5). At least 1.
func WithHealthyRun(k int) Option { return optionFunc(func(s *settings) { s.healthyRun = k }) }

// WithIncidentFailures sets how many failures an incident needs before a
// healthy run ends it to count; see Report.Incidents (default 3). At
// least 1.
func WithIncidentFailures(n int) Option {
	return optionFunc(func(s *settings) { s.incidentFailures = n })
}

// WithCounterRouting makes a Split route by a counter instead of at
// random: of every run of calls, the share routed to the second arm never
// strays from the fraction by one call or more, and the routing is the
// same on every run (for tests). It applies to NewSplit only; Attach
// rejects it.
func WithCounterRouting() Option { return optionFunc(func(s *settings) { s.counterRouting = true }) }
