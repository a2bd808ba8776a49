package circuithttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/circuithttp"
)

func newHandler(t *testing.T, next http.Handler, opts ...circuithttp.HandlerOption) *circuithttp.Handler {
	t.Helper()
	h, err := circuithttp.NewHandler(next, opts...)
	require.NoError(t, err)
	return h
}

func serve(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec
}

// Failing requests open the breaker; then requests are shed without
// reaching next, with 503, a Retry-After counting down in whole seconds
// rounded up, and a short body.
func TestHandlerSheds(t *testing.T) {
	mock := clock.NewMock()
	calls := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.WriteHeader(http.StatusInternalServerError)
	})
	h := newHandler(t, next, circuithttp.WithClock(mock), circuithttp.WithBreakerOptions(
		circuit.WithName("checkout"), circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(30*time.Second)))

	require.Equal(t, 500, serve(h).Code)
	require.Equal(t, 500, serve(h).Code)
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{
		{0, "30"},
		{10 * time.Second, "20"},
		{500 * time.Millisecond, "20"}, // 19.5s: rounded up
		{19 * time.Second, "1"},        // 0.5s
	} {
		mock.Add(step.advance)
		rec := serve(h)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Equal(t, step.want, rec.Header().Get("Retry-After"))
		require.Equal(t, `service unavailable: circuit "checkout" is open; retry in `+step.want+" s\n", rec.Body.String())
	}
	require.Equal(t, 2, calls, "shed requests never reach next")
	mock.Add(time.Second)
	require.Equal(t, 500, serve(h).Code, "half-open: a probe reaches next")
	require.Equal(t, 3, calls)
}

// The fallback serves instead of the 503, with Retry-After already set.
func TestHandlerFallback(t *testing.T) {
	mock := clock.NewMock()
	fallback := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Fallback", "cached")
		w.Write([]byte("stale but useful"))
	})
	h := newHandler(t, http.NotFoundHandler(), circuithttp.WithClock(mock), circuithttp.WithFallback(fallback),
		circuithttp.WithBreakerOptions(circuit.WithOpenTimeout(time.Minute)))
	require.Equal(t, 404, serve(h).Code, "a 404 is a success")
	require.True(t, h.Breaker().Trip(circuit.ReasonManual))
	rec := serve(h)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "stale but useful", rec.Body.String())
	require.Equal(t, "60", rec.Header().Get("Retry-After"))
	require.Equal(t, "cached", rec.Header().Get("X-Fallback"))
}

// A dependency's open breaker, reported by next with Reject, holds the
// Handler's breaker open until the dependency's retry time: the following
// requests are shed at the door, with the dependency's Retry-After.
func TestHandlerDependencyOpen(t *testing.T) {
	mock := clock.NewMock()
	dep, err := circuit.New[string](circuit.WithName("payments"), circuit.WithClock(mock), circuit.WithOpenTimeout(45*time.Second))
	require.NoError(t, err)
	calls := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		_, err := dep.Execute(r.Context(), func(context.Context) (string, error) { return "paid", nil })
		if circuithttp.Reject(w, err, mock.Now()) {
			return
		}
		w.Write([]byte("ok"))
	})
	h := newHandler(t, next, circuithttp.WithClock(mock))

	require.Equal(t, 200, serve(h).Code)
	dep.Trip(circuit.ReasonManual)
	mock.Add(5 * time.Second)
	rec := serve(h)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "40", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), `circuit "payments" is open`)
	require.Equal(t, 2, calls)

	mock.Add(10 * time.Second)
	rec = serve(h)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "30", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), `circuit "http" is open`)
	require.Equal(t, 2, calls, "shed by the Handler, next not called")
	m := h.Breaker().Metrics()
	require.Equal(t, circuit.ReasonRetryAfter, m.LastReason)

	mock.Add(30 * time.Second) // both periods over
	require.Equal(t, 200, serve(h).Code)
	require.Equal(t, 3, calls)
}

// Reject writes nothing for an error that is not a rejection.
func TestRejectOtherError(t *testing.T) {
	rec := httptest.NewRecorder()
	require.False(t, circuithttp.Reject(rec, errors.New("boom"), time.Now()))
	require.False(t, circuithttp.Reject(rec, nil, time.Now()))
	require.Equal(t, 200, rec.Code)
	require.Empty(t, rec.Header())
	require.Zero(t, rec.Body.Len())
}

// A request whose client went away is Ignored, whatever next wrote.
func TestHandlerClientCanceled(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	h := newHandler(t, next, circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	m := h.Breaker().Metrics()
	require.Equal(t, circuit.Closed, m.State)
	require.Equal(t, uint64(1), m.Ignored)
	require.Zero(t, m.Failures)
}

// A panic in next is a failure, and goes on to the caller.
func TestHandlerPanic(t *testing.T) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bug") })
	h := newHandler(t, next, circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
	require.PanicsWithValue(t, "bug", func() { serve(h) })
	m := h.Breaker().Metrics()
	require.Equal(t, circuit.Open, m.State)
	require.Equal(t, uint64(1), m.Failures)
	require.Zero(t, m.InFlight)
}

// The status next writes is what the classifier sees: implicit 200,
// informational codes skipped; and a streaming handler can still flush.
func TestHandlerStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		next http.HandlerFunc
		want circuit.State
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, circuit.Closed},
		{"body only", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("x")) }, circuit.Closed},
		{"flush first", func(w http.ResponseWriter, _ *http.Request) {
			require.NoError(t, http.NewResponseController(w).Flush())
			w.WriteHeader(http.StatusBadGateway) // too late: 200 was sent
		}, circuit.Closed},
		{"103 then 502", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusBadGateway)
		}, circuit.Open},
		{"429 is the client's", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) }, circuit.Closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t, tc.next, circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
			serve(h)
			require.Equal(t, tc.want, h.Breaker().State())
		})
	}
}

// A Handler in front of a real server: shed responses reach the client
// with their status, Retry-After and body.
func TestHandlerOverHTTP(t *testing.T) {
	h := newHandler(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()
	h.Breaker().Trip(circuit.ReasonManual)
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	ra := resp.Header.Get("Retry-After")
	require.True(t, ra == "30" || ra == "29", "Retry-After %q", ra) // real clock: 30s open, rounded up
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"))
}

// A nil next and bad options are named errors.
func TestNewHandlerInvalid(t *testing.T) {
	h, err := circuithttp.NewHandler(nil, circuithttp.WithMaxRetryAfter(-time.Second),
		circuithttp.WithBreakerOptions(circuit.WithHalfOpenMaxProbes(0)))
	require.Nil(t, h)
	require.ErrorIs(t, err, circuithttp.ErrInvalidConfig)
	require.Contains(t, err.Error(), "circuithttp: invalid config: Next = <nil>: must not be nil")
	require.Contains(t, err.Error(), "circuithttp: invalid config: MaxRetryAfter = -1s")
	require.Contains(t, err.Error(), "HalfOpenMaxProbes = 0", "the breaker's errors too")

	h, err = circuithttp.NewHandler(http.NotFoundHandler(), circuithttp.WithBreakerOptions(circuit.WithHalfOpenMaxProbes(0)))
	require.Nil(t, h)
	require.ErrorIs(t, err, circuithttp.ErrInvalidConfig)
	require.Contains(t, err.Error(), "HalfOpenMaxProbes = 0")
}
