package benchmarks_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/afex/hystrix-go/hystrix"
	"github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"

	"github.com/breakerlab/circuit"
)

// Every library runs the same workloads against the same dependency: a call
// that does nothing and returns (42, nil), or (0, errDependency) when the
// workload wants a failure. So the numbers are each breaker's own overhead.
//
// Names are benchstat-friendly: BenchmarkSuccess/lib=gobreaker, so that
// `benchstat -col /lib` prints one row per workload and one column per
// library (run.sh does this).
//
// Every call's result is checked, and every breaker's state afterwards, so a
// configuration that trips (rejecting is cheap) or swallows results cannot
// look fast. The harness adds the same indirect call to every library; the
// lib=direct row, the call without a breaker, measures that floor.

var errDependency = errors.New("dependency failed")

// The dependency in the shape each API takes. They are package-level
// functions so that no call allocates a closure.
func okCtx(context.Context) (int, error)   { return 42, nil }
func failCtx(context.Context) (int, error) { return 0, errDependency }
func okPlain() (int, error)                { return 42, nil }
func failPlain() (int, error)              { return 0, errDependency }
func okErr() error                         { return nil }
func failErr() error                       { return errDependency }

// thresholds says how a workload needs a breaker's trip criteria set.
type thresholds int

const (
	// tripping: each library's criteria tuned as close as its design allows
	// to circuit's defaults (5 failures in a row, 50% of the last 100 calls,
	// P95 latency of 5s; open 30s; 3 successful probes close it).
	tripping thresholds = iota
	// tolerate10: must survive a steady 10% failure rate. The same as
	// tripping for every library whose criteria are windowed or rate based.
	tolerate10
	// unreachable: every call may fail without tripping the breaker.
	unreachable
)

// subject is one library's breaker behind the harness's interface.
type subject struct {
	// call makes one call through the breaker; fail picks the failing
	// dependency.
	call func(fail bool) (int, error)
	// isOpen asks the breaker, through its own API, whether it is open.
	isOpen func() bool
	// rejected reports whether err is the breaker's rejection; nil when the
	// subject cannot reject (lib=direct).
	rejected func(error) bool
}

type library struct {
	name  string
	build func(tb testing.TB, th thresholds) subject
}

var libraries = []library{
	{name: "circuit", build: buildCircuit},
	{name: "circuit-time", build: buildCircuitTime},
	{name: "circuit-allow", build: buildCircuitAllow},
	{name: "gobreaker", build: buildGobreaker},
	{name: "failsafe", build: buildFailsafe},
	{name: "hystrix", build: buildHystrix},
	{name: "eapache", build: buildEapache},
	{name: "direct", build: buildDirect},
}

// circuit: the defaults, so latency is measured and all three criteria
// are checked after every call: 5 consecutive failures, an error rate of
// 50% or a P95 latency of 5s over the last 100 calls (once 10 are in);
// open 30s; one probe at a time, 3 successful probes close it.
// unreachable: consecutive failures set to MaxInt and the error-rate
// criterion off (a 100% failure rate reaches any rate); latency stays on.
func buildCircuit(tb testing.TB, th thresholds) subject {
	return circuitSubject(tb, newCircuit(tb, th))
}

// circuit-time: the same, with the window over the last minute (10 buckets
// of 6s, no cap) instead of the last 100 calls.
func buildCircuitTime(tb testing.TB, th thresholds) subject {
	return circuitSubject(tb, newCircuit(tb, th, circuit.WithWindowDuration(time.Minute), circuit.WithWindowSize(0)))
}

// circuit-allow: the defaults, called through the two-step API (Allow,
// then Permit.Done) instead of Execute.
func buildCircuitAllow(tb testing.TB, th thresholds) subject {
	br := newCircuit(tb, th)
	s := circuitSubject(tb, br)
	s.call = func(fail bool) (int, error) {
		p, err := br.Allow()
		if err != nil {
			return 0, err
		}
		v, err := okPlain()
		if fail {
			v, err = failPlain()
		}
		p.Done(v, err)
		return v, err
	}
	return s
}

func newCircuit(tb testing.TB, th thresholds, extra ...circuit.Option) *circuit.Breaker[int] {
	opts := []circuit.Option{circuit.WithName("bench")}
	if th == unreachable {
		opts = append(opts, circuit.WithConsecutiveFailures(math.MaxInt), circuit.WithErrorRateThreshold(0))
	}
	br, err := circuit.New[int](append(opts, extra...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return br
}

func circuitSubject(_ testing.TB, br *circuit.Breaker[int]) subject {
	ctx := context.Background()
	return subject{
		call: func(fail bool) (int, error) {
			if fail {
				return br.Execute(ctx, failCtx)
			}
			return br.Execute(ctx, okCtx)
		},
		isOpen:   func() bool { return br.State() == circuit.Open },
		rejected: func(err error) bool { return errors.Is(err, circuit.ErrOpen) },
	}
}

// gobreaker v2: ReadyToTrip on 5 consecutive failures or on 50% of at
// least 10 requests; Timeout 30s; MaxRequests 3 (it admits 3 probes at once
// and closes after 3 successes). Differences: Interval 0, so the counts are
// cumulative over the whole closed period rather than the last 100 calls
// (a rolling window needs BucketPeriod, which is time based and costs
// more); it measures no latency; it reads time.Now() twice per call, under
// its mutex. unreachable: ReadyToTrip needs MaxUint32 consecutive failures.
func buildGobreaker(tb testing.TB, th thresholds) subject {
	cb := gobreaker.NewCircuitBreaker[int](gobreakerSettings("bench", th))
	return subject{
		call: func(fail bool) (int, error) {
			if fail {
				return cb.Execute(failPlain)
			}
			return cb.Execute(okPlain)
		},
		isOpen:   func() bool { return cb.State() == gobreaker.StateOpen },
		rejected: func(err error) bool { return errors.Is(err, gobreaker.ErrOpenState) },
	}
}

// failsafe-go: count based, 50 failures among the last 100 executions;
// delay 30s; 3 successes close it (it admits 3 probes). It has one
// criterion at a time, so no consecutive-failure rule beside the ratio, and
// no latency. Calls go through an executor built once, as its docs advise
// for reuse. unreachable: 101 failures among the last 100.
func buildFailsafe(tb testing.TB, th thresholds) subject {
	bld := circuitbreaker.NewBuilder[int]().
		WithFailureThresholdRatio(50, 100).
		WithDelay(30 * time.Second).
		WithSuccessThreshold(3)
	if th == unreachable {
		bld = bld.WithFailureThresholdRatio(101, 100)
	}
	cb := bld.Build()
	exec := failsafe.With[int](cb)
	return subject{
		call: func(fail bool) (int, error) {
			if fail {
				return exec.Get(failPlain)
			}
			return exec.Get(okPlain)
		},
		isOpen:   cb.IsOpen,
		rejected: func(err error) bool { return errors.Is(err, circuitbreaker.ErrOpen) },
	}
}

var hystrixSeq atomic.Int64

// hystrix-go: 50% errors once 10 requests are in its rolling window, which
// is 10 seconds long rather than 100 calls; sleep window 30s; one probe
// closes it. It is also a bulkhead and a timeout, and neither can be turned
// off: every call runs on a new goroutine, watched by a second one with a
// timer, here with a 60s timeout so that it never fires. Do returns as soon
// as the call succeeds, before its goroutines have returned the bulkhead
// ticket and reported the outcome, so a fast caller runs ahead of them: the
// bulkhead gets 1<<17 tickets, or it rejects with "max concurrency" (seen
// with 1000 at -cpu 2). That background work runs on the other core at
// -cpu 2, so there its ns/op understates its CPU cost. Its counters are
// updated asynchronously. It is configured through a global registry, so
// each breaker gets a fresh name, and Flush clears them after each
// benchmark. Its API returns only an error, so the adapter supplies 42 on
// success. unreachable: 2^31-1 requests needed before it judges the error
// rate.
func buildHystrix(tb testing.TB, th thresholds) subject {
	name := fmt.Sprintf("bench-%d", hystrixSeq.Add(1))
	cfg := hystrix.CommandConfig{
		Timeout:                60000,
		MaxConcurrentRequests:  1 << 17,
		RequestVolumeThreshold: 10,
		SleepWindow:            30000,
		ErrorPercentThreshold:  50,
	}
	if th == unreachable {
		cfg.RequestVolumeThreshold = math.MaxInt32
	}
	hystrix.ConfigureCommand(name, cfg)
	cb, _, err := hystrix.GetCircuit(name)
	if err != nil {
		tb.Fatal(err)
	}
	return subject{
		call: func(fail bool) (int, error) {
			run := okErr
			if fail {
				run = failErr
			}
			if err := hystrix.Do(name, run, nil); err != nil {
				return 0, err
			}
			return 42, nil
		},
		isOpen:   cb.IsOpen,
		rejected: func(err error) bool { return errors.Is(err, hystrix.ErrCircuitOpen) },
	}
}

// gobreakerSettings is the configuration buildGobreaker describes, also
// used by the fleet benchmark's DistributedCircuitBreaker.
func gobreakerSettings(name string, th thresholds) gobreaker.Settings {
	st := gobreaker.Settings{
		Name:        name,
		MaxRequests: 3,
		Timeout:     30 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= 5 || (c.Requests >= 10 && 2*c.TotalFailures >= c.Requests)
		},
	}
	if th == unreachable {
		st.ReadyToTrip = func(c gobreaker.Counts) bool { return c.ConsecutiveFailures == math.MaxUint32 }
	}
	return st
}

// eapache/go-resiliency: opens after 5 errors with no error-free gap of
// 30s between them; open 30s; 3 successes close it. That is its only
// criterion, and it counts errors rather than a rate, so any steady failure
// rate trips it in the end: for tolerate10 (and unreachable) its threshold
// is MaxInt. It measures nothing on success (a closed success takes no lock
// and reads no clock) and opens by starting a goroutine that sleeps out the
// timeout. Its API returns only an error, so the adapter supplies 42.
func buildEapache(tb testing.TB, th thresholds) subject {
	errorThreshold := 5
	if th != tripping {
		errorThreshold = math.MaxInt
	}
	cb := breaker.New(errorThreshold, 3, 30*time.Second)
	return subject{
		call: func(fail bool) (int, error) {
			run := okErr
			if fail {
				run = failErr
			}
			if err := cb.Run(run); err != nil {
				return 0, err
			}
			return 42, nil
		},
		isOpen:   func() bool { return cb.GetState() == breaker.Open },
		rejected: func(err error) bool { return errors.Is(err, breaker.ErrBreakerOpen) },
	}
}

// direct: the call with no breaker, the floor. It cannot reject, so it has
// no Rejection row.
func buildDirect(testing.TB, thresholds) subject {
	return subject{
		call: func(fail bool) (int, error) {
			if fail {
				return failPlain()
			}
			return okPlain()
		},
		isOpen: func() bool { return false },
	}
}

// workload is one call pattern. failEvery > 0 fails every failEvery-th
// call (1: every call); open trips the breaker first, by failing calls, so
// that every measured call is rejected.
type workload struct {
	failEvery int
	open      bool
	th        thresholds
}

var (
	success   = workload{th: tripping}
	failure   = workload{failEvery: 1, th: unreachable}
	mix10     = workload{failEvery: 10, th: tolerate10}
	rejection = workload{open: true, th: tripping}
)

func BenchmarkSuccess(b *testing.B)           { compare(b, success, false) }
func BenchmarkFailure(b *testing.B)           { compare(b, failure, false) }
func BenchmarkMix10(b *testing.B)             { compare(b, mix10, false) }
func BenchmarkRejection(b *testing.B)         { compare(b, rejection, false) }
func BenchmarkSuccessParallel(b *testing.B)   { compare(b, success, true) }
func BenchmarkFailureParallel(b *testing.B)   { compare(b, failure, true) }
func BenchmarkMix10Parallel(b *testing.B)     { compare(b, mix10, true) }
func BenchmarkRejectionParallel(b *testing.B) { compare(b, rejection, true) }

// compare runs w against every library; parallel runs it on GOMAXPROCS
// goroutines sharing one breaker.
func compare(b *testing.B, w workload, parallel bool) {
	for _, lib := range libraries {
		lib := lib
		b.Run("lib="+lib.name, func(b *testing.B) {
			s := lib.build(b, w.th)
			defer hystrix.Flush()
			if w.open && s.rejected == nil {
				b.Skip("cannot reject")
			}
			var want error // the rejection every call must return
			if w.open {
				want = trip(b, s)
			}
			// check makes the i-th call and checks its result; it returns
			// the error of a wrong result, nil if the result is right.
			check := func(i int) error {
				var v int
				var err error
				switch {
				case w.open:
					if _, err = s.call(false); err == want {
						return nil
					}
				case w.failEvery > 0 && i%w.failEvery == 0:
					if v, err = s.call(true); v == 0 && err == errDependency {
						return nil
					}
				default:
					if v, err = s.call(false); v == 42 && err == nil {
						return nil
					}
				}
				return fmt.Errorf("call %d: unexpected result %d, %v", i, v, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						if err := check(i); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					if err := check(i); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			if open := s.isOpen(); open != w.open {
				b.Fatalf("breaker open = %v after the run, want %v", open, w.open)
			}
		})
	}
}

// trip fails calls until the breaker rejects one, and returns that
// rejection. hystrix updates its counters asynchronously, hence the loop
// rather than a fixed count.
func trip(tb testing.TB, s subject) error {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.call(true)
		if err != nil && s.rejected(err) {
			if !s.isOpen() {
				tb.Fatalf("rejected with %v, but the breaker does not say it is open", err)
			}
			return err
		}
		if err != errDependency {
			tb.Fatalf("while tripping: got %v, want %v", err, errDependency)
		}
		if time.Now().After(deadline) {
			tb.Fatal("the breaker did not open within 10s of failing calls")
		}
	}
}

// TestLibrariesBehave checks the harness itself in a plain test run (and
// so in CI): every subject returns the dependency's results while closed,
// survives its workload's failures, and rejects once tripped.
func TestLibrariesBehave(t *testing.T) {
	for _, lib := range libraries {
		t.Run(lib.name, func(t *testing.T) {
			for _, w := range []workload{success, failure, mix10} {
				s := lib.build(t, w.th)
				for i := 0; i < 300; i++ {
					fail := w.failEvery > 0 && i%w.failEvery == 0
					v, err := s.call(fail)
					if fail && (v != 0 || err != errDependency) || !fail && (v != 42 || err != nil) {
						t.Fatalf("workload %+v, call %d: got %d, %v", w, i, v, err)
					}
				}
				if s.isOpen() {
					t.Fatalf("workload %+v: open after 300 calls", w)
				}
			}
			s := lib.build(t, tripping)
			if s.rejected == nil {
				return
			}
			rej := trip(t, s)
			if _, err := s.call(false); err != rej {
				t.Fatalf("open: got %v, want the rejection %v again", err, rej)
			}
		})
	}
}
