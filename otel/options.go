package otel

import (
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
)

// ErrInvalidConfig is the module's single sentinel for bad configuration,
// circuit.ErrInvalidConfig: every configuration error from Register and RegisterSource
// wraps it through a *circuit.ConfigError naming the field.
var ErrInvalidConfig = circuit.ErrInvalidConfig

// Option configures an Exporter. Nil options are ignored.
type Option = schema.Option

// WithLatencyBuckets replaces the upper bounds, in seconds, of the
// call-duration histogram (default: 5ms to 30s, see docs/metrics.md).
// They must be finite, positive and strictly increasing, or the
// constructor returns a LatencyBuckets config error. Change them only
// together with the prometheus exporter's, or the two no longer aggregate.
func WithLatencyBuckets(bounds ...float64) Option { return schema.WithLatencyBuckets(bounds) }
