package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/benbjohnson/clock"
)

// metricsHandler serves the ledger's business metrics in the Prometheus
// text exposition format (version 0.0.4), written with the standard
// library so that the example does not pull client_golang into the main
// module. The breakers' own metrics are the prometheus module's job.
//
//	checkout_orders_total{result="completed"|"lost_open_breaker"|"failed"}  counter
//	checkout_orders_lost_open_breaker_total{dependency="payment"|"inventory"}  counter
//	checkout_revenue_at_stake_euros_total  counter: lost checkouts × the order value
//	checkout_order_value_euros  gauge: the order value the example states
//
// The current share of lost checkouts is a query, not a metric:
//
//	sum(rate(checkout_orders_total{result="lost_open_breaker"}[5m]))
//	  / sum(rate(checkout_orders_total[5m]))
//
// It answers GET and HEAD, and 405 to other methods.
func metricsHandler(l *ledger, clk clock.Clock) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "checkout: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var buf bytes.Buffer
		writeMetrics(&buf, l.snapshot(clk.Now()))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		if r.Method == http.MethodGet {
			_, _ = w.Write(buf.Bytes())
		}
	})
}

// writeMetrics writes b as Prometheus text. Label values are fixed names
// from this package, so they need no escaping.
func writeMetrics(buf *bytes.Buffer, b business) {
	family := func(name, typ, help string) {
		fmt.Fprintf(buf, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("checkout_orders_total", "counter",
		"Checkouts by result: completed (paid), lost_open_breaker (refused at once because a critical dependency's circuit was open), failed (any other error).")
	fmt.Fprintf(buf, "checkout_orders_total{result=\"completed\"} %d\n", b.Completed)
	fmt.Fprintf(buf, "checkout_orders_total{result=\"lost_open_breaker\"} %d\n", b.lost())
	fmt.Fprintf(buf, "checkout_orders_total{result=\"failed\"} %d\n", b.Failed)

	family("checkout_orders_lost_open_breaker_total", "counter",
		"Checkouts refused because the circuit of this critical dependency was open.")
	for _, d := range criticalDeps {
		fmt.Fprintf(buf, "checkout_orders_lost_open_breaker_total{dependency=%q} %d\n", string(d), b.Lost[d])
	}

	family("checkout_revenue_at_stake_euros_total", "counter",
		"Value of the checkouts lost to open breakers (lost checkouts times checkout_order_value_euros), in euros.")
	fmt.Fprintf(buf, "checkout_revenue_at_stake_euros_total %s\n", eurosFloat(b.AtStakeCents))

	family("checkout_order_value_euros", "gauge", "The value of one order that the example states, in euros.")
	fmt.Fprintf(buf, "checkout_order_value_euros %s\n", eurosFloat(orderValueCents))
}

// eurosFloat formats cents as a Prometheus sample value in euros, such as
// "69.98".
func eurosFloat(cents int64) string { return strconv.FormatFloat(float64(cents)/100, 'f', -1, 64) }
