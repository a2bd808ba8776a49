package retry_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/retry"
)

func TestBudgetRatio(t *testing.T) {
	mock := clock.NewMock()
	b, err := retry.NewBudget(0.2, 0, 10*time.Second, retry.WithClock(mock))
	require.NoError(t, err)
	assert.False(t, b.TryRetry(), "no first attempts, no minimum: no retries")
	for range 10 {
		b.RecordAttempt()
	}
	assert.True(t, b.TryRetry())
	assert.True(t, b.TryRetry())
	assert.False(t, b.TryRetry(), "20% of 10 is 2")
	assert.Equal(t, retry.BudgetMetrics{FirstAttempts: 10, Retries: 2, Allowance: 2}, b.Metrics())
	for range 5 {
		b.RecordAttempt()
	}
	assert.True(t, b.TryRetry(), "15 first attempts allow a third")
	assert.False(t, b.TryRetry())
}

func TestBudgetMinimumPerSecond(t *testing.T) {
	mock := clock.NewMock()
	b, err := retry.NewBudget(0, 0.5, 10*time.Second, retry.WithClock(mock))
	require.NoError(t, err)
	allowed := 0
	for b.TryRetry() {
		allowed++
		require.Less(t, allowed, 100)
	}
	assert.Equal(t, 5, allowed, "0.5 per second over 10s")
}

func TestBudgetWindowSlides(t *testing.T) {
	mock := clock.NewMock()
	b, err := retry.NewBudget(1, 0, 10*time.Second, retry.WithClock(mock))
	require.NoError(t, err)
	// Steps of a tenth of the window: 1s.
	steps := []struct {
		advance  time.Duration
		record   int
		retries  int // TryRetry calls
		wantOK   int // of which succeed
		wantStat retry.BudgetMetrics
	}{
		{0, 3, 1, 1, retry.BudgetMetrics{FirstAttempts: 3, Retries: 1, Allowance: 3}},
		{5 * time.Second, 2, 0, 0, retry.BudgetMetrics{FirstAttempts: 5, Retries: 1, Allowance: 5}},
		{4 * time.Second, 0, 5, 4, retry.BudgetMetrics{FirstAttempts: 5, Retries: 5, Allowance: 5}},
		// At 10s the first bucket (3 attempts, 1 retry) expires.
		{time.Second, 0, 1, 0, retry.BudgetMetrics{FirstAttempts: 2, Retries: 4, Allowance: 2}},
		// The 5s bucket expires at 15s, not before.
		{4900 * time.Millisecond, 0, 0, 0, retry.BudgetMetrics{FirstAttempts: 2, Retries: 4, Allowance: 2}},
		{100 * time.Millisecond, 0, 0, 0, retry.BudgetMetrics{FirstAttempts: 0, Retries: 4, Allowance: 0}},
		// The 9s bucket expires at 19s.
		{3900 * time.Millisecond, 0, 0, 0, retry.BudgetMetrics{FirstAttempts: 0, Retries: 4, Allowance: 0}},
		{100 * time.Millisecond, 0, 0, 0, retry.BudgetMetrics{}},
		// A long idle gap clears everything at once.
		{time.Hour, 4, 4, 4, retry.BudgetMetrics{FirstAttempts: 4, Retries: 4, Allowance: 4}},
	}
	for i, s := range steps {
		mock.Add(s.advance)
		for range s.record {
			b.RecordAttempt()
		}
		ok := 0
		for range s.retries {
			if b.TryRetry() {
				ok++
			}
		}
		assert.Equal(t, s.wantOK, ok, "step %d", i)
		assert.Equal(t, s.wantStat, b.Metrics(), "step %d", i)
	}
}

func TestBudgetClockGoingBack(t *testing.T) {
	mock := clock.NewMock()
	mock.Add(time.Hour)
	b, err := retry.NewBudget(1, 0, time.Second, retry.WithClock(mock))
	require.NoError(t, err)
	b.RecordAttempt()
	mock.Set(time.Unix(0, 0)) // before the budget's epoch
	b.RecordAttempt()
	assert.True(t, b.TryRetry())
	assert.True(t, b.TryRetry())
	assert.False(t, b.TryRetry())
	assert.Equal(t, uint64(2), b.Metrics().FirstAttempts)
}

func TestNewBudgetInvalid(t *testing.T) {
	tests := []struct {
		ratio, min float64
		window     time.Duration
		want       string
	}{
		{-0.1, 0, time.Second, "retry: invalid config: Ratio = -0.1: must be a finite number >= 0"},
		{math.NaN(), 0, time.Second, "retry: invalid config: Ratio = NaN: must be a finite number >= 0"},
		{math.Inf(1), 0, time.Second, "retry: invalid config: Ratio = +Inf: must be a finite number >= 0"},
		{0.2, -1, time.Second, "retry: invalid config: MinPerSecond = -1: must be a finite number >= 0"},
		{0.2, math.NaN(), time.Second, "retry: invalid config: MinPerSecond = NaN: must be a finite number >= 0"},
		{0.2, 1, 0, "retry: invalid config: Window = 0s: must be at least 1ms"},
		{0.2, 1, -time.Second, "retry: invalid config: Window = -1s: must be at least 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			b, err := retry.NewBudget(tt.ratio, tt.min, tt.window)
			assert.Nil(t, b)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			var ce *circuit.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.want, err.Error())
		})
	}
	b, err := retry.NewBudget(0, 0, time.Millisecond, nil, retry.WithClock(nil))
	require.NoError(t, err, "zero ratio and minimum are valid: no retries at all; nil options and clock are ignored")
	assert.False(t, b.TryRetry())
}

func TestDoWithExhaustedBudget(t *testing.T) {
	mock := clock.NewMock()
	budget, err := retry.NewBudget(0.5, 0, time.Minute, retry.WithClock(mock))
	require.NoError(t, err)
	errDown := errors.New("down")
	var attempts []int
	do := func() error {
		calls := 0
		_, err := retry.Do(context.Background(), func(context.Context) (int, error) {
			calls++
			return 0, errDown
		}, retry.WithBudget(budget), retry.WithBackoff(retry.Fixed), retry.WithBaseDelay(0), retry.WithMaxAttempts(4))
		attempts = append(attempts, calls)
		return err
	}
	// First call: one first attempt allows 0.5 retries: none.
	err = do()
	require.ErrorIs(t, err, retry.ErrBudgetExhausted)
	require.ErrorIs(t, err, errDown, "the last error stays reachable")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, retry.ReasonBudgetExhausted, re.Reason)
	assert.Equal(t, "retry: 1 attempt, gave up (budget-exhausted): retry: retry budget exhausted: down", err.Error())
	// Second call: two first attempts allow one retry.
	err = do()
	require.ErrorIs(t, err, retry.ErrBudgetExhausted)
	assert.Equal(t, []int{1, 2}, attempts)
	// Without the budget those two calls would have made 8 attempts; with
	// it the dependency saw 3.
	assert.Equal(t, retry.BudgetMetrics{FirstAttempts: 2, Retries: 1, Allowance: 1}, budget.Metrics())
}

func TestBudgetNotSpentOnNonRetryable(t *testing.T) {
	budget, err := retry.NewBudget(0, 1, time.Second, retry.WithClock(clock.NewMock()))
	require.NoError(t, err)
	_, err = retry.Do(context.Background(), func(context.Context) (int, error) { return 0, context.Canceled },
		retry.WithBudget(budget))
	require.ErrorIs(t, err, context.Canceled)
	_, err = retry.Do(context.Background(), func(context.Context) (int, error) { return 0, errBoom },
		retry.WithBudget(budget), retry.WithMaxAttempts(1))
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, uint64(0), budget.Metrics().Retries)
	assert.True(t, budget.TryRetry(), "the one retry per second is still there")
}

// A retry whose backoff a cancellation cuts short never happens, so the
// shared budget gets it back.
func TestBudgetRefundsARetryThatNeverHappened(t *testing.T) {
	mock := clock.NewMock()
	budget, err := retry.NewBudget(1, 0, time.Minute, retry.WithClock(mock))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err = retry.Do(ctx, func(context.Context) (int, error) { calls++; return 0, errors.New("x") },
		retry.WithClock(mock), retry.WithBudget(budget),
		retry.WithOnRetry(func(int, error, time.Duration) { cancel() }))
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("err %v after %d calls, want context.Canceled after 1", err, calls)
	}
	if st := budget.Metrics(); st.FirstAttempts != 1 || st.Retries != 0 {
		t.Fatalf("budget %+v: want 1 first attempt and no retry spent", st)
	}
}
