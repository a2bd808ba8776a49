// Command composition shows the recommended nesting of the resilience
// patterns around one dependency:
//
//	retry (outermost) -> bulkhead -> breaker (with its call timeout) -> the call
//
// It tells a short story in virtual time (a mock clock that the fake
// dependency and the retry hook advance), so the output is the same on
// every run:
//
//	go run ./examples/composition
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/bulkhead"
	"github.com/breakerlab/circuit/retry"
)

func main() {
	if _, err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "composition:", err)
		os.Exit(1)
	}
}

// inventory is the fake dependency. While down it hangs until the call's
// deadline: in virtual time it moves the clock there, then returns the
// context's error, as a real client would after its timeout.
type inventory struct {
	clk   *clock.Mock
	down  bool
	calls int
}

func (d *inventory) Stock(ctx context.Context) (int, error) {
	d.calls++
	if !d.down {
		d.clk.Add(20 * time.Millisecond)
		return 42, nil
	}
	if deadline, ok := ctx.Deadline(); ok {
		d.clk.Add(d.clk.Until(deadline))
	}
	<-ctx.Done() // no deadline would hang forever: that is why the breaker has one
	return 0, ctx.Err()
}

// stack is the dependency wrapped in the three patterns.
type stack struct {
	clk     *clock.Mock
	dep     *inventory
	breaker *circuit.Breaker[int]
	bh      *bulkhead.Bulkhead[int]
	policy  *retry.Policy[int]
}

// Stock is the call the application makes. Each retry attempt takes a
// fresh bulkhead slot and asks the breaker afresh.
func (s *stack) Stock(ctx context.Context) (int, error) {
	return s.policy.Execute(ctx, func(ctx context.Context) (int, error) {
		return s.bh.Execute(ctx, func(ctx context.Context) (int, error) {
			return s.breaker.Execute(ctx, s.dep.Stock)
		})
	})
}

func newStack(w io.Writer) (*stack, error) {
	clk := clock.NewMock()
	s := &stack{clk: clk, dep: &inventory{clk: clk}}
	var err error
	s.breaker, err = circuit.New[int](
		circuit.WithName("inventory"),
		circuit.WithClock(clk),
		circuit.WithConsecutiveFailures(3),
		circuit.WithCallTimeout(time.Second), // a hung call fails after 1s and frees its slot
		circuit.WithOpenTimeout(30*time.Second),
		circuit.WithSuccessThreshold(2),
		circuit.WithOnStateChange(func(t circuit.Transition) {
			fmt.Fprintf(w, "    breaker: %s -> %s (%s)\n", t.From, t.To, t.Reason)
		}),
	)
	if err != nil {
		return nil, err
	}
	s.bh, err = bulkhead.New[int](bulkhead.WithMaxConcurrent(2), bulkhead.WithClock(clk))
	if err != nil {
		return nil, err
	}
	s.policy, err = retry.New[int](
		retry.WithMaxAttempts(5),
		retry.WithBackoff(retry.Exponential), retry.WithBaseDelay(100*time.Millisecond),
		retry.WithJitter(0), // jitter belongs in production; here it would make the output vary
		retry.WithClock(clk),
		// A full bulkhead is our own overload: retrying it only adds work.
		retry.WithRetryIf(func(err error) bool { return !errors.Is(err, bulkhead.ErrFull) }),
		retry.WithOnRetry(func(attempt int, err error, delay time.Duration) {
			fmt.Fprintf(w, "    attempt %d failed (%v); retry in %v\n", attempt, err, delay)
			clk.Add(delay) // virtual time: the backoff passes at once
		}),
	)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Summary is what the story observed, for the test.
type Summary struct {
	OutageAttempts    int           // attempts of the call made while the dependency was down
	OutageDepCalls    int           // of which reached the dependency
	OutageReason      retry.Reason  // why that call stopped retrying
	OutageElapsed     time.Duration // virtual time that call took
	OpenDepCalls      int           // dependency calls made by a call while the breaker was open
	FullDepCalls      int           // dependency calls made by a call while the bulkhead was full
	FullReason        retry.Reason
	BreakerFailures   uint64 // failures the breaker recorded in all
	BulkheadRejected  uint64
	FinalBreakerState circuit.State
}

func run(w io.Writer) (Summary, error) {
	var sum Summary
	s, err := newStack(w)
	if err != nil {
		return sum, err
	}
	ctx := context.Background()
	start := s.clk.Now()
	at := func() time.Duration { return s.clk.Now().Sub(start) }
	report := func(v int, err error) {
		if err != nil {
			fmt.Fprintf(w, "    -> error: %v\n", err)
			return
		}
		fmt.Fprintf(w, "    -> stock %d\n", v)
	}

	fmt.Fprintf(w, "[%v] 1. healthy: one attempt\n", at())
	report(s.Stock(ctx))

	fmt.Fprintf(w, "[%v] 2. the dependency hangs: each attempt times out after 1s; the third failure opens the breaker and its rejection ends the retries\n", at())
	s.dep.down = true
	before, t0 := s.dep.calls, s.clk.Now()
	_, err = s.Stock(ctx)
	report(0, err)
	var re *retry.Error
	if !errors.As(err, &re) {
		return sum, fmt.Errorf("outage: want a *retry.Error, got %v", err)
	}
	sum.OutageAttempts, sum.OutageReason = re.Attempts, re.Reason
	sum.OutageDepCalls, sum.OutageElapsed = s.dep.calls-before, s.clk.Since(t0)
	fmt.Fprintf(w, "    %d attempts, %d reached the dependency, %v spent (5 attempts allowed)\n",
		sum.OutageAttempts, sum.OutageDepCalls, sum.OutageElapsed)

	fmt.Fprintf(w, "[%v] 3. breaker open: the next call fails at once, without a retry or a dependency call\n", at())
	before = s.dep.calls
	report(s.Stock(ctx))
	sum.OpenDepCalls = s.dep.calls - before

	s.clk.Add(30 * time.Second)
	s.dep.down = false
	fmt.Fprintf(w, "[%v] 4. 30s later the dependency is back: two probes close the breaker\n", at())
	report(s.Stock(ctx))
	report(s.Stock(ctx))

	fmt.Fprintf(w, "[%v] 5. bulkhead full: two slow calls hold both slots; a third is shed without touching the dependency or the breaker\n", at())
	r1, err := s.bh.Acquire(ctx)
	if err != nil {
		return sum, err
	}
	r2, err := s.bh.Acquire(ctx)
	if err != nil {
		r1.Release()
		return sum, err
	}
	before = s.dep.calls
	failures := s.breaker.Metrics().Failures
	_, err = s.Stock(ctx)
	report(0, err)
	r1.Release()
	r2.Release()
	if !errors.As(err, &re) {
		return sum, fmt.Errorf("bulkhead: want a *retry.Error, got %v", err)
	}
	sum.FullDepCalls, sum.FullReason = s.dep.calls-before, re.Reason
	bm, cm := s.bh.Metrics(), s.breaker.Metrics()
	fmt.Fprintf(w, "    dependency calls: %d; breaker failures: %d -> %d; bulkhead rejected: %d\n",
		sum.FullDepCalls, failures, cm.Failures, bm.Rejected)

	sum.BreakerFailures, sum.BulkheadRejected, sum.FinalBreakerState = cm.Failures, bm.Rejected, cm.State
	fmt.Fprintf(w, "[%v] end: breaker %s, %d dependency calls in all, bulkhead peak %d\n", at(), cm.State, s.dep.calls, bm.Peak)
	return sum, nil
}
