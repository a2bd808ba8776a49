package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
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

// alertFixture is a monitored registry on a mock clock, checked at 09:00
// and at 09:15 UTC on 2026-11-27, in which:
//
//	inventory        closed and healthy: no alert
//	payments         open since 09:02 (tripped by hand): prolonged-open warning
//	recommendations  half-open since 09:13:30: no alert
//	reports          closed at a 40% error rate over 60 calls, its thresholds
//	                 unable to trip: ineffective-protection, critical
//	search           51 transitions since 09:10:45, open since 09:14:55: flapping warning
//
// so that the most severe order is reports, payments, search,
// recommendations, inventory.
func alertFixture(t *testing.T) (*monitor.Registry, *monitor.Monitor, *clock.Mock) {
	t.Helper()
	mock := clock.NewMock()
	at := func(hms string) {
		d, err := time.Parse("15:04:05", hms)
		require.NoError(t, err)
		mock.Set(time.Date(2026, 11, 27, d.Hour(), d.Minute(), d.Second(), 0, time.UTC))
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
	recommendations := add("recommendations", circuit.WithOpenTimeout(90*time.Second))
	reports := add("reports", circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0.9))
	search := add("search", circuit.WithOpenTimeout(time.Hour))
	m := newMonitor(t, reg, mock)
	require.Empty(t, m.Check())

	for i := 0; i < 10; i++ {
		require.NoError(t, ignoreBoom(call(inventory, mock, 12*time.Millisecond, i == 4)))
	}
	for i := 0; i < 60; i++ { // 40% fail
		require.NoError(t, ignoreBoom(call(reports, mock, 250*time.Millisecond, i%5 < 2)))
	}
	at("09:02:00")
	payments.Trip(circuit.ReasonManual)
	at("09:10:45")
	for i := 0; i < 25; i++ {
		search.Trip(circuit.ReasonManual)
		mock.Add(5 * time.Second)
		search.Reset()
		mock.Add(5 * time.Second)
	}
	at("09:12:00")
	recommendations.Trip(circuit.ReasonManual)
	at("09:14:55")
	search.Trip(circuit.ReasonManual)
	at("09:15:00")
	require.Len(t, m.Check(), 3)
	return reg, m, mock
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
		raw := body(t, res)
		var p monitor.StatusPage
		require.NoError(t, json.Unmarshal([]byte(raw), &p))
		assert.Equal(t, mock.Now(), p.GeneratedAt)
		assert.False(t, p.Monitored)
		require.Len(t, p.Breakers, 5)

		var names []string
		for _, s := range p.Breakers {
			names = append(names, s.Name)
		}
		assert.Equal(t, []string{"payments", "search", hostileName, "inventory", "recommendations"}, names,
			"without alerts: open, half-open, then closed, each by name")

		pay, srch, bad, inv := p.Breakers[0], p.Breakers[1], p.Breakers[2], p.Breakers[3]
		assert.Equal(t, `<img src=x onerror=alert(1)>`, bad.LastFailure)
		assert.Equal(t, "closed", inv.State)
		assert.Equal(t, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), inv.Since)
		assert.Equal(t, "5m0s", inv.For)
		assert.InDelta(t, 0.1, inv.ErrorRate, 1e-12)
		assert.Equal(t, 10, inv.WindowRequests)
		assert.InEpsilon(t, 0.019, inv.P95LatencySeconds, 1.0/64, "reported within 1.56%")
		assert.InEpsilon(t, 0.019, inv.PercentileLatencySeconds, 1.0/64, "reported within 1.56%")
		assert.Equal(t, uint64(9), inv.Successes)
		assert.Equal(t, uint64(1), inv.Failures)
		assert.Equal(t, &monitor.Thresholds{
			ErrorRate: 0.5, MinRequests: 10, LatencySeconds: 5, LatencyPercentile: 0.95, ConsecutiveFailures: 5,
		}, inv.Thresholds, "read from the breaker's Config")
		assert.Equal(t, []monitor.AlertStatus{}, inv.Alerts)
		assert.Empty(t, inv.LastReason, "no monitor")
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
		assert.Contains(t, raw, `"state": "half-open"`, "states in their text form")
	}
}

// TestStatusPageWithMonitor: with a monitor the page sorts by severity and
// shows the alerts, the flapping badge, recent transitions and reasons.
func TestStatusPageWithMonitor(t *testing.T) {
	reg, m, mock := alertFixture(t)
	h := monitor.Handler(reg, monitor.WithMonitor(m)) // the monitor's clock by default

	var p monitor.StatusPage
	raw := body(t, get(t, h, "/?format=json"))
	require.NoError(t, json.Unmarshal([]byte(raw), &p))
	assert.Equal(t, mock.Now(), p.GeneratedAt, "the monitor's clock")
	assert.True(t, p.Monitored)
	var names []string
	for _, s := range p.Breakers {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"reports", "payments", "search", "recommendations", "inventory"}, names, "most severe first")

	reports, payments, search, recs, inv := p.Breakers[0], p.Breakers[1], p.Breakers[2], p.Breakers[3], p.Breakers[4]
	assert.Equal(t, "closed", reports.State)
	require.Len(t, reports.Alerts, 1)
	assert.Equal(t, monitor.AlertStatus{
		Kind: monitor.IneffectiveProtection, Severity: monitor.Critical,
		Message:  "closed with error rate 40.0% over 60 requests (limit 30.0% over more than 50)",
		RaisedAt: mock.Now(), For: "0s",
	}, reports.Alerts[0])
	assert.Equal(t, 0.9, reports.Thresholds.ErrorRate)
	assert.Equal(t, 0, reports.Thresholds.ConsecutiveFailures, "disabled")

	require.Len(t, payments.Alerts, 1)
	assert.Equal(t, monitor.ProlongedOpen, payments.Alerts[0].Kind)
	assert.Equal(t, "manual", payments.LastReason)
	assert.Equal(t, time.Date(2026, 11, 27, 9, 2, 0, 0, time.UTC), *payments.LastTransitionAt)
	assert.Equal(t, 0, payments.RecentTransitions, "09:02 is more than 10 minutes ago")

	assert.True(t, search.Flapping)
	require.Len(t, search.Alerts, 1)
	assert.Equal(t, monitor.Flapping, search.Alerts[0].Kind)
	assert.Equal(t, 51, search.RecentTransitions)
	assert.Equal(t, "open", search.State)
	assert.Equal(t, "5s", search.For)

	assert.Empty(t, recs.Alerts)
	assert.Equal(t, "half-open", recs.State)
	assert.Equal(t, "timeout-elapsed", recs.LastReason)
	assert.Equal(t, 2, recs.RecentTransitions)
	assert.False(t, inv.Flapping)
	assert.Nil(t, inv.LastTransitionAt)
	assert.Contains(t, raw, `"kind": "ineffective-protection"`)
	assert.Contains(t, raw, `"severity": "critical"`)

	page := body(t, get(t, h, "/"))
	assert.Contains(t, page, "5 breakers: 2 closed, 1 half-open, 2 open &middot; 3 active alerts (1 critical, 2 warning)")
	iCrit := strings.Index(page, `<li class="critical"><span class="sev critical">critical</span> <span class="name">reports</span> ineffective-protection: closed with error rate 40.0%`)
	iWarn := strings.Index(page, `<li class="warning"><span class="sev warning">warning</span> <span class="name">payments</span> prolonged-open: open, not closed for 13m0s`)
	iTable := strings.Index(page, "<table>")
	assert.True(t, 0 < iCrit && iCrit < iWarn && iWarn < iTable, "the alerts lead the page, critical first")
	assert.Contains(t, page, `<tr class="critical" data-name="reports">`)
	assert.Contains(t, page, `<td class="name">search <span class="badge flapping">flapping</span></td>
<td><span class="state open">open</span> <span class="ago">for 5s</span></td>
<td><span class="sev warning">warning</span> flapping</td>
<td class="num">51</td>
<td>manual <span class="ago">5s ago</span></td>`)
	assert.Contains(t, page, `<td class="num"><span>40.0%</span> <span class="limit">/ 90%</span> <span class="limit">(60 calls)</span></td>`, "error rate against its threshold")
	assert.Contains(t, page, `<td class="num">p95 <span>249.6ms</span> <span class="limit">/ 5s</span></td>`, "latency against its threshold")
}

// viewOnly hides every method of a breaker but those of circuit.View, as a
// breaker type of another library would.
type viewOnly struct{ circuit.View }

// oddState is a breaker in a state this package does not know, as a
// future core might have.
type oddState struct{ circuit.View }

func (o oddState) Metrics() circuit.Metrics {
	m := o.View.Metrics()
	m.State = circuit.State(7)
	return m
}

// TestStatusPageAnyView: thresholds are optional, and a state the page
// does not know is shown by its text, ranked with open.
func TestStatusPageAnyView(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	require.NoError(t, reg.Register(viewOnly{newBreaker(t, mock, "a-plain")}))
	require.NoError(t, reg.Register(oddState{newBreaker(t, mock, "b-odd")}))
	h := monitor.Handler(reg, monitor.WithClock(mock))

	var p monitor.StatusPage
	require.NoError(t, json.Unmarshal([]byte(body(t, get(t, h, "/?format=json"))), &p))
	require.Len(t, p.Breakers, 2)
	assert.Equal(t, "b-odd", p.Breakers[0].Name, "an unknown state ranks above closed")
	assert.Nil(t, p.Breakers[1].Thresholds, "no Config() method")

	page := body(t, get(t, h, "/"))
	assert.Contains(t, page, `<span class="state unknown">state(7)</span>`)
	assert.Contains(t, page, "2 breakers: 1 closed, 0 half-open, 0 open, 1 state(7)")
	assert.Contains(t, page, `<td class="num">p95 <span class="none">&ndash;</span></td>`, "no thresholds to compare with")
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
		assert.Contains(t, page, `&lt;img src=x onerror=alert(1)&gt;`, "the hostile error is text")
		assert.NotContains(t, page, "http://")
		assert.NotContains(t, page, "https://")

		assert.Equal(t, 5, strings.Count(page, "<tr class="), "one row per breaker")
		assert.Contains(t, page, "5 breakers: 3 closed, 1 half-open, 1 open &middot; generated 2026-11-27 09:05:00 UTC")
		assert.Contains(t, page, "this page has no monitor")
		assert.Contains(t, page, `<td class="name">inventory</td>
<td><span class="state closed">closed</span> <span class="ago">for 5m0s</span></td>
<td><span class="none">&ndash;</span></td>
<td class="num"><span class="none">&ndash;</span></td>
<td><span class="none">&ndash;</span></td>
<td class="num"><span>10.0%</span> <span class="limit">/ 50%</span> <span class="limit">(10 calls)</span></td>
<td class="num">p95 <span>19.1ms</span> <span class="limit">/ 5s</span></td>
<td class="failure" title="boom">boom <span class="ago">5m0s ago</span></td>`)
		assert.Contains(t, page, `<span class="state open">open</span>`)
		assert.Contains(t, page, `<span class="state half-open">half-open</span>`)
		assert.Contains(t, page, `<td class="num"><span class="over">100.0%</span> <span class="limit">/ 50%</span> <span class="limit">(5 calls, min 10)</span></td>`, "at or over the threshold: bold, not only coloured")
	}
}

// TestStatusPageContrast computes the WCAG contrast ratio of every rule of
// the page's style sheet that sets both a text and a background colour
// (every state label, severity label and badge) and requires AA, 4.5:1.
func TestStatusPageContrast(t *testing.T) {
	reg, m, _ := alertFixture(t)
	page := body(t, get(t, monitor.Handler(reg, monitor.WithMonitor(m), monitor.WithSummary(func(time.Time) []monitor.Figure {
		return []monitor.Figure{{Label: "lost", Value: "1", Alert: true}}
	})), "/"))
	rule := regexp.MustCompile(`(?m)^([^{}\n]+)\{([^}]*)\}`)
	decl := func(body, prop string) (string, bool) {
		m := regexp.MustCompile(`(?:^|[;\s])` + prop + `:\s*(#[0-9a-fA-F]{6})\b`).FindStringSubmatch(body)
		if m == nil {
			return "", false
		}
		return m[1], true
	}
	checked := map[string]bool{}
	for _, r := range rule.FindAllStringSubmatch(page, -1) {
		sel := strings.TrimSpace(r[1])
		fg, ok1 := decl(r[2], "color")
		bg, ok2 := decl(r[2], "background")
		if !ok1 || !ok2 {
			continue
		}
		ratio := contrast(t, fg, bg)
		assert.GreaterOrEqual(t, ratio, 4.5, "%s: %s on %s is %.2f:1", sel, fg, bg, ratio)
		checked[sel] = true
	}
	for _, sel := range []string{".state.closed", ".state.open", ".state.half-open", ".state.unknown", ".sev.critical", ".sev.warning", ".badge.flapping", ".badge.attention"} {
		assert.True(t, checked[sel], "%s sets its text and background colours", sel)
	}
	// Grey secondary text on the white page.
	assert.GreaterOrEqual(t, contrast(t, "#59636e", "#ffffff"), 4.5)
	// The formula itself: the old half-open label failed.
	assert.InDelta(t, 3.14, contrast(t, "#ffffff", "#bf8700"), 0.01)
	assert.InDelta(t, 21, contrast(t, "#000000", "#ffffff"), 1e-9)
}

// contrast is the WCAG 2 contrast ratio of two sRGB colours "#rrggbb".
func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the WCAG 2 relative luminance of "#rrggbb".
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	require.NoError(t, err, hex)
	lin := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
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

	// A monitor of another registry would show alerts of other breakers.
	_, m, _ := alertFixture(t)
	res = get(t, monitor.Handler(monitor.NewRegistry(), monitor.WithMonitor(m)), "/")
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.Contains(t, body(t, res), "monitor: Handler was given a monitor of another registry")
}
