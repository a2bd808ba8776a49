package retry_test

import (
	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit/retry"
)

// Tests keep driving time with the benbjohnson mock, as it is.
var _ retry.Clock = (*clock.Mock)(nil)
