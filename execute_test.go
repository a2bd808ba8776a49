package circuit_test

// Execute's call path: refused calls, CallTimeout, panics and fallbacks.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestContextAlreadyDone(t *testing.T) {
	fallbacks := 0
	h := newHarness(t, circuit.WithFallback(func(context.Context, error) (int, error) { fallbacks++; return 7, nil }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	_, err := h.b.Execute(ctx, func(context.Context) (int, error) { called = true; return 0, nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called)
	assert.Zero(t, fallbacks, "the caller's own error does not go to the fallback")
	m := h.b.Metrics()
	assert.Zero(t, m.Successes+m.Failures+m.Rejections+m.Ignored+m.Fallbacks)
}

func TestNilFuncAndContext(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1))
	_, err := h.b.Execute(context.Background(), nil)
	assert.ErrorIs(t, err, circuit.ErrNilFunc)
	//lint:ignore SA1012 a nil context is exactly what is being tested
	_, err = h.b.Execute(nil, func(context.Context) (int, error) { return 1, nil }) //nolint:staticcheck
	assert.ErrorIs(t, err, circuit.ErrNilContext)
	assert.Equal(t, circuit.Closed, h.b.State())
	h.ok()
	assert.Equal(t, uint64(1), h.b.Metrics().Successes)
}

func TestCallTimeoutUsesTheBreakersClock(t *testing.T) {
	// clock.Mock, not a step clock: the CallTimeout context must fire.
	h := newHarnessOn(t, clock.NewMock(), circuit.WithCallTimeout(2*time.Second), circuit.WithConsecutiveFailures(1))
	_, err := h.b.Execute(context.Background(), func(ctx context.Context) (int, error) {
		deadline, ok := ctx.Deadline()
		require.True(t, ok)
		assert.True(t, deadline.Equal(h.clock.Now().Add(2*time.Second)))
		h.clock.Add(2 * time.Second)
		<-ctx.Done() // the mock clock fired the deadline
		return 0, ctx.Err()
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, circuit.Open, h.b.State())
}

// A call that outlives CallTimeout is a failure even if fn ignored its
// context and returned a result; a caller's cancellation stays ignored.
func TestCallTimeoutMeansIt(t *testing.T) {
	// clock.Mock, not a step clock: the CallTimeout context must fire.
	h := newHarnessOn(t, clock.NewMock(), circuit.WithCallTimeout(time.Second), circuit.WithConsecutiveFailures(1))
	v, err := h.call(time.Second, nil)
	assert.Equal(t, 1, v, "the caller still gets what fn returned")
	assert.NoError(t, err)
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Failures)
	assert.ErrorIs(t, m.LastFailure, context.DeadlineExceeded)
	assert.Equal(t, circuit.Open, m.State)

	// clock.Mock, not a step clock: the CallTimeout context must fire.
	h = newHarnessOn(t, clock.NewMock(), circuit.WithCallTimeout(time.Second), circuit.WithConsecutiveFailures(1))
	_, _ = h.call(2*time.Second, context.Canceled)
	assert.Equal(t, uint64(1), h.b.Metrics().Ignored)
	h.ok()
	_, _ = h.call(999*time.Millisecond, nil)
	assert.Equal(t, circuit.Closed, h.b.State(), "just under the timeout is a success")

	// The two-step API measures it too.
	p, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(time.Second)
	p.Done(0, nil)
	assert.Equal(t, circuit.Open, h.b.State())
}

func TestPanicIsRecordedAndRepanics(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second))
	h.toHalfOpen(time.Second)
	func() {
		defer func() {
			assert.Equal(t, "kaboom", recover(), "the original panic value is re-raised")
		}()
		_, _ = h.b.Execute(context.Background(), func(context.Context) (int, error) { panic("kaboom") })
	}()
	assert.Equal(t, circuit.Open, h.b.State(), "the panicking probe failed")
	m := h.b.Metrics()
	var pe *circuit.PanicError
	require.ErrorAs(t, m.LastFailure, &pe)
	assert.Equal(t, "kaboom", pe.Value)
	assert.Equal(t, uint64(1), m.Failures)
}

func TestFallbackReceivesEveryError(t *testing.T) {
	var got []error
	h := newHarness(t, circuit.WithConsecutiveFailures(2), circuit.WithFallback(func(_ context.Context, err error) (int, error) {
		got = append(got, err)
		return -1, nil
	}))
	v, err := h.call(0, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, v, "no fallback on success")

	v, err = h.call(0, errBoom)
	assert.NoError(t, err)
	assert.Equal(t, -1, v)
	_, _ = h.call(0, context.Canceled)
	_, _ = h.call(0, errBoom) // trips
	v, err = h.call(0, nil)   // rejected
	assert.NoError(t, err)
	assert.Equal(t, -1, v)

	require.Len(t, got, 4)
	assert.ErrorIs(t, got[0], errBoom)
	assert.ErrorIs(t, got[1], context.Canceled)
	assert.ErrorIs(t, got[2], errBoom)
	assert.ErrorIs(t, got[3], circuit.ErrOpen)
	assert.Equal(t, uint64(4), h.b.Metrics().Fallbacks)
}

func TestFallbackErrorIsReturned(t *testing.T) {
	errDegraded := errors.New("degraded")
	h := newHarness(t, circuit.WithFallback(func(_ context.Context, err error) (int, error) {
		return 0, errors.Join(errDegraded, err)
	}))
	_, err := h.call(0, errBoom)
	assert.ErrorIs(t, err, errDegraded)
	assert.ErrorIs(t, err, errBoom)
}
