// Package schematest holds the fixtures that the tests of both exporters
// (prometheus/ and otel/) share, so that both test the one schema on the
// same breakers. It is for tests only.
package schematest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
)

// ErrDown is the failure the fleet's failing calls return.
var ErrDown = errors.New("dependency down")

// Call runs one call through b that takes lat on mock and ends with err.
func Call(b *circuit.Breaker[string], mock *clock.Mock, lat time.Duration, err error) {
	_, _ = b.Execute(context.Background(), func(context.Context) (string, error) {
		mock.Add(lat)
		return "ok", err
	})
}

// Fleet builds three breakers on mock clocks, one in each state:
//
//   - inventory: new, closed, no calls;
//   - payments: 2 successes (10ms, 20ms), a canceled call, 3 failures
//     (30ms, 40ms, 50ms) that trip it after 3 in a row, then 2 rejected
//     calls; its fallback serves the canceled, failed and rejected calls;
//   - search: tripped by hand and left until its 10s timeout has passed,
//     so a collection finds it half-open.
func Fleet(t testing.TB) (inventory, payments, search *circuit.Breaker[string]) {
	t.Helper()
	var err error
	inventory, err = circuit.New[string](circuit.WithName("inventory"), circuit.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}

	pm := clock.NewMock()
	payments, err = circuit.New[string](
		circuit.WithName("payments"),
		circuit.WithClock(pm),
		circuit.WithConsecutiveFailures(3),
		circuit.WithOpenTimeout(time.Minute),
		circuit.WithFallback(func(context.Context, error) (string, error) { return "cached", nil }),
	)
	if err != nil {
		t.Fatal(err)
	}
	Call(payments, pm, 10*time.Millisecond, nil)
	Call(payments, pm, 20*time.Millisecond, nil)
	Call(payments, pm, 5*time.Millisecond, context.Canceled)
	Call(payments, pm, 30*time.Millisecond, ErrDown)
	Call(payments, pm, 40*time.Millisecond, ErrDown)
	Call(payments, pm, 50*time.Millisecond, ErrDown)
	Call(payments, pm, 0, nil) // rejected
	Call(payments, pm, 0, nil) // rejected
	if s := payments.State(); s != circuit.Open {
		t.Fatalf("payments is %v after 3 failures, want open", s)
	}

	sm := clock.NewMock()
	search, err = circuit.New[string](circuit.WithName("search"), circuit.WithClock(sm), circuit.WithOpenTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	search.Trip(circuit.ReasonManual)
	sm.Add(10 * time.Second)
	return inventory, payments, search
}

// Views returns n fresh breakers on the real clock, named dep-000 on, for
// the exporters' benchmarks.
func Views(tb testing.TB, n int) []circuit.View {
	views := make([]circuit.View, n)
	for i := range views {
		br, err := circuit.New[int](circuit.WithName(fmt.Sprintf("dep-%03d", i)))
		if err != nil {
			tb.Fatal(err)
		}
		views[i] = br
	}
	return views
}

// Source is a changing set of breakers, the Source both exporters take,
// whose breakers a test can change between collections. It is safe for
// concurrent use; the zero value is empty.
type Source struct {
	mu    sync.Mutex // guards views
	views []circuit.View
}

// Breakers returns the current set.
func (s *Source) Breakers() []circuit.View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]circuit.View(nil), s.views...)
}

// Set replaces the set.
func (s *Source) Set(views ...circuit.View) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.views = views
}

// NewSource returns a Source holding views.
func NewSource(views ...circuit.View) *Source {
	s := &Source{}
	s.Set(views...)
	return s
}

// Busy starts workers goroutines that each make calls calls through b, half
// of them failing with ErrDown, and returns a channel closed when all have
// returned: both exporters collect while it runs.
func Busy(b *circuit.Breaker[int], workers, calls int) <-chan struct{} {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
					if (w+i)%2 == 0 {
						return 0, ErrDown
					}
					return i, nil
				})
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}
