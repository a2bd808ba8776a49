package circuit_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The breaker starts no goroutines of its own; goleak proves that stays
// true, including for hooks, fallbacks and call timeouts.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
