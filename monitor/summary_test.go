package monitor_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileLabel would run a script, or break out of the table, if the page
// did not escape figures.
const hostileLabel = `</td></table><script>document.title="pwned"</script>`

// TestStatusPageSummary: the service's figures come in the JSON in their
// order and as a table above the breakers, escaped, an alert figure
// labelled in text; fn gets the page's time.
func TestStatusPageSummary(t *testing.T) {
	reg, mock := statusFixture(t, false)
	var asked []time.Time
	h := monitor.Handler(reg, monitor.WithClock(mock), monitor.WithSummary(func(now time.Time) []monitor.Figure {
		asked = append(asked, now)
		return []monitor.Figure{
			{Label: "Orders completed", Value: "17"},
			{Label: "Orders lost, last 5m", Value: "2 of 22 (9.1%)", Alert: true},
			{Label: hostileLabel, Value: `<img src=x onerror=alert(1)>`},
		}
	}))

	var p monitor.StatusPage
	require.NoError(t, json.Unmarshal([]byte(body(t, get(t, h, "/?format=json"))), &p))
	assert.Equal(t, []monitor.Figure{
		{Label: "Orders completed", Value: "17"},
		{Label: "Orders lost, last 5m", Value: "2 of 22 (9.1%)", Alert: true},
		{Label: hostileLabel, Value: `<img src=x onerror=alert(1)>`},
	}, p.Summary)
	assert.Len(t, p.Breakers, 4, "the breakers are still there")

	res := get(t, h, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := body(t, res)
	assert.NotContains(t, page, "<script")
	assert.NotContains(t, page, "<img")
	assert.Equal(t, 2, strings.Count(page, "</table>"), "figures and breakers; the hostile label closed nothing")
	assert.Contains(t, page, `<tr><th scope="row">Orders completed</th><td>17</td></tr>
<tr><th scope="row" class="attention">Orders lost, last 5m</th><td class="over">2 of 22 (9.1%) <span class="badge attention">attention</span></td></tr>
<tr><th scope="row">&lt;/td&gt;&lt;/table&gt;&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;</th><td>&lt;img src=x onerror=alert(1)&gt;</td></tr>`)
	figures, breakers := strings.Index(page, `<table class="figures">`), strings.Index(page, `data-name="payments"`)
	require.GreaterOrEqual(t, figures, 0)
	assert.Less(t, figures, breakers, "the figures come above the breakers")
	assert.Equal(t, []time.Time{mock.Now(), mock.Now()}, asked, "once per request, at the page's time")
}

// TestStatusPageNoSummary: without WithSummary (or with a nil fn, or an
// fn that returns nil) the JSON has an empty summary and the page no table
// of figures.
func TestStatusPageNoSummary(t *testing.T) {
	reg, mock := statusFixture(t, false)
	for name, opt := range map[string]monitor.HandlerOption{
		"none":       nil,
		"nil fn":     monitor.WithSummary(nil),
		"nil result": monitor.WithSummary(func(time.Time) []monitor.Figure { return nil }),
	} {
		h := monitor.Handler(reg, monitor.WithClock(mock), opt)
		var raw map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(body(t, get(t, h, "/?format=json"))), &raw), name)
		assert.JSONEq(t, `[]`, string(raw["summary"]), name)
		assert.NotContains(t, body(t, get(t, h, "/")), `class="figures"`, name)
	}
}

// TestStatusPageSummaryPanics: a summary that panics costs the summary,
// not the page.
func TestStatusPageSummaryPanics(t *testing.T) {
	reg, mock := statusFixture(t, false)
	h := monitor.Handler(reg, monitor.WithClock(mock), monitor.WithSummary(func(time.Time) []monitor.Figure {
		panic("ledger is nil")
	}))
	res := get(t, h, "/?format=json")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var p monitor.StatusPage
	require.NoError(t, json.Unmarshal([]byte(body(t, res)), &p))
	assert.Equal(t, []monitor.Figure{{Label: "Summary", Value: "unavailable: the summary function panicked: ledger is nil", Alert: true}}, p.Summary)
	assert.Len(t, p.Breakers, 4)
	assert.Contains(t, body(t, get(t, h, "/")), `<span class="badge attention">attention</span>`)
}
