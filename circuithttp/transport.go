package circuithttp

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/breakerlab/circuit"
)

// Transport is an http.RoundTripper that passes each request through a
// circuit breaker chosen by its key (the host, unless WithKey says
// otherwise), so that one failing upstream opens its own breaker and no
// other. Create one with NewTransport; the zero value is not usable. It is
// safe for concurrent use, as its base must be.
//
// A request whose breaker is open is not sent: RoundTrip closes its body
// and returns the breaker's *circuit.OpenError, which matches
// errors.Is(err, circuit.ErrOpen) through http.Client's *url.Error and
// carries the retry time (RetryAt, RetryAfter). Otherwise the outcome is
// recorded when the base RoundTrip returns, once the response headers have
// arrived: the latency a breaker judges (and a circuit.WithCallTimeout
// compares with) is time to headers. The request keeps its own context,
// so the breaker never cuts a response body off; bound a request with
// http.Client.Timeout or its context. A 429 or 503 response with a
// Retry-After header holds its breaker open until then (at most
// WithMaxRetryAfter). A circuit.WithFallback among the breaker options
// receives rejections and errors, and what it returns is RoundTrip's
// result: a response or an error, never neither.
type Transport struct {
	base          http.RoundTripper
	group         *circuit.Group[string, *http.Response]
	key           func(*http.Request) string
	clock         circuit.Clock // nil: the real clock
	maxRetryAfter time.Duration // 0: Retry-After is not honoured
}

// NewTransport returns a Transport over base; a nil base means
// http.DefaultTransport. Each key's breaker is built from
// DefaultClassifier, then WithBreakerOptions, then WithClock. Invalid
// options, its own and the breakers', are reported, all of them, as one
// error matching ErrInvalidConfig; NewTransport never panics on them and
// RoundTrip never fails because of them.
func NewTransport(base http.RoundTripper, opts ...Option) (*Transport, error) {
	s := defaults()
	for _, o := range opts {
		if o != nil {
			o.applyTransport(&s)
		}
	}
	errs := s.validate()
	gopts := []circuit.GroupOption{circuit.WithBreakerOptions(s.breakerOptions(circuit.WithClassifier(DefaultClassifier))...)}
	if len(errs) == 0 { // else NewGroup would report them again, as the core's
		gopts = append(gopts, circuit.WithMaxBreakers(s.maxBreakers), circuit.WithIdleTimeout(s.idleTimeout))
	}
	g, err := circuit.NewGroup[string, *http.Response](gopts...)
	if err != nil {
		errs = append(errs, err) // the breaker options' errors
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, group: g, key: s.key, clock: s.clock, maxRetryAfter: s.maxRetryAfter}, nil
}

// breakerOptions is the breaker template: the package's default
// classifier first, so that one from WithBreakerOptions replaces it, and
// the clock last, so that the breakers and the Retry-After arithmetic
// read the same one.
func (s *settings) breakerOptions(classifier circuit.Option) []circuit.Option {
	opts := make([]circuit.Option, 0, len(s.breakerOpts)+2)
	opts = append(opts, classifier)
	opts = append(opts, s.breakerOpts...)
	if s.clock != nil {
		opts = append(opts, circuit.WithClock(s.clock))
	}
	return opts
}

// RoundTrip sends req through its key's breaker; see Transport for what
// it records and returns.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	b := t.group.Get(t.key(req))
	sent := false
	// fn ignores the context Execute gives it: the request keeps its own,
	// so nothing the breaker ends (with a call timeout, Execute ends that
	// context when it returns) is tied to the response body. Execute
	// rather than Allow/Done, for the same outcome at no more cost
	// (BenchmarkRoundTrip/group-allow): the core then records a panic in
	// the base and calls a breaker fallback, as everywhere else.
	resp, err := b.Execute(req.Context(), func(context.Context) (*http.Response, error) {
		sent = true
		return t.base.RoundTrip(req)
	})
	if !sent {
		// Rejected (or refused for a context already done): a RoundTripper
		// must close the request body, even on error.
		if req.Body != nil {
			req.Body.Close()
		}
		return resp, err
	}
	if err == nil && resp != nil && t.maxRetryAfter > 0 &&
		(resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if until, ok := retryAfterUntil(resp.Header, now(t.clock), t.maxRetryAfter); ok {
			b.OpenUntil(circuit.ReasonRetryAfter, until)
		}
	}
	return resp, err
}

// Group returns the Transport's breakers, one per key: for Metrics, for
// exporters (Breakers), and to reach or drive one key's breaker (Get).
func (t *Transport) Group() *circuit.Group[string, *http.Response] { return t.group }

// DefaultClassifier is how a Transport judges a round trip unless
// WithBreakerOptions gives circuit.WithClassifier: an error (a refused
// connection, a timeout) and a 5xx or 429 response are failures, any other
// response a success. A cancellation (context.Canceled) is Ignored by the
// breaker before any classifier is asked.
func DefaultClassifier(resp *http.Response, err error) circuit.Outcome {
	if err != nil || resp == nil {
		return circuit.Failure
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return circuit.Failure
	}
	return circuit.Success
}

// CloseIdleConnections closes the base's idle connections, if the base can
// (as *http.Transport can), so that http.Client.CloseIdleConnections
// reaches through a Transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
