package circuitredis_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Close stops every goroutine a coordinator started; goleak checks it,
// with the clients and servers of every test closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
