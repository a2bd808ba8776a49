package schema

import "errors"

// Config is what the exporters' options set.
type Config struct {
	Buckets []float64 // upper bounds of the call-duration histogram, in seconds
	// GroupMaxKeys is how many breakers of each group get series of their
	// own; DefaultGroupMaxKeys unless set.
	GroupMaxKeys int

	groups []namedGroup  // WithGroup, in the order added
	fleet  []func() bool // WithFleetCoordinator, each time given; valid with at most one
}

// Option configures an exporter. Both exporters name it as their own
// Option type, an alias, so that its apply method stays unexported.
type Option interface{ apply(*Config) }

type optionFunc func(*Config)

func (f optionFunc) apply(c *Config) { f(c) }

// WithLatencyBuckets sets Config.Buckets to a copy of bounds.
func WithLatencyBuckets(bounds []float64) Option {
	bounds = append([]float64(nil), bounds...)
	return optionFunc(func(c *Config) { c.Buckets = bounds })
}

// NewConfig applies opts (skipping nil ones) over the defaults and checks
// the result, reporting errors as package pkg.
func NewConfig(pkg string, opts []Option) (Config, error) {
	c := Config{Buckets: LatencyBuckets, GroupMaxKeys: DefaultGroupMaxKeys}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	errs := append(c.checkGroups(pkg), c.checkFleet(pkg)...)
	if err := CheckBuckets(pkg, c.Buckets); err != nil {
		errs = append([]error{err}, errs...)
	}
	return c, errors.Join(errs...)
}
