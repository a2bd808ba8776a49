package circuitredis_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var barriers atomic.Int64

// settled returns once whatever src's coordinator had queued to announce
// before the call has reached every replica in rs, so that a test can
// tell that an announcement never came. src's events goroutine serves
// breakers in the order they were queued: once it has read the state key
// of a breaker attached after the call, what was queued before has been
// published. Redis delivers a subscriber its messages in order: once every
// replica in rs has applied a message the test publishes after that, it
// has applied what src published.
func settled(t *testing.T, src *replica, rs ...*replica) {
	t.Helper()
	ctx := context.Background()
	n := barriers.Add(1)
	mark := func(name string) string {
		return fmt.Sprintf(`{"v":1,"kind":"open","name":%q,"replica":"test","instance":"barrier","reason":"manual","open_ms":3600000}`, name)
	}
	attach := func(r *replica, name string) *circuit.Breaker[int] {
		opts := []circuit.Option{circuit.WithName(name), circuit.WithOpenTimeout(time.Hour)}
		if r.clock != nil {
			opts = append(opts, circuit.WithClock(r.clock)) // the coordinator's
		}
		b, err := circuit.New[int](opts...)
		require.NoError(t, err)
		detach, err := r.coord.Attach(b)
		require.NoError(t, err)
		t.Cleanup(detach)
		return b
	}
	opened := func(bs ...*circuit.Breaker[int]) {
		t.Helper()
		require.Eventually(t, func() bool {
			for _, b := range bs {
				if b.State() != circuit.Open {
					return false
				}
			}
			return true
		}, 5*time.Second, time.Millisecond, "barrier")
	}

	read := fmt.Sprintf("barrier-read-%d", n)
	require.NoError(t, src.client.Set(ctx, circuitredis.KeysFor(circuitredis.DefaultPrefix, read).State(), mark(read), time.Hour).Err())
	opened(attach(src, read))

	heard := fmt.Sprintf("barrier-heard-%d", n)
	var bs []*circuit.Breaker[int]
	for _, r := range rs {
		bs = append(bs, attach(r, heard))
	}
	require.NoError(t, src.client.Publish(ctx, circuitredis.ChannelFor(circuitredis.DefaultPrefix), mark(heard)).Err())
	opened(bs...)
}

// With WithPropagateLocalTrips(false) a local trip stays local: the
// replica opens, probes and closes alone, without the lease, and announces
// none of it, while its failures still count in the shared window. The
// fleet opens through the window once a second replica fails, and its
// probe round is the fleet's: under the lease, and a failed probe opens
// the fleet again.
func TestLocalTripsStayLocal(t *testing.T) {
	srv := startRedis(t)
	mock := clock.NewMock() // r0's
	const window = time.Minute
	rs := newFleet(t, srv, fleetSpec{n: 3,
		breaker: []circuit.Option{
			circuit.WithConsecutiveFailures(3), circuit.WithErrorRateThreshold(0.5), circuit.WithMinRequests(6),
			circuit.WithOpenTimeout(200 * time.Millisecond), circuit.WithSuccessThreshold(1),
		},
		coord: []circuitredis.Option{
			circuitredis.WithPropagateLocalTrips(false),
			circuitredis.WithSharedWindow(window), circuitredis.WithFlushInterval(20 * time.Millisecond),
		},
		clock: func(i int) circuit.Clock {
			if i == 0 {
				return mock
			}
			return nil
		},
	})
	r0, r1, r2 := rs[0], rs[1], rs[2]
	ctx := context.Background()
	k := circuitredis.KeysFor(circuitredis.DefaultPrefix, "dep")
	read := func() circuitredis.Totals {
		got, err := circuitredis.ReadTotals(ctx, r0.client, circuitredis.DefaultPrefix, "dep", window)
		require.NoError(t, err)
		return got
	}
	quiet := func(why string) {
		t.Helper()
		settled(t, r0, r1, r2)
		for _, r := range []*replica{r1, r2} {
			assert.Empty(t, r.transitions(), "%s: %s has not moved", why, r.id)
		}
		assert.Zero(t, r0.client.Exists(ctx, k.State(), k.Lease()).Val(), "%s: no state, no lease", why)
	}

	for range 3 {
		require.ErrorIs(t, r0.fail(), errDown)
	}
	require.Equal(t, circuit.Open, r0.b.State())
	require.Equal(t, circuit.ReasonConsecutiveFailures, r0.last().Reason)
	quiet("r0 tripped")

	mock.Add(time.Second)
	require.Equal(t, circuit.HalfOpen, r0.b.State())
	require.NoError(t, r0.ok(), "the first call probes: no lease to wait for")
	require.Equal(t, circuit.Closed, r0.b.State())
	quiet("r0 closed")

	require.Eventually(t, func() bool { return read().Failures == 3 }, 5*time.Second, time.Millisecond,
		"r0's failures are in the window, its close did not clear it")
	require.Equal(t, int64(1), read().Failing)

	for range 2 {
		require.NoError(t, r2.ok())
	}
	require.ErrorIs(t, r1.fail(), errDown) // 4 failures in 6, from two replicas
	waitState(t, circuit.Open, 5*time.Second, rs...)
	for _, r := range []*replica{r1, r2} {
		// The first transition, by the window (ReasonFleet: r1's own
		// window trip too). By now the breaker may be half-open.
		tr := r.transitions()
		require.NotEmpty(t, tr, r.id)
		assert.Equal(t, circuit.Open, tr[0].To, r.id)
		assert.Equal(t, circuit.ReasonFleet, tr[0].Reason, r.id)
	}

	waitState(t, circuit.HalfOpen, 5*time.Second, r1, r2)
	calls := 0
	require.Eventually(t, func() bool {
		calls++
		return errors.Is(r2.fail(), errDown)
	}, 5*time.Second, time.Millisecond, "r2 probes")
	assert.Greater(t, calls, 1, "once it holds the lease")
	require.Equal(t, circuit.ReasonProbeFailed, r2.last().Reason)
	require.Eventually(t, func() bool {
		tr := r1.last()
		return tr.From == circuit.HalfOpen && tr.To == circuit.Open && tr.Reason == circuit.ReasonFleet
	}, 5*time.Second, time.Millisecond, "r2's failed probe opens the fleet again")
}
