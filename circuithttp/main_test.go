package circuithttp_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test closes its servers and idle connections: no goroutine of a
// connection, a handler or a breaker may outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
