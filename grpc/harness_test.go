package grpc_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
)

// gRPC starts goroutines per server and per connection; every test closes
// both, and goleak proves nothing is left behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is a real in-process gRPC server on an in-memory listener. It
// serves any method name ("/test.Svc/Whatever") through an unknown-service
// handler: each call reads one message, then ends with the status that
// answer returns for its method (or waits for the caller to give up, if
// answer returns errBlock), so a test needs no generated code.
type backend struct {
	lis    *bufconn.Listener
	srv    *grpc.Server
	answer func(method string) error
	calls  atomic.Int64 // calls that reached the server
	// blocked receives the method of each call that answer made wait.
	blocked chan string
}

// errBlock makes a call wait until its caller cancels it.
var errBlock = status.Error(codes.Unknown, "block")

func newBackend(t testing.TB, answer func(method string) error) *backend {
	t.Helper()
	be := &backend{lis: bufconn.Listen(1 << 16), answer: answer, blocked: make(chan string, 64)}
	be.srv = grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		be.calls.Add(1)
		method, _ := grpc.MethodFromServerStream(ss)
		err := be.answer(method)
		if err == errBlock {
			be.blocked <- method
			<-ss.Context().Done()
			return ss.Context().Err()
		}
		if err != nil {
			return err
		}
		if err := ss.RecvMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		return ss.SendMsg(&emptypb.Empty{})
	}))
	go func() { _ = be.srv.Serve(be.lis) }()
	t.Cleanup(be.srv.Stop)
	return be
}

// dial connects to the backend through opts (the interceptors) and closes
// the connection when the test ends. target only names the connection:
// every target reaches the same listener.
func (be *backend) dial(t testing.TB, target string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return be.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)
	cc, err := grpc.NewClient("passthrough:///"+target, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// call makes one unary call of method.
func call(ctx context.Context, cc *grpc.ClientConn, method string) error {
	return cc.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
}
