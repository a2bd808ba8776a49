package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Example exports one breaker and scrapes it over HTTP, as Prometheus
// would. The mock clock only keeps the latencies, and so the output,
// deterministic; a real service leaves WithClock out.
func Example() {
	mock := clock.NewMock()
	payments, err := circuit.New[string](
		circuit.WithName("payments"),
		circuit.WithClock(mock),
		circuit.WithConsecutiveFailures(2),
	)
	if err != nil {
		log.Fatal(err)
	}
	for _, fail := range []bool{false, true, true, false} {
		_, _ = payments.Execute(context.Background(), func(context.Context) (string, error) {
			mock.Add(120 * time.Millisecond) // the call's latency
			if fail {
				return "", errors.New("upstream 503")
			}
			return "paid", nil
		})
	}

	c, err := circuitprom.New(payments)
	if err != nil {
		log.Fatal(err)
	}
	reg := prom.NewRegistry()
	reg.MustRegister(c)

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.TrimSpace(string(body)) + "\n")
	// Output:
	// # HELP circuit_breaker_calls_total Calls through the circuit breaker by outcome: success, failure, rejected (refused while open or half-open) or canceled (ended by the caller's cancellation, not recorded).
	// # TYPE circuit_breaker_calls_total counter
	// circuit_breaker_calls_total{name="payments",outcome="ignored"} 0
	// circuit_breaker_calls_total{name="payments",outcome="failure"} 2
	// circuit_breaker_calls_total{name="payments",outcome="rejected"} 1
	// circuit_breaker_calls_total{name="payments",outcome="success"} 1
	// # HELP circuit_breaker_error_rate Share of failed calls, 0 to 1, among the recent calls in the circuit breaker's window.
	// # TYPE circuit_breaker_error_rate gauge
	// circuit_breaker_error_rate{name="payments"} 0.6666666666666666
	// # HELP circuit_breaker_fallbacks_total Calls of the circuit breaker's fallback.
	// # TYPE circuit_breaker_fallbacks_total counter
	// circuit_breaker_fallbacks_total{name="payments"} 0
	// # HELP circuit_breaker_latency_p95_seconds 95th percentile latency of the recent calls in the circuit breaker's window, in seconds.
	// # TYPE circuit_breaker_latency_p95_seconds gauge
	// circuit_breaker_latency_p95_seconds{name="payments"} 0.12
	// # HELP circuit_breaker_state Current state of the circuit breaker: 1 for the state it is in, 0 for the others.
	// # TYPE circuit_breaker_state gauge
	// circuit_breaker_state{name="payments",state="closed"} 0
	// circuit_breaker_state{name="payments",state="half-open"} 0
	// circuit_breaker_state{name="payments",state="open"} 1
	// # HELP circuit_breaker_transitions_total State changes of the circuit breaker, by previous and new state.
	// # TYPE circuit_breaker_transitions_total counter
	// circuit_breaker_transitions_total{from="closed",name="payments",to="half-open"} 0
	// circuit_breaker_transitions_total{from="closed",name="payments",to="open"} 1
	// circuit_breaker_transitions_total{from="half-open",name="payments",to="closed"} 0
	// circuit_breaker_transitions_total{from="half-open",name="payments",to="open"} 0
	// circuit_breaker_transitions_total{from="open",name="payments",to="closed"} 0
	// circuit_breaker_transitions_total{from="open",name="payments",to="half-open"} 0
}
