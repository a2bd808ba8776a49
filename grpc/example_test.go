package grpc_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitgrpc "github.com/breakerlab/circuit/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// unavailableUnlessServing answers every call with Unavailable while hs
// says the server is not serving, as a draining server does.
func unavailableUnlessServing(hs *health.Server) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := hs.Check(ctx, &healthgrpc.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthgrpc.HealthCheckResponse_SERVING {
			return nil, status.Error(codes.Unavailable, "draining")
		}
		return handler(ctx, req)
	}
}

// A client of gRPC's health service, in process, goes through a breaker
// per method. The server goes NOT_SERVING and answers Unavailable: three
// failures open the Check breaker, the next call is turned away at once
// with Unavailable and a RetryInfo of 30s, and once the server serves
// again and the open period has passed (on a mock clock), one probe closes
// the breaker.
func Example_healthService() {
	hs := health.NewServer()
	srv := grpc.NewServer(grpc.UnaryInterceptor(unavailableUnlessServing(hs)))
	healthgrpc.RegisterHealthServer(srv, hs)
	lis := bufconn.Listen(1 << 16)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	mock := clock.NewMock()
	ic, err := circuitgrpc.New(
		circuitgrpc.WithClock(mock),
		circuitgrpc.WithBreakerOptions(
			circuit.WithConsecutiveFailures(3),
			circuit.WithOpenTimeout(30*time.Second),
			circuit.WithSuccessThreshold(1),
			circuit.WithOnStateChange(func(tr circuit.Transition) {
				fmt.Printf("  breaker %s: %v -> %v (%v)\n", tr.Name, tr.From, tr.To, tr.Reason)
			}),
		),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := grpc.NewClient("passthrough:///health",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(ic.Unary()),
		grpc.WithChainStreamInterceptor(ic.Stream()),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	client := healthgrpc.NewHealthClient(conn)

	check := func() {
		resp, err := client.Check(context.Background(), &healthgrpc.HealthCheckRequest{})
		switch d, hasDelay := circuitgrpc.RetryDelay(err); {
		case err == nil:
			fmt.Println("check:", resp.GetStatus())
		case hasDelay:
			fmt.Printf("check: %v, retry in %v\n", status.Code(err), d)
		default:
			fmt.Println("check:", status.Code(err))
		}
	}

	check()
	fmt.Println("server goes NOT_SERVING")
	hs.SetServingStatus("", healthgrpc.HealthCheckResponse_NOT_SERVING)
	check()
	check()
	check()
	check()
	fmt.Println("server serves again; 30s pass")
	hs.SetServingStatus("", healthgrpc.HealthCheckResponse_SERVING)
	mock.Add(30 * time.Second)
	check()
	// Output:
	// check: SERVING
	// server goes NOT_SERVING
	// check: Unavailable
	// check: Unavailable
	//   breaker /grpc.health.v1.Health/Check: closed -> open (consecutive-failures)
	// check: Unavailable
	// check: Unavailable, retry in 30s
	// server serves again; 30s pass
	//   breaker /grpc.health.v1.Health/Check: open -> half-open (timeout-elapsed)
	//   breaker /grpc.health.v1.Health/Check: half-open -> closed (probes-succeeded)
	// check: SERVING
}
