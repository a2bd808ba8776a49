package bulkhead_test

import (
	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit/bulkhead"
)

// Tests keep driving time with the benbjohnson mock, as it is.
var _ bulkhead.Clock = (*clock.Mock)(nil)
