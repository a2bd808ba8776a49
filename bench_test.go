package circuit_test

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
)

// The benchmarks measure the breaker's own overhead: the wrapped calls do
// nothing. Each one checks every result, and the breaker's state and counts
// afterwards, so a configuration that trips (and so rejects cheaply) cannot
// pass for a fast closed path. The peer comparison lives in benchmarks/.

var errBench = errors.New("bench: dependency failed")

func benchOK(context.Context) (int, error)   { return 42, nil }
func benchFail(context.Context) (int, error) { return 0, errBench }

// benchOpen is the call of the rejection workloads; it must never run.
func benchOpen(context.Context) (int, error) { return -1, nil }

// benchBreaker returns a breaker with the defaults, that is with latency
// measurement and all three trip criteria on (5 consecutive failures, a 50%
// error rate or a 5s P95 over the last 100 calls).
func benchBreaker(b *testing.B, opts ...circuit.Option) *circuit.Breaker[int] {
	b.Helper()
	br, err := circuit.New[int](append([]circuit.Option{circuit.WithName("bench")}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// unreachable makes the trip thresholds unreachable for a workload in which
// every call fails: no run of failures is long enough, and the error-rate
// criterion is off because a 100% failure rate reaches any threshold. The
// latency criterion stays on.
var unreachable = []circuit.Option{
	circuit.WithConsecutiveFailures(math.MaxInt),
	circuit.WithErrorRateThreshold(0),
}

// benchWorkload is one call pattern. failEvery > 0 fails every failEvery-th
// call (1: all of them); open trips the breaker first, so that every call
// is rejected.
type benchWorkload struct {
	name      string
	failEvery int
	open      bool
	opts      []circuit.Option
}

var benchWorkloads = []benchWorkload{
	{name: "success"},
	{name: "failure", failEvery: 1, opts: unreachable},
	// 10% failures, spread out: the defaults' thresholds (5 in a row, 50%)
	// are unreachable, so this measures the bookkeeping alone.
	{name: "mix10", failEvery: 10},
	{name: "rejection", open: true},
}

// call makes the i-th call of w through br and reports whether the result
// is the one w expects.
func (w *benchWorkload) call(ctx context.Context, br *circuit.Breaker[int], i int, rejected error) bool {
	if w.open {
		_, err := br.Execute(ctx, benchOpen)
		return err == rejected
	}
	if w.failEvery > 0 && i%w.failEvery == 0 {
		v, err := br.Execute(ctx, benchFail)
		return v == 0 && err == errBench
	}
	v, err := br.Execute(ctx, benchOK)
	return v == 42 && err == nil
}

// prepare returns the breaker for w and, for the rejection workload, the
// error every call must return.
func (w *benchWorkload) prepare(b *testing.B) (*circuit.Breaker[int], error) {
	br := benchBreaker(b, w.opts...)
	if !w.open {
		return br, nil
	}
	br.Trip(circuit.ReasonManual)
	_, rejected := br.Execute(context.Background(), benchOpen)
	var oe *circuit.OpenError
	if !errors.As(rejected, &oe) || oe.State != circuit.Open {
		b.Fatalf("after Trip: got %v, want an *OpenError while open", rejected)
	}
	return br, rejected
}

// verify checks the breaker after n calls of w (plus the one prepare made).
func (w *benchWorkload) verify(b *testing.B, br *circuit.Breaker[int], n int) {
	b.Helper()
	m := br.Metrics()
	if w.open {
		if m.State != circuit.Open || m.Rejections != uint64(n)+1 || m.Successes+m.Failures != 0 {
			b.Fatalf("rejection: state %v, %d rejections, %d calls ran; want open, %d, 0",
				m.State, m.Rejections, m.Successes+m.Failures, n+1)
		}
		return
	}
	if m.State != circuit.Closed || m.Transitions != 0 || m.Successes+m.Failures != uint64(n) {
		b.Fatalf("%s: state %v after %d transitions, %d calls recorded; want closed, 0, %d",
			w.name, m.State, m.Transitions, m.Successes+m.Failures, n)
	}
}

// BenchmarkExecute measures one call through Execute, on one goroutine.
func BenchmarkExecute(b *testing.B) {
	for _, w := range benchWorkloads {
		w := w
		b.Run(w.name, func(b *testing.B) {
			br, rejected := w.prepare(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !w.call(ctx, br, i, rejected) {
					b.Fatalf("call %d: unexpected result", i)
				}
			}
			b.StopTimer()
			w.verify(b, br, b.N)
		})
	}
}

// BenchmarkExecuteParallel measures the same workloads with GOMAXPROCS
// goroutines sharing one breaker.
func BenchmarkExecuteParallel(b *testing.B) {
	for _, w := range benchWorkloads {
		w := w
		b.Run(w.name, func(b *testing.B) {
			br, rejected := w.prepare(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if !w.call(ctx, br, i, rejected) {
						b.Errorf("call %d: unexpected result", i)
						return
					}
				}
			})
			b.StopTimer()
			w.verify(b, br, b.N)
		})
	}
}

// BenchmarkMetrics measures a snapshot of a breaker whose window of 100 is
// full. The latencies are spread over 1ms..100ms in random order (recorded
// through a mock clock), so the percentile selection does real work.
func BenchmarkMetrics(b *testing.B) {
	mock := newStepClock()
	br := benchBreaker(b, circuit.WithClock(mock), circuit.WithWindowSize(100))
	rng := rand.New(rand.NewSource(1))
	for _, ms := range rng.Perm(100) {
		permit, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		mock.Add(time.Duration(ms+1) * time.Millisecond)
		permit.Done(0, nil)
	}
	want := reported(95 * time.Millisecond)
	if m := br.Metrics(); m.WindowRequests != 100 || m.P95Latency != want {
		b.Fatalf("window holds %d calls with P95 %v; want 100 and %v", m.WindowRequests, m.P95Latency, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m := br.Metrics(); m.P95Latency != want {
			b.Fatalf("P95 = %v, want %v", m.P95Latency, want)
		}
	}
}

// BenchmarkMaxWindow measures what must not grow with the window: a
// Metrics snapshot and a transition delivered to a hook, with a full
// window of MaxWindowSize outcomes whose latencies spread over 1µs..1s.
// (Transitions alternate between Disabled and ForcedOpen, which keep the
// window, so that every one is taken with the window full.)
func BenchmarkMaxWindow(b *testing.B) {
	mock := newStepClock() // clock.Mock's Add sleeps: too slow for 2^20 calls
	br := benchBreaker(b, circuit.WithClock(mock), circuit.WithWindowSize(circuit.MaxWindowSize))
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < circuit.MaxWindowSize; i++ {
		permit, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		mock.Add(time.Duration(1+rng.Intn(1_000_000)) * time.Microsecond)
		permit.Done(0, nil)
	}
	if m := br.Metrics(); m.WindowRequests != circuit.MaxWindowSize {
		b.Fatalf("window holds %d", m.WindowRequests)
	}
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			br.Metrics()
		}
	})
	b.Run("transition", func(b *testing.B) {
		seen := 0
		unsubscribe := br.Subscribe(func(tr circuit.Transition) {
			if tr.Metrics.WindowRequests == circuit.MaxWindowSize {
				seen++
			}
		})
		defer unsubscribe()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !br.Disable() { // already disabled: hold it open instead
				br.ForceOpen()
			}
		}
		b.StopTimer()
		if seen != b.N {
			b.Fatalf("%d of %d transitions saw the full window", seen, b.N)
		}
	})
}

// BenchmarkNew measures building a breaker with the defaults (window 100).
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if br, err := circuit.New[int](); br == nil || err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllow measures the two-step form: Allow, then done(nil) for a
// successful call. Compare with BenchmarkExecute/success.
func BenchmarkAllow(b *testing.B) {
	br := benchBreaker(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		permit, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		permit.Done(0, nil)
	}
	b.StopTimer()
	if m := br.Metrics(); m.State != circuit.Closed || m.Successes != uint64(b.N) {
		b.Fatalf("state %v with %d successes; want closed with %d", m.State, m.Successes, b.N)
	}
}

// BenchmarkGroupGet measures Get for a key the group already holds, among
// 1,000 keys, with RunParallel (run with -cpu 1,2).
func BenchmarkGroupGet(b *testing.B) {
	g, err := circuit.NewGroup[string, int]()
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i)
		g.Get(keys[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if g.Get(keys[i%len(keys)]) == nil {
				b.Fatal("nil breaker")
			}
			i++
		}
	})
}

// BenchmarkGroupMemory reports the group's heap per key, with 1,000,000
// keys holding idle closed breakers with the default window: each made one
// successful call ("used"), or none ("unused").
func BenchmarkGroupMemory(b *testing.B) {
	const keys = 1_000_000
	for _, used := range []bool{false, true} {
		b.Run(map[bool]string{false: "unused", true: "used"}[used], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				g, err := circuit.NewGroup[int, int](circuit.WithMaxBreakers(keys))
				if err != nil {
					b.Fatal(err)
				}
				for k := 0; k < keys; k++ {
					br := g.Get(k)
					if used {
						_, _ = br.Execute(context.Background(), benchOK)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/keys, "B/key")
				runtime.KeepAlive(g)
			}
		})
	}
}

// BenchmarkObserve is the cost of Observe on the success path: none, and
// one observer that does nothing (the hand-off itself).
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{0, 1} {
		b.Run("observers="+strconv.Itoa(n), func(b *testing.B) {
			br, err := circuit.New[int]()
			if err != nil {
				b.Fatal(err)
			}
			if n == 1 {
				br.Observe(func(circuit.Observation) {})
			}
			fn := func(context.Context) (int, error) { return 1, nil }
			ctx := context.Background()
			b.ReportAllocs()
			for range b.N {
				if _, err := br.Execute(ctx, fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
