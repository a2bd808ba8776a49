package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStory(t *testing.T) {
	var out strings.Builder
	sum, err := run(&out)
	require.NoError(t, err)

	// Retry stops as soon as the breaker opens: 3 failures reach the
	// dependency, the 4th attempt is rejected by the breaker, the 5th
	// allowed attempt never happens.
	assert.Equal(t, 4, sum.OutageAttempts)
	assert.Equal(t, 3, sum.OutageDepCalls)
	assert.Equal(t, retry.ReasonBreakerOpen, sum.OutageReason)
	// 3 call timeouts of 1s plus backoffs of 100, 200 and 400ms.
	assert.Equal(t, 3700*time.Millisecond, sum.OutageElapsed)
	// While open, a call costs the dependency nothing.
	assert.Zero(t, sum.OpenDepCalls)
	// A full bulkhead sheds the call before the breaker or the dependency.
	assert.Zero(t, sum.FullDepCalls)
	assert.Equal(t, retry.ReasonNotRetryable, sum.FullReason)
	assert.Equal(t, uint64(3), sum.BreakerFailures, "the shed call is not a breaker failure")
	assert.Equal(t, uint64(1), sum.BulkheadRejected)
	assert.Equal(t, circuit.Closed, sum.FinalBreakerState)

	assert.Equal(t, want, out.String())
}

func TestStoryIsDeterministic(t *testing.T) {
	for range 3 {
		var out strings.Builder
		_, err := run(&out)
		require.NoError(t, err)
		require.Equal(t, want, out.String())
	}
}

const want = `[0s] 1. healthy: one attempt
    -> stock 42
[20ms] 2. the dependency hangs: each attempt times out after 1s; the third failure opens the breaker and its rejection ends the retries
    attempt 1 failed (context deadline exceeded); retry in 100ms
    attempt 2 failed (context deadline exceeded); retry in 200ms
    breaker: closed -> open (consecutive-failures)
    attempt 3 failed (context deadline exceeded); retry in 400ms
    -> error: retry: 4 attempts, gave up (breaker-open): circuit: breaker "inventory" is open
    4 attempts, 3 reached the dependency, 3.7s spent (5 attempts allowed)
[3.72s] 3. breaker open: the next call fails at once, without a retry or a dependency call
    -> error: retry: 1 attempt, gave up (breaker-open): circuit: breaker "inventory" is open
[33.72s] 4. 30s later the dependency is back: two probes close the breaker
    breaker: open -> half-open (timeout-elapsed)
    -> stock 42
    breaker: half-open -> closed (probes-succeeded)
    -> stock 42
[33.76s] 5. bulkhead full: two slow calls hold both slots; a third is shed without touching the dependency or the breaker
    -> error: retry: 1 attempt, gave up (not-retryable): bulkhead: full
    dependency calls: 0; breaker failures: 3 -> 3; bulkhead rejected: 1
[33.76s] end: breaker closed, 6 dependency calls in all, bulkhead peak 2
`
