package health_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/health"
)

// With the timeout equal to the interval (the default for intervals under
// 5s), a check that times out is still unwinding when the next tick fires.
// The next check must wait for it and run, not count it a second time
// with ErrCheckRunning.
func TestTimedOutCheckIsCountedOnce(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[int](circuit.WithClock(mock), circuit.WithOpenTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan health.Result, 10)
	started := make(chan struct{}, 10)
	w, err := health.Watch(b, func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}, health.WithClock(mock), health.WithInterval(time.Second),
		health.WithOnCheck(func(r health.Result) { results <- r }))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	mock.Add(time.Second) // the first check starts
	waitFor(t, started)
	mock.Add(time.Second) // it times out as the second tick fires
	r := waitFor(t, results)
	if !errors.Is(r.Err, context.DeadlineExceeded) || r.ConsecutiveFailures != 1 {
		t.Fatalf("first result: %v after %d failures, want a timeout after 1", r.Err, r.ConsecutiveFailures)
	}
	waitFor(t, started) // the second check really ran
	select {
	case r := <-results:
		t.Fatalf("a second result (%v, %d failures) for one timed-out check", r.Err, r.ConsecutiveFailures)
	default:
	}
}

// A caller that cancels CheckNow says nothing about the dependency, and
// neither may the check it abandoned: the next check runs normally.
func TestCanceledCheckNowDoesNotPoisonTheNext(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[int](circuit.WithClock(mock), circuit.WithOpenTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 10)
	var calls atomic.Int64
	w, err := health.Watch(b, func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			started <- struct{}{}
			<-ctx.Done() // honors its context, and is healthy
		}
		return nil
	}, health.WithClock(mock), health.WithInterval(time.Hour), health.WithTimeout(time.Minute),
		health.WithUnhealthyThreshold(1))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := w.CheckNow(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("CheckNow with a canceled ctx: %v, want context.Canceled", err)
	}
	r, err := w.CheckNow(context.Background())
	if err != nil || r.Err != nil || r.Action != health.ActionNone {
		t.Fatalf("next CheckNow: %v, result %v, action %v; want a healthy check", err, r.Err, r.Action)
	}
	if s := b.State(); s != circuit.Closed {
		t.Fatalf("breaker %v, want closed", s)
	}
}

// waitFor receives from c, failing the test if nothing comes within a
// generous real-time guard (the watcher runs on its own goroutine).
func waitFor[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the watcher")
		var zero T
		return zero
	}
}
