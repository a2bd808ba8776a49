package circuitredis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerdict(t *testing.T) {
	cfg := circuit.DefaultConfig() // 50% errors or a P95 of 5s, over at least 10
	cases := []struct {
		name     string
		totals   circuitredis.Totals
		min      int
		criteria string
	}{
		{"too few outcomes", circuitredis.Totals{Successes: 4, Failures: 5, Replicas: 9, Failing: 9}, 2, ""},
		{"error rate", circuitredis.Totals{Successes: 5, Failures: 5, Replicas: 9, Failing: 2}, 2, "error-rate"},
		{"error rate from one replica", circuitredis.Totals{Successes: 5, Failures: 5, Replicas: 9, Failing: 1}, 2, ""},
		{"one replica is enough at MinReplicas 1", circuitredis.Totals{Successes: 5, Failures: 5, Replicas: 9, Failing: 1}, 1, "error-rate"},
		{"under the rate", circuitredis.Totals{Successes: 6, Failures: 4, Replicas: 9, Failing: 4}, 2, ""},
		{"P95 slow: 6 of 100", circuitredis.Totals{Successes: 100, Slow: 6, Replicas: 3, SlowReplicas: 2}, 2, "latency"},
		{"P95 fast: 5 of 100", circuitredis.Totals{Successes: 100, Slow: 5, Replicas: 3, SlowReplicas: 2}, 2, ""},
		{"slow on one replica", circuitredis.Totals{Successes: 100, Slow: 50, Replicas: 3, SlowReplicas: 1}, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, trip := circuitredis.Verdict(cfg, tc.totals, tc.min)
			assert.Equal(t, tc.criteria, got)
			assert.Equal(t, tc.criteria != "", trip)
		})
	}
	assert.EqualValues(t, 6, circuitredis.SlowNeeded(100, 0.95), "the 95th of 100 is slow when 6 are")
	assert.EqualValues(t, 1, circuitredis.SlowNeeded(1, 0.95))
	assert.EqualValues(t, 2, circuitredis.SlowNeeded(3, 0.5), "the 2nd of 3")
}

// The shared window's accounts, reading by reading: what a closed breaker
// recorded counts, including the outcomes that made it leave Closed; what
// it recorded in other states (probes, calls of a disabled breaker) does
// not; a reading older than one already accounted for adds nothing.
func TestSharedWindowAccounts(t *testing.T) {
	type reading struct {
		state                circuit.State
		trans, succ, fail, l uint64
	}
	metrics := func(r reading) circuit.Metrics {
		return circuit.Metrics{State: r.state, Transitions: r.trans, Successes: r.succ, Failures: r.fail, SlowCalls: r.l}
	}
	steps := []struct {
		name       string
		read       reading
		take       bool   // flush after the reading
		s, f, slow uint64 // what that flush sends
	}{
		{"calls while closed", reading{circuit.Closed, 0, 10, 2, 1}, true, 10, 2, 1},
		{"nothing new", reading{circuit.Closed, 0, 10, 2, 1}, true, 0, 0, 0},
		{"more, read twice before a flush", reading{circuit.Closed, 0, 12, 2, 1}, false, 0, 0, 0},
		{"", reading{circuit.Closed, 0, 15, 3, 3}, true, 5, 1, 2},
		{"the failures that tripped it count", reading{circuit.Open, 1, 16, 8, 3}, true, 1, 5, 0},
		{"stragglers recorded while open do not", reading{circuit.Open, 1, 17, 9, 3}, true, 0, 0, 0},
		{"nor probes", reading{circuit.HalfOpen, 2, 19, 9, 3}, false, 0, 0, 0},
		{"nor probes that closed it", reading{circuit.Closed, 3, 21, 9, 3}, true, 0, 0, 0},
		{"closed again: counts", reading{circuit.Closed, 3, 25, 10, 4}, false, 0, 0, 0},
		{"a late reading from before changes nothing", reading{circuit.Closed, 3, 23, 10, 4}, true, 4, 1, 1},
		{"two transitions between readings: not told apart, dropped", reading{circuit.Closed, 5, 40, 20, 4}, true, 0, 0, 0},
		{"disabled", reading{circuit.Disabled, 6, 42, 20, 4}, true, 2, 0, 0},
		{"calls of a disabled breaker do not count", reading{circuit.Disabled, 6, 50, 25, 4}, true, 0, 0, 0},
	}
	a := circuitredis.NewAccounts(metrics(reading{circuit.Closed, 0, 0, 0, 0}))
	for i, st := range steps {
		a.Read(metrics(st.read))
		if !st.take {
			continue
		}
		s, f, l := a.Take()
		assert.Equal(t, [3]uint64{st.s, st.f, st.slow}, [3]uint64{s, f, l}, "step %d %q", i, st.name)
	}
}

// Through transitions on the real server: the failures that trip a
// breaker reach the window, rejections and probes do not; a Reconfigure
// of the LatencyThreshold judges the calls after it by the new one; a
// close by probes clears the window, which then counts from zero.
func TestSharedWindowCountsClosedOutcomes(t *testing.T) {
	srv := startRedis(t)
	mock := clock.NewMock()
	const window = time.Minute
	r := newFleet(t, srv, fleetSpec{n: 1,
		breaker: []circuit.Option{
			circuit.WithConsecutiveFailures(3), circuit.WithErrorRateThreshold(0),
			circuit.WithLatencyThreshold(time.Second), circuit.WithOpenTimeout(time.Minute), circuit.WithSuccessThreshold(1),
		},
		// Two replicas would have to fail for the window to trip: one never does.
		coord: []circuitredis.Option{circuitredis.WithSharedWindow(window), circuitredis.WithFlushInterval(20 * time.Millisecond)},
		clock: func(int) circuit.Clock { return mock },
	})[0]
	read := func() circuitredis.Totals {
		got, err := circuitredis.ReadTotals(context.Background(), r.client, circuitredis.DefaultPrefix, "dep", window)
		require.NoError(t, err)
		return got
	}
	settle := func(want circuitredis.Totals, why string) {
		t.Helper()
		require.Eventually(t, func() bool { return read() == want }, 5*time.Second, 5*time.Millisecond, "%s: want %+v", why, want)
		rounds := r.coord.Rounds()
		require.Eventually(t, func() bool { return r.coord.Rounds() >= rounds+3 }, 5*time.Second, 5*time.Millisecond)
		require.Equal(t, want, read(), "%s: three more flush intervals add nothing", why)
	}
	call := func(took time.Duration, err error) error {
		_, got := r.b.Execute(context.Background(), func(context.Context) (int, error) {
			mock.Add(took)
			return 1, err
		})
		return got
	}

	require.NoError(t, call(2*time.Second, nil)) // slow at 1s
	require.NoError(t, call(0, nil))
	cfg := r.b.Config()
	cfg.LatencyThreshold = 5 * time.Second
	require.NoError(t, r.b.Reconfigure(cfg))
	require.NoError(t, call(2*time.Second, nil)) // not slow at 5s
	require.NoError(t, call(6*time.Second, nil)) // slow at 5s
	settle(circuitredis.Totals{Successes: 4, Slow: 2, Replicas: 1, SlowReplicas: 1}, "closed")

	for range 3 {
		require.ErrorIs(t, call(0, errDown), errDown)
	}
	require.Equal(t, circuit.Open, r.b.State())
	for range 5 {
		require.ErrorIs(t, call(0, nil), circuit.ErrOpen)
	}
	settle(circuitredis.Totals{Successes: 4, Failures: 3, Slow: 2, Replicas: 1, Failing: 1, SlowReplicas: 1}, "tripped by three failures, then rejections")

	mock.Add(time.Minute)
	require.Equal(t, circuit.HalfOpen, r.b.State())
	require.Eventually(t, func() bool { return call(0, nil) == nil }, 5*time.Second, time.Millisecond, "a probe, once the lease is taken")
	require.Equal(t, circuit.Closed, r.b.State())
	require.Eventually(t, func() bool { return read() == circuitredis.Totals{} }, 5*time.Second, time.Millisecond, "the close clears the window")
	for range 2 {
		require.NoError(t, call(0, nil))
	}
	settle(circuitredis.Totals{Successes: 2, Replicas: 1}, "closed by the probe: the window starts again without it")
}

// Replicas on clocks hours apart (mock clocks, which also set each call's
// latency exactly) make calls concurrently; once they are done and the
// last flush is in, the shared window holds every outcome exactly once,
// and further flush intervals change nothing.
func TestSharedWindowCountsExactly(t *testing.T) {
	srv := startRedis(t)
	const n, calls = 4, 300
	const window = time.Minute
	mocks := make([]*clock.Mock, n)
	for i := range mocks {
		mocks[i] = clock.NewMock()
		mocks[i].Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour))
	}
	rs := newFleet(t, srv, fleetSpec{n: n,
		breaker: []circuit.Option{
			circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0.9),
			circuit.WithLatencyThreshold(time.Second), circuit.WithLatencyPercentile(0.5),
		},
		coord: []circuitredis.Option{circuitredis.WithSharedWindow(window), circuitredis.WithFlushInterval(20 * time.Millisecond)},
		clock: func(i int) circuit.Clock { return mocks[i] },
	})

	var want circuitredis.Totals
	var wg sync.WaitGroup
	for i, r := range rs {
		for k := range calls {
			failed, slow := k%5 == 0, k%7 == 0
			if failed {
				want.Failures++
			} else {
				want.Successes++
			}
			if slow {
				want.Slow++
			}
			_ = i
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range calls {
				_, _ = r.b.Execute(context.Background(), func(context.Context) (int, error) {
					if k%7 == 0 {
						mocks[i].Add(2 * time.Second)
					}
					if k%5 == 0 {
						return 0, errDown
					}
					return 1, nil
				})
			}
		}()
	}
	wg.Wait()
	want.Replicas, want.Failing, want.SlowReplicas = n, n, n
	for _, r := range rs {
		require.Equal(t, circuit.Closed, r.b.State(), "nothing tripped")
	}

	read := func() circuitredis.Totals {
		got, err := circuitredis.ReadTotals(context.Background(), rs[0].client, circuitredis.DefaultPrefix, "dep", window)
		require.NoError(t, err)
		return got
	}
	require.Eventually(t, func() bool { return read() == want }, 5*time.Second, 5*time.Millisecond, "every count arrives: want %+v", want)
	rounds := make([]uint64, n)
	for i, r := range rs {
		rounds[i] = r.coord.Rounds()
	}
	require.Eventually(t, func() bool {
		for i, r := range rs {
			if r.coord.Rounds() < rounds[i]+3 {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, want, read(), "three more flush intervals on every replica add nothing")
}

// Sixteen replicas at one call a second each, half of them failing: none
// sees enough calls to judge on its own (see the next test), but the
// fleet does, and trips within seconds.
func TestSharedWindowTripsSlowFleet(t *testing.T) {
	srv := startRedis(t)
	const n = 16
	rs := newFleet(t, srv, fleetSpec{n: n,
		breaker: fleetTestConfig(),
		coord:   []circuitredis.Option{circuitredis.WithSharedWindow(10 * time.Second), circuitredis.WithFlushInterval(100 * time.Millisecond)},
	})
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := time.NewTimer(time.Duration(i) * time.Second / n) // spread over the second
			defer first.Stop()
			select {
			case <-first.C:
			case <-stop:
				return
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for k := 0; ; k++ {
				if (k+i)%2 == 0 {
					_ = r.fail()
				} else {
					_ = r.ok()
				}
				select {
				case <-tick.C:
				case <-stop:
					return
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	waitState(t, circuit.Open, 10*time.Second, rs...)
	t.Logf("16 replicas at 1 call/s, 50%% failing: the fleet tripped %v after the first call", time.Since(start).Round(time.Millisecond))
	for _, r := range rs {
		for _, tr := range r.transitions() {
			require.Equal(t, circuit.ReasonFleet, tr.Reason, "%s: no replica trips on its own", r.id)
		}
	}
	p, err := rs[0].client.Get(context.Background(), circuitredis.KeysFor(circuitredis.DefaultPrefix, "dep").State()).Result()
	require.NoError(t, err)
	assert.Contains(t, p, `"reason":"shared-window"`)
}

// fleetTestConfig judges 20 outcomes over 10s: one replica at a call a
// second never holds 20, whatever their outcomes (and alternating
// outcomes never make five failures in a row).
func fleetTestConfig() []circuit.Option {
	return []circuit.Option{
		circuit.WithWindowSize(0), circuit.WithWindowDuration(10 * time.Second), circuit.WithMinRequests(20),
		circuit.WithErrorRateThreshold(0.5), circuit.WithLatencyThreshold(0), circuit.WithOpenTimeout(time.Minute),
	}
}

// The control for the test above: one replica alone, with the same
// Config and traffic, for ten minutes (on a mock clock), never trips.
func TestAloneAReplicaNeverTrips(t *testing.T) {
	mock := clock.NewMock()
	b, err := circuit.New[int](append(fleetTestConfig(), circuit.WithName("dep"), circuit.WithClock(mock))...)
	require.NoError(t, err)
	for k := range 600 {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
			if k%2 == 0 {
				return 0, errDown
			}
			return 1, nil
		})
		mock.Add(time.Second)
	}
	m := b.Metrics()
	assert.Equal(t, circuit.Closed, m.State)
	assert.Zero(t, m.Transitions)
	assert.Equal(t, uint64(300), m.Failures)
}

// MinReplicas: one replica's failures, however many, do not trip the
// fleet through the window; a second failing replica does.
func TestMinReplicasGuardsAgainstOneBadReplica(t *testing.T) {
	srv := startRedis(t)
	opts := []circuitredis.Option{circuitredis.WithSharedWindow(time.Minute), circuitredis.WithFlushInterval(20 * time.Millisecond)}
	local := []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0.5), circuit.WithMinRequests(10)}
	bad := newReplica(t, srv, 2, fleetSpec{ // r2: replicas are told apart by ID
		// It judges nothing by error rate itself, so the window is the
		// only way its failures could open anything.
		breaker: []circuit.Option{circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0)},
		coord:   opts,
	})
	good := newFleet(t, srv, fleetSpec{n: 2, breaker: local, coord: opts})
	waitUp(t, bad)
	read := func() circuitredis.Totals {
		got, err := circuitredis.ReadTotals(context.Background(), bad.client, circuitredis.DefaultPrefix, "dep", time.Minute)
		require.NoError(t, err)
		return got
	}
	for range 40 {
		require.ErrorIs(t, bad.fail(), errDown)
	}
	require.Eventually(t, func() bool { return read().Failures == 40 }, 5*time.Second, 5*time.Millisecond)
	for _, r := range good {
		for range 5 {
			require.NoError(t, r.ok())
		}
	}
	require.Eventually(t, func() bool { return read().Successes == 10 }, 5*time.Second, 5*time.Millisecond)
	rounds := good[0].coord.Rounds()
	require.Eventually(t, func() bool { return good[0].coord.Rounds() >= rounds+3 }, 5*time.Second, 5*time.Millisecond)
	got := read()
	assert.Equal(t, circuitredis.Totals{Successes: 10, Failures: 40, Replicas: 3, Failing: 1}, got)
	for _, r := range append(good, bad) {
		assert.Equal(t, circuit.Closed, r.b.State(), "80%% errors from one replica open nothing")
	}

	require.ErrorIs(t, good[0].fail(), errDown)
	waitState(t, circuit.Open, 5*time.Second, append(good, bad)...)
	assert.Equal(t, circuit.ReasonFleet, bad.last().Reason)
}
