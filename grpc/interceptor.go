package grpc

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/breakerlab/circuit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Interceptor holds the breakers of a set of gRPC calls, one per key (the
// method by default), and hands out the unary and stream client
// interceptors that go through them. Create one with New; the zero value
// is not usable. It is safe for concurrent use, and so are its
// interceptors; one Interceptor may serve any number of connections.
//
// A call picks its breaker with the KeyFunc. A rejected call is not sent:
// it fails at once with codes.Unavailable, a google.rpc.RetryInfo detail
// (the delay until the breaker may admit it, on its clock) and a
// google.rpc.ErrorInfo detail (reason ErrorInfoReason, with the breaker's
// name, state, reason and retry_at as metadata); the error also unwraps to
// the *circuit.OpenError. An admitted call is judged by its status code
// (see WithFailureCodes). A call whose context is already done when it
// starts goes straight to the invoker and is not judged, as with
// circuit.Breaker.Execute. A call that panics counts as a failure, and the
// panic goes on.
//
// The breakers admit and record through circuit.Breaker.Allow and Done: a
// call's latency is measured around the invoker, and Config.CallTimeout,
// if set, judges it but sets no deadline (set one on the context, as with
// any gRPC call).
type Interceptor struct {
	group    *circuit.Group[string, struct{}]
	key      KeyFunc
	clock    circuit.Clock // nil: the time package
	onReject func(ctx context.Context, method string, err *circuit.OpenError)
	// last is the last rejection built, returned again while it still
	// says the same thing: a breaker rejecting a flood of calls builds one
	// status (and its details) per millisecond, not one per call.
	last atomic.Pointer[rejection]
}

// New returns an Interceptor configured by opts. Bad options (a nil
// KeyFunc, a failure code that is OK, Canceled or unknown, a bound or idle
// timeout out of range, breaker options that circuit.New refuses) are
// reported, all of them, as one error wrapping ErrInvalidConfig.
func New(opts ...Option) (*Interceptor, error) {
	cfg := config{key: MethodKey, failureCodes: DefaultFailureCodes()}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	var errs []error
	if cfg.key == nil {
		errs = append(errs, &circuit.ConfigError{Pkg: "grpc", Field: "Key", Value: nil, Rule: "must not be nil"})
	}
	for _, c := range cfg.failureCodes {
		switch {
		case uint32(c) >= numCodes:
			errs = append(errs, &circuit.ConfigError{Pkg: "grpc", Field: "FailureCodes", Value: uint32(c), Rule: "must be a code gRPC defines (0 to 16)"})
		case c == codes.OK || c == codes.Canceled:
			errs = append(errs, &circuit.ConfigError{Pkg: "grpc", Field: "FailureCodes", Value: c, Rule: "must not hold OK or Canceled"})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	cl := newClassifier(cfg.failureCodes)
	bopts := append(append([]circuit.Option(nil), cfg.breakerOpts...),
		circuit.WithClassifier[struct{}](cl.outcome),
		circuit.WithClock(cfg.clock))
	gopts := append(append([]circuit.GroupOption(nil), cfg.groupOpts...),
		circuit.WithBreakerOptions(bopts...),
		circuit.WithKeyName(func(k string) string { return k }))
	g, err := circuit.NewGroup[string, struct{}](gopts...)
	if err != nil {
		return nil, err // circuit's own ConfigErrors, naming each bad field
	}
	return &Interceptor{group: g, key: cfg.key, clock: cfg.clock, onReject: cfg.onReject}, nil
}

// Group returns the breakers, for their Metrics, for an exporter or status
// page (Group.Breakers satisfies the exporters' Source), and for an
// operator's controls (Group.Get(key).ForceOpen()).
func (ic *Interceptor) Group() *circuit.Group[string, struct{}] { return ic.group }

// Unary returns the unary client interceptor, for
// grpc.WithChainUnaryInterceptor (or grpc.WithUnaryInterceptor). A call
// is judged by the status the invoker returns.
func (ic *Interceptor) Unary() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if ctx.Err() != nil {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		p, err := ic.group.Get(ic.key(ctx, method, cc)).Allow()
		if err != nil {
			return ic.reject(ctx, method, err)
		}
		done := false
		defer func() {
			if !done { // the invoker panicked or ended the goroutine
				p.Done(struct{}{}, errCallPanicked)
			}
		}()
		err = invoker(ctx, method, req, reply, cc, opts...)
		done = true
		p.Done(struct{}{}, err)
		return err
	}
}

// Stream returns the stream client interceptor, for
// grpc.WithChainStreamInterceptor (or grpc.WithStreamInterceptor).
//
// A stream is judged once, when it is established: by the error of
// creating it, which is where an unreachable server, a refused connection
// or a deadline that passed before the stream began show. What happens
// later on the stream (its messages, the status it ends with) is not
// judged: a stream may rightly stay open for hours, and a breaker that held
// its permit that long would count a healthy stream as a slow call, or, in
// half-open, as a probe that timed out. A server that answers every stream
// with an error status at once is seen by the unary calls to it, or by a
// health check (see the health package).
func (ic *Interceptor) Stream() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if ctx.Err() != nil {
			return streamer(ctx, desc, cc, method, opts...)
		}
		p, err := ic.group.Get(ic.key(ctx, method, cc)).Allow()
		if err != nil {
			return nil, ic.reject(ctx, method, err)
		}
		done := false
		defer func() {
			if !done {
				p.Done(struct{}{}, errCallPanicked)
			}
		}()
		cs, err := streamer(ctx, desc, cc, method, opts...)
		done = true
		p.Done(struct{}{}, err)
		return cs, err
	}
}

// reject turns a breaker's refusal into the call's error. Allow returns
// nothing but *circuit.OpenError; anything else is passed on as it is.
func (ic *Interceptor) reject(ctx context.Context, method string, err error) error {
	oe, ok := err.(*circuit.OpenError) // what Allow returns; errors.As would allocate
	if !ok {
		return err
	}
	if ic.onReject != nil {
		ic.onReject(ctx, method, oe)
	}
	delay := retryDelay(oe, ic.now())
	if r := ic.last.Load(); r != nil && r.open == oe && r.at.Equal(oe.RetryAt) && r.delay == delay {
		return r
	}
	r := newRejection(oe, delay)
	ic.last.Store(r)
	return r
}

func (ic *Interceptor) now() time.Time {
	if ic.clock == nil {
		return time.Now()
	}
	return ic.clock.Now()
}
