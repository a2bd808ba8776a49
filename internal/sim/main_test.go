package sim_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The simulator is one goroutine, and neither the breaker nor the retry
// budget it drives may start any: goleak checks that stays true.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
