// The README's Quick start is this file from the begin marker to the end
// marker, byte for byte: TestReadmeQuickStartIsThisFile keeps them equal.

// quickstart:begin
// Command quickstart puts a circuit breaker around an HTTP call. A local
// test server stands in for a pricing API that fails after two calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/breakerlab/circuit"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	pricing := flakyPricingAPI(2)
	defer pricing.Close()

	b, err := circuit.New[[]byte](
		circuit.WithName("pricing"),
		circuit.WithConsecutiveFailures(3),        // open after 3 failures in a row
		circuit.WithCallTimeout(2*time.Second),    // on the ctx given to fn
		circuit.WithOpenBackoff(2),                // 30s open, then 60s, ... while probes fail
		circuit.WithOpenTimeoutMax(5*time.Minute), // but never more than 5 minutes
	)
	if err != nil {
		return err // names every invalid setting, e.g. "WindowSize = 0: must be at least 1"
	}
	quote := quoteHandler(b, pricing.URL)
	for i := 1; i <= 6; i++ {
		w := httptest.NewRecorder()
		quote.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/quote", nil))
		fmt.Fprintf(out, "request %d: %d %s", i, w.Code, strings.TrimSpace(w.Body.String()))
		if s := w.Header().Get("Retry-After"); s != "" {
			fmt.Fprintf(out, ", Retry-After: %s", s)
		}
		fmt.Fprintf(out, " (breaker %v)\n", b.State())
	}
	return nil
}

// quoteHandler serves a price from the pricing API at url through b.
func quoteHandler(b *circuit.Breaker[[]byte], url string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := b.Execute(r.Context(), func(ctx context.Context) ([]byte, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return nil, err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			// Read the body inside fn: a body that stalls or breaks off is
			// the dependency failing, and the call timeout covers it.
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("pricing: %s", resp.Status)
			}
			return body, nil
		})
		var open *circuit.OpenError
		switch {
		case errors.As(err, &open): // errors.Is(err, circuit.ErrOpen) works too
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(open.RetryAfter(time.Now()))))
			http.Error(w, "pricing unavailable", http.StatusServiceUnavailable)
		case err != nil:
			http.Error(w, "pricing failed", http.StatusBadGateway)
		default:
			w.Write(body)
		}
	})
}

// retryAfterSeconds turns the wait until the breaker may admit the call
// into an HTTP Retry-After: whole seconds, rounded up, and at least 1, since
// a rejected client told 0 would come straight back. RetryAfter is 0 when a
// probe slot may free at any moment.
func retryAfterSeconds(wait time.Duration) int {
	if wait <= time.Second {
		return 1
	}
	return int((wait + time.Second - 1) / time.Second)
}

// flakyPricingAPI answers its first ok calls with a price and every later
// one with 503 Service Unavailable.
func flakyPricingAPI(ok int) *httptest.Server {
	var calls atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > int64(ok) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"price": 42}`)
	}))
}

// quickstart:end
