package monitor_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryRegisterGetUnregister(t *testing.T) {
	mock := clock.NewMock()
	var reg monitor.Registry // the zero value is ready
	a := newBreaker(t, mock, "a")
	b, err := circuit.New[string](circuit.WithName("b"), circuit.WithClock(mock))
	require.NoError(t, err)

	require.NoError(t, reg.Register(b))
	require.NoError(t, reg.Register(a))
	assert.Equal(t, 2, reg.Len())

	got, ok := reg.Get("b")
	require.True(t, ok)
	assert.Same(t, b, got)
	_, ok = reg.Get("c")
	assert.False(t, ok)

	assert.True(t, reg.Unregister("a"))
	assert.False(t, reg.Unregister("a"), "second unregister")
	_, ok = reg.Get("a")
	assert.False(t, ok)
	assert.Equal(t, 1, reg.Len())
	require.NoError(t, reg.Register(a), "a name is free again after Unregister")
}

func TestRegistryRejects(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	require.NoError(t, reg.Register(newBreaker(t, mock, "pay")))

	err := reg.Register(newBreaker(t, mock, "pay"))
	require.ErrorIs(t, err, monitor.ErrDuplicateName)
	assert.EqualError(t, err, `monitor: duplicate breaker name: "pay"`)

	err = reg.Register(nil)
	require.ErrorIs(t, err, monitor.ErrInvalidView)
	assert.Contains(t, err.Error(), "nil view")

	var typedNil *circuit.Breaker[int]
	require.ErrorIs(t, reg.Register(typedNil), monitor.ErrInvalidView)

	unnamed, err := circuit.New[int](circuit.WithClock(mock))
	require.NoError(t, err)
	err = reg.Register(unnamed)
	require.ErrorIs(t, err, monitor.ErrInvalidView)
	assert.Contains(t, err.Error(), "empty name")

	assert.Equal(t, 1, reg.Len(), "rejected registrations change nothing")
}

func TestRegistryBreakersAndSnapshotSortedByName(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	for _, n := range []string{"search", "auth", "pay"} {
		require.NoError(t, reg.Register(newBreaker(t, mock, n)))
	}
	pay, _ := reg.Get("pay")
	pay.(*circuit.Breaker[int]).Trip(circuit.ReasonManual)

	var names []string
	for _, v := range reg.Breakers() {
		names = append(names, v.Name())
	}
	assert.Equal(t, []string{"auth", "pay", "search"}, names)

	snap := reg.Snapshot()
	require.Len(t, snap, 3)
	assert.Equal(t, "auth", snap[0].Name)
	assert.Equal(t, "pay", snap[1].Name)
	assert.Equal(t, circuit.Open, snap[1].State)
	assert.Equal(t, circuit.Closed, snap[2].State)

	assert.Empty(t, monitor.NewRegistry().Breakers())
	assert.Empty(t, monitor.NewRegistry().Snapshot())
}

// TestRegistryConcurrent hammers every method at once; run with -race.
func TestRegistryConcurrent(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		w := w
		b := newBreaker(t, mock, fmt.Sprintf("b%d", w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				if err := reg.Register(b); err != nil {
					t.Errorf("register %d: %v", w, err)
					return
				}
				_ = reg.Breakers()
				_ = reg.Snapshot()
				_, _ = reg.Get(b.Name())
				if !reg.Unregister(b.Name()) {
					t.Errorf("unregister %d: not found", w)
					return
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 0, reg.Len())
}
