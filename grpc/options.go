package grpc

import (
	"context"
	"time"

	"github.com/breakerlab/circuit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// ErrInvalidConfig is the module's single sentinel for bad configuration,
// circuit.ErrInvalidConfig: every error from New wraps it through a
// *circuit.ConfigError naming the field.
var ErrInvalidConfig = circuit.ErrInvalidConfig

// DefaultFailureCodes returns the status codes that count as failures
// unless WithFailureCodes says otherwise: Unavailable, DeadlineExceeded,
// ResourceExhausted and Internal, the codes that say the server, or the way
// to it, is in trouble, not that the request was wrong. The slice is new at
// each call: changing it changes nothing.
func DefaultFailureCodes() []codes.Code {
	return []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal}
}

// KeyFunc picks the breaker a call goes through. It gets the call's
// context, its full method name ("/package.Service/Method") and its
// connection, which is nil when an interceptor is called directly rather
// than by a ClientConn. It must be safe for concurrent use and cheap: it
// runs on every call.
type KeyFunc func(ctx context.Context, method string, cc *grpc.ClientConn) string

// MethodKey is the default KeyFunc: one breaker per full method name, so
// one failing method never rejects the calls of another.
func MethodKey(_ context.Context, method string, _ *grpc.ClientConn) string { return method }

// TargetKey is a KeyFunc with one breaker per connection target (as given
// to grpc.NewClient), for a server that fails as a whole. With a nil
// connection it returns "".
func TargetKey(_ context.Context, _ string, cc *grpc.ClientConn) string {
	if cc == nil {
		return ""
	}
	return cc.Target()
}

// Option configures an Interceptor in New. Options apply in order, so a
// later one overrides an earlier one. A nil Option is ignored. Options only
// record values: New validates the result and reports every bad one.
type Option interface {
	apply(*config)
}

type config struct {
	breakerOpts  []circuit.Option
	groupOpts    []circuit.GroupOption
	key          KeyFunc
	failureCodes []codes.Code
	clock        circuit.Clock
	onReject     func(ctx context.Context, method string, err *circuit.OpenError)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithBreakerOptions sets the options every breaker is built with, such as
// circuit.WithPreset or circuit.WithConsecutiveFailures. Each breaker is
// named after its key. Two are set by this package after them and so win:
// the classifier (see WithFailureCodes) and the clock (see WithClock). A
// fallback (circuit.WithFallback) is never called: the interceptors admit
// and record through Allow, and a rejection is returned as a status.
// Several WithBreakerOptions add up.
func WithBreakerOptions(opts ...circuit.Option) Option {
	return optionFunc(func(c *config) { c.breakerOpts = append(c.breakerOpts, opts...) })
}

// WithMaxBreakers bounds how many breakers are held at once (see
// circuit.WithMaxBreakers): at least 1, circuit.DefaultMaxBreakers unless
// set. It matters with a KeyFunc of many values; methods are few.
func WithMaxBreakers(n int) Option {
	return optionFunc(func(c *config) { c.groupOpts = append(c.groupOpts, circuit.WithMaxBreakers(n)) })
}

// WithIdleTimeout sets how long a closed breaker must be idle before it may
// be evicted (see circuit.WithIdleTimeout): positive,
// circuit.DefaultIdleTimeout unless set.
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.groupOpts = append(c.groupOpts, circuit.WithIdleTimeout(d)) })
}

// WithKey sets how a call picks its breaker (default MethodKey). A nil
// KeyFunc is an error from New.
func WithKey(key KeyFunc) Option {
	return optionFunc(func(c *config) { c.key = key })
}

// WithFailureCodes replaces the status codes that count as failures
// (default DefaultFailureCodes()). Every other code counts as a success,
// except codes.Canceled, which is always ignored: the caller gave up, which
// says nothing about the server. codes.OK, codes.Canceled or a code outside
// the 17 that gRPC defines is an error from New.
func WithFailureCodes(failures ...codes.Code) Option {
	return optionFunc(func(c *config) { c.failureCodes = append([]codes.Code(nil), failures...) })
}

// WithClock sets the clock of every breaker and of the retry delay that a
// rejection carries; nil means the real clock. Set it here rather than with
// circuit.WithClock in WithBreakerOptions, which it overrides: the delay in
// a rejection must be measured on the clock that set its RetryAt.
func WithClock(c circuit.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.clock = c })
}

// WithOnReject sets a function called with every call the breakers reject,
// before the interceptor returns the rejection (for a log line or a
// counter; the breakers' own Metrics count rejections too). It runs on the
// caller's goroutine and must not block. nil removes it.
func WithOnReject(hook func(ctx context.Context, method string, err *circuit.OpenError)) Option {
	return optionFunc(func(c *config) { c.onReject = hook })
}
