package tune_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/breakerlab/circuit"
)

// The package starts no goroutines: nothing may be left behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// stepClock is a clock whose time moves only when a test moves it, by an
// atomic offset from a fixed base: safe for many goroutines, and without
// the real sleep in clock.Mock's Add. Contexts come from the embedded
// Mock, which is never advanced.
type stepClock struct {
	*clock.Mock
	base time.Time
	off  atomic.Int64
}

func newStepClock() *stepClock {
	return &stepClock{Mock: clock.NewMock(), base: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *stepClock) Now() time.Time      { return c.base.Add(time.Duration(c.off.Load())) }
func (c *stepClock) Add(d time.Duration) { c.off.Add(int64(d)) }

// newLive returns a breaker named "live" on clk with cfg.
func newLive(t testing.TB, clk circuit.Clock, cfg circuit.Config) *circuit.Breaker[int] {
	t.Helper()
	cfg.Name = "live"
	b, err := circuit.New[int](circuit.WithConfig(cfg), circuit.WithClock(clk))
	require.NoError(t, err)
	return b
}

// call runs one call through b that takes lat on clk and fails with err
// if not nil. It returns Execute's error.
func call(b *circuit.Breaker[int], clk *stepClock, lat time.Duration, err error) error {
	_, e := b.Execute(context.Background(), func(context.Context) (int, error) {
		clk.Add(lat)
		return 1, err
	})
	return e
}

// quiet is a Config that trips on nothing but what a test turns on.
func quiet() circuit.Config {
	c := circuit.DefaultConfig()
	c.ConsecutiveFailures = 0
	c.ErrorRateThreshold = 0
	c.LatencyThreshold = 0
	c.MinRequests = 0
	return c
}
