package circuit_test

// Classification: which calls count as successes, failures or neither.

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestClassification(t *testing.T) {
	errNotFound := errors.New("not found")
	h := newHarness(t, circuit.WithConsecutiveFailures(2), circuit.WithClassifier(func(_ int, err error) circuit.Outcome {
		if err == nil || errors.Is(err, errNotFound) {
			return circuit.Success
		}
		return circuit.Failure
	}))
	for i := 0; i < 5; i++ {
		_, err := h.call(0, errNotFound)
		require.ErrorIs(t, err, errNotFound, "the caller still gets the error")
	}
	m := h.b.Metrics()
	assert.Equal(t, uint64(5), m.Successes, "errors the classifier excuses count as successes")
	assert.Equal(t, circuit.Closed, m.State)

	// Cancellation is never recorded, whatever the classifier says.
	h = newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithClassifier(func(int, error) circuit.Outcome { return circuit.Failure }))
	_, err := h.call(0, context.Canceled)
	require.ErrorIs(t, err, context.Canceled)
	m = h.b.Metrics()
	assert.Equal(t, circuit.Closed, m.State)
	assert.Equal(t, uint64(1), m.Ignored)
	assert.Zero(t, m.Failures+m.Successes)
	assert.Zero(t, m.WindowRequests)

	// A deadline is the classic failure signal.
	_, err = h.call(0, context.DeadlineExceeded)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, circuit.Open, h.b.State())
}

// The classifier sees the result: a 503 with a nil error is a failure, a
// 404 error is not judged.
func TestClassifierSeesTheResult(t *testing.T) {
	errNotFound := errors.New("404 not found")
	b, err := circuit.New[*http.Response](
		circuit.WithConsecutiveFailures(2),
		circuit.WithClassifier(func(r *http.Response, err error) circuit.Outcome {
			switch {
			case errors.Is(err, errNotFound):
				return circuit.Ignored
			case err != nil || r.StatusCode >= 500:
				return circuit.Failure
			}
			return circuit.Success
		}))
	require.NoError(t, err)
	call := func(status int, err error) {
		_, _ = b.Execute(context.Background(), func(context.Context) (*http.Response, error) {
			if err != nil {
				return nil, err
			}
			return &http.Response{StatusCode: status}, nil
		})
	}
	call(503, nil)
	call(0, errNotFound) // ignored: the run of failures goes on
	m := b.Metrics()
	assert.Equal(t, uint64(1), m.Failures)
	assert.Equal(t, uint64(1), m.Ignored)
	assert.Equal(t, 1, m.ConsecutiveFailures, "an ignored call does not break the run")
	assert.Equal(t, 1, m.WindowRequests, "an ignored call is not in the window")
	assert.ErrorIs(t, m.LastFailure, circuit.ErrResultFailed)
	call(200, nil)
	call(500, nil)
	call(502, nil)
	assert.Equal(t, circuit.Open, b.State())
}

// An ignored probe frees its slot without deciding anything.
func TestIgnoredProbeDecidesNothing(t *testing.T) {
	errSkip := errors.New("skip")
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithClassifier(func(_ int, err error) circuit.Outcome {
		if errors.Is(err, errSkip) {
			return circuit.Ignored
		}
		if err != nil {
			return circuit.Failure
		}
		return circuit.Success
	}))
	h.toHalfOpen(time.Second)
	_, _ = h.call(0, errSkip)
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	assert.Zero(t, h.b.Metrics().ConsecutiveSuccesses)
	p, err := h.b.Allow()
	require.NoError(t, err, "the slot is free again")
	p.Done(0, nil)
}

func TestCanceledProbeReleasesItsSlot(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second))
	h.toHalfOpen(time.Second)
	permit, err := h.b.Allow()
	require.NoError(t, err)
	permit.Done(0, context.Canceled)
	permit2, err := h.b.Allow()
	require.NoError(t, err, "the canceled probe gave its slot back")
	permit2.Done(0, nil)
	assert.Equal(t, uint64(1), h.b.Metrics().Ignored)
}
