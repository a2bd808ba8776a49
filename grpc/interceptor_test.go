package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitgrpc "github.com/breakerlab/circuit/grpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	methodA = "/test.Svc/A"
	methodB = "/test.Svc/B"
)

// newInterceptor builds an Interceptor on a mock clock whose breakers open
// after three failures in a row and stay open 30s, and a connection to be
// that goes through it.
func newInterceptor(t *testing.T, be *backend, mock *clock.Mock, opts ...circuitgrpc.Option) (*circuitgrpc.Interceptor, *grpc.ClientConn) {
	t.Helper()
	opts = append([]circuitgrpc.Option{
		circuitgrpc.WithClock(mock),
		circuitgrpc.WithBreakerOptions(
			circuit.WithConsecutiveFailures(3),
			circuit.WithErrorRateThreshold(0),
			circuit.WithLatencyThreshold(0),
			circuit.WithOpenTimeout(30*time.Second),
			circuit.WithSuccessThreshold(1),
		),
	}, opts...)
	ic, err := circuitgrpc.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	cc := be.dial(t, "backend",
		grpc.WithChainUnaryInterceptor(ic.Unary()),
		grpc.WithChainStreamInterceptor(ic.Stream()))
	return ic, cc
}

func metricsOf(ic *circuitgrpc.Interceptor, key string) circuit.Metrics {
	return ic.Group().Get(key).Metrics()
}

// Every status code, as the server's answer, counts as the issue says: the
// four codes of a server in trouble fail, Canceled is not judged, and
// every other code is the server answering.
func TestClassification(t *testing.T) {
	want := map[codes.Code]circuit.Outcome{
		codes.OK:                 circuit.Success,
		codes.Canceled:           circuit.Ignored,
		codes.Unknown:            circuit.Success,
		codes.InvalidArgument:    circuit.Success,
		codes.DeadlineExceeded:   circuit.Failure,
		codes.NotFound:           circuit.Success,
		codes.AlreadyExists:      circuit.Success,
		codes.PermissionDenied:   circuit.Success,
		codes.ResourceExhausted:  circuit.Failure,
		codes.FailedPrecondition: circuit.Success,
		codes.Aborted:            circuit.Success,
		codes.OutOfRange:         circuit.Success,
		codes.Unimplemented:      circuit.Success,
		codes.Internal:           circuit.Failure,
		codes.Unavailable:        circuit.Failure,
		codes.DataLoss:           circuit.Success,
		codes.Unauthenticated:    circuit.Success,
	}
	if len(want) != 17 {
		t.Fatalf("the table has %d codes, want all 17", len(want))
	}
	be := newBackend(t, func(method string) error {
		var c codes.Code
		if _, err := fmt.Sscanf(method, "/test.Svc/Code%d", &c); err != nil {
			return status.Error(codes.FailedPrecondition, "bad method "+method)
		}
		if c == codes.OK {
			return nil
		}
		return status.Error(c, "as asked")
	})
	ic, cc := newInterceptor(t, be, clock.NewMock())
	for c, outcome := range want {
		method := fmt.Sprintf("/test.Svc/Code%d", uint32(c))
		err := call(context.Background(), cc, method)
		if got := status.Code(err); got != c {
			t.Fatalf("%v: the call returned %v (%v), want the server's code", c, got, err)
		}
		m := metricsOf(ic, method)
		got := [3]uint64{m.Successes, m.Failures, m.Ignored}
		var exp [3]uint64
		exp[outcome] = 1
		if got != exp {
			t.Errorf("%v: successes, failures, ignored = %v, want %v (%v)", c, got, exp, outcome)
		}
	}
}

// WithFailureCodes replaces the set: here NotFound fails and Unavailable
// no longer does.
func TestFailureCodesOption(t *testing.T) {
	be := newBackend(t, func(method string) error {
		if method == methodA {
			return status.Error(codes.NotFound, "gone")
		}
		return status.Error(codes.Unavailable, "down")
	})
	ic, cc := newInterceptor(t, be, clock.NewMock(), circuitgrpc.WithFailureCodes(codes.NotFound))
	_ = call(context.Background(), cc, methodA)
	_ = call(context.Background(), cc, methodB)
	if m := metricsOf(ic, methodA); m.Failures != 1 {
		t.Errorf("NotFound: %d failures, want 1", m.Failures)
	}
	if m := metricsOf(ic, methodB); m.Failures != 0 || m.Successes != 1 {
		t.Errorf("Unavailable: %d failures, %d successes, want 0 and 1", m.Failures, m.Successes)
	}
}

// One failing method opens its own breaker only: the other method's calls
// still reach the server.
func TestPerMethodIsolation(t *testing.T) {
	be := newBackend(t, func(method string) error {
		if method == methodA {
			return status.Error(codes.Unavailable, "A is down")
		}
		return nil
	})
	ic, cc := newInterceptor(t, be, clock.NewMock())
	for i := 0; i < 3; i++ {
		if err := call(context.Background(), cc, methodA); status.Code(err) != codes.Unavailable {
			t.Fatalf("call %d of A: %v, want Unavailable from the server", i, err)
		}
	}
	if s := ic.Group().Get(methodA).State(); s != circuit.Open {
		t.Fatalf("A's breaker is %v, want open", s)
	}
	before := be.calls.Load()
	if err := call(context.Background(), cc, methodA); !errors.Is(err, circuit.ErrOpen) {
		t.Fatalf("A while open: %v, want a rejection", err)
	}
	if err := call(context.Background(), cc, methodB); err != nil {
		t.Fatalf("B while A is open: %v", err)
	}
	if got := be.calls.Load() - before; got != 1 {
		t.Errorf("%d calls reached the server, want 1 (B's; A's was rejected)", got)
	}
	if s := ic.Group().Get(methodB).State(); s != circuit.Closed {
		t.Errorf("B's breaker is %v, want closed", s)
	}
}

// A rejection is codes.Unavailable with RetryInfo (the time left on the
// breaker's clock) and ErrorInfo details, and unwraps to the OpenError.
func TestRejection(t *testing.T) {
	be := newBackend(t, func(string) error { return status.Error(codes.Internal, "boom") })
	mock := clock.NewMock()
	var rejected []string
	ic, cc := newInterceptor(t, be, mock, circuitgrpc.WithOnReject(func(_ context.Context, method string, oe *circuit.OpenError) {
		rejected = append(rejected, method+" "+oe.State.String())
	}))
	for i := 0; i < 3; i++ {
		_ = call(context.Background(), cc, methodA)
	}
	mock.Add(10 * time.Second)
	before := be.calls.Load()
	err := call(context.Background(), cc, methodA)
	if be.calls.Load() != before {
		t.Fatal("a rejected call reached the server")
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		t.Fatalf("status %v (ok %v), want Unavailable", st, ok)
	}
	if d, ok := circuitgrpc.RetryDelay(err); !ok || d != 20*time.Second {
		t.Errorf("RetryDelay = %v, %v; want 20s, true (30s open, 10s passed)", d, ok)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			info = ei
		}
	}
	if info == nil {
		t.Fatalf("no ErrorInfo in %v", st.Details())
	}
	wantAt := mock.Now().Add(20 * time.Second).UTC().Format(time.RFC3339Nano)
	if info.Reason != circuitgrpc.ErrorInfoReason || info.Domain != circuitgrpc.ErrorInfoDomain ||
		info.Metadata["breaker"] != methodA || info.Metadata["state"] != "open" ||
		info.Metadata["reason"] != "consecutive-failures" || info.Metadata["retry_at"] != wantAt {
		t.Errorf("ErrorInfo = %v, want reason %s, breaker %s, open, consecutive-failures, retry_at %s",
			info, circuitgrpc.ErrorInfoReason, methodA, wantAt)
	}
	if !errors.Is(err, circuit.ErrOpen) {
		t.Error("errors.Is(err, circuit.ErrOpen) is false")
	}
	var oe *circuit.OpenError
	if !errors.As(err, &oe) || oe.Name != methodA {
		t.Errorf("errors.As found %v, want the OpenError of %s", oe, methodA)
	}
	if len(rejected) != 1 || rejected[0] != methodA+" open" {
		t.Errorf("WithOnReject saw %q, want one rejection of %s while open", rejected, methodA)
	}
	if m := metricsOf(ic, methodA); m.Rejections != 1 {
		t.Errorf("%d rejections in Metrics, want 1", m.Rejections)
	}

	// The delay follows the clock, rounded up to the millisecond, however
	// the rejections are shared.
	for _, step := range []struct {
		advance time.Duration
		want    time.Duration
	}{
		{0, 20 * time.Second},
		{time.Second, 19 * time.Second},
		{500 * time.Microsecond, 19 * time.Second},
		{500 * time.Microsecond, 19*time.Second - time.Millisecond},
		{19 * time.Second, 0}, // half-open: the probe goes through
	} {
		mock.Add(step.advance)
		err := call(context.Background(), cc, methodA)
		if d, _ := circuitgrpc.RetryDelay(err); d != step.want {
			t.Errorf("after %v more: RetryDelay %v (%v), want %v", step.advance, d, err, step.want)
		}
	}
}

// A rejection returned by a server handler crosses the wire with its
// details, so the caller's caller can read the retry delay too.
func TestRejectionCrossesTheWire(t *testing.T) {
	back := newBackend(t, func(string) error { return status.Error(codes.Unavailable, "down") })
	_, backCC := newInterceptor(t, back, clock.NewMock())
	front := newBackend(t, func(string) error { return call(context.Background(), backCC, methodA) })
	frontCC := front.dial(t, "front")
	for i := 0; i < 3; i++ {
		_ = call(context.Background(), frontCC, methodA)
	}
	err := call(context.Background(), frontCC, methodA)
	if d, ok := circuitgrpc.RetryDelay(err); status.Code(err) != codes.Unavailable || !ok || d != 30*time.Second {
		t.Errorf("through a server: %v, RetryDelay %v %v; want Unavailable and 30s", err, d, ok)
	}
	if errors.Is(err, circuit.ErrOpen) {
		t.Error("an error from the wire matched circuit.ErrOpen: only a local rejection should")
	}
}

// A caller's cancellation says nothing about the server: a call canceled
// while in flight is ignored, and one whose context was done before it
// started is not even seen by a breaker.
func TestCanceledContextIgnored(t *testing.T) {
	be := newBackend(t, func(string) error { return errBlock })
	ic, cc := newInterceptor(t, be, clock.NewMock())

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- call(ctx, cc, methodA) }()
	<-be.blocked // the call has reached the server
	cancel()
	if err := <-errc; status.Code(err) != codes.Canceled {
		t.Fatalf("canceled call: %v, want Canceled", err)
	}
	if m := metricsOf(ic, methodA); m.Ignored != 1 || m.Failures != 0 || m.InFlight != 0 {
		t.Errorf("ignored %d, failures %d, in flight %d; want 1, 0, 0", m.Ignored, m.Failures, m.InFlight)
	}

	done, cancel2 := context.WithTimeout(context.Background(), -time.Second) // already past
	defer cancel2()
	if err := call(done, cc, methodB); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call with a done context: %v, want DeadlineExceeded", err)
	}
	if n := ic.Group().Metrics().Breakers; n != 1 {
		t.Errorf("%d breakers, want 1: a call whose context was already done must not build one", n)
	}
}

// A call that panics in the invoker counts as a failure and the panic goes
// on; no permit is left in flight.
func TestPanicIsAFailure(t *testing.T) {
	ic, err := circuitgrpc.New()
	if err != nil {
		t.Fatal(err)
	}
	unary := ic.Unary()
	func() {
		defer func() {
			if r := recover(); r != "invoker" {
				t.Errorf("recovered %v, want the invoker's panic", r)
			}
		}()
		_ = unary(context.Background(), methodA, nil, nil, nil, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
			panic("invoker")
		})
	}()
	if m := metricsOf(ic, methodA); m.Failures != 1 || m.InFlight != 0 {
		t.Errorf("failures %d, in flight %d; want 1 and 0", m.Failures, m.InFlight)
	}
}

// A rejection by another breaker further down the interceptor chain is not
// a failure of the server for this one.
func TestNestedRejectionIgnored(t *testing.T) {
	inner, err := circuitgrpc.New(circuitgrpc.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
	if err != nil {
		t.Fatal(err)
	}
	outer, err := circuitgrpc.New(circuitgrpc.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
	if err != nil {
		t.Fatal(err)
	}
	inner.Group().Get(methodA).ForceOpen()
	invoker := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		return inner.Unary()(ctx, method, req, reply, cc, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
			t.Error("the inner breaker let the call through")
			return nil
		}, opts...)
	}
	err = outer.Unary()(context.Background(), methodA, nil, nil, nil, invoker)
	if !errors.Is(err, circuit.ErrOpen) {
		t.Fatalf("got %v, want the inner rejection", err)
	}
	if m := metricsOf(outer, methodA); m.Ignored != 1 || m.Failures != 0 {
		t.Errorf("outer: ignored %d, failures %d; want 1 and 0", m.Ignored, m.Failures)
	}
}

// TargetKey gives each connection target its own breaker, whatever the
// method.
func TestTargetKey(t *testing.T) {
	be := newBackend(t, func(string) error { return nil })
	ic, err := circuitgrpc.New(circuitgrpc.WithKey(circuitgrpc.TargetKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"one", "two"} {
		cc := be.dial(t, target, grpc.WithChainUnaryInterceptor(ic.Unary()))
		for _, m := range []string{methodA, methodB} {
			if err := call(context.Background(), cc, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, target := range []string{"passthrough:///one", "passthrough:///two"} {
		if m := metricsOf(ic, target); m.Successes != 2 {
			t.Errorf("%s: %d successes, want 2", target, m.Successes)
		}
	}
	if n := ic.Group().Metrics().Breakers; n != 2 {
		t.Errorf("%d breakers, want 2", n)
	}
}

// Invalid options are errors from New that name the field, never a panic
// at call time.
func TestBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		opts   []circuitgrpc.Option
		fields []string
	}{
		{"nil key", []circuitgrpc.Option{circuitgrpc.WithKey(nil)}, []string{"Key"}},
		{"OK fails", []circuitgrpc.Option{circuitgrpc.WithFailureCodes(codes.OK)}, []string{"FailureCodes"}},
		{"Canceled fails", []circuitgrpc.Option{circuitgrpc.WithFailureCodes(codes.Unavailable, codes.Canceled)}, []string{"FailureCodes"}},
		{"unknown code", []circuitgrpc.Option{circuitgrpc.WithFailureCodes(codes.Code(99))}, []string{"FailureCodes"}},
		{"two bad", []circuitgrpc.Option{circuitgrpc.WithKey(nil), circuitgrpc.WithFailureCodes(codes.OK)}, []string{"Key", "FailureCodes"}},
		{"max breakers", []circuitgrpc.Option{circuitgrpc.WithMaxBreakers(0)}, []string{"MaxBreakers"}},
		{"idle timeout", []circuitgrpc.Option{circuitgrpc.WithIdleTimeout(-time.Second)}, []string{"IdleTimeout"}},
		{"breaker", []circuitgrpc.Option{circuitgrpc.WithBreakerOptions(circuit.WithWindowSize(0))}, []string{"WindowSize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic, err := circuitgrpc.New(tt.opts...)
			if ic != nil || !errors.Is(err, circuitgrpc.ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; want nil and an invalid-config error", ic, err)
			}
			for _, f := range tt.fields {
				if !containsField(err, f) {
					t.Errorf("%v does not name %s", err, f)
				}
			}
		})
	}
	// An empty failure set is allowed: the breakers then trip only on
	// latency or by hand.
	if _, err := circuitgrpc.New(circuitgrpc.WithFailureCodes(), nil); err != nil {
		t.Errorf("no failure codes and a nil option: %v", err)
	}
}

// containsField reports whether err holds a *circuit.ConfigError for field.
func containsField(err error, field string) bool {
	if ce, ok := err.(*circuit.ConfigError); ok {
		return ce.Field == field
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if containsField(inner, field) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return containsField(e.Unwrap(), field)
	}
	return false
}

// Many goroutines over two methods, one failing, under -race: every call
// ends as exactly one success, failure, rejection or ignored.
func TestConcurrentCalls(t *testing.T) {
	be := newBackend(t, func(method string) error {
		if method == methodA {
			return status.Error(codes.Unavailable, "down")
		}
		return nil
	})
	mock := clock.NewMock()
	ic, cc := newInterceptor(t, be, mock)
	const workers, perWorker = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				m := methodA
				if i%2 == 0 {
					m = methodB
				}
				_ = call(context.Background(), cc, m)
			}
		}()
	}
	wg.Wait()
	var total uint64
	for _, m := range []string{methodA, methodB} {
		x := metricsOf(ic, m)
		total += x.Successes + x.Failures + x.Rejections + x.Ignored
		if x.InFlight != 0 {
			t.Errorf("%s: %d in flight after every call returned", m, x.InFlight)
		}
	}
	if total != workers*perWorker {
		t.Errorf("%d calls counted, want %d", total, workers*perWorker)
	}
	if a, b := metricsOf(ic, methodA), metricsOf(ic, methodB); a.State != circuit.Open || b.Failures != 0 || b.Rejections != 0 {
		t.Errorf("A %v, B %d failures %d rejections; want A open, B untouched", a.State, b.Failures, b.Rejections)
	}
}
