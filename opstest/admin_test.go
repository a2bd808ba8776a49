package opstest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/opstest"
)

// TestAdmin runs the runbook's commands against the admin endpoint, as a
// step table over a mock clock.
func TestAdmin(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[string](circuit.WithName("payments"), circuit.WithClock(mock), circuit.WithOpenTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/breakers/{name}", opstest.NewAdmin(b))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	steps := []struct {
		method, path string
		wait         time.Duration // on the mock clock, after the request
		code         int
		body         string        // the response body
		state        circuit.State // after the wait
	}{
		{"POST", "/admin/breakers/payments?action=trip", 0, 200, "payments open\n", circuit.Open},
		{"POST", "/admin/breakers/payments?action=half-open", 0, 200, "payments half-open\n", circuit.HalfOpen},
		{"POST", "/admin/breakers/payments?action=reset", 0, 200, "payments closed\n", circuit.Closed},
		{"POST", "/admin/breakers/payments?action=hold", time.Hour, 200, "payments forced-open\n", circuit.ForcedOpen},
		{"POST", "/admin/breakers/payments?action=hold", time.Hour, 200, "payments forced-open\n", circuit.ForcedOpen}, // twice is once
		{"POST", "/admin/breakers/payments?action=release", 0, 200, "payments open\n", circuit.Open},
		{"POST", "/admin/breakers/payments?action=release", 31 * time.Second, 200, "payments open\n", circuit.HalfOpen}, // not held: nothing to do
		{"POST", "/admin/breakers/payments?action=disable", time.Hour, 200, "payments disabled\n", circuit.Disabled},
		{"POST", "/admin/breakers/payments?action=reset", 0, 200, "payments closed\n", circuit.Closed},
		{"POST", "/admin/breakers/payments?action=hold", 0, 200, "payments forced-open\n", circuit.ForcedOpen},
		{"POST", "/admin/breakers/payments?action=reset", 31 * time.Second, 200, "payments closed\n", circuit.Closed}, // reset ends a hold
		{"POST", "/admin/breakers/payments?action=open", 0, 400, "unknown action \"open\" (want trip, hold, disable, release, half-open or reset)\n", circuit.Closed},
		{"POST", "/admin/breakers/orders?action=trip", 0, 404, "no breaker \"orders\"\n", circuit.Closed},
		{"GET", "/admin/breakers/payments?action=trip", 0, 405, "use POST\n", circuit.Closed},
	}
	for i, st := range steps {
		req, err := http.NewRequest(st.method, srv.URL+st.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != st.code || string(body) != st.body {
			t.Errorf("step %d: %s %s = %d %q, want %d %q", i, st.method, st.path, resp.StatusCode, body, st.code, st.body)
		}
		mock.Add(st.wait)
		b.State()
		if s := b.State(); s != st.state {
			t.Errorf("step %d: state %v, want %v", i, s, st.state)
		}
	}
	// The holds are the core's own state, with their reasons.
	m := b.Metrics()
	if n := m.TransitionCounts[circuit.Closed][circuit.ForcedOpen]; n != 2 {
		t.Errorf("%d closed -> forced-open transitions, want 2", n)
	}
	if n := m.TransitionCounts[circuit.HalfOpen][circuit.Open]; n != 0 {
		t.Errorf("%d half-open -> open transitions, want none: a hold admits no probe", n)
	}
}
