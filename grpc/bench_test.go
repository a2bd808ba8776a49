package grpc_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitgrpc "github.com/breakerlab/circuit/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// BenchmarkUnary is one unary call over bufconn to a real server, without
// the interceptor and with it, in the same run: the difference is what
// the breaker adds to a call.
func BenchmarkUnary(b *testing.B) {
	be := newBackend(b, func(string) error { return nil })
	ic, err := circuitgrpc.New()
	if err != nil {
		b.Fatal(err)
	}
	conns := map[string]*grpc.ClientConn{
		"direct":      be.dial(b, "direct"),
		"interceptor": be.dial(b, "interceptor", grpc.WithChainUnaryInterceptor(ic.Unary())),
	}
	for _, name := range []string{"direct", "interceptor"} {
		cc := conns[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := call(context.Background(), cc, methodA); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInterceptor is the interceptor alone around an invoker that
// does nothing: admitted (closed breaker); rejected (open breaker, the
// rejection of the same millisecond reused); and rejected on a clock that
// moves a millisecond at every reading, so that every rejection builds its
// status and details anew.
func BenchmarkInterceptor(b *testing.B) {
	ok := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	b.Run("admitted", func(b *testing.B) {
		ic, err := circuitgrpc.New()
		if err != nil {
			b.Fatal(err)
		}
		unary := ic.Unary()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := unary(context.Background(), methodA, nil, nil, nil, ok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rejected", func(b *testing.B) {
		ic, err := circuitgrpc.New()
		if err != nil {
			b.Fatal(err)
		}
		ic.Group().Get(methodA).Trip(circuit.ReasonManual)
		unary := ic.Unary()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := unary(context.Background(), methodA, nil, nil, nil, ok); status.Code(err) != codes.Unavailable {
				b.Fatal(err)
			}
		}
	})
	b.Run("rejected-new-status", func(b *testing.B) {
		ic, err := circuitgrpc.New(
			circuitgrpc.WithClock(&stepClock{now: time.Unix(0, 0)}),
			circuitgrpc.WithBreakerOptions(circuit.WithOpenTimeout(circuit.MaxOpenTimeout)))
		if err != nil {
			b.Fatal(err)
		}
		ic.Group().Get(methodA).Trip(circuit.ReasonManual)
		unary := ic.Unary()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := unary(context.Background(), methodA, nil, nil, nil, ok); status.Code(err) != codes.Unavailable {
				b.Fatal(err)
			}
		}
	})
}

// stepClock moves a millisecond at every reading.
type stepClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func (c *stepClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}
