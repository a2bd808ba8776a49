package retry_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Backoff waits must leave no goroutine behind, whichever way they end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
