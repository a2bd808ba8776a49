package circuithttp

import (
	"net/http"
	"time"

	"github.com/breakerlab/circuit"
)

// DefaultMaxRetryAfter caps how long a Retry-After header may hold a
// breaker open unless WithMaxRetryAfter says otherwise: a server that asks
// for a day is most likely wrong, and a breaker held open that long would
// outlive the outage.
const DefaultMaxRetryAfter = 10 * time.Minute

// Option configures a Transport in NewTransport. Options apply in order, so
// a later one overrides an earlier one; a nil Option is ignored. Options
// only record values: NewTransport validates them all.
type Option interface {
	applyTransport(*settings)
}

// HandlerOption configures a Handler in NewHandler, like Option does a
// Transport.
type HandlerOption interface {
	applyHandler(*settings)
}

// CommonOption configures a Transport or a Handler alike.
type CommonOption interface {
	Option
	HandlerOption
}

// The three kinds of option differ only in which constructors accept them,
// so that passing a Handler's option to NewTransport fails to compile
// rather than at run time.
type (
	transportOption func(*settings)
	handlerOption   func(*settings)
	commonOption    func(*settings)
)

func (f transportOption) applyTransport(s *settings) { f(s) }
func (f handlerOption) applyHandler(s *settings)     { f(s) }
func (f commonOption) applyTransport(s *settings)    { f(s) }
func (f commonOption) applyHandler(s *settings)      { f(s) }

// settings is what the options build, for either constructor; each field
// is named in the ConfigError that reports it.
type settings struct {
	breakerOpts   []circuit.Option
	clock         circuit.Clock // nil: the real clock
	maxRetryAfter time.Duration // 0: Retry-After is not honoured

	// Transport only.
	key         func(*http.Request) string
	maxBreakers int
	idleTimeout time.Duration

	// Handler only.
	fallback http.Handler
}

func defaults() settings {
	return settings{
		maxRetryAfter: DefaultMaxRetryAfter,
		key:           KeyByHost,
		maxBreakers:   circuit.DefaultMaxBreakers,
		idleTimeout:   circuit.DefaultIdleTimeout,
	}
}

// validate reports every invalid value as a *circuit.ConfigError, joined.
func (s *settings) validate() []error {
	var errs []error
	if s.maxRetryAfter < 0 || s.maxRetryAfter > circuit.MaxOpenTimeout {
		errs = append(errs, configError("MaxRetryAfter", s.maxRetryAfter, "must be in [0, circuit.MaxOpenTimeout]"))
	}
	if s.key == nil {
		errs = append(errs, configError("Key", nil, "must not be nil"))
	}
	if s.maxBreakers < 1 {
		errs = append(errs, configError("MaxBreakers", s.maxBreakers, "must be at least 1"))
	}
	if s.idleTimeout <= 0 {
		errs = append(errs, configError("IdleTimeout", s.idleTimeout, "must be positive"))
	}
	return errs
}

// now reads c, or the real clock when c is nil.
func now(c circuit.Clock) time.Time {
	if c == nil {
		return time.Now()
	}
	return c.Now()
}

// WithBreakerOptions sets the options every breaker is built with: its
// thresholds, hooks such as circuit.WithOnStateChange, and a classifier
// (circuit.WithClassifier of *http.Response for a Transport, of int, the
// status code, for a Handler) that replaces DefaultClassifier or
// StatusClassifier. Several calls add up.
func WithBreakerOptions(opts ...circuit.Option) CommonOption {
	return commonOption(func(s *settings) { s.breakerOpts = append(s.breakerOpts, opts...) })
}

// WithClock sets the clock of the breakers (as circuit.WithClock does) and
// of the Retry-After arithmetic, so that a test drives both with one
// *clock.Mock. nil means the real clock.
func WithClock(c circuit.Clock) CommonOption {
	return commonOption(func(s *settings) { s.clock = c })
}

// WithMaxRetryAfter sets how long a Retry-After header may hold a breaker
// open at most (DefaultMaxRetryAfter unless set); 0 stops honouring the
// header. A Transport honours it on a 429 or 503 response, a Handler on a
// 503 its own handler writes. In [0, circuit.MaxOpenTimeout].
func WithMaxRetryAfter(d time.Duration) CommonOption {
	return commonOption(func(s *settings) { s.maxRetryAfter = d })
}

// WithKey sets how a request maps to its breaker: KeyByHost unless set.
// The function runs on every request, so it should be cheap and must be
// safe for concurrent use; a key per URL path template or per tenant
// header (KeyByHeader) keeps a bad endpoint or tenant from opening the
// breaker of the others. Not nil.
func WithKey(key func(*http.Request) string) Option {
	return transportOption(func(s *settings) { s.key = key })
}

// WithMaxBreakers sets how many per-key breakers a Transport holds at most
// (circuit.WithMaxBreakers); circuit.DefaultMaxBreakers unless set. At
// least 1.
func WithMaxBreakers(n int) Option {
	return transportOption(func(s *settings) { s.maxBreakers = n })
}

// WithIdleTimeout sets how long a closed per-key breaker must have been
// idle before it may be evicted (circuit.WithIdleTimeout);
// circuit.DefaultIdleTimeout unless set. Positive.
func WithIdleTimeout(d time.Duration) Option {
	return transportOption(func(s *settings) { s.idleTimeout = d })
}

// WithFallback sets the handler that serves a request the breaker rejects,
// instead of the default 503. It is called with the Retry-After header
// already set on the ResponseWriter, which it may change. nil restores the
// default.
func WithFallback(h http.Handler) HandlerOption {
	return handlerOption(func(s *settings) { s.fallback = h })
}

// KeyByHost is the default key: the request's host and port as the URL
// gives them (URL.Host, or Request.Host when the URL has none).
func KeyByHost(req *http.Request) string {
	if req.URL != nil && req.URL.Host != "" {
		return req.URL.Host
	}
	return req.Host
}

// KeyByHeader returns a key function that reads the named header (a
// tenant, say), and the host when the header is absent.
func KeyByHeader(name string) func(*http.Request) string {
	name = http.CanonicalHeaderKey(name)
	return func(req *http.Request) string {
		if v := req.Header[name]; len(v) > 0 && v[0] != "" {
			return v[0]
		}
		return KeyByHost(req)
	}
}
