package grpc_test

import (
	"context"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitgrpc "github.com/breakerlab/circuit/grpc"
	"google.golang.org/grpc"
)

// The interceptor's own allocation budget: nothing for an admitted call,
// nothing for a rejection that reuses the status of the same millisecond.
// Exact, so a change that makes the call path allocate fails here. Not
// parallel: testing.AllocsPerRun counts the whole process.
func TestAllocations(t *testing.T) {
	ok := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	ic, err := circuitgrpc.New(circuitgrpc.WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	unary := ic.Unary()
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = unary(ctx, methodA, nil, nil, nil, ok) }); n != 0 {
		t.Errorf("admitted call: %v allocations, want 0", n)
	}
	ic.Group().Get(methodB).Trip(circuit.ReasonManual)
	_ = unary(ctx, methodB, nil, nil, nil, ok) // builds the rejection once
	if n := testing.AllocsPerRun(100, func() { _ = unary(ctx, methodB, nil, nil, nil, ok) }); n != 0 {
		t.Errorf("rejected call: %v allocations, want 0", n)
	}
}
