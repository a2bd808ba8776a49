package circuithttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/breakerlab/circuit"
)

// errHandlerPanicked is what the breaker records for a handler that
// panicked; the panic itself goes on to net/http.
var errHandlerPanicked = errors.New("circuithttp: handler panicked")

// Handler is an http.Handler that sheds load: it serves each request
// through next while its breaker is closed, and while it is open answers
// at once with 503 Service Unavailable, a Retry-After header giving the
// seconds until the breaker may admit calls again (rounded up, at least
// 1), and a one-line text body; or with the WithFallback handler. Create
// one with NewHandler; the zero value is not usable. It is safe for
// concurrent use.
//
// The breaker (a *circuit.Breaker[int], of the status code) judges each
// request when next returns, by StatusClassifier unless WithBreakerOptions
// gives circuit.WithClassifier: a 5xx is a failure, and a request whose
// client went away (its context canceled) is Ignored. A panic in next is a
// failure, and goes on to net/http. A 503 with a Retry-After header from
// next, such as Reject writes when one of the service's own dependencies
// is open, holds the breaker open until then (at most WithMaxRetryAfter),
// so that the following requests are shed at the door instead of each
// finding the dependency open.
type Handler struct {
	next          http.Handler
	fallback      http.Handler // nil: Reject's 503
	breaker       *circuit.Breaker[int]
	clock         circuit.Clock // nil: the real clock
	maxRetryAfter time.Duration // 0: Retry-After is not honoured
}

// NewHandler returns a Handler over next. Its breaker is named "http"
// unless circuit.WithName says otherwise, and built from StatusClassifier,
// then WithBreakerOptions, then WithClock; a circuit.WithFallback among
// those is never called (the Handler has no result to replace): use
// WithFallback. A nil next and invalid options are reported, all of them,
// as one error matching ErrInvalidConfig.
func NewHandler(next http.Handler, opts ...HandlerOption) (*Handler, error) {
	s := defaults()
	for _, o := range opts {
		if o != nil {
			o.applyHandler(&s)
		}
	}
	errs := s.validate()
	if next == nil {
		errs = append(errs, configError("Next", nil, "must not be nil"))
	}
	b, err := circuit.New[int](append([]circuit.Option{circuit.WithName("http")},
		s.breakerOptions(circuit.WithClassifier(StatusClassifier))...)...)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Handler{next: next, fallback: s.fallback, breaker: b, clock: s.clock, maxRetryAfter: s.maxRetryAfter}, nil
}

// Breaker returns the Handler's breaker: for its Metrics, for an exporter,
// or to trip or hold it from outside (a health check, an operator).
func (h *Handler) Breaker() *circuit.Breaker[int] { return h.breaker }

// ServeHTTP serves r through next, or sheds it; see Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	permit, err := h.breaker.Allow()
	if err != nil {
		if h.fallback == nil {
			Reject(w, err, now(h.clock))
			return
		}
		setRetryAfter(w, err, now(h.clock))
		h.fallback.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	finished := false
	defer func() {
		if !finished { // next panicked: count it, let the panic go on
			permit.Done(http.StatusInternalServerError, clientGone(r, errHandlerPanicked))
		}
	}()
	h.next.ServeHTTP(sw, r)
	finished = true
	status := sw.status
	if status == 0 {
		status = http.StatusOK // next wrote nothing: net/http sends 200
	}
	permit.Done(status, clientGone(r, nil))
	if status == http.StatusServiceUnavailable && h.maxRetryAfter > 0 {
		if until, ok := retryAfterUntil(sw.Header(), now(h.clock), h.maxRetryAfter); ok {
			h.breaker.OpenUntil(circuit.ReasonRetryAfter, until)
		}
	}
}

// clientGone returns the request context's error if the client went away
// (so that the breaker ignores the request: it says nothing about the
// service), and err otherwise.
func clientGone(r *http.Request, err error) error {
	if cerr := r.Context().Err(); errors.Is(cerr, context.Canceled) {
		return cerr
	}
	return err
}

// StatusClassifier is how a Handler judges a request unless
// WithBreakerOptions gives circuit.WithClassifier: an error or a 5xx
// status is a failure, any other status a success.
func StatusClassifier(status int, err error) circuit.Outcome {
	if err != nil || status >= 500 {
		return circuit.Failure
	}
	return circuit.Success
}

// Reject writes the response to a request that a breaker rejected, if err
// is a rejection (errors.Is(err, circuit.ErrOpen)): 503 Service
// Unavailable, a Retry-After header with the seconds until the
// *circuit.OpenError's RetryAt as of now (rounded up, at least 1), and a
// one-line text body; it then reports true. For any other error it writes
// nothing and reports false. A handler whose dependency's breaker is open
// calls it, and a Handler around it then sheds the following requests
// until the Retry-After time.
func Reject(w http.ResponseWriter, err error, now time.Time) bool {
	if !errors.Is(err, circuit.ErrOpen) {
		return false
	}
	secs := setRetryAfter(w, err, now)
	msg := "service unavailable: circuit open"
	var oe *circuit.OpenError
	if errors.As(err, &oe) {
		msg = fmt.Sprintf("service unavailable: circuit %q is %v; retry in %s s", oe.Name, oe.State, secs)
	}
	http.Error(w, msg, http.StatusServiceUnavailable)
	return true
}

// setRetryAfter sets the Retry-After header for a rejection err as of now
// and returns its value ("" if err carries no *circuit.OpenError).
func setRetryAfter(w http.ResponseWriter, err error, now time.Time) string {
	var oe *circuit.OpenError
	if !errors.As(err, &oe) {
		return ""
	}
	v := retryAfterSeconds(oe.RetryAfter(now))
	w.Header().Set("Retry-After", v)
	return v
}

// statusWriter records the status next writes. It unwraps for
// http.ResponseController and passes Flush through, so that streaming
// handlers keep working behind a Handler.
type statusWriter struct {
	http.ResponseWriter
	status int // the first final (non-1xx) status written; 0 before
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher when the underlying writer does.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
