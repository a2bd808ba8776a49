package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit/examples/checkout/shop"
)

// storyMetrics is what /metrics says at the end of the story.
const storyMetrics = `# HELP checkout_orders_total Checkouts by result: completed (paid), lost_open_breaker (refused at once because a critical dependency's circuit was open), failed (any other error).
# TYPE checkout_orders_total counter
checkout_orders_total{result="completed"} 20
checkout_orders_total{result="lost_open_breaker"} 2
checkout_orders_total{result="failed"} 0
# HELP checkout_orders_lost_open_breaker_total Checkouts refused because the circuit of this critical dependency was open.
# TYPE checkout_orders_lost_open_breaker_total counter
checkout_orders_lost_open_breaker_total{dependency="payment"} 2
checkout_orders_lost_open_breaker_total{dependency="inventory"} 0
# HELP checkout_revenue_at_stake_euros_total Value of the checkouts lost to open breakers (lost checkouts times checkout_order_value_euros), in euros.
# TYPE checkout_revenue_at_stake_euros_total counter
checkout_revenue_at_stake_euros_total 69.98
# HELP checkout_order_value_euros The value of one order that the example states, in euros.
# TYPE checkout_order_value_euros gauge
checkout_order_value_euros 34.99
`

// promtool returns the path of Prometheus's promtool, skipping the test
// when it is not installed, unless CI=true, where it must be.
func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("promtool is not installed; CI must install it (apt-get install -y prometheus)")
	}
	t.Skip("promtool is not installed: install Debian's prometheus (apt-get install -y prometheus) to lint the metrics")
	return ""
}

// checkMetrics runs promtool check metrics on text and returns its
// complaints, empty if none.
func checkMetrics(t *testing.T, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool(t), "check", "metrics")
	cmd.Stdin = bytes.NewBufferString(text)
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("promtool: %v", err)
	}
	return string(out)
}

func TestMetricsHandler(t *testing.T) {
	mock := clock.NewMock()
	l := newLedger()
	for i := 0; i < 20; i++ {
		l.record(mock.Now(), nil)
	}
	l.record(mock.Now(), unavailable(shop.Payment))
	l.record(mock.Now(), unavailable(shop.Payment))
	h := metricsHandler(l, mock)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, storyMetrics, rec.Body.String())

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/metrics", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, rec.Body.String())
	assert.Equal(t, strconv.Itoa(len(storyMetrics)), rec.Header().Get("Content-Length"))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}

// TestMetricsLint: promtool finds nothing to say about the exposition, and
// it would about a counter without _total, the mistake to guard against.
func TestMetricsLint(t *testing.T) {
	assert.Empty(t, checkMetrics(t, storyMetrics))
	bad := "# HELP checkout_orders Checkouts.\n# TYPE checkout_orders counter\ncheckout_orders 1\n"
	assert.Contains(t, checkMetrics(t, bad), "counter metrics should have \"_total\" suffix", "promtool lints")
}
