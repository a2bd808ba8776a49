package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileName would run a script if the page did not escape it.
const hostileName = `<script>document.title="pwned"</script><b>x</b>`

// statusFixture registers breakers in each state on a mock clock that
// starts at 2026-11-27 09:00 UTC and ends at 09:05, plus, if hostile, one
// whose name and last error need escaping:
//
//	inventory        closed since 09:00, 1 failure in 10 calls, P95 19ms (reported 19.1ms)
//	payments         open since 09:02 (tripped by hand), 40% of 20 calls failed, P95 960ms
//	recommendations  closed since 09:00, 1 failure in 40 calls, P95 77ms
//	search           half-open since 09:04:30 (5 failures of 1.5s ending at 09:03)
func statusFixture(t *testing.T, hostile bool) (*monitor.Registry, *clock.Mock) {
	t.Helper()
	mock := clock.NewMock()
	at := func(hms string) {
		d, err := time.Parse("15:04:05.999", hms)
		require.NoError(t, err)
		mock.Set(time.Date(2026, 11, 27, d.Hour(), d.Minute(), d.Second(), d.Nanosecond(), time.UTC))
	}
	at("09:00:00")
	reg := monitor.NewRegistry()
	add := func(name string, opts ...circuit.Option) *circuit.Breaker[int] {
		b := newBreaker(t, mock, name, opts...)
		require.NoError(t, reg.Register(b))
		return b
	}
	inventory := add("inventory")
	payments := add("payments", circuit.WithOpenTimeout(time.Hour))
	recommendations := add("recommendations")
	search := add("search", circuit.WithOpenTimeout(90*time.Second))
	var bad *circuit.Breaker[int]
	if hostile {
		bad = add(hostileName)
	}

	for i := 0; i < 10; i++ { // 10..19ms; the 5th fails
		require.NoError(t, ignoreBoom(call(inventory, mock, time.Duration(10+i)*time.Millisecond, i == 4)))
	}
	for i := 0; i < 40; i++ { // 40..79ms; one fails
		require.NoError(t, ignoreBoom(call(recommendations, mock, time.Duration(40+i)*time.Millisecond, i == 20)))
	}
	at("09:01:00")
	for i := 0; i < 20; i++ { // 600..980ms; 2 in 5 fail, never 2 in a row
		require.NoError(t, ignoreBoom(call(payments, mock, time.Duration(600+20*i)*time.Millisecond, i%5 == 1 || i%5 == 3)))
	}
	at("09:02:00")
	payments.Trip(circuit.ReasonManual)
	at("09:02:52.5")
	for i := 0; i < 5; i++ {
		_ = call(search, mock, 1500*time.Millisecond, true)
	}
	if hostile {
		_, err := bad.Execute(context.Background(), func(context.Context) (int, error) {
			return 0, errors.New(`<img src=x onerror=alert(1)>`)
		})
		require.Error(t, err)
	}
	at("09:05:00")
	return reg, mock
}

func get(t *testing.T, h http.Handler, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

type statusPage struct {
	GeneratedAt time.Time        `json:"generated_at"`
	Breakers    []monitor.Status `json:"breakers"`
}

func TestHandlerJSON(t *testing.T) {
	reg, mock := statusFixture(t, true)
	h := monitor.Handler(reg, monitor.WithClock(mock))
	for _, tc := range []struct {
		target string
		header []string
	}{
		{"/?format=json", nil},
		{"/", []string{"Accept", "application/json"}},
		{"/breakers", []string{"Accept", "application/json, text/plain;q=0.5"}},
	} {
		res := get(t, h, tc.target, tc.header...)
		require.Equal(t, http.StatusOK, res.StatusCode, tc.target)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		var p statusPage
		require.NoError(t, json.Unmarshal([]byte(body(t, res)), &p))
		assert.Equal(t, mock.Now(), p.GeneratedAt)
		require.Len(t, p.Breakers, 5)

		var names []string
		for _, s := range p.Breakers {
			names = append(names, s.Name)
		}
		assert.Equal(t, []string{hostileName, "inventory", "payments", "recommendations", "search"}, names, "sorted by name")

		bad, inv, pay, srch := p.Breakers[0], p.Breakers[1], p.Breakers[2], p.Breakers[4]
		assert.Equal(t, `<img src=x onerror=alert(1)>`, bad.LastFailure)
		assert.Equal(t, "closed", inv.State)
		assert.Equal(t, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), inv.Since)
		assert.Equal(t, "5m0s", inv.For)
		assert.InDelta(t, 0.1, inv.ErrorRate, 1e-12)
		assert.Equal(t, 10, inv.WindowRequests)
		assert.InEpsilon(t, 0.019, inv.P95LatencySeconds, 1.0/64, "P95 is reported within 1.56%")
		assert.Equal(t, uint64(9), inv.Successes)
		assert.Equal(t, uint64(1), inv.Failures)
		assert.Equal(t, "open", pay.State)
		assert.Equal(t, "3m0s", pay.For)
		assert.InDelta(t, 0.4, pay.ErrorRate, 1e-12)
		assert.InEpsilon(t, 0.96, pay.P95LatencySeconds, 1.0/64, "P95 is reported within 1.56%")
		assert.Equal(t, 20, pay.WindowRequests)
		assert.Equal(t, "half-open", srch.State)
		assert.Equal(t, time.Date(2026, 11, 27, 9, 4, 30, 0, time.UTC), srch.Since)
		assert.Equal(t, "30s", srch.For)
		assert.Equal(t, "boom", srch.LastFailure)
		assert.InEpsilon(t, 1.5, srch.P95LatencySeconds, 1.0/64, "P95 is reported within 1.56%")
		assert.Equal(t, uint64(2), srch.Transitions)
	}
}

func TestHandlerHTML(t *testing.T) {
	reg, mock := statusFixture(t, true)
	h := monitor.Handler(reg, monitor.WithClock(mock))
	for _, tc := range []struct {
		target string
		header []string
	}{
		{"/", nil},
		{"/", []string{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}},
		{"/", []string{"Accept", "text/html, application/json"}},
		{"/?format=html", []string{"Accept", "application/json"}},
	} {
		res := get(t, h, tc.target, tc.header...)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
		assert.Equal(t, "default-src 'none'; style-src 'unsafe-inline'", res.Header.Get("Content-Security-Policy"))
		page := body(t, res)

		assert.NotContains(t, page, "<script", "no script: the hostile name is escaped")
		assert.NotContains(t, page, "<b>x</b>")
		assert.NotContains(t, page, "<img")
		assert.Contains(t, page, `&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;`)
		assert.NotContains(t, page, "http://")
		assert.NotContains(t, page, "https://")
		assert.NotContains(t, page, "src=")

		assert.Equal(t, 5, strings.Count(page, "<tr class="), "one row per breaker")
		assert.Contains(t, page, "5 breakers: 3 closed, 1 half-open, 1 open")
		assert.Contains(t, page, `<td class="name">inventory</td>
<td><span class="state closed">closed</span></td>
<td class="num">10.0%</td>
<td class="num">10</td>
<td class="num">19.1ms</td>
<td>2026-11-27 09:00:00 UTC <span class="ago">(5m0s ago)</span></td>`)
		assert.Contains(t, page, `<span class="state open">open</span>`)
		assert.Contains(t, page, `<span class="state half-open">half-open</span>`)
	}
}

func TestHandlerEmptyAndMethods(t *testing.T) {
	h := monitor.Handler(monitor.NewRegistry())
	assert.Contains(t, body(t, get(t, h, "/")), "No breakers registered.")
	assert.JSONEq(t, `[]`, func() string {
		var raw map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(body(t, get(t, h, "/?format=json"))), &raw))
		return string(raw["breakers"])
	}())

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, rec.Body.String())
	assert.NotEmpty(t, rec.Header().Get("Content-Length"))
}

func TestHandlerNilRegistry(t *testing.T) {
	res := get(t, monitor.Handler(nil), "/")
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.Contains(t, body(t, res), "monitor: Handler was given a nil registry")
}
