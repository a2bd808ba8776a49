package circuit_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
)

// With the real clock an open breaker rejects without reading the clock
// until a timer marks its timeout as passed. This checks, on the real clock
// (polling with a bound, never sleeping a fixed time), that the timer is
// armed, fires, and is stopped when the breaker leaves Open early.
func TestRealClockOpenRejectsThenProbes(t *testing.T) {
	ctx := context.Background()
	ok := func(context.Context) (int, error) { return 1, nil }

	long, err := circuit.New[int](circuit.WithOpenTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	long.Trip(circuit.ReasonManual)
	for i := 0; i < 100; i++ {
		if _, err := long.Execute(ctx, ok); !errors.Is(err, circuit.ErrOpen) {
			t.Fatalf("call %d while open for an hour: %v, want a rejection", i, err)
		}
	}
	if m := long.Metrics(); m.Rejections != 100 || m.State != circuit.Open {
		t.Fatalf("%d rejections, state %v; want 100, open", m.Rejections, m.State)
	}
	long.Reset() // stops the timer; goleak in TestMain checks nothing is left
	if v, err := long.Execute(ctx, ok); v != 1 || err != nil {
		t.Fatalf("after Reset: %d, %v; want 1, nil", v, err)
	}

	short, err := circuit.New[int](circuit.WithOpenTimeout(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	short.Trip(circuit.ReasonManual)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := short.Execute(ctx, ok)
		if err == nil && v == 1 {
			break // admitted as a probe once the timeout passed
		}
		if !errors.Is(err, circuit.ErrOpen) {
			t.Fatalf("Execute = %d, %v; want a rejection or the probe's result", v, err)
		}
		if time.Now().After(deadline) {
			t.Fatal("still rejecting 10s after a 1ms open timeout")
		}
		runtime.Gosched()
	}
	if m := short.Metrics(); m.Successes != 1 || m.TransitionCounts[circuit.Open][circuit.HalfOpen] != 1 {
		t.Fatalf("%d successes, %d open->half-open; want 1 and 1",
			m.Successes, m.TransitionCounts[circuit.Open][circuit.HalfOpen])
	}
}
