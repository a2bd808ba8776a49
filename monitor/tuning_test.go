package monitor_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	"github.com/breakerlab/circuit/tune"
)

// tuningFixture is a registered breaker with two shadows, one of them
// with a hostile name, after a short outage that the stricter one would
// have caught sooner.
func tuningFixture(t *testing.T) (*monitor.Registry, *clock.Mock, *tune.Shadows) {
	t.Helper()
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b := newBreaker(t, mock, "payments", circuit.WithConsecutiveFailures(5))
	require.NoError(t, reg.Register(b))
	strict, loose := b.Config(), b.Config()
	strict.ConsecutiveFailures = 2
	loose.ConsecutiveFailures = 10
	s, err := tune.Attach(b, []tune.Candidate{{Name: "strict", Config: strict}, {Name: hostileName, Config: loose}})
	require.NoError(t, err)
	t.Cleanup(s.Detach)
	for i := range 30 {
		_ = call(b, mock, 10*time.Millisecond, i >= 10 && i < 18)
	}
	return reg, mock, s
}

// panicking is a tuning source that panics.
type panicking struct{}

func (panicking) Reports() []tune.Report { panic("no reports today") }

func TestStatusPageJSONHasTheTuningReports(t *testing.T) {
	reg, mock, s := tuningFixture(t)
	h := monitor.Handler(reg, monitor.WithClock(mock), monitor.WithTuning(s, nil, panicking{}))
	var page monitor.StatusPage
	require.NoError(t, json.Unmarshal([]byte(body(t, get(t, h, "/?format=json"))), &page))
	require.Len(t, page.Tuning, 2, "the nil source is ignored")
	assert.Equal(t, "payments", page.Tuning[0].Breaker)
	assert.Equal(t, s.Reports(), page.Tuning[0].Reports, "the reports round-trip")
	assert.Empty(t, page.Tuning[0].Error)
	assert.Equal(t, monitor.Tuning{Reports: []tune.Report{}, Error: "unavailable: the tuning source panicked: no reports today"}, page.Tuning[1])

	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body(t, get(t, monitor.Handler(reg), "/?format=json"))), &raw))
	assert.JSONEq(t, `[]`, string(raw["tuning"]), "empty, not null, without WithTuning")
}

func TestStatusPageShowsTheTuningReports(t *testing.T) {
	reg, mock, s := tuningFixture(t)
	page := body(t, get(t, monitor.Handler(reg, monitor.WithClock(mock), monitor.WithTuning(s)), "/"))
	assert.Contains(t, page, `<caption>Configurations of <span class="name">payments</span></caption>`)
	assert.Contains(t, page, `<th scope="col">Configuration</th>`, "every column has a header")
	assert.Contains(t, page, `<th scope="row" class="name">payments <span class="badge live">live</span></th>`, "the live row is labelled in text")
	assert.Contains(t, page, `<th scope="row" class="name">strict</th>`)
	assert.Contains(t, page, "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;", "the hostile name is escaped")
	assert.NotContains(t, page, "<b>x</b>")
	r := s.Reports()
	assert.Contains(t, page, `<td class="verdict">`+strings.ReplaceAll(r[1].Verdict, `"`, "&#34;")+`</td>`)
	assert.Equal(t, 3, strings.Count(page, "<tr data-config="), "one row per configuration")
	assert.Contains(t, page, `<td class="num"><span class="none">unknown</span></td>`, "the live breaker's rejections have no known outcome")

	without := body(t, get(t, monitor.Handler(reg, monitor.WithClock(mock)), "/"))
	assert.NotContains(t, without, `<section class="tuning">`)
}

// In a real browser the tuning tables are built as written and the
// hostile candidate name stays text.
func TestStatusPageTuningInBrowser(t *testing.T) {
	chromium(t)
	reg, mock, s := tuningFixture(t)
	srv := httptest.NewServer(monitor.Handler(reg, monitor.WithClock(mock), monitor.WithTuning(s)))
	defer srv.Close()
	dom := string(runChromium(t, "--dump-dom", srv.URL+"/"))
	assert.Contains(t, dom, "<title>Circuit breakers</title>", "the hostile name's script did not run")
	assert.NotContains(t, dom, "<b>x</b>")
	assert.Equal(t, 2, strings.Count(dom, "</table>"), "the breakers and one tuning table")
	assert.Equal(t, 3, strings.Count(dom, "<tr data-config="))
}
