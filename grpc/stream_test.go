package grpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitgrpc "github.com/breakerlab/circuit/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const methodS = "/test.Svc/S"

var bidi = &grpc.StreamDesc{StreamName: "S", ServerStreams: true, ClientStreams: true}

// A stream is judged when it is established: a half-open breaker closes
// on a stream that the server has accepted, while that stream stays open,
// so a long-lived healthy stream never holds a probe slot.
func TestStreamJudgedAtEstablishment(t *testing.T) {
	be := newBackend(t, func(string) error { return errBlock }) // streams stay open until the client ends them
	mock := clock.NewMock()
	ic, cc := newInterceptor(t, be, mock)
	b := ic.Group().Get(methodS)
	b.Trip(circuit.ReasonManual)

	_, err := cc.NewStream(context.Background(), bidi, methodS)
	if d, ok := circuitgrpc.RetryDelay(err); status.Code(err) != codes.Unavailable || !errors.Is(err, circuit.ErrOpen) || !ok || d != 30*time.Second {
		t.Fatalf("stream while open: %v (RetryDelay %v %v), want a rejection with 30s", err, d, ok)
	}

	mock.Add(30 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := cc.NewStream(ctx, bidi, methodS); err != nil {
		t.Fatalf("probe stream: %v", err)
	}
	<-be.blocked // the server holds the stream open
	m := b.Metrics()
	if m.State != circuit.Closed || m.InFlight != 0 || m.Successes != 1 {
		t.Errorf("with the probe stream open: %v, %d in flight, %d successes; want closed, 0, 1", m.State, m.InFlight, m.Successes)
	}
	mock.Add(time.Hour) // far past any probe timeout: nothing is pending
	if s := b.State(); s != circuit.Closed {
		t.Errorf("an hour later: %v, want closed", s)
	}
}

// A stream that cannot be created (the server is gone) is a failure, and
// enough of them open the method's breaker.
func TestStreamCreationFailure(t *testing.T) {
	be := newBackend(t, func(string) error { return nil })
	ic, cc := newInterceptor(t, be, clock.NewMock())
	be.srv.Stop()
	for i := 0; i < 3; i++ {
		if _, err := cc.NewStream(context.Background(), bidi, methodS); status.Code(err) != codes.Unavailable || errors.Is(err, circuit.ErrOpen) {
			t.Fatalf("stream %d to a stopped server: %v, want Unavailable from gRPC", i, err)
		}
	}
	m := ic.Group().Get(methodS).Metrics()
	if m.Failures != 3 || m.State != circuit.Open {
		t.Errorf("%d failures, %v; want 3 and open", m.Failures, m.State)
	}
	if _, err := cc.NewStream(context.Background(), bidi, methodS); !errors.Is(err, circuit.ErrOpen) {
		t.Errorf("fourth stream: %v, want a rejection", err)
	}
}

// A stream whose context is done before it starts is not judged.
func TestStreamDoneContext(t *testing.T) {
	be := newBackend(t, func(string) error { return nil })
	ic, cc := newInterceptor(t, be, clock.NewMock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cc.NewStream(ctx, bidi, methodS); status.Code(err) != codes.Canceled {
		t.Fatalf("stream with a canceled context: %v, want Canceled", err)
	}
	if n := ic.Group().Metrics().Breakers; n != 0 {
		t.Errorf("%d breakers, want 0", n)
	}
}
