package circuit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// The point of a time window: a dependency called once a minute is never
// judged on failures from long ago.
func TestTimeWindowForgetsOldFailures(t *testing.T) {
	h := newHarness(t, circuit.WithWindowDuration(10*time.Minute), circuit.WithWindowSize(0),
		circuit.WithErrorRateThreshold(0.5), circuit.WithMinRequests(4))
	steps := []struct {
		wait   time.Duration
		err    error
		inWin  int
		state  circuit.State
		reason string
	}{
		{0, errBoom, 1, circuit.Closed, "one failure"},
		{time.Minute, errBoom, 2, circuit.Closed, "two failures, a minute apart"},
		{time.Minute, errBoom, 3, circuit.Closed, "three"},
		{time.Hour, nil, 1, circuit.Closed, "an hour later the failures have left the window"},
		{time.Minute, errBoom, 2, circuit.Closed, ""},
		{time.Minute, errBoom, 3, circuit.Closed, ""},
		{time.Minute, errBoom, 4, circuit.Open, "3 of the 4 outcomes of the last 10 minutes failed"},
	}
	for i, s := range steps {
		h.clock.Add(s.wait)
		_, _ = h.call(0, s.err)
		m := h.b.Metrics()
		if s.state == circuit.Open {
			assert.Equal(t, circuit.Open, m.State, "step %d: %s", i, s.reason)
			assert.Equal(t, s.inWin, h.last().Metrics.WindowRequests, "step %d", i)
			continue
		}
		assert.Equal(t, s.state, m.State, "step %d: %s", i, s.reason)
		assert.Equal(t, s.inWin, m.WindowRequests, "step %d: %s", i, s.reason)
	}
}

// With a WindowSize as well, the time window also keeps only the last
// WindowSize outcomes, and an outcome leaves exactly WindowDuration later.
func TestTimeWindowWithCap(t *testing.T) {
	h := newHarness(t, circuit.WithWindowDuration(time.Minute), circuit.WithWindowSize(3))
	for i := 0; i < 5; i++ {
		h.ok()
	}
	assert.Equal(t, 3, h.b.Metrics().WindowRequests, "capped at WindowSize")
	h.clock.Add(time.Minute - 1)
	assert.Equal(t, 3, h.b.Metrics().WindowRequests)
	h.clock.Add(1)
	assert.Equal(t, 0, h.b.Metrics().WindowRequests, "gone exactly WindowDuration after")
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

// A classifier or fallback of another result type is an error from New
// naming both types as the user wrote them.
func TestOptionOfAnotherResultType(t *testing.T) {
	_, err := circuit.New[[]byte](circuit.WithClassifier(func(string, error) circuit.Outcome { return circuit.Success }))
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "Classifier = func(string, error) circuit.Outcome")
	assert.Contains(t, err.Error(), "func([]byte, error) circuit.Outcome")
	assert.NotContains(t, err.Error(), "uint8")
	_, err = circuit.New[[]byte](circuit.WithFallback(func(context.Context, error) (int, error) { return 0, nil }))
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "[]byte")
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

// A call that outlives CallTimeout is a failure even if fn ignored its
// context and returned a result; a caller's cancellation stays ignored.
func TestCallTimeoutMeansIt(t *testing.T) {
	h := newHarness(t, circuit.WithCallTimeout(time.Second), circuit.WithConsecutiveFailures(1))
	v, err := h.call(time.Second, nil)
	assert.Equal(t, 1, v, "the caller still gets what fn returned")
	assert.NoError(t, err)
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Failures)
	assert.ErrorIs(t, m.LastFailure, context.DeadlineExceeded)
	assert.Equal(t, circuit.Open, m.State)

	h = newHarness(t, circuit.WithCallTimeout(time.Second), circuit.WithConsecutiveFailures(1))
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

// Each reopening from half-open multiplies the open period by OpenBackoff,
// up to OpenTimeoutMax; closing starts again from OpenTimeout.
func TestOpenBackoff(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithOpenBackoff(2),
		circuit.WithOpenTimeoutMax(5*time.Second), circuit.WithConsecutiveFailures(1), circuit.WithSuccessThreshold(1))
	h.fail()
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		tr := h.last()
		require.Equal(t, circuit.Open, tr.To, "period %d", i)
		assert.Equal(t, want, tr.RetryAt.Sub(tr.At), "period %d", i)
		_, err := h.call(0, nil)
		var oe *circuit.OpenError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, tr.RetryAt, oe.RetryAt, "the rejection says the same")
		assert.Equal(t, want, oe.RetryAfter(h.clock.Now()))
		h.clock.Add(want)
		h.fail() // the probe fails: reopen
	}
	h.clock.Add(5 * time.Second)
	h.ok() // the probe succeeds: closed
	require.Equal(t, circuit.Closed, h.b.State())
	h.fail()
	assert.Equal(t, time.Second, h.last().RetryAt.Sub(h.last().At), "closing resets the backoff")
}

// Jitter spreads the open period over ±OpenJitter.
func TestOpenJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		h := newHarness(t, circuit.WithOpenTimeout(10*time.Second), circuit.WithOpenJitter(0.2))
		h.b.Trip(circuit.ReasonManual)
		d := h.last().RetryAt.Sub(h.last().At)
		require.GreaterOrEqual(t, d, 8*time.Second)
		require.LessOrEqual(t, d, 12*time.Second)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 40, "50 breakers that opened together should not probe in lockstep")
}

// A probe may run ProbeTimeout, which can be longer than OpenTimeout.
func TestProbeTimeout(t *testing.T) {
	h := newHarness(t, circuit.WithOpenTimeout(time.Second), circuit.WithProbeTimeout(10*time.Second), circuit.WithSuccessThreshold(1))
	h.toHalfOpen(time.Second)
	_, err := h.call(5*time.Second, nil) // longer than OpenTimeout, shorter than ProbeTimeout
	require.NoError(t, err)
	assert.Equal(t, circuit.Closed, h.b.State())

	h.b.Trip(circuit.ReasonManual)
	h.clock.Add(time.Second)
	p, err := h.b.Allow()
	require.NoError(t, err)
	h.clock.Add(10*time.Second - 1)
	assert.Equal(t, circuit.HalfOpen, h.b.State())
	h.clock.Add(1)
	assert.Equal(t, circuit.Open, h.b.State())
	assert.Equal(t, circuit.ReasonProbeTimeout, h.last().Reason)
	p.Done(0, nil) // too late: stale
}

// ForcedOpen holds until Reset whatever time passes; Disabled records but
// never trips; both are reported with their reasons; Reset leaves either.
func TestForcedModes(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Second))
	require.True(t, h.b.ForceOpen())
	require.False(t, h.b.ForceOpen(), "already held")
	assert.Equal(t, circuit.ReasonForcedOpen, h.last().Reason)
	h.clock.Add(time.Hour)
	assert.Equal(t, circuit.ForcedOpen, h.b.State())
	_, err := h.call(0, nil)
	var oe *circuit.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, circuit.ForcedOpen, oe.State)
	assert.True(t, oe.RetryAt.IsZero())
	assert.Equal(t, time.Second, oe.RetryAfter(h.clock.Now()), "the open timeout as a hint, never zero")
	assert.Contains(t, err.Error(), "held open")
	assert.False(t, h.b.Trip(circuit.ReasonHealthCheck), "automation does not override the operator")
	assert.False(t, h.b.EndOpen(circuit.ReasonHealthRecovered))

	require.True(t, h.b.Disable())
	for i := 0; i < 5; i++ {
		h.fail()
	}
	m := h.b.Metrics()
	assert.Equal(t, circuit.Disabled, m.State)
	assert.Equal(t, uint64(5), m.Failures)
	assert.Equal(t, 5, m.WindowRequests, "metrics kept")
	assert.Equal(t, 1.0, m.ErrorRate)
	assert.Equal(t, circuit.ReasonDisabled, m.LastReason)
	assert.Equal(t, h.clock.Now(), m.LastTransitionAt)
	assert.False(t, h.b.Trip(circuit.ReasonManual))

	h.b.Reset()
	assert.Equal(t, circuit.Closed, h.b.State())
	assert.Equal(t, circuit.ReasonReset, h.last().Reason)
	h.fail()
	assert.Equal(t, circuit.Open, h.b.State(), "closed again, it trips as usual")

	names := []string{}
	for _, tr := range h.transitions() {
		names = append(names, tr.From.String()+">"+tr.To.String())
	}
	assert.Equal(t, []string{"closed>forced-open", "forced-open>disabled", "disabled>closed", "closed>open"}, names)
}

// Done counts once per admission, on the Permit and on every copy, even
// after its record has been reused by another call.
func TestPermitDoneCountsOnce(t *testing.T) {
	h := newHarness(t)
	p1, err := h.b.Allow()
	require.NoError(t, err)
	copy1 := p1
	p1.Done(0, nil)
	p2, err := h.b.Allow() // may reuse p1's record
	require.NoError(t, err)
	copy1.Done(0, errBoom)
	p1.Done(0, errBoom)
	m := h.b.Metrics()
	assert.Equal(t, uint64(1), m.Successes)
	assert.Zero(t, m.Failures)
	assert.Equal(t, uint64(1), m.InFlight, "p2 is still out")
	p2.Done(0, errBoom)
	m = h.b.Metrics()
	assert.Equal(t, uint64(1), m.Failures)
	assert.Zero(t, m.InFlight)
	var zero circuit.Permit[int]
	zero.Done(0, errBoom) // does nothing
	assert.Equal(t, uint64(1), h.b.Metrics().Failures)
}

// Config reads and writes JSON with durations as strings, round-trips
// exactly, and names the field and value of bad input.
func TestConfigJSON(t *testing.T) {
	c := circuit.DefaultConfig()
	c.Name, c.WindowDuration, c.OpenBackoff, c.OpenJitter = "quotes", 90*time.Second, 2, 0.1
	data, err := json.Marshal(c)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"OpenTimeout":"30s"`)
	assert.Contains(t, string(data), `"WindowDuration":"1m30s"`)
	var back circuit.Config
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c, back)

	// Decoding onto the defaults changes only what the file says; keys
	// match case-insensitively, as encoding/json's do.
	got := circuit.DefaultConfig()
	require.NoError(t, json.Unmarshal([]byte(`{"OpenTimeout": "1m", "errorRateThreshold": 0.25}`), &got))
	want := circuit.DefaultConfig()
	want.OpenTimeout, want.ErrorRateThreshold = time.Minute, 0.25
	assert.Equal(t, want, got)

	for _, tc := range []struct{ in, wants string }{
		{`{"OpenTimeout": 30}`, `OpenTimeout = 30: must be a duration string such as "30s"`},
		{`{"OpenTimeout": "soon"}`, `OpenTimeout = "soon": must be a duration string`},
		{`{"Bogus": 1}`, `Bogus = 1: unknown field (valid: Name, ConsecutiveFailures`},
		{`{"WindowSize": "ten"}`, `WindowSize = "ten": must be an integer`},
		{`[1]`, `config is not a JSON object`},
	} {
		before := circuit.DefaultConfig()
		err := json.Unmarshal([]byte(tc.in), &before)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.wants, tc.in)
		assert.Equal(t, circuit.DefaultConfig(), before, "%s: a bad file changes nothing", tc.in)
	}
	err = json.Unmarshal([]byte(`{"Bogus": 1, "OpenTimeout": 5}`), &got)
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.Equal(t, 2, strings.Count(err.Error(), "circuit: invalid config:"), "every bad field is named")
}

// Validate names every new field's problem at once.
func TestValidateV1Fields(t *testing.T) {
	c := circuit.DefaultConfig()
	c.WindowDuration, c.OpenBackoff, c.OpenTimeoutMax, c.OpenJitter, c.ProbeTimeout = time.Microsecond, 0.5, time.Second, 1, -1
	err := c.Validate()
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	for _, f := range []string{"WindowDuration = 1µs", "OpenBackoff = 0.5", "OpenTimeoutMax = 1s: must be at least OpenTimeout (30s)", "OpenJitter = 1", "ProbeTimeout = -1ns"} {
		assert.Contains(t, err.Error(), f)
	}
	c = circuit.DefaultConfig()
	c.WindowSize = 0
	assert.ErrorContains(t, c.Validate(), "WindowSize = 0: must be at least 1 without a WindowDuration")
	c.WindowDuration = time.Minute
	assert.NoError(t, c.Validate(), "a time window needs no cap")
}

// Metrics says when and why the last transition happened, and what is in
// flight.
func TestMetricsLastTransitionAndInFlight(t *testing.T) {
	h := newHarness(t, circuit.WithConsecutiveFailures(1))
	m := h.b.Metrics()
	assert.Equal(t, circuit.ReasonNone, m.LastReason)
	assert.True(t, m.LastTransitionAt.IsZero())
	p, err := h.b.Allow()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), h.b.Metrics().InFlight)
	h.clock.Add(time.Second)
	p.Done(0, errBoom)
	m = h.b.Metrics()
	assert.Zero(t, m.InFlight)
	assert.Equal(t, circuit.ReasonConsecutiveFailures, m.LastReason)
	assert.Equal(t, h.clock.Now(), m.LastTransitionAt)
	text, err := json.Marshal(m.LastReason)
	require.NoError(t, err)
	assert.Equal(t, `"consecutive-failures"`, string(text))
}
