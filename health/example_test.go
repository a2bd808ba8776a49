package health_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/health"
)

// Open a breaker when its dependency fails its health check twice in a
// row, before any call has to fail. CheckNow runs a check at once; the
// watcher would otherwise check every interval.
func ExampleWatch() {
	b, err := circuit.New[string](
		circuit.WithName("db"),
		circuit.WithOnStateChange(func(t circuit.Transition) {
			fmt.Printf("breaker %s: %v -> %v (%v)\n", t.Name, t.From, t.To, t.Reason)
		}),
	)
	if err != nil {
		panic(err)
	}
	ping := func(ctx context.Context) error { return errors.New("connection refused") }
	w, err := health.Watch(b, ping, health.WithInterval(10*time.Second), health.WithUnhealthyThreshold(2))
	if err != nil {
		panic(err)
	}
	defer w.Stop()

	for i := 1; i <= 3; i++ {
		r, err := w.CheckNow(context.Background())
		if err != nil {
			panic(err)
		}
		fmt.Printf("check %d: %v; unhealthy %d in a row; action %v\n", i, r.Err, r.ConsecutiveFailures, r.Action)
	}
	_, err = b.Execute(context.Background(), func(context.Context) (string, error) { return "rows", nil })
	fmt.Println(err)
	// Output:
	// check 1: connection refused; unhealthy 1 in a row; action none
	// breaker db: closed -> open (health-check)
	// check 2: connection refused; unhealthy 2 in a row; action open
	// check 3: connection refused; unhealthy 3 in a row; action none
	// circuit: breaker "db" is open
}

// With proactive recovery, a breaker does not sit out its whole open
// timeout once the dependency is healthy again: two healthy checks move it
// to half-open, and its probe calls close it.
func ExampleWithRecovery() {
	b, err := circuit.New[string](
		circuit.WithName("search"),
		circuit.WithOpenTimeout(time.Hour),
		circuit.WithSuccessThreshold(1),
		circuit.WithOnStateChange(func(t circuit.Transition) {
			fmt.Printf("%v -> %v (%v)\n", t.From, t.To, t.Reason)
		}),
	)
	if err != nil {
		panic(err)
	}
	var up atomic.Bool
	ping := func(ctx context.Context) error {
		if !up.Load() {
			return errors.New("503")
		}
		return nil
	}
	w, err := health.Watch(b, ping, health.WithUnhealthyThreshold(1), health.WithRecovery(2))
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	ctx := context.Background()

	r, _ := w.CheckNow(ctx) // down: opens the breaker for an hour
	fmt.Println("action:", r.Action)
	up.Store(true)
	r, _ = w.CheckNow(ctx)
	fmt.Println("action:", r.Action)
	r, _ = w.CheckNow(ctx) // second healthy check in a row while open
	fmt.Println("action:", r.Action)

	v, err := b.Execute(ctx, func(context.Context) (string, error) { return "results", nil })
	fmt.Println(v, err, b.State())
	// Output:
	// closed -> open (health-check)
	// action: open
	// action: none
	// open -> half-open (health-recovered)
	// action: half-open
	// half-open -> closed (probes-succeeded)
	// results <nil> closed
}
