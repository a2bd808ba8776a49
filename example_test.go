package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
)

// Wrap an outbound call: after three failures in a row the breaker opens
// and later calls fail fast without reaching the dependency.
func ExampleBreaker_Execute() {
	b, err := circuit.New[string](circuit.WithName("inventory"), circuit.WithConsecutiveFailures(3))
	if err != nil {
		panic(err)
	}
	lookup := func(ctx context.Context) (string, error) {
		return "", errors.New("connection refused")
	}
	for i := 1; i <= 4; i++ {
		_, err := b.Execute(context.Background(), lookup)
		fmt.Printf("call %d: %v (open: %v)\n", i, err, errors.Is(err, circuit.ErrOpen))
	}
	// Output:
	// call 1: connection refused (open: false)
	// call 2: connection refused (open: false)
	// call 3: connection refused (open: false)
	// call 4: circuit: breaker "inventory" is open (open: true)
}

// A fallback turns every error, rejections included, into a degraded
// answer. The OpenError says when the breaker will try the dependency again.
func ExampleWithFallback() {
	// The examples use clock.Mock, not the tests' step clock: it is a
	// clock a reader can use in their own tests.
	mock := clock.NewMock()
	b, err := circuit.New[string](
		circuit.WithName("recommendations"),
		circuit.WithClock(mock),
		circuit.WithConsecutiveFailures(1),
		circuit.WithOpenTimeout(30*time.Second),
		circuit.WithFallback(func(ctx context.Context, err error) (string, error) {
			var oe *circuit.OpenError
			if errors.As(err, &oe) {
				return fmt.Sprintf("bestsellers (retry in %s)", mock.Until(oe.RetryAt)), nil
			}
			return "bestsellers (after: " + err.Error() + ")", nil
		}),
	)
	if err != nil {
		panic(err)
	}
	failing := func(context.Context) (string, error) { return "", errors.New("timeout") }
	for i := 0; i < 2; i++ {
		v, err := b.Execute(context.Background(), failing)
		fmt.Println(v, err)
		mock.Add(10 * time.Second)
	}
	fmt.Println("fallbacks:", b.Metrics().Fallbacks)
	// Output:
	// bestsellers (after: timeout) <nil>
	// bestsellers (retry in 20s) <nil>
	// fallbacks: 2
}

// A state-change hook hears every transition with the reason and the
// metrics that caused it.
func ExampleWithOnStateChange() {
	mock := clock.NewMock()
	b, err := circuit.New[int](
		circuit.WithName("payments"),
		circuit.WithClock(mock),
		circuit.WithConsecutiveFailures(0), // judge by error rate only
		circuit.WithErrorRateThreshold(0.5),
		circuit.WithMinRequests(4),
		circuit.WithOpenTimeout(time.Minute),
		circuit.WithSuccessThreshold(1),
		circuit.WithOnStateChange(func(t circuit.Transition) {
			fmt.Printf("%s: %s -> %s (%s, error rate %.0f%%)\n",
				t.Name, t.From, t.To, t.Reason, 100*t.Metrics.ErrorRate)
		}),
	)
	if err != nil {
		panic(err)
	}
	call := func(fail bool) {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
			if fail {
				return 0, errors.New("503")
			}
			return 200, nil
		})
	}
	call(false)
	call(true)
	call(false)
	call(true) // 2 of 4 failed: 50%
	mock.Add(time.Minute)
	fmt.Println("state:", b.State())
	call(false) // the probe succeeds
	// Output:
	// payments: closed -> open (error-rate, error rate 50%)
	// payments: open -> half-open (timeout-elapsed, error rate 50%)
	// state: half-open
	// payments: half-open -> closed (probes-succeeded, error rate 50%)
}

// Allow is for code that cannot be wrapped in a func, such as middleware
// that learns the outcome later. done must be called with the result.
func ExampleBreaker_Allow() {
	b, err := circuit.New[struct{}](circuit.WithName("search"), circuit.WithConsecutiveFailures(1))
	if err != nil {
		panic(err)
	}
	permit, err := b.Allow()
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	// ... make the call, then report how it went:
	permit.Done(struct{}{}, errors.New("HTTP 500"))

	_, err = b.Allow()
	fmt.Println("rejected:", err)
	// Output:
	// rejected: circuit: breaker "search" is open
}

// Presets are Configs tuned for common kinds of dependency; start from one
// and adjust.
func ExamplePreset() {
	cfg, err := circuit.Preset(circuit.PresetPayment)
	if err != nil {
		panic(err)
	}
	cfg.Name = "stripe"
	b, err := circuit.New[string](circuit.WithConfig(cfg))
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Name(), cfg.ConsecutiveFailures, cfg.ErrorRateThreshold, cfg.LatencyThreshold, cfg.OpenTimeout)
	fmt.Println(circuit.PresetNames())
	// Output:
	// stripe 3 0.25 2s 1m0s
	// [analytics auth core payment third-party tools]
}

// Validation names every bad field.
func ExampleConfig_Validate() {
	cfg := circuit.DefaultConfig()
	cfg.WindowSize = 0
	cfg.LatencyPercentile = 1.5
	err := cfg.Validate()
	fmt.Println(errors.Is(err, circuit.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// true
	// circuit: invalid config: WindowSize = 0: must be at least 1 without a WindowDuration
	// circuit: invalid config: LatencyPercentile = 1.5: must be in the open interval (0, 1)
}
