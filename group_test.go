package circuit_test

import (
	"context"

	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/breakerlab/circuit"
)

func newGroup[K comparable](t testing.TB, clk circuit.Clock, opts ...circuit.GroupOption) *circuit.Group[K, int] {
	t.Helper()
	g, err := circuit.NewGroup[K, int](append([]circuit.GroupOption{
		circuit.WithBreakerOptions(circuit.WithClock(clk), circuit.WithConsecutiveFailures(1),
			circuit.WithOpenTimeout(time.Minute), circuit.WithSuccessThreshold(1)),
	}, opts...)...)
	require.NoError(t, err)
	return g
}

// A key gets one breaker, built on first use and named after the key; the
// same breaker afterwards; and one bad key opens only its own.
func TestGroupBreakerPerKey(t *testing.T) {
	clk := newStepClock()
	g := newGroup[string](t, clk, circuit.WithKeyName(func(k string) string { return "tenant " + k }))
	a, b := g.Get("a"), g.Get("b")
	require.NotSame(t, a, b)
	assert.Same(t, a, g.Get("a"))
	assert.Equal(t, "tenant a", a.Name())
	_, err := g.Execute(context.Background(), "a", func(context.Context) (int, error) { return 0, errBoom })
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, circuit.Open, a.State())
	assert.Equal(t, circuit.Closed, b.State(), "the other key is unaffected")
	_, err = g.Execute(context.Background(), "b", okFn)
	require.NoError(t, err)
	m := g.Metrics()
	assert.Equal(t, 2, m.Breakers)
	assert.Equal(t, 1, m.NotClosed)
	views := g.Breakers()
	require.Len(t, views, 1, "only the keys that are not closed")
	assert.Equal(t, "tenant a", views[0].Name())
}

// At the bound, closed idle breakers are evicted, least recently active
// first; breakers that are not closed never are; with nothing evictable a
// new key shares the overflow breaker.
func TestGroupBoundAndEviction(t *testing.T) {
	clk := newStepClock()
	g := newGroup[int](t, clk, circuit.WithMaxBreakers(10), circuit.WithIdleTimeout(time.Minute))
	for k := 0; k < 10; k++ {
		_, _ = g.Execute(context.Background(), k, okFn)
		clk.Add(time.Second) // key 0 is the least recently active
	}
	open := g.Get(5)
	open.Trip(circuit.ReasonManual)
	clk.Add(time.Hour) // everything idle; key 5 open for an hour... and half-open by now
	require.NotEqual(t, circuit.Closed, open.State())

	fresh := g.Get(100)
	assert.Equal(t, "100", fresh.Name(), "room was made")
	m := g.Metrics()
	assert.LessOrEqual(t, m.Breakers, 10)
	assert.Positive(t, m.Evictions)
	assert.Same(t, open, g.Get(5), "a breaker that is not closed is never evicted")
	assert.Same(t, fresh, g.Get(100))

	// A group full of open breakers: nothing can be evicted.
	g = newGroup[int](t, clk, circuit.WithMaxBreakers(3), circuit.WithIdleTimeout(time.Minute))
	for k := 0; k < 3; k++ {
		g.Get(k).Trip(circuit.ReasonManual)
	}
	clk.Add(time.Hour)
	over := g.Get(999)
	assert.Equal(t, "overflow", over.Name())
	named := newGroup[int](t, clk, circuit.WithMaxBreakers(1), circuit.WithOverflowName("tenants/overflow"))
	named.Get(1).Trip(circuit.ReasonManual)
	assert.Equal(t, "tenants/overflow", named.Get(2).Name())
	assert.Same(t, over, g.Get(998), "keys that found no room share one breaker")
	m = g.Metrics()
	assert.Equal(t, uint64(2), m.Overflows)
	assert.Equal(t, 3, m.Breakers)
	assert.Zero(t, m.Evictions)
}

// Keys that go quiet are swept out even below the bound, once per
// IdleTimeout, paid for by a new key.
func TestGroupIdleSweep(t *testing.T) {
	clk := newStepClock()
	g := newGroup[int](t, clk, circuit.WithIdleTimeout(time.Minute))
	for k := 0; k < 5; k++ {
		_, _ = g.Execute(context.Background(), k, okFn)
	}
	p, err := g.Get(0).Allow() // a call in flight keeps its key
	require.NoError(t, err)
	clk.Add(2 * time.Minute)
	g.Get(100) // the first new key after IdleTimeout sweeps
	m := g.Metrics()
	assert.Equal(t, 2, m.Breakers, "key 0 (a call in flight) and the new key")
	assert.Equal(t, uint64(4), m.Evictions)
	p.Done(0, nil)
}

// A parent breaker sees every key's outcomes: a whole dependency going down
// opens it, one bad key does not; a key's own rejection is not a failure
// of the parent.
func TestGroupParent(t *testing.T) {
	clk := newStepClock()
	parent, err := circuit.New[int](circuit.WithName("dependency"), circuit.WithClock(clk),
		circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0.5), circuit.WithWindowSize(10), circuit.WithMinRequests(10))
	require.NoError(t, err)
	g := newGroup[int](t, clk, circuit.WithGroupParent(parent))
	fail := func(context.Context) (int, error) { return 0, errBoom }
	for i := 0; i < 20; i++ {
		_, err := g.Execute(context.Background(), 1, fail) // one bad key: its breaker opens at once
		if i > 0 {
			require.ErrorIs(t, err, circuit.ErrOpen)
		}
		_, err = g.Execute(context.Background(), 2+i%5, okFn)
		require.NoError(t, err)
	}
	assert.Equal(t, circuit.Closed, parent.State(), "one bad key's rejections are not the parent's failures")
	pm := parent.Metrics()
	assert.Equal(t, uint64(1), pm.Failures)
	assert.Equal(t, uint64(19), pm.Ignored, "nor its successes: the parent does not judge them")
	assert.Equal(t, uint64(20), pm.Successes)
	for k := 10; k < 20; k++ {
		_, _ = g.Execute(context.Background(), k, fail) // the whole dependency fails
	}
	assert.Equal(t, circuit.Open, parent.State())
	_, err = g.Execute(context.Background(), 99, okFn)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "dependency", oe.Name, "the parent rejects, for every key")
}

func TestNewGroupRejectsBadOptions(t *testing.T) {
	_, err := circuit.NewGroup[string, int](circuit.WithMaxBreakers(0), circuit.WithIdleTimeout(-1),
		circuit.WithKeyName(func(int) string { return "" }),
		circuit.WithBreakerOptions(circuit.WithWindowSize(-1)))
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	for _, want := range []string{"MaxBreakers = 0", "IdleTimeout = -1ns", "KeyName = func(int) string", "func(string) string", "WindowSize = -1"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = circuit.NewGroup[string, int](circuit.WithGroupParent[string](nil))
	assert.ErrorContains(t, err, "Parent")
}

// Property: whatever the calls, trips and time, the group never holds more
// than its bound, never evicts a breaker that is not closed, and returns
// the same breaker for a key while the key is held.
func TestGroupEvictionProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clk := newStepClock()
		max := rapid.IntRange(1, 8).Draw(t, "max")
		g, err := circuit.NewGroup[int, int](circuit.WithMaxBreakers(max), circuit.WithIdleTimeout(time.Minute),
			circuit.WithBreakerOptions(circuit.WithClock(clk), circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		held := map[int]*circuit.Breaker[int]{}
		for step := 0; step < 60; step++ {
			k := rapid.IntRange(0, 15).Draw(t, "key")
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				_, _ = g.Execute(context.Background(), k, okFn)
			case 1:
				_, _ = g.Execute(context.Background(), k, func(context.Context) (int, error) { return 0, errBoom })
			case 2:
				clk.Add(time.Duration(rapid.IntRange(0, 90).Draw(t, "seconds")) * time.Second)
			case 3:
				g.Get(k).Reset()
			}
			b := g.Get(k)
			if prev, ok := held[k]; ok && prev != b && prev.State() != circuit.Closed && b.Name() != "overflow" {
				t.Fatalf("key %d: a breaker in state %v was replaced", k, prev.State())
			}
			if b.Name() != "overflow" {
				held[k] = b
			}
			if n := g.Metrics().Breakers; n > max {
				t.Fatalf("%d breakers held, bound %d", n, max)
			}
			for hk, hb := range held {
				if hb.State() != circuit.Closed && hb.State() != circuit.Disabled && g.Get(hk) != hb {
					t.Fatalf("key %d, %v, was evicted", hk, hb.State())
				}
			}
		}
	})
}

// Under -race: 64 goroutines on overlapping keys, with churn past the
// bound; every call is booked once by some breaker.
func TestGroupConcurrentChurn(t *testing.T) {
	g, err := circuit.NewGroup[string, int](circuit.WithMaxBreakers(50), circuit.WithIdleTimeout(time.Nanosecond),
		circuit.WithBreakerOptions(circuit.WithConsecutiveFailures(3), circuit.WithOpenTimeout(time.Millisecond)))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				key := "k" + strconv.Itoa((w*7+i)%120)
				_, _ = g.Execute(context.Background(), key, func(context.Context) (int, error) {
					if i%5 == 0 {
						return 0, errBoom
					}
					return i, nil
				})
			}
		}(w)
	}
	wg.Wait()
	m := g.Metrics()
	assert.LessOrEqual(t, m.Breakers, 50)
	assert.Positive(t, m.Evictions)
}

// Get on a held key allocates nothing (see BenchmarkGroupGet for its cost).
func TestGroupGetAllocatesNothing(t *testing.T) {
	g := newGroup[string](t, newStepClock())
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("tenant-%d", i)
		g.Get(keys[i])
	}
	i := 0
	if n := testing.AllocsPerRun(1000, func() { g.Get(keys[i%len(keys)]); i++ }); n != 0 {
		t.Errorf("Get allocates %v times", n)
	}

}
