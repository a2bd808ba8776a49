package bulkhead_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/breakerlab/circuit/bulkhead"
)

func Example() {
	// Two calls at once, no queue.
	bh, err := bulkhead.New[string](bulkhead.WithMaxConcurrent(2))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// Two slow calls hold both slots...
	r1, _ := bh.Acquire(ctx)
	r2, _ := bh.Acquire(ctx)

	// ...so a third is refused at once, without touching the dependency.
	_, err = bh.Execute(ctx, func(context.Context) (string, error) {
		return "never called", nil
	})
	fmt.Println(errors.Is(err, bulkhead.ErrFull))

	r1.Release()
	r2.Release()
	v, err := bh.Execute(ctx, func(context.Context) (string, error) { return "ok", nil })
	fmt.Println(v, err)

	m := bh.Metrics()
	fmt.Printf("admitted %d, rejected %d, peak %d, in flight %d\n", m.Admitted, m.Rejected, m.Peak, m.InFlight)
	// Output:
	// true
	// ok <nil>
	// admitted 3, rejected 1, peak 2, in flight 0
}

func ExampleBulkhead_Acquire() {
	bh, _ := bulkhead.New[int](bulkhead.WithMaxConcurrent(10))
	release, err := bh.Acquire(context.Background())
	if err != nil {
		fmt.Println("shed:", err)
		return
	}
	defer release.Release()
	fmt.Println("in flight:", bh.Metrics().InFlight)
	// Output:
	// in flight: 1
}
