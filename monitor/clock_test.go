package monitor_test

import (
	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit/monitor"
)

// The package's own Clock is satisfied by the clock package's types as
// they are, so tests and users pass them without an adapter.
var (
	_ monitor.Clock = (*clock.Mock)(nil)
	_ monitor.Clock = clock.New()
)
