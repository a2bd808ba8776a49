package tune

import (
	"errors"

	"github.com/breakerlab/circuit"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrUnknownCandidate is returned by Promote for a name that is not
	// one of the attached candidates.
	ErrUnknownCandidate = errors.New("tune: no candidate of that name")

	// ErrInvalidConfig is circuit.ErrInvalidConfig, the module's single
	// sentinel for bad configuration: every error from Attach and NewSplit
	// about their arguments matches it and holds a *circuit.ConfigError
	// per problem.
	ErrInvalidConfig = circuit.ErrInvalidConfig
)
