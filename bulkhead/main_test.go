package bulkhead_test

import (
	"testing"

	"go.uber.org/goleak"
)

// A Bulkhead starts no goroutines; waits that end leave none behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
