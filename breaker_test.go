package circuit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

var errBoom = errors.New("boom")

// harness is a breaker on a mock clock that records its transitions.
type harness struct {
	t     *testing.T
	b     *circuit.Breaker[int]
	clock *clock.Mock
	mu    sync.Mutex
	trans []circuit.Transition
}

// newHarness builds a breaker with a quiet base config (only what a test
// turns on can trip it) followed by opts.
func newHarness(t *testing.T, opts ...circuit.Option) *harness {
	t.Helper()
	h := &harness{t: t, clock: clock.NewMock()}
	base := []circuit.Option{
		circuit.WithName("dep"),
		circuit.WithClock(h.clock),
		circuit.WithConsecutiveFailures(0),
		circuit.WithErrorRateThreshold(0),
		circuit.WithLatencyThreshold(0),
		circuit.WithMinRequests(0),
		circuit.WithOnStateChange(func(tr circuit.Transition) {
			h.mu.Lock()
			h.trans = append(h.trans, tr)
			h.mu.Unlock()
		}),
	}
	b, err := circuit.New[int](append(base, opts...)...)
	require.NoError(t, err)
	h.b = b
	return h
}

func (h *harness) transitions() []circuit.Transition {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]circuit.Transition(nil), h.trans...)
}

func (h *harness) last() circuit.Transition {
	h.t.Helper()
	tr := h.transitions()
	require.NotEmpty(h.t, tr, "no transition recorded")
	return tr[len(tr)-1]
}

// call runs one Execute whose fn takes lat (on the mock clock) and returns err.
func (h *harness) call(lat time.Duration, err error) (int, error) {
	return h.b.Execute(context.Background(), func(context.Context) (int, error) {
		if lat > 0 {
			h.clock.Add(lat)
		}
		if err != nil {
			return 0, err
		}
		return 1, nil
	})
}

func (h *harness) ok() {
	h.t.Helper()
	_, err := h.call(0, nil)
	require.NoError(h.t, err)
}

func (h *harness) fail() {
	h.t.Helper()
	_, err := h.call(0, errBoom)
	require.ErrorIs(h.t, err, errBoom)
}

func TestStateStrings(t *testing.T) {
	assert.Equal(t, "closed", circuit.Closed.String())
	assert.Equal(t, "open", circuit.Open.String())
	assert.Equal(t, "half-open", circuit.HalfOpen.String())
	assert.Equal(t, "state(7)", circuit.State(7).String())
	assert.Equal(t, "error-rate", circuit.ReasonErrorRate.String())
	assert.Equal(t, "probe-timeout", circuit.ReasonProbeTimeout.String())
	assert.Equal(t, "reason(99)", circuit.Reason(99).String())
	text, err := circuit.HalfOpen.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "half-open", string(text))
}

func TestConsecutiveFailuresTrip(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(3))
	h.fail()
	h.fail()
	h.ok() // a success resets the run
	h.fail()
	h.fail()
	assert.Equal(t, circuit.Closed, h.b.State())
	assert.Equal(t, 2, h.b.Metrics().ConsecutiveFailures)
	h.fail()
	assert.Equal(t, circuit.Open, h.b.State())

	tr := h.last()
	assert.Equal(t, circuit.Closed, tr.From)
	assert.Equal(t, circuit.Open, tr.To)
	assert.Equal(t, circuit.ReasonConsecutiveFailures, tr.Reason)
	assert.Equal(t, "dep", tr.Name)
	assert.Equal(t, 3, tr.Metrics.ConsecutiveFailures, "the transition shows the values that tripped it")
	assert.Equal(t, errBoom, tr.Metrics.LastFailure)
	assert.True(t, tr.At.Equal(h.clock.Now()))
}

func TestErrorRateTrip(t *testing.T) {
	tests := []struct {
		name      string
		threshold float64
		window    int
		min       int
		outcomes  string // s = success, f = failure
		wantOpen  bool
	}{
		{"below minimum never trips", 0.5, 10, 6, "fffff", false},
		{"minimum reached trips", 0.5, 10, 6, "ffffsf", true},
		{"rate just under threshold", 0.5, 10, 4, "sfsssfsf", false},
		{"rate exactly at threshold trips", 0.3, 10, 10, "ssssfffsss", true},
		{"success can trip once minimum reached", 0.5, 10, 4, "ffss", true},
		{"old outcomes evicted from the ring", 0.5, 4, 4, "ssss" + "s", false},
		{"no minimum: first failure trips at rate 1", 1, 10, 0, "f", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, circuit.WithErrorRateThreshold(tt.threshold), circuit.WithWindowSize(tt.window), circuit.WithMinRequests(tt.min))
			for _, o := range tt.outcomes {
				require.Equal(t, circuit.Closed, h.b.State(), "tripped early")
				if o == 'f' {
					h.fail()
				} else {
					h.ok()
				}
			}
			if !tt.wantOpen {
				assert.Equal(t, circuit.Closed, h.b.State())
				return
			}
			assert.Equal(t, circuit.Open, h.b.State())
			tr := h.last()
			assert.Equal(t, circuit.ReasonErrorRate, tr.Reason)
			assert.GreaterOrEqual(t, tr.Metrics.ErrorRate, tt.threshold)
		})
	}
}

func TestErrorRateWindowSlides(t *testing.T) {
	h := newHarness(t, circuit.WithErrorRateThreshold(0.5), circuit.WithWindowSize(4), circuit.WithMinRequests(4))
	// f s s s: 25%; then s evicts f: 0%; f f: 50% -> trips on the second f.
	h.fail()
	h.ok()
	h.ok()
	h.ok()
	assert.InDelta(t, 0.25, h.b.Metrics().ErrorRate, 1e-9)
	h.ok()
	assert.InDelta(t, 0.0, h.b.Metrics().ErrorRate, 1e-9)
	assert.Equal(t, 4, h.b.Metrics().WindowRequests)
	h.fail()
	assert.Equal(t, circuit.Closed, h.b.State())
	h.fail()
	assert.Equal(t, circuit.Open, h.b.State())
	assert.Equal(t, circuit.ReasonErrorRate, h.last().Reason)
}

func TestLatencyTrip(t *testing.T) {
	// P95 of 20 samples is the 19th smallest: it reaches 1s once 2 of the
	// 20 samples are >= 1s.
	h := newHarness(t, circuit.WithLatencyThreshold(time.Second), circuit.WithWindowSize(20), circuit.WithMinRequests(20))
	for i := 0; i < 18; i++ {
		_, err := h.call(10*time.Millisecond, nil)
		require.NoError(t, err)
	}
	_, err := h.call(2*time.Second, nil)
	require.NoError(t, err)
	assert.Equal(t, circuit.Closed, h.b.State(), "19 samples are below MinRequests")
	_, err = h.call(time.Second, errBoom) // latencies of failures count too
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, circuit.Open, h.b.State())
	tr := h.last()
	assert.Equal(t, circuit.ReasonLatency, tr.Reason)
	// Reported as its histogram bin's midpoint, within 1.56%.
	assert.Equal(t, relReported(time.Second), tr.Metrics.P95Latency)
	assert.InEpsilon(t, float64(time.Second), float64(tr.Metrics.P95Latency), 1.0/64)
	assert.Equal(t, 20, tr.Metrics.WindowRequests)
}

func TestLatencyOneSlowSampleDoesNotTrip(t *testing.T) {
	h := newHarness(t, circuit.WithLatencyThreshold(time.Second), circuit.WithWindowSize(20), circuit.WithMinRequests(1))
	for i := 0; i < 19; i++ {
		_, _ = h.call(time.Millisecond, nil)
	}
	_, _ = h.call(3*time.Second, nil)
	assert.Equal(t, circuit.Closed, h.b.State(), "P95 of 20 with one slow sample is fast")
	m := h.b.Metrics()
	assert.Equal(t, relReported(time.Millisecond), m.P95Latency)
	assert.Equal(t, (19*time.Millisecond+3*time.Second)/20, m.AvgLatency)
}

func TestCriteriaOrder(t *testing.T) {
	// All three criteria hold on the same call: consecutive failures wins.
	h := newHarness(t,
		circuit.WithConsecutiveFailures(2), circuit.WithErrorRateThreshold(0.5),
		circuit.WithLatencyThreshold(time.Second), circuit.WithMinRequests(2))
	_, _ = h.call(time.Second, errBoom)
	_, _ = h.call(time.Second, errBoom)
	assert.Equal(t, circuit.ReasonConsecutiveFailures, h.last().Reason)

	// Error rate and latency both hold: error rate wins.
	h = newHarness(t, circuit.WithErrorRateThreshold(0.5), circuit.WithLatencyThreshold(time.Second), circuit.WithMinRequests(2))
	_, _ = h.call(time.Second, nil)
	_, _ = h.call(time.Second, errBoom)
	assert.Equal(t, circuit.ReasonErrorRate, h.last().Reason)
}

func TestOpenRejectsWithOpenError(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second))
	opened := h.clock.Now()
	h.fail()
	called := false
	_, err := h.b.Execute(context.Background(), func(context.Context) (int, error) { called = true; return 0, nil })
	assert.False(t, called, "fn must not run while open")
	require.ErrorIs(t, err, circuit.ErrOpen)
	assert.NotErrorIs(t, err, errBoom, "the cause must not leak through errors.Is")
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "dep", oe.Name)
	assert.Equal(t, circuit.Open, oe.State)
	assert.True(t, oe.RetryAt.Equal(opened.Add(10*time.Second)), "RetryAt %v", oe.RetryAt)
	assert.Equal(t, errBoom, oe.Cause)
	assert.Equal(t, `circuit: breaker "dep" is open`, err.Error())

	// The same error value serves every rejection of the period.
	h.clock.Add(time.Second)
	_, err2 := h.call(0, nil)
	assert.Same(t, oe, err2)
	assert.Equal(t, uint64(2), h.b.Metrics().Rejections)
}

func TestOpenBecomesHalfOpenWithoutCalls(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(30*time.Second))
	h.fail()
	opened := h.clock.Now()
	h.clock.Add(30*time.Second - time.Nanosecond)
	assert.Equal(t, circuit.Open, h.b.State())
	// Observed well after the timeout: the transition still carries the
	// instant the timeout expired.
	h.clock.Add(time.Minute)
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	tr := h.last()
	assert.Equal(t, circuit.ReasonTimeoutElapsed, tr.Reason)
	assert.Equal(t, circuit.Open, tr.From)
	assert.Equal(t, circuit.HalfOpen, tr.To)
	assert.True(t, tr.At.Equal(opened.Add(30*time.Second)), "At = %v", tr.At)
	m := h.b.Metrics()
	assert.Equal(t, circuit.HalfOpen, m.State)
	assert.True(t, m.StateSince.Equal(tr.At))
}

// trip opens h's breaker (configured with ConsecutiveFailures 1) and waits
// out the timeout so it is half-open.
func (h *harness) toHalfOpen(timeout time.Duration) {
	h.t.Helper()
	h.b.Trip(circuit.ReasonManual)
	h.clock.Add(timeout)
	require.Equal(h.t, circuit.HalfOpen, h.b.State())
}

func TestHalfOpenProbeLimit(t *testing.T) {
	h := newHarness(t, circuit.WithHalfOpenMaxProbes(2), circuit.WithSuccessThreshold(5), circuit.WithOpenTimeout(time.Second))
	h.toHalfOpen(time.Second)
	permit1, err := h.b.Allow()
	require.NoError(t, err)
	permit2, err := h.b.Allow()
	require.NoError(t, err)
	_, err = h.b.Allow()
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, circuit.HalfOpen, oe.State)
	// A slot is free at the latest when the oldest probe's deadline passes.
	assert.Equal(t, h.clock.Now().Add(time.Second), oe.RetryAt, "RetryAt is the oldest probe's deadline")
	assert.Equal(t, time.Second, oe.RetryAfter(h.clock.Now()))
	assert.Contains(t, err.Error(), "half-open")

	permit1.Done(0, nil) // frees a slot
	permit3, err := h.b.Allow()
	require.NoError(t, err)
	permit2.Done(0, nil)
	permit3.Done(0, nil)
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	assert.Equal(t, 3, h.b.Metrics().ConsecutiveSuccesses)
}

func TestProbesCloseAfterSuccessThreshold(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(3), circuit.WithOpenTimeout(time.Second))
	h.fail()
	h.clock.Add(time.Second)
	h.ok()
	h.ok()
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	h.ok()
	assert.Equal(t, circuit.Closed, h.b.State())
	tr := h.last()
	assert.Equal(t, circuit.ReasonProbesSucceeded, tr.Reason)
	assert.Equal(t, 3, tr.Metrics.ConsecutiveSuccesses)

	// Entering closed emptied the windows: the old failure is gone.
	m := h.b.Metrics()
	assert.Equal(t, 0, m.WindowRequests)
	assert.Equal(t, 0, m.ConsecutiveSuccesses)
	assert.Equal(t, uint64(3), m.Successes)
	assert.Equal(t, uint64(1), m.Failures)
}

func TestOldFailuresNeverRetripRecoveredBreaker(t *testing.T) {
	h := newHarness(t, circuit.WithErrorRateThreshold(0.5), circuit.WithWindowSize(10), circuit.WithMinRequests(4),
		circuit.WithSuccessThreshold(1), circuit.WithOpenTimeout(time.Second))
	for i := 0; i < 4; i++ {
		h.fail()
	}
	require.Equal(t, circuit.Open, h.b.State())
	h.clock.Add(time.Second)
	h.ok() // probe closes it
	require.Equal(t, circuit.Closed, h.b.State())
	// With the old window, 4 failures of 5 would be 80%. One failure of
	// four calls now is 25%.
	h.ok()
	h.ok()
	h.fail()
	assert.Equal(t, circuit.Closed, h.b.State())
}

func TestFailedProbeReopensWithFreshTimeout(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(2), circuit.WithOpenTimeout(10*time.Second))
	h.fail()
	h.clock.Add(10 * time.Second)
	h.ok()
	h.clock.Add(3 * time.Second)
	h.fail()
	reopened := h.clock.Now()
	assert.Equal(t, circuit.Open, h.b.State())
	tr := h.last()
	assert.Equal(t, circuit.HalfOpen, tr.From)
	assert.Equal(t, circuit.ReasonProbeFailed, tr.Reason)
	_, err := h.call(0, nil)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.True(t, oe.RetryAt.Equal(reopened.Add(10*time.Second)))
}

func TestSlowProbeCountsAsFailed(t *testing.T) {
	h := newHarness(t, circuit.WithLatencyThreshold(time.Second), circuit.WithOpenTimeout(10*time.Second))
	h.toHalfOpen(10 * time.Second)
	_, err := h.call(2*time.Second, nil)
	require.NoError(t, err, "the caller still gets the slow success")
	assert.Equal(t, circuit.Open, h.b.State())
	assert.Equal(t, circuit.ReasonLatency, h.last().Reason)
	assert.Equal(t, circuit.HalfOpen, h.last().From)
}

func TestAbandonedProbeCannotWedgeHalfOpen(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(10*time.Second), circuit.WithSuccessThreshold(1))
	h.toHalfOpen(10 * time.Second)
	admitted := h.clock.Now()
	abandoned, err := h.b.Allow() // never called back (until much later)
	require.NoError(t, err)
	_, err = h.b.Allow()
	require.ErrorIs(t, err, circuit.ErrOpen, "the only slot is taken")

	h.clock.Add(10 * time.Second)
	assert.Equal(t, circuit.Open, h.b.State(), "the probe timed out and counts as failed")
	tr := h.last()
	assert.Equal(t, circuit.ReasonProbeTimeout, tr.Reason)
	assert.True(t, tr.At.Equal(admitted.Add(10*time.Second)))

	h.clock.Add(10 * time.Second)
	permit, err := h.b.Allow()
	require.NoError(t, err, "a fresh probe is admitted one timeout later")
	abandoned.Done(0, nil) // a late report from the old period decides nothing
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	permit.Done(0, nil)
	assert.Equal(t, circuit.Closed, h.b.State())
}

func TestProbeTimeoutObservedLate(t *testing.T) {
	// Nobody calls the breaker for a long time: the timed-out probe's
	// reopening and the next half-open are both applied, at their own times.
	h := newHarness(t, circuit.WithOpenTimeout(10*time.Second))
	h.toHalfOpen(10 * time.Second)
	start := h.clock.Now()
	_, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(time.Hour)
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	tr := h.transitions()
	require.GreaterOrEqual(t, len(tr), 2)
	reopen, half := tr[len(tr)-2], tr[len(tr)-1]
	assert.Equal(t, circuit.ReasonProbeTimeout, reopen.Reason)
	assert.True(t, reopen.At.Equal(start.Add(10*time.Second)))
	assert.Equal(t, circuit.ReasonTimeoutElapsed, half.Reason)
	assert.True(t, half.At.Equal(start.Add(20*time.Second)))
}

func TestStaleOutcomesNeverDecideTheCurrentPeriod(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(1), circuit.WithOpenTimeout(time.Second))
	slowOK, err := h.b.Allow() // admitted while closed
	require.NoError(t, err)
	slowFail, err := h.b.Allow()
	require.NoError(t, err)
	h.fail()
	h.clock.Add(time.Second)
	require.Equal(t, circuit.HalfOpen, h.b.State())

	slowOK.Done(0, nil)
	assert.Equal(t, circuit.HalfOpen, h.b.State(), "a success from the closed period must not close a half-open breaker")
	slowFail.Done(0, errBoom)
	assert.Equal(t, circuit.HalfOpen, h.b.State(), "a failure from the closed period must not reopen it")
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Successes, "stale outcomes still count in the lifetime totals")
	assert.Equal(t, uint64(2), m.Failures)

	// Only a probe decides.
	h.ok()
	assert.Equal(t, circuit.Closed, h.b.State())
}

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
	h := newHarness(t, circuit.WithCallTimeout(2*time.Second), circuit.WithConsecutiveFailures(1))
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

func TestAllowRecordsLikeExecute(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(2), circuit.WithLatencyThreshold(time.Hour))
	permit, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(250 * time.Millisecond)
	permit.Done(0, errBoom)
	permit.Done(0, errBoom) // ignored
	permit.Done(0, nil)     // ignored
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Failures)
	assert.Zero(t, m.Successes)
	assert.Equal(t, 250*time.Millisecond, m.AvgLatency, "latency runs from Allow to done")
	assert.Equal(t, 1, m.ConsecutiveFailures)

	permit, err = h.b.Allow()
	require.NoError(t, err)
	permit.Done(0, errBoom)
	assert.Equal(t, circuit.Open, h.b.State())
	rejected, err := h.b.Allow()
	require.ErrorIs(t, err, circuit.ErrOpen)
	require.NotNil(t, rejected, "a rejected Allow still returns a callable done")
	rejected.Done(0, nil)
	assert.Equal(t, uint64(1), h.b.Metrics().Rejections)
}

func TestAllowDoneFromManyGoroutinesCountsOnce(t *testing.T) {
	h := newHarness(t)
	const calls = 200 // more than one flag chunk
	var wg sync.WaitGroup
	for i := 0; i < calls; i++ {
		permit, err := h.b.Allow()
		require.NoError(t, err)
		for j := 0; j < 3; j++ {
			wg.Add(1)
			go func() { defer wg.Done(); permit.Done(0, nil) }()
		}
	}
	wg.Wait()
	assert.Equal(t, uint64(calls), h.b.Metrics().Successes)
}

func TestTripForceHalfOpenAndReset(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Minute))
	h.b.Trip(circuit.ReasonManual)
	assert.Equal(t, circuit.Open, h.b.State())
	assert.Equal(t, circuit.ReasonManual, h.last().Reason)
	n := len(h.transitions())
	h.b.Trip(circuit.ReasonManual)
	assert.Len(t, h.transitions(), n, "tripping an open breaker does nothing")

	assert.True(t, h.b.EndOpen(circuit.ReasonHealthRecovered))
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	assert.Equal(t, circuit.ReasonHealthRecovered, h.last().Reason)
	assert.False(t, h.b.EndOpen(circuit.ReasonHealthRecovered), "only an open breaker moves")

	assert.True(t, h.b.Trip(circuit.ReasonHealthCheck))
	assert.Equal(t, circuit.ReasonHealthCheck, h.last().Reason)
	assert.False(t, h.b.Trip(circuit.ReasonHealthCheck), "an open breaker is not opened again")
	h.b.Reset()
	assert.Equal(t, circuit.Closed, h.b.State())
	assert.Equal(t, circuit.ReasonReset, h.last().Reason)
	m := h.b.Metrics()
	assert.Equal(t, uint64(4), m.Transitions)
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.Closed][circuit.Open])
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.Open][circuit.HalfOpen])
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.HalfOpen][circuit.Open])
	assert.Equal(t, uint64(1), m.TransitionCounts[circuit.Open][circuit.Closed])
}

func TestResetWhileClosedClearsThePeriod(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(3))
	inflight, err := h.b.Allow()
	require.NoError(t, err)
	h.fail()
	h.fail()
	h.b.Reset()
	assert.Empty(t, h.transitions(), "no state change, no transition")
	m := h.b.Metrics()
	assert.Zero(t, m.ConsecutiveFailures)
	assert.Zero(t, m.WindowRequests)
	inflight.Done(0, errBoom) // from before the reset: does not count toward the run
	h.fail()
	h.fail()
	assert.Equal(t, circuit.Closed, h.b.State())
	h.fail()
	assert.Equal(t, circuit.Open, h.b.State())
}

func TestHooksMayCallBackIntoTheBreaker(t *testing.T) {
	mc := clock.NewMock()
	var b *circuit.Breaker[int]
	var seen []string
	hook := func(tr circuit.Transition) {
		seen = append(seen, tr.From.String()+">"+tr.To.String())
		// Re-entrant calls, including one that causes a transition.
		_ = b.Metrics()
		_ = b.State()
		if tr.To == circuit.Open && tr.Reason == circuit.ReasonConsecutiveFailures {
			b.Reset()
			assert.Len(t, seen, 1, "the transition the hook caused is delivered after it returns")
		}
	}
	var err error
	b, err = circuit.New[int](circuit.WithClock(mc), circuit.WithConsecutiveFailures(1), circuit.WithOnStateChange(hook))
	require.NoError(t, err)
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
	assert.Equal(t, []string{"closed>open", "open>closed"}, seen, "delivered in order before Execute returned")
	assert.Equal(t, circuit.Closed, b.State())
}

func TestTransitionsFormAPath(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second), circuit.WithSuccessThreshold(1))
	for i := 0; i < 20; i++ {
		switch i % 4 {
		case 0:
			_, _ = h.call(0, errBoom)
		case 1:
			h.clock.Add(time.Second)
			_ = h.b.State()
		case 2:
			_, _ = h.call(0, nil)
		case 3:
			h.b.Trip(circuit.ReasonManual)
		}
	}
	tr := h.transitions()
	require.NotEmpty(t, tr)
	assert.Equal(t, circuit.Closed, tr[0].From)
	for i := 1; i < len(tr); i++ {
		assert.Equal(t, tr[i-1].To, tr[i].From, "transition %d", i)
		assert.False(t, tr[i].At.Before(tr[i-1].At), "time never goes backwards")
	}
	assert.Equal(t, uint64(len(tr)), h.b.Metrics().Transitions)
}

func TestPanickingHookIsRecoveredAndLogged(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	mc := clock.NewMock()
	var after []circuit.Transition
	b, err := circuit.New[int](circuit.WithClock(mc), circuit.WithConsecutiveFailures(1), circuit.WithLogger(logger),
		circuit.WithOnStateChange(func(circuit.Transition) { panic("hook bug") }),
		circuit.WithOnStateChange(func(tr circuit.Transition) { after = append(after, tr) }))
	require.NoError(t, err)
	_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
	require.ErrorIs(t, err, errBoom, "the caller is not hit by the hook's panic")
	assert.Len(t, after, 1, "hooks after the panicking one still run")
	assert.Contains(t, buf.String(), "hook panicked")
	assert.Contains(t, buf.String(), "hook bug")
	b.Reset()
	assert.Len(t, after, 2, "delivery goes on afterwards")
}

func TestLoggerLogsEachTransitionOnce(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, circuit.WithLogger(logger), circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(time.Second))
	h.ok()
	h.fail()
	assert.Empty(t, buf.String(), "nothing logged on the call path")
	h.fail()
	h.clock.Add(time.Second)
	_ = h.b.State()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "level=WARN")
	for _, want := range []string{"name=dep", "from=closed", "to=open", "reason=consecutive-failures", "consecutive_failures=2", "error_rate=", "p95_latency=", "last_failure=boom"} {
		assert.Contains(t, lines[0], want)
	}
	assert.Contains(t, lines[1], "level=INFO")
	assert.Contains(t, lines[1], "to=half-open")
}

func TestSubscribe(t *testing.T) {
	h := newHarness(t)
	var got []circuit.Reason
	unsubscribe := h.b.Subscribe(func(tr circuit.Transition) { got = append(got, tr.Reason) })
	h.b.Trip(circuit.ReasonManual)
	unsubscribe()
	unsubscribe() // idempotent
	h.b.Reset()
	assert.Equal(t, []circuit.Reason{circuit.ReasonManual}, got)
	assert.Len(t, h.transitions(), 2, "the option hook still gets both")
	h.b.Subscribe(nil)() // a nil hook is ignored
}

func TestClockSetBackwardsDoesNotMoveStateBackwards(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second))
	h.clock.Add(time.Hour)
	h.fail()
	since := h.b.Metrics().StateSince
	h.clock.Set(time.Unix(0, 0))
	assert.Equal(t, circuit.Open, h.b.State())
	assert.False(t, h.b.Metrics().StateSince.Before(since))
	h.clock.Set(since.Add(10 * time.Second))
	assert.Equal(t, circuit.HalfOpen, h.b.State())
}

func TestMetricsLifetimeConservation(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(time.Second))
	calls := 0
	for i := 0; i < 50; i++ {
		calls++
		switch i % 5 {
		case 0, 1:
			_, _ = h.call(0, nil)
		case 2, 3:
			_, _ = h.call(0, errBoom)
		case 4:
			_, _ = h.call(0, context.Canceled)
			h.clock.Add(500 * time.Millisecond)
		}
	}
	m := h.b.Metrics()
	assert.Equal(t, uint64(calls), m.Successes+m.Failures+m.Rejections+m.Ignored)
	assert.NotZero(t, m.Rejections)
}

func TestConcurrentUseIsSafe(t *testing.T) {
	b, err := circuit.New[int](circuit.WithConsecutiveFailures(3), circuit.WithOpenTimeout(time.Millisecond), circuit.WithSuccessThreshold(1))
	require.NoError(t, err)
	const goroutines, perG = 8, 300
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
					if (g+i)%4 == 0 {
						return 0, errBoom
					}
					return i, nil
				})
				if i%50 == 0 {
					_ = b.Metrics()
				}
			}
		}(g)
	}
	wg.Wait()
	m := b.Metrics()
	assert.Equal(t, uint64(goroutines*perG), m.Successes+m.Failures+m.Rejections+m.Ignored)
}

func TestStateAndReasonRoundTripThroughJSON(t *testing.T) {
	type doc struct {
		State  circuit.State
		Reason circuit.Reason
	}
	for s := circuit.Closed; s <= circuit.HalfOpen; s++ {
		for r := circuit.ReasonConsecutiveFailures; r <= circuit.ReasonHealthRecovered; r++ {
			data, err := json.Marshal(doc{s, r})
			require.NoError(t, err)
			var back doc
			require.NoError(t, json.Unmarshal(data, &back), string(data))
			assert.Equal(t, doc{s, r}, back)
		}
	}
	var s circuit.State
	err := json.Unmarshal([]byte(`"ajar"`), &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"ajar"`)
	var r circuit.Reason
	assert.Error(t, json.Unmarshal([]byte(`"because"`), &r))
}

func TestSlowHookIsNotChargedToTheProbe(t *testing.T) {
	// The first probe's admission observes open -> half-open and delivers
	// that transition to a hook that takes 200ms. The probe itself is
	// instant: it must close the breaker, not reopen it as slow.
	mc := clock.NewMock()
	var reasons []circuit.Reason
	b, err := circuit.New[int](circuit.WithClock(mc), circuit.WithConsecutiveFailures(1),
		circuit.WithLatencyThreshold(100*time.Millisecond), circuit.WithOpenTimeout(time.Second),
		circuit.WithSuccessThreshold(1),
		circuit.WithOnStateChange(func(tr circuit.Transition) {
			reasons = append(reasons, tr.Reason)
			if tr.To == circuit.HalfOpen {
				mc.Add(200 * time.Millisecond)
			}
		}))
	require.NoError(t, err)
	b.Trip(circuit.ReasonManual)
	mc.Add(time.Second)
	_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err)
	assert.Equal(t, []circuit.Reason{circuit.ReasonManual, circuit.ReasonTimeoutElapsed, circuit.ReasonProbesSucceeded}, reasons)
	assert.Equal(t, circuit.Closed, b.State())
}

func TestSlowHookDoesNotEatTheProbeDeadline(t *testing.T) {
	mc := clock.NewMock()
	var b *circuit.Breaker[int]
	b, err := circuit.New[int](circuit.WithClock(mc), circuit.WithOpenTimeout(time.Second),
		circuit.WithOnStateChange(func(tr circuit.Transition) {
			if tr.To == circuit.HalfOpen {
				mc.Add(900 * time.Millisecond)
			}
		}))
	require.NoError(t, err)
	b.Trip(circuit.ReasonManual)
	mc.Add(time.Second)
	permit, err := b.Allow() // delivers the slow hook, then admits
	require.NoError(t, err)
	mc.Add(500 * time.Millisecond) // 1.4s after the slot was taken, 0.5s after the hook
	assert.Equal(t, circuit.HalfOpen, b.State(), "the probe's deadline runs from after the hooks")
	permit.Done(0, nil)
	assert.Equal(t, 1, b.Metrics().ConsecutiveSuccesses)
}

type panicHandler struct{ slog.Handler }

func (panicHandler) Handle(context.Context, slog.Record) error { panic("handler bug") }

func TestPanickingLogHandlerDoesNotEscape(t *testing.T) {
	logger := slog.New(panicHandler{slog.NewTextHandler(&bytes.Buffer{}, nil)})
	b, err := circuit.New[int](circuit.WithConsecutiveFailures(1), circuit.WithLogger(logger))
	require.NoError(t, err)
	assert.NotPanics(t, func() {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
	})
	assert.Equal(t, circuit.Open, b.State())
}
