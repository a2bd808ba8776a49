package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/retry"
)

func ExampleDo() {
	// A mock clock keeps the example instant and its output fixed; the
	// hook advances it, which wakes the backoff wait.
	mock := clock.NewMock()
	calls := 0
	v, err := retry.Do(context.Background(), func(context.Context) (string, error) {
		calls++
		if calls < 3 {
			return "", errors.New("connection refused")
		}
		return "pong", nil
	},
		retry.WithMaxAttempts(5),
		retry.WithBackoff(retry.Exponential), retry.WithBaseDelay(100*time.Millisecond),
		retry.WithJitter(0),
		retry.WithClock(mock),
		retry.WithOnRetry(func(attempt int, err error, delay time.Duration) {
			fmt.Printf("attempt %d failed (%v); retrying in %v\n", attempt, err, delay)
			mock.Add(delay)
		}),
	)
	fmt.Println(v, err)
	// Output:
	// attempt 1 failed (connection refused); retrying in 100ms
	// attempt 2 failed (connection refused); retrying in 200ms
	// pong <nil>
}

func ExampleDo_breakerOpen() {
	b, _ := circuit.New[string](circuit.WithName("quotes"))
	b.Trip(circuit.ReasonManual) // the breaker has given up on the dependency
	_, err := retry.Do(context.Background(), func(ctx context.Context) (string, error) {
		return b.Execute(ctx, func(context.Context) (string, error) { return "quote", nil })
	}, retry.WithMaxAttempts(5))

	var re *retry.Error
	errors.As(err, &re)
	fmt.Println(re.Attempts, re.Reason, errors.Is(err, circuit.ErrOpen))
	// Output:
	// 1 breaker-open true
}

func ExamplePolicy_Execute() {
	// Build the Policy once and share it; each Execute is one call.
	p, err := retry.New[string](retry.WithMaxAttempts(3), retry.WithBaseDelay(0))
	if err != nil {
		panic(err)
	}
	calls := 0
	v, err := p.Execute(context.Background(), func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "", errors.New("connection reset")
		}
		return "pong", nil
	})
	fmt.Println(v, err, calls)
	// Output:
	// pong <nil> 2
}

func ExampleNew_invalid() {
	_, err := retry.New[string](retry.WithMaxAttempts(0))
	fmt.Println(err)
	fmt.Println(errors.Is(err, retry.ErrInvalidConfig))
	// Output:
	// retry: invalid config: MaxAttempts = 0: must be at least 1
	// true
}

func ExamplePolicy_Delay() {
	p, _ := retry.New[int](
		retry.WithBackoff(retry.Exponential), retry.WithBaseDelay(time.Second),
		retry.WithMaxDelay(10*time.Second),
		retry.WithJitter(0),
	)
	for n := 1; n <= 5; n++ {
		fmt.Println(n, p.Delay(n))
	}
	// Output:
	// 1 1s
	// 2 2s
	// 3 4s
	// 4 8s
	// 5 10s
}

func ExampleBudget() {
	mock := clock.NewMock()
	// Retries may add at most 20% to the load, plus 0.1 retries a second.
	budget, _ := retry.NewBudget(0.2, 0.1, 10*time.Second, retry.WithClock(mock))
	p, _ := retry.New[int](retry.WithBudget(budget), retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(0), retry.WithClock(mock))

	// The dependency is down; 10 calls would make 30 attempts without the budget.
	attempts := 0
	for range 10 {
		_, err := p.Execute(context.Background(), func(context.Context) (int, error) {
			attempts++
			return 0, errors.New("unavailable")
		})
		_ = err // each err is a *retry.Error; the later ones wrap ErrBudgetExhausted
	}
	fmt.Println("attempts:", attempts)
	fmt.Printf("%+v\n", budget.Metrics())
	// Output:
	// attempts: 13
	// {FirstAttempts:10 Retries:3 Allowance:3}
}
