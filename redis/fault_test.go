package circuitredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// traffic makes calls on b until done reports true (checked every 1024
// calls) and at least least calls were made, and returns each call's
// latency. Every 1000 calls, five fail in a row: the breaker trips, is
// open for a while, probes and closes, so that the hooks and the probe
// gate run on the callers' path (and the shared window's reads of Metrics
// beside it).
func traffic(b *circuit.Breaker[int], least int, done func() bool) []time.Duration {
	var lat []time.Duration
	ctx := context.Background()
	for i := 0; i < least || (i%1024 != 0 || !done()); i++ {
		fail := i%1000 >= 500 && i%1000 < 505
		start := time.Now()
		_, _ = b.Execute(ctx, func(context.Context) (int, error) {
			if fail {
				return 0, errDown
			}
			return 1, nil
		})
		lat = append(lat, time.Since(start))
		if i > 2_000_000 {
			break
		}
	}
	return lat
}

var faultConfig = []circuit.Option{
	circuit.WithConsecutiveFailures(5), circuit.WithOpenTimeout(10 * time.Millisecond),
	circuit.WithProbeTimeout(time.Second), circuit.WithSuccessThreshold(1),
}

// A paused server (SIGSTOP: connections accepted, nothing answered) does
// not slow a call. The calls are compared with the same traffic on a
// breaker without a coordinator. The bounds are generous, because two
// shared cores are noisy (a tight loop of calls on a half-open breaker
// shows outliers of several milliseconds even with no Redis at all): a
// call that waited for Redis would wait the op timeout (1s here) or
// forever, so the slowest call must stay well under it, and the 99th
// percentile within a millisecond of the baseline's. The coordinator
// notices the pause, logs it once, and recovers once the server
// continues.
func TestPausedRedisDoesNotSlowCalls(t *testing.T) {
	srv := startRedis(t)
	rs := newFleet(t, srv, fleetSpec{n: 2, breaker: faultConfig,
		coord: []circuitredis.Option{circuitredis.WithSharedWindow(time.Second), circuitredis.WithFlushInterval(20 * time.Millisecond),
			circuitredis.WithOpTimeout(time.Second)}})
	a := rs[0]

	srv.pause()
	defer srv.resume()
	during := traffic(a.b, 20_000, func() bool { return !a.coord.Up() }) // until the pause is noticed
	closedAlone := func() bool {
		for _, tr := range a.transitions() {
			if tr.Reason == circuit.ReasonProbesSucceeded {
				return true
			}
		}
		return false
	}
	during = append(during, traffic(a.b, 20_000, closedAlone)...)
	require.False(t, a.coord.Up())
	require.True(t, closedAlone(), "the breaker tripped and recovered alone")

	plain, err := circuit.New[int](append(faultConfig, circuit.WithName("dep"))...)
	require.NoError(t, err)
	base := traffic(plain, len(during), func() bool { return true })

	bp99, dp99, dmax := percentile(base, 0.99), percentile(during, 0.99), percentile(during, 1)
	t.Logf("%d calls each: no Redis p99 %v (max %v); Redis paused p99 %v (max %v)",
		len(base), bp99, percentile(base, 1), dp99, dmax)
	assert.Less(t, dp99, bp99+time.Millisecond, "p99 with Redis paused")
	assert.Less(t, dmax, 500*time.Millisecond, "no call waits for Redis")

	srv.resume()
	waitUp(t, rs...)
	for _, r := range rs {
		h := r.coord.Health()
		assert.True(t, h.Up)
		assert.EqualValues(t, 1, h.Outages, "%s: one outage", r.id)
		assert.NotEmpty(t, h.LastError)
		assert.Equal(t, 1, r.logs.count("Redis unreachable"), "%s logs the outage once:\n%s", r.id, r.logs)
		assert.Equal(t, 1, r.logs.count("Redis reachable again"), "%s logs the recovery once", r.id)
	}
	// And the fleet works again.
	rs[1].b.Reset()
	a.b.Reset()
	require.True(t, a.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.Open, 5*time.Second, rs[1])
}

// A killed server (SIGKILL) restarted on the same socket, empty: the
// replicas work alone meanwhile, and within a second of the restart they
// coordinate again, sending what waited: a trip made during the outage
// opens the other replica.
func TestKilledRedisRestarts(t *testing.T) {
	srv := startRedis(t)
	rs := newFleet(t, srv, fleetSpec{n: 2, breaker: []circuit.Option{circuit.WithOpenTimeout(30 * time.Second)}})
	a, b := rs[0], rs[1]

	srv.kill()
	require.Eventually(t, func() bool { return !a.coord.Up() && !b.coord.Up() }, 2*time.Second, time.Millisecond)
	require.NoError(t, b.ok(), "alone, calls go on")
	require.True(t, a.b.Trip(circuit.ReasonManual))
	assert.Equal(t, circuit.Closed, b.b.State())

	srv.start()
	restarted := time.Now()
	waitState(t, circuit.Open, time.Second, b)
	t.Logf("the other replica opened %v after the restart", time.Since(restarted).Round(time.Millisecond))
	assert.Equal(t, circuit.ReasonFleet, b.last().Reason)
	tr := b.last()
	assert.InDelta(t, float64(30*time.Second), float64(tr.RetryAt.Sub(tr.At)), float64(2*time.Second))
	for _, r := range rs {
		assert.True(t, r.coord.Up())
		assert.EqualValues(t, 1, r.coord.Health().Outages)
		assert.Equal(t, 1, r.logs.count("Redis unreachable"), "%s:\n%s", r.id, r.logs)
	}
}

// FLUSHALL (and SCRIPT FLUSH) takes the fleet's state away: the breakers
// keep theirs, the coordinators stay up, the scripts are loaded again, the
// shared window starts from zero, and the next trip propagates.
func TestFlushAll(t *testing.T) {
	srv := startRedis(t)
	rs := newFleet(t, srv, fleetSpec{n: 2,
		breaker: []circuit.Option{circuit.WithOpenTimeout(30 * time.Second), circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0)},
		coord:   []circuitredis.Option{circuitredis.WithSharedWindow(time.Minute), circuitredis.WithFlushInterval(20 * time.Millisecond)}})
	a, b := rs[0], rs[1]
	ctx := context.Background()
	read := func() circuitredis.Totals {
		got, err := circuitredis.ReadTotals(ctx, a.client, circuitredis.DefaultPrefix, "dep", time.Minute)
		require.NoError(t, err)
		return got
	}

	for range 3 {
		require.NoError(t, a.ok())
		require.NoError(t, b.ok())
	}
	require.Eventually(t, func() bool { return read().Successes == 6 }, 5*time.Second, time.Millisecond)
	require.True(t, a.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.Open, 5*time.Second, b)

	require.NoError(t, a.client.FlushAll(ctx).Err())
	require.NoError(t, a.client.ScriptFlush(ctx).Err())
	assert.Equal(t, circuit.Open, b.b.State(), "the breakers keep their state")
	a.b.Reset()
	b.b.Reset()
	require.NoError(t, a.ok())
	require.ErrorIs(t, b.fail(), errDown)
	require.Eventually(t, func() bool {
		return read() == circuitredis.Totals{Successes: 1, Failures: 1, Replicas: 2, Failing: 1}
	}, 5*time.Second, time.Millisecond, "the window starts again from zero")
	require.True(t, b.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.Open, 5*time.Second, a)
	assert.Equal(t, circuit.ReasonFleet, a.last().Reason)
	for _, r := range rs {
		assert.True(t, r.coord.Up())
		assert.Zero(t, r.coord.Health().Outages)
	}
}

// What a coordinator cannot read on the channel (another version, not
// JSON) it ignores, logging it once; announcements for breakers it does
// not hold, and those under another prefix, change nothing.
func TestForeignMessages(t *testing.T) {
	srv := startRedis(t)
	rs := newFleet(t, srv, fleetSpec{n: 1, breaker: []circuit.Option{circuit.WithOpenTimeout(30 * time.Second)}})
	other := newReplica(t, srv, 1, fleetSpec{coord: []circuitredis.Option{circuitredis.WithPrefix("staging")}})
	waitUp(t, other)
	r := rs[0]
	ctx := context.Background()
	ch := circuitredis.ChannelFor(circuitredis.DefaultPrefix)
	for _, msg := range []string{
		`{"v":2,"kind":"open","name":"dep","replica":"x","instance":"y","open_ms":5000}`,
		`{"v":2,"kind":"open","name":"dep","replica":"x","instance":"y","open_ms":5000}`,
		`not json`,
		`{"v":1,"kind":"open","name":"elsewhere","replica":"x","instance":"y","open_ms":5000}`,
		`{"v":1,"kind":"open","name":"dep","replica":"x","instance":"y","open_ms":5000}`,
	} {
		require.NoError(t, r.client.Publish(ctx, ch, msg).Err())
	}
	waitState(t, circuit.Open, 5*time.Second, r)
	assert.Equal(t, 1, r.logs.count("payload version 2"), r.logs.String())
	assert.Equal(t, 1, r.logs.count("unreadable payload"))
	assert.Equal(t, circuit.Closed, other.b.State(), "another prefix is another fleet")
	tr := r.last()
	assert.InDelta(t, float64(5*time.Second), float64(tr.RetryAt.Sub(tr.At)), float64(time.Second))
}
