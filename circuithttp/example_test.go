package circuithttp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/circuithttp"
)

// A client calls a flaky server through a Transport and prints its
// breaker's transitions. A mock clock stands in for the 30s wait, so the
// output is the same on every run.
func ExampleNewTransport() {
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 3 {
			w.WriteHeader(http.StatusBadGateway) // the first three calls fail
			return
		}
		io.WriteString(w, "ok")
	}))
	defer flaky.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	mock := clock.NewMock()
	t, err := circuithttp.NewTransport(base,
		circuithttp.WithClock(mock),
		circuithttp.WithBreakerOptions(
			circuit.WithConsecutiveFailures(3),
			circuit.WithOpenTimeout(30*time.Second),
			circuit.WithSuccessThreshold(1),
			circuit.WithOnStateChange(func(tr circuit.Transition) {
				fmt.Printf("  breaker: %v -> %v (%v)\n", tr.From, tr.To, tr.Reason)
			}),
		))
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: t}

	get := func() {
		resp, err := client.Get(flaky.URL)
		var oe *circuit.OpenError
		switch {
		case errors.As(err, &oe):
			fmt.Printf("rejected (ErrOpen: %v), retry in %v\n", errors.Is(err, circuit.ErrOpen), oe.RetryAfter(mock.Now()))
		case err != nil:
			fmt.Println("error:", err)
		default:
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", string(body))))
		}
	}
	for i := 0; i < 4; i++ {
		get()
	}
	mock.Add(30 * time.Second)
	get()
	fmt.Println("server calls:", calls.Load())
	// Output:
	// 502
	// 502
	//   breaker: closed -> open (consecutive-failures)
	// 502
	// rejected (ErrOpen: true), retry in 30s
	//   breaker: open -> half-open (timeout-elapsed)
	//   breaker: half-open -> closed (probes-succeeded)
	// 200 ok
	// server calls: 4
}

// A service sheds load while a dependency's breaker is open: its handler
// reports the rejection with Reject, and the Handler around it then
// answers the next requests at once, with the dependency's Retry-After.
func ExampleNewHandler() {
	mock := clock.NewMock()
	payments, _ := circuit.New[string](circuit.WithName("payments"), circuit.WithClock(mock))
	checkout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("  checkout handler runs")
		_, err := payments.Allow() // stands for a call through a Transport
		if circuithttp.Reject(w, err, mock.Now()) {
			return
		}
		io.WriteString(w, "paid\n")
	})
	h, err := circuithttp.NewHandler(checkout, circuithttp.WithClock(mock))
	if err != nil {
		panic(err)
	}
	payments.Trip(circuit.ReasonManual)
	for i := 0; i < 2; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/checkout", nil))
		fmt.Printf("%d Retry-After: %s; %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		mock.Add(10 * time.Second)
	}
	// Output:
	//   checkout handler runs
	// 503 Retry-After: 30; service unavailable: circuit "payments" is open; retry in 30 s
	// 503 Retry-After: 20; service unavailable: circuit "http" is open; retry in 20 s
}
