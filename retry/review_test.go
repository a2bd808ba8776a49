package retry_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit/retry"
)

// A retry whose backoff a cancellation cuts short never happens, so the
// shared budget gets it back.
func TestBudgetRefundsARetryThatNeverHappened(t *testing.T) {
	mock := clock.NewMock()
	budget, err := retry.NewBudget(1, 0, time.Minute, mock)
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
	if st := budget.Stats(); st.FirstAttempts != 1 || st.Retries != 0 {
		t.Fatalf("budget %+v: want 1 first attempt and no retry spent", st)
	}
}

// At the max delay, jitter must still spread the delays (a herd of
// clients capped at the same instant would retry in lockstep), and never
// exceed the cap.
func TestJitterStaysSpreadAtTheCap(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithRand(rand.New(rand.NewPCG(1, 2)))) // exponential 100ms, cap 60s, +-10%
	if err != nil {
		t.Fatal(err)
	}
	atCap := 0
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := 0; i < 10000; i++ {
		d := p.Delay(20)
		if d == 60*time.Second {
			atCap++
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if atCap > 10 {
		t.Errorf("%d of 10000 delays are exactly the 60s cap", atCap)
	}
	if hi > 60*time.Second || lo < 54*time.Second || hi-lo < 5*time.Second {
		t.Errorf("delays span [%v, %v], want most of [54s, 60s]", lo, hi)
	}
}
