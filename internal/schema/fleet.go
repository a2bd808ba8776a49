package schema

import "github.com/breakerlab/circuit"

// WithFleetCoordinator makes the exporters publish FleetCoordinatorUp,
// 1 while up reports true and 0 while it reports false, calling up once
// per collection. up must be non-nil and the option given at most once:
// the family has no labels, so a second coordinator would be a second
// series under the same name.
func WithFleetCoordinator(up func() bool) Option {
	return optionFunc(func(c *Config) { c.fleet = append(c.fleet, up) })
}

// checkFleet returns a *circuit.ConfigError from package pkg, for field
// FleetCoordinator, for each nil func and for a second
// WithFleetCoordinator.
func (c *Config) checkFleet(pkg string) []error {
	var errs []error
	for _, up := range c.fleet {
		if up == nil {
			errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: "FleetCoordinator", Value: nil, Rule: "must not be nil"})
		}
	}
	if n := len(c.fleet); n > 1 {
		errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: "FleetCoordinator", Value: n, Rule: "WithFleetCoordinator must be given at most once"})
	}
	return errs
}

// Fleet reports whether the exporter publishes the fleet families, that
// is whether WithFleetCoordinator was given.
func (c *Config) Fleet() bool { return len(c.fleet) > 0 }

// FleetSamples emits the fleet families if WithFleetCoordinator was given,
// calling its func once. That func is the user's code: call FleetSamples
// without holding a lock.
func (c *Config) FleetSamples(emit Emit) {
	if len(c.fleet) == 0 || c.fleet[0] == nil {
		return
	}
	v := 0.0
	if c.fleet[0]() {
		v = 1
	}
	emit(FleetCoordinatorUp, v)
}
