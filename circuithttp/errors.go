package circuithttp

import "github.com/breakerlab/circuit"

// ErrInvalidConfig is circuit.ErrInvalidConfig, the module's single
// sentinel for bad configuration: every error from NewTransport and
// NewHandler matches it, and holds a *circuit.ConfigError per bad option
// (or the core's own, for bad breaker options).
var ErrInvalidConfig = circuit.ErrInvalidConfig

func configError(field string, value any, rule string) error {
	return &circuit.ConfigError{Pkg: "circuithttp", Field: field, Value: value, Rule: rule}
}
