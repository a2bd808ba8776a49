package benchmarks_test

import (
	"os"
	"testing"
)

// TestMain stops the redis-server that the fleet benchmarks and tests
// share, if one of them started it.
func TestMain(m *testing.M) {
	code := m.Run()
	stopRedis()
	os.Exit(code)
}
