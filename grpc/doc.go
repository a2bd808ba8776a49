// Package grpc puts a circuit breaker in front of gRPC client calls: unary
// and stream client interceptors with one breaker per method (or per
// target, or per any key), built from one template by a circuit.Group.
//
//	ic, err := circuitgrpc.New(
//		circuitgrpc.WithBreakerOptions(circuit.WithPreset(circuit.PresetCore)),
//	)
//	...
//	conn, err := grpc.NewClient(target,
//		grpc.WithChainUnaryInterceptor(ic.Unary()),
//		grpc.WithChainStreamInterceptor(ic.Stream()),
//		...)
//
// A call that ends with codes.Unavailable, DeadlineExceeded,
// ResourceExhausted or Internal is a failure (WithFailureCodes changes the
// set); every other code, InvalidArgument and NotFound included, is the
// dependency answering and counts as a success; codes.Canceled is never
// judged. A rejected call is not sent: it fails with codes.Unavailable and a
// google.rpc.RetryInfo detail saying when to try again (see Interceptor and
// RetryDelay).
// Streams are judged when they are established; see Interceptor.Stream.
//
// docs/grpc.md covers the choices in full.
package grpc
