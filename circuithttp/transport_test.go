package circuithttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/circuithttp"
)

// roundTripFunc is an in-memory base transport.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// respond is a base that answers every request with status and headers
// given as key, value pairs.
func respond(status int, header ...string) roundTripFunc {
	return func(*http.Request) (*http.Response, error) {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &http.Response{StatusCode: status, Header: h, Body: http.NoBody}, nil
	}
}

func newTransport(t *testing.T, base http.RoundTripper, opts ...circuithttp.Option) *circuithttp.Transport {
	t.Helper()
	tr, err := circuithttp.NewTransport(base, opts...)
	require.NoError(t, err)
	return tr
}

func roundTrip(t *testing.T, rt http.RoundTripper, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

// newServer starts an httptest server and closes it, and the client's
// idle connections, when the test ends.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// The body is streamed after RoundTrip has returned, and read in full:
// nothing the breaker does (here with a call timeout set, which would end
// Execute's context at return) cuts it off.
func TestTransportBodyReadableAfterRoundTrip(t *testing.T) {
	const size = 1 << 20
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush() // headers now, body later
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		for off := 0; off < size; off += 16 << 10 {
			w.Write(payload[off : off+16<<10])
			http.NewResponseController(w).Flush()
		}
	})
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	tr := newTransport(t, base, circuithttp.WithBreakerOptions(circuit.WithCallTimeout(time.Hour)))
	client := &http.Client{Transport: tr}

	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	close(release) // only now does the server send the body
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, bytes.Equal(payload, got), "read %d bytes of %d", len(got), size)

	m := tr.Group().Get(srv.Listener.Addr().String()).Metrics()
	require.Equal(t, uint64(1), m.Successes)
	require.Zero(t, m.InFlight)
}

// One failing host opens its own breaker; the other host's calls go on.
func TestTransportPerHostIsolation(t *testing.T) {
	bad := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	good := newServer(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	var mu sync.Mutex
	var opened []string
	tr := newTransport(t, base, circuithttp.WithBreakerOptions(
		circuit.WithConsecutiveFailures(3),
		circuit.WithOnStateChange(func(tr circuit.Transition) {
			mu.Lock()
			defer mu.Unlock()
			opened = append(opened, tr.Name+" "+tr.To.String())
		})))
	client := &http.Client{Transport: tr}

	for i := 0; i < 3; i++ {
		resp, err := client.Get(bad.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		resp.Body.Close()
	}
	_, err := client.Get(bad.URL)
	require.ErrorIs(t, err, circuit.ErrOpen)
	var ue *url.Error
	require.ErrorAs(t, err, &ue, "http.Client wraps the rejection")

	for i := 0; i < 5; i++ {
		resp, err := client.Get(good.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp.Body.Close()
	}
	mu.Lock()
	require.Equal(t, []string{bad.Listener.Addr().String() + " open"}, opened)
	mu.Unlock()
	gm := tr.Group().Metrics()
	require.Equal(t, 2, gm.Breakers)
	require.Equal(t, 1, gm.NotClosed)
}

// A key function other than the host: one tenant's failures open only
// that tenant's breaker, on the same host.
func TestTransportKeyByHeader(t *testing.T) {
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Header.Get("X-Tenant") == "noisy" {
			return respond(http.StatusServiceUnavailable)(r)
		}
		return respond(http.StatusOK)(r)
	})
	tr := newTransport(t, base, circuithttp.WithKey(circuithttp.KeyByHeader("x-tenant")),
		circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
	send := func(tenant string) error {
		req, _ := http.NewRequest(http.MethodGet, "http://api.test/x", nil)
		if tenant != "" {
			req.Header.Set("X-Tenant", tenant)
		}
		_, err := tr.RoundTrip(req)
		return err
	}
	require.NoError(t, send("noisy")) // a 503 is a response, not an error
	require.ErrorIs(t, send("noisy"), circuit.ErrOpen)
	require.NoError(t, send("quiet"))
	require.NoError(t, send("")) // no header: keyed by host
	require.Equal(t, circuit.Open, tr.Group().Get("noisy").State())
	require.Equal(t, circuit.Closed, tr.Group().Get("quiet").State())
	require.Equal(t, circuit.Closed, tr.Group().Get("api.test").State())
}

// The default classification, one response at a time, on a breaker that
// trips on the first failure.
func TestTransportDefaultClassifier(t *testing.T) {
	for _, tc := range []struct {
		name string
		base roundTripFunc
		want circuit.State
	}{
		{"200", respond(200), circuit.Closed},
		{"301", respond(301), circuit.Closed},
		{"404", respond(404), circuit.Closed},
		{"429", respond(429), circuit.Open},
		{"500", respond(500), circuit.Open},
		{"503", respond(503), circuit.Open},
		{"transport error", func(*http.Request) (*http.Response, error) { return nil, errors.New("connection refused") }, circuit.Open},
		{"canceled", func(r *http.Request) (*http.Response, error) { return nil, context.Canceled }, circuit.Closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, tc.base, circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
			roundTrip(t, tr, "http://h.test/")
			require.Equal(t, tc.want, tr.Group().Get("h.test").State())
		})
	}
}

// A result-aware classifier given through WithBreakerOptions replaces the
// default: here a 404 fails and a 500 does not.
func TestTransportClassifierOverride(t *testing.T) {
	classify := circuit.WithClassifier(func(resp *http.Response, err error) circuit.Outcome {
		if err == nil && resp.StatusCode == http.StatusNotFound {
			return circuit.Failure
		}
		return circuit.Success
	})
	for code, want := range map[int]circuit.State{404: circuit.Open, 500: circuit.Closed} {
		tr := newTransport(t, respond(code), circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1), classify))
		roundTrip(t, tr, "http://h.test/")
		require.Equal(t, want, tr.Group().Get("h.test").State(), "status %d", code)
	}
}

// A client that cancels its request against a server that hangs: the call
// is Ignored, never a failure, however many times it happens.
func TestTransportCancellationIgnored(t *testing.T) {
	started := make(chan struct{}, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	tr := newTransport(t, base, circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1)))
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		go func() {
			<-started
			cancel()
		}()
		_, err := tr.RoundTrip(req)
		require.ErrorIs(t, err, context.Canceled)
	}
	m := tr.Group().Get(srv.Listener.Addr().String()).Metrics()
	require.Equal(t, circuit.Closed, m.State)
	require.Equal(t, uint64(3), m.Ignored)
	require.Zero(t, m.Failures)
}

// A rejection is the breaker's *circuit.OpenError, found through
// http.Client's *url.Error, with its retry time; the request is not sent
// and its body is closed, as a RoundTripper must.
func TestTransportRejection(t *testing.T) {
	mock := clock.NewMock()
	sent := 0
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		return respond(http.StatusBadGateway)(r)
	})
	tr := newTransport(t, base, circuithttp.WithClock(mock),
		circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(30*time.Second)))
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://h.test/")
	require.NoError(t, err)
	resp.Body.Close()

	body := &closeRecorder{Reader: bytes.NewReader([]byte("payload"))}
	_, err = client.Post("http://h.test/", "text/plain", body)
	require.ErrorIs(t, err, circuit.ErrOpen)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, mock.Now().Add(30*time.Second), oe.RetryAt)
	require.Equal(t, 30*time.Second, oe.RetryAfter(mock.Now()))
	require.Equal(t, 1, sent)
	require.True(t, body.closed, "the request body of a rejected request is closed")
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// A 429 or 503 with Retry-After holds the host's breaker open until then,
// in either form of the header, capped by WithMaxRetryAfter; with 0 the
// header is not honoured. The breakers here never trip on their own.
func TestTransportRetryAfter(t *testing.T) {
	start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		status int
		header string
		opts   []circuithttp.Option
		want   time.Duration // how long the breaker stays open; 0: not opened
	}{
		{"503 seconds", 503, "120", nil, 120 * time.Second},
		{"429 seconds", 429, "7", nil, 7 * time.Second},
		{"503 http-date", 503, start.Add(90 * time.Second).Format(http.TimeFormat), nil, 90 * time.Second},
		{"capped by default", 429, "86400", nil, circuithttp.DefaultMaxRetryAfter},
		{"capped by option", 503, "600", []circuithttp.Option{circuithttp.WithMaxRetryAfter(time.Minute)}, time.Minute},
		{"disabled", 503, "120", []circuithttp.Option{circuithttp.WithMaxRetryAfter(0)}, 0},
		{"date in the past", 503, start.Add(-time.Hour).Format(http.TimeFormat), nil, 0},
		{"malformed", 503, "soon", nil, 0},
		{"zero", 503, "0", nil, 0},
		{"not 429 or 503", 500, "120", nil, 0},
		{"success", 200, "120", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := clock.NewMock()
			mock.Set(start)
			opts := append([]circuithttp.Option{circuithttp.WithClock(mock),
				circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0), circuit.WithLatencyThreshold(0))},
				tc.opts...)
			tr := newTransport(t, respond(tc.status, "Retry-After", tc.header), opts...)
			roundTrip(t, tr, "http://h.test/")
			b := tr.Group().Get("h.test")
			if tc.want == 0 {
				require.Equal(t, circuit.Closed, b.State())
				return
			}
			_, err := roundTrip(t, tr, "http://h.test/")
			var oe *circuit.OpenError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, circuit.ReasonRetryAfter, oe.Reason)
			require.Equal(t, start.Add(tc.want), oe.RetryAt)
			mock.Add(tc.want - time.Millisecond)
			require.Equal(t, circuit.Open, b.State())
			mock.Add(time.Millisecond)
			require.Equal(t, circuit.HalfOpen, b.State())
		})
	}
}

// A nil base is http.DefaultTransport: a real request goes through.
func TestTransportNilBase(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	tr := newTransport(t, nil)
	defer tr.CloseIdleConnections() // reaches http.DefaultTransport
	resp, err := roundTrip(t, tr, srv.URL)
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	require.Equal(t, "ok", string(got))
}

// Invalid options are named errors from NewTransport, every one of them.
func TestNewTransportInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []circuithttp.Option
		want []string
	}{
		{"max breakers", []circuithttp.Option{circuithttp.WithMaxBreakers(0)},
			[]string{"circuithttp: invalid config: MaxBreakers = 0: must be at least 1"}},
		{"idle timeout", []circuithttp.Option{circuithttp.WithIdleTimeout(-time.Second)},
			[]string{"circuithttp: invalid config: IdleTimeout = -1s: must be positive"}},
		{"nil key", []circuithttp.Option{circuithttp.WithKey(nil)},
			[]string{"circuithttp: invalid config: Key = <nil>: must not be nil"}},
		{"retry after", []circuithttp.Option{circuithttp.WithMaxRetryAfter(-1)},
			[]string{"circuithttp: invalid config: MaxRetryAfter = -1ns: must be in [0, circuit.MaxOpenTimeout]"}},
		{"all at once", []circuithttp.Option{circuithttp.WithMaxBreakers(-1), circuithttp.WithKey(nil)},
			[]string{"MaxBreakers = -1", "Key = <nil>"}},
		{"breaker option", []circuithttp.Option{circuithttp.WithBreakerOptions(circuit.WithWindowSize(0))},
			[]string{"WindowSize = 0"}},
		{"own and breaker options", []circuithttp.Option{circuithttp.WithIdleTimeout(0), circuithttp.WithBreakerOptions(circuit.WithWindowSize(0))},
			[]string{"circuithttp: invalid config: IdleTimeout = 0s", "WindowSize = 0"}},
		{"classifier of another type", []circuithttp.Option{circuithttp.WithBreakerOptions(
			circuit.WithClassifier(func(int, error) circuit.Outcome { return circuit.Success }))},
			[]string{"Classifier"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := circuithttp.NewTransport(nil, tc.opts...)
			require.Nil(t, tr)
			require.ErrorIs(t, err, circuithttp.ErrInvalidConfig)
			var ce *circuit.ConfigError
			require.ErrorAs(t, err, &ce)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// Many goroutines, several hosts, half of them failing, under -race:
// every request ends as exactly one outcome of its host's breaker.
func TestTransportConcurrent(t *testing.T) {
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		host, _ := strconv.Atoi(r.URL.Hostname()[1:])
		return respond(200 + 300*(host%2))(r) // h0 200, h1 500, ...
	})
	tr := newTransport(t, base, circuithttp.WithBreakerOptions(circuit.WithConsecutiveFailures(5)))
	const goroutines, perG, hosts = 8, 250, 4
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				req, _ := http.NewRequest(http.MethodGet, "http://h"+strconv.Itoa((g+i)%hosts)+"/", nil)
				resp, err := tr.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				} else if !errors.Is(err, circuit.ErrOpen) {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	var total uint64
	for h := 0; h < hosts; h++ {
		m := tr.Group().Get("h" + strconv.Itoa(h)).Metrics()
		require.Zero(t, m.InFlight)
		total += m.Successes + m.Failures + m.Rejections + m.Ignored
		if h%2 == 1 {
			require.Equal(t, circuit.Open, m.State, "h%d", h)
		} else {
			require.Equal(t, uint64(goroutines*perG/hosts), m.Successes, "h%d", h)
		}
	}
	require.Equal(t, uint64(goroutines*perG), total)
}

// A base that panics: the call is a failure, nothing stays in flight (which
// would hold a probe slot and keep the breaker from ever being evicted),
// and the panic goes on.
func TestTransportBasePanics(t *testing.T) {
	tr := newTransport(t, roundTripFunc(func(*http.Request) (*http.Response, error) { panic("bug") }))
	req, _ := http.NewRequest(http.MethodGet, "http://h.test/", nil)
	require.PanicsWithValue(t, "bug", func() { tr.RoundTrip(req) })
	m := tr.Group().Get("h.test").Metrics()
	require.Equal(t, uint64(1), m.Failures)
	require.Zero(t, m.InFlight)
}

// A breaker fallback serves a rejected request: its response is
// RoundTrip's result, and the unsent request's body is still closed.
func TestTransportFallback(t *testing.T) {
	canned := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"X-From": {"fallback"}}, Body: http.NoBody}
	tr := newTransport(t, respond(http.StatusInternalServerError), circuithttp.WithBreakerOptions(
		circuit.WithConsecutiveFailures(1),
		circuit.WithFallback(func(_ context.Context, err error) (*http.Response, error) {
			if errors.Is(err, circuit.ErrOpen) {
				return canned, nil
			}
			return nil, err
		})))
	resp, err := roundTrip(t, tr, "http://h.test/")
	require.NoError(t, err, "a 500 is a response, not an error: no fallback")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)

	body := &closeRecorder{Reader: bytes.NewReader(nil)}
	req, _ := http.NewRequest(http.MethodPost, "http://h.test/", body)
	resp, err = tr.RoundTrip(req)
	require.NoError(t, err)
	require.Same(t, canned, resp)
	require.True(t, body.closed)
}
