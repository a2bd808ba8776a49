package circuit_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// Allocation budgets of the call path. They are exact, so unlike timing
// they can be enforced by a test: a change that makes a call allocate fails
// here rather than in a benchmark nobody reads. The tests do not run in
// parallel, since testing.AllocsPerRun counts every allocation in the
// process.

// allocsBreaker returns a breaker with the defaults and no CallTimeout (a
// call timeout needs a context per call, which allocates by design).
func allocsBreaker(t *testing.T) *circuit.Breaker[int] {
	t.Helper()
	br, err := circuit.New[int](circuit.WithName("allocs"))
	if err != nil {
		t.Fatal(err)
	}
	if br.Config().CallTimeout != 0 {
		t.Fatalf("default CallTimeout = %v, the budgets below assume none", br.Config().CallTimeout)
	}
	return br
}

func TestAllocsExecute(t *testing.T) {
	ctx := context.Background()
	const runs = 500
	tests := []struct {
		name string
		// setup prepares the breaker; call is the measured step.
		setup func(*circuit.Breaker[int])
		call  func(*testing.T, *circuit.Breaker[int])
		// check verifies afterwards that the intended path ran, given how
		// many times call ran (AllocsPerRun adds one warm-up run).
		check func(*testing.T, circuit.Metrics, uint64)
	}{
		{
			name: "success",
			call: func(t *testing.T, br *circuit.Breaker[int]) {
				if v, err := br.Execute(ctx, benchOK); v != 42 || err != nil {
					t.Errorf("Execute = %d, %v; want 42, nil", v, err)
				}
			},
			check: func(t *testing.T, m circuit.Metrics, calls uint64) {
				if m.State != circuit.Closed || m.Successes != calls {
					t.Errorf("state %v, %d successes; want closed, %d", m.State, m.Successes, calls)
				}
			},
		},
		{
			// One failure between two successes: with the defaults (5 in a
			// row, 50%) the breaker never trips, so every failure takes the
			// closed failure path, not the rejection path.
			name: "failure",
			call: func(t *testing.T, br *circuit.Breaker[int]) {
				if _, err := br.Execute(ctx, benchOK); err != nil {
					t.Errorf("success call: %v", err)
				}
				if v, err := br.Execute(ctx, benchFail); v != 0 || err != errBench {
					t.Errorf("Execute = %d, %v; want 0, %v", v, err, errBench)
				}
				if _, err := br.Execute(ctx, benchOK); err != nil {
					t.Errorf("success call: %v", err)
				}
			},
			check: func(t *testing.T, m circuit.Metrics, calls uint64) {
				if m.State != circuit.Closed || m.Failures != calls || m.Successes != 2*calls {
					t.Errorf("state %v, %d failures, %d successes; want closed, %d, %d",
						m.State, m.Failures, m.Successes, calls, 2*calls)
				}
			},
		},
		{
			name:  "rejection",
			setup: func(br *circuit.Breaker[int]) { br.Trip(circuit.ReasonManual) },
			call: func(t *testing.T, br *circuit.Breaker[int]) {
				if _, err := br.Execute(ctx, benchOpen); err == nil {
					t.Error("Execute while open: nil error, want a rejection")
				}
			},
			check: func(t *testing.T, m circuit.Metrics, calls uint64) {
				if m.State != circuit.Open || m.Rejections != calls || m.Successes != 0 {
					t.Errorf("state %v, %d rejections, %d successes; want open, %d, 0",
						m.State, m.Rejections, m.Successes, calls)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := allocsBreaker(t)
			if tt.setup != nil {
				tt.setup(br)
			}
			allocs := testing.AllocsPerRun(runs, func() { tt.call(t, br) })
			if allocs != 0 {
				t.Errorf("%s through Execute: %v allocations per call, want 0", tt.name, allocs)
			}
			tt.check(t, br.Metrics(), runs+1)
		})
	}
}

// TestAllocsAllow: an admitted Allow allocates its done func, and the
// once-flags it hands out come in chunks of 64, so the average is 1 plus
// 1/64; AllocsPerRun rounds it down to 1.
func TestAllocsAllow(t *testing.T) {
	br := allocsBreaker(t)
	const runs = 640
	allocs := testing.AllocsPerRun(runs, func() {
		permit, err := br.Allow()
		if err != nil {
			t.Fatal(err)
		}
		permit.Done(0, nil)
	})
	if allocs > 1 {
		t.Errorf("Allow + done: %v allocations per call, want at most 1", allocs)
	}
	if m := br.Metrics(); m.Successes != runs+1 {
		t.Errorf("%d successes recorded, want %d", m.Successes, runs+1)
	}

	// A rejected Allow hands out a shared no-op done and allocates nothing.
	br.Trip(circuit.ReasonManual)
	allocs = testing.AllocsPerRun(runs, func() {
		permit, err := br.Allow()
		if err == nil {
			t.Fatal("Allow while open: nil error")
		}
		permit.Done(0, nil)
	})
	if allocs != 0 {
		t.Errorf("rejected Allow: %v allocations per call, want 0", allocs)
	}
}

// TestHeapPerBreaker measures the live heap of a breaker with WindowSize
// 100 (the default), as the growth of the heap after a full GC while many
// breakers are kept alive: one that has made no call yet (its window, probe
// slots and slow-call watch are allocated on first use) and one that has
// made one. The budget is 4 KiB; the floors catch a measurement
// that went wrong (the struct alone is over 300 bytes; the latency ring
// alone 800).
func TestHeapPerBreaker(t *testing.T) {
	for _, tc := range []struct {
		name     string
		used     bool
		min, max int64
	}{
		{"unused", false, 300, 1024},
		{"used", true, 800, 4096},
	} {
		const n = 2000
		keep := make([]*circuit.Breaker[int], n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keep {
			br, err := circuit.New[int](circuit.WithWindowSize(100))
			if err != nil {
				t.Fatal(err)
			}
			if tc.used {
				_, _ = br.Execute(context.Background(), okFn)
			}
			keep[i] = br
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perBreaker := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
		runtime.KeepAlive(keep)
		t.Logf("heap per %s breaker with WindowSize 100: %d bytes", tc.name, perBreaker)
		if perBreaker < tc.min || perBreaker >= tc.max {
			t.Errorf("heap per %s breaker = %d bytes, want in [%d, %d)", tc.name, perBreaker, tc.min, tc.max)
		}
	}
}

// Pins a finding of the outside reliability review (round two): fails before its fix.
//
// A dropped open breaker on the real clock must not keep its last failure
// alive until its open period ends. Before the fix, the pending timer of
// each open period held the period, its *OpenError and the Cause.
func TestDroppedOpenBreakerIsNotRetained(t *testing.T) {
	const n = 100
	collected := make(chan struct{}, n)
	func() {
		for i := 0; i < n; i++ {
			b, err := circuit.New[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(circuit.MaxOpenTimeout))
			require.NoError(t, err)
			cause := &bigError{payload: make([]byte, 10<<10)}
			runtime.SetFinalizer(cause, func(*bigError) { collected <- struct{}{} })
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, cause })
			require.Equal(t, circuit.Open, b.State())
		}
	}()
	deadline := time.After(10 * time.Second) // a bound for failing, not a wait for passing
	for got := 0; got < n; {
		runtime.GC()
		select {
		case <-collected:
			got++
		case <-deadline:
			t.Fatalf("only %d of %d causes of dropped open breakers were collected", got, n)
		default:
			runtime.Gosched()
		}
	}
}

type bigError struct{ payload []byte }

func (e *bigError) Error() string { return fmt.Sprintf("big error (%d bytes)", len(e.payload)) }
