package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func demo(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, run(&buf))
	return buf.String()
}

// The story is told the same way every time, and says what happened.
func TestDemoTellsTheStory(t *testing.T) {
	out := demo(t)
	assert.Equal(t, out, demo(t), "the demo must be deterministic")
	assert.True(t, strings.HasSuffix(out, "  lost in the last 5m: 2 of 22 checkouts (9.1%)\n"), "the business summary comes last")
	for _, line := range []string{
		"T+  2.550s  ** users circuit closed -> open (consecutive-failures, 5 in a row)\n",
		"o-9   paid in 320ms (ch-o-9); user update queued (circuit open, not called)",
		"T+  4.250s  ** email circuit closed -> open (consecutive-failures, 10 in a row)\n",
		"T+  7.490s  ** payment circuit closed -> open (latency, P95 2.986s over 15 calls)\n",
		"o-15  paid in 3.02s (ch-o-15)",
		"T+  7.510s  o-16  refused in 20ms: shop: checkout temporarily unavailable, retry after 60 s (payment circuit is open) -> HTTP 503, Retry-After: 60\n",
		// Opened at 7.49s, refused at 27.53s: 39.96s left, rounded up.
		"T+ 27.530s  o-17  refused in 20ms: shop: checkout temporarily unavailable, retry after 40 s (payment circuit is open)",
		"T+ 67.490s  ** payment circuit open -> half-open (timeout-elapsed)\n",
		"T+ 69.150s  ** payment circuit half-open -> closed (probes-succeeded)\n",
		"outbox: 12 receipt emails, 12 user updates, 0 releases to replay\n",
		"  payment    closed            20         0           2            3\n",
		// The shadows of the email breaker: the stricter one would have
		// stopped 5 of the 10 failures the live one let through.
		"  shadows of the email breaker (they watched every email call and rejected none):\n" +
			"    email: the live configuration, the baseline (cost 10)\n" +
			"    20 in a row: 1 fewer opens, as many good calls rejected, as many failures let through: same cost (10 vs 10); it would also have admitted 2 calls the live breaker rejected (outcome unknown)\n" +
			"    5 in a row: as many opens, as many good calls rejected, 5 fewer failures let through: better by cost 5 (5 vs 10)\n",
		// The business summary ends the story.
		"  checkouts: 20 completed, 2 lost to open breakers (payment 2, inventory 0), 0 failed otherwise\n" +
			"  revenue at stake: €69.98 (2 lost × €34.99 per order)\n" +
			"  lost in the last 5m: 2 of 22 checkouts (9.1%)\n",
	} {
		assert.Contains(t, out, line)
	}
}

// Every line carries a time, and the times never go backwards.
func TestDemoIsChronological(t *testing.T) {
	re := regexp.MustCompile(`(?m)^T\+\s*([0-9.]+)s `)
	matches := re.FindAllStringSubmatch(demo(t), -1)
	require.Greater(t, len(matches), 30)
	last := -1.0
	for _, m := range matches {
		at, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, at, last, m[0])
		last = at
	}
}
