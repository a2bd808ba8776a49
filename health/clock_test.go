package health_test

import (
	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit/health"
)

// Tests keep driving time with the benbjohnson mock, as it is.
var _ health.Clock = (*clock.Mock)(nil)
