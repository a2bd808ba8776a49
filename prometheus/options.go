package prometheus

import (
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
)

// ErrInvalidConfig is the module's single sentinel for bad configuration,
// circuit.ErrInvalidConfig: every error from New and NewFromSource wraps it
// through a *circuit.ConfigError naming the field.
var ErrInvalidConfig = circuit.ErrInvalidConfig

// config is what the options set.
type config struct {
	buckets []float64 // upper bounds of the call-duration histogram, in seconds
}

// Option configures a Collector.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLatencyBuckets replaces the upper bounds, in seconds, of the
// call-duration histogram (schema default: 5ms to 30s). They must be
// finite, positive and strictly increasing. Change them only together with
// the otel exporter's, or the two no longer aggregate together.
func WithLatencyBuckets(bounds ...float64) Option {
	return optionFunc(func(c *config) { c.buckets = append([]float64(nil), bounds...) })
}

func newConfig(opts []Option) (config, error) {
	c := config{buckets: schema.LatencyBuckets}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c, schema.CheckBuckets("prometheus", c.buckets)
}
