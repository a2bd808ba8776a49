package circuitredis_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// work stands for the dependency's own latency inside a call.
func work(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}

// Half-open, the whole fleet runs at most HalfOpenMaxProbes probes at
// once: a replica probes only under the lease. Eight replicas, two
// callers each, hammer a half-open fleet; the probes are counted in the
// call itself. The dependency fails the first round of probes (the fleet
// reopens) and passes the next (the fleet closes).
func TestOneProbeRoundForTheFleet(t *testing.T) {
	for _, probes := range []int{1, 2} {
		t.Run(map[int]string{1: "one probe", 2: "two probes"}[probes], func(t *testing.T) {
			srv := startRedis(t)
			const n = 8
			rs := newFleet(t, srv, fleetSpec{n: n, breaker: []circuit.Option{
				circuit.WithOpenTimeout(150 * time.Millisecond),
				circuit.WithProbeTimeout(2 * time.Second),
				circuit.WithHalfOpenMaxProbes(probes),
				circuit.WithSuccessThreshold(3),
			}})

			var (
				healthy  atomic.Bool  // the dependency answers
				inFlight atomic.Int64 // probes running, fleet-wide
				most     atomic.Int64 // the most at once
				ran      atomic.Int64 // probes run
			)
			call := func(r *replica) {
				_, _ = r.b.Execute(context.Background(), func(context.Context) (int, error) {
					if r.b.State() != circuit.HalfOpen {
						return 1, nil // admitted closed: not a probe
					}
					ran.Add(1)
					now := inFlight.Add(1)
					for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
					}
					work(3 * time.Millisecond)
					inFlight.Add(-1)
					if !healthy.Load() {
						return 0, errDown
					}
					return 1, nil
				})
			}

			require.True(t, rs[0].b.Trip(circuit.ReasonManual))
			waitState(t, circuit.Open, 5*time.Second, rs...)

			stop := make(chan struct{})
			var wg sync.WaitGroup
			for _, r := range rs {
				for range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						tick := time.NewTicker(time.Millisecond)
						defer tick.Stop()
						for {
							select {
							case <-stop:
								return
							case <-tick.C:
								call(r)
							}
						}
					}()
				}
			}
			defer func() { close(stop); wg.Wait() }()

			// The first round of probes fails: the holder reopens, and the
			// others open after it, with ReasonFleet.
			require.Eventually(t, func() bool {
				for _, r := range rs {
					for _, tr := range r.transitions() {
						if tr.From == circuit.HalfOpen && tr.To == circuit.Open {
							return true
						}
					}
				}
				return false
			}, 5*time.Second, time.Millisecond, "a probe failed")
			healthy.Store(true)
			waitState(t, circuit.Closed, 10*time.Second, rs...)

			assert.LessOrEqual(t, most.Load(), int64(probes), "probes at once, fleet-wide")
			assert.GreaterOrEqual(t, ran.Load(), int64(4), "one failed probe and three good ones at least")
			closers, fleetClosed := 0, 0
			for _, r := range rs {
				for _, tr := range r.transitions() {
					switch {
					case tr.To == circuit.Closed && tr.Reason == circuit.ReasonProbesSucceeded:
						closers++
					case tr.To == circuit.Closed && tr.Reason == circuit.ReasonFleet:
						fleetClosed++
					}
				}
			}
			assert.Equal(t, 1, closers, "one replica's probes closed the fleet")
			assert.Equal(t, n-1, fleetClosed, "the others closed on its word")
			t.Logf("%d probes ran; at most %d at once", ran.Load(), most.Load())
		})
	}
}

// probeOnce calls r until a probe runs, which then blocks until release is
// closed, and returns when the probe started.
func probeOnce(t *testing.T, r *replica, release <-chan struct{}, wg *sync.WaitGroup) time.Time {
	t.Helper()
	started := make(chan time.Time, 1)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		wg.Add(1)
		admitted := make(chan bool, 1)
		go func() {
			defer wg.Done()
			_, err := r.b.Execute(context.Background(), func(context.Context) (int, error) {
				admitted <- true
				started <- time.Now()
				<-release
				return 1, nil
			})
			if err != nil {
				admitted <- false
			}
		}()
		if <-admitted {
			return <-started
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s never probed", r.id)
		}
	}
}

// A replica that dies holding the lease costs the fleet at most one probe
// deadline: another replica probes once the lease expires, not before.
func TestLeaseHolderDies(t *testing.T) {
	srv := startRedis(t)
	const pt = time.Second
	rs := newFleet(t, srv, fleetSpec{n: 2, breaker: []circuit.Option{
		circuit.WithOpenTimeout(50 * time.Millisecond),
		circuit.WithProbeTimeout(pt),
	}})
	a, b := rs[0], rs[1]
	require.True(t, a.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.HalfOpen, 5*time.Second, a, b)

	release := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(release); wg.Wait() }()
	aProbed := probeOnce(t, a, release, &wg)

	// a dies: its connection goes, and nothing releases the lease.
	require.NoError(t, a.client.Close())
	require.NoError(t, a.coord.Close())

	bProbed := probeOnce(t, b, release, &wg)
	waited := bProbed.Sub(aProbed)
	t.Logf("the next probe ran %v after the dead holder's", waited)
	assert.GreaterOrEqual(t, waited, pt-100*time.Millisecond, "no probe while the lease lives")
	assert.Less(t, waited, pt+time.Second, "a probe soon after it expires")
}

// A replica that leaves gracefully (detach, or Close) releases its lease:
// the next replica probes at once.
func TestDetachReleasesLease(t *testing.T) {
	srv := startRedis(t)
	const pt = 5 * time.Second
	rs := newFleet(t, srv, fleetSpec{n: 2, breaker: []circuit.Option{
		circuit.WithOpenTimeout(50 * time.Millisecond),
		circuit.WithProbeTimeout(pt),
	}})
	a, b := rs[0], rs[1]
	require.True(t, a.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.HalfOpen, 5*time.Second, a, b)

	release := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(release); wg.Wait() }()
	aProbed := probeOnce(t, a, release, &wg)
	_, err := b.b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	require.ErrorIs(t, err, circuit.ErrOpen, "b may not probe while a holds the lease")
	a.detach()
	bProbed := probeOnce(t, b, release, &wg)
	assert.Less(t, bProbed.Sub(aProbed), pt/2)
}

// A replica whose calls come more than half a ProbeTimeout apart (but
// less than one) still probes: its lease is kept while its calls ask for
// it. The first call takes the lease and is turned away; the next
// SuccessThreshold calls probe, and the fleet closes. (Before the lease
// was kept, each turned-away call only extended it, and such a replica
// held the lease and never probed.)
func TestSparseHolderProbes(t *testing.T) {
	srv := startRedis(t)
	const pt, gap = 500 * time.Millisecond, 300 * time.Millisecond
	rs := newFleet(t, srv, fleetSpec{n: 2, breaker: []circuit.Option{
		circuit.WithOpenTimeout(50 * time.Millisecond),
		circuit.WithProbeTimeout(pt),
		circuit.WithSuccessThreshold(2),
	}})
	a := rs[0]
	require.True(t, a.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.HalfOpen, 5*time.Second, rs...)

	start := time.Now()
	calls, rejected := 0, 0
	for a.b.State() != circuit.Closed {
		require.Less(t, calls, 8, "closed within a few calls")
		if calls > 0 {
			work(gap) // the traffic's pace, at least gap between calls
		}
		calls++
		if errors.Is(a.ok(), circuit.ErrOpen) {
			rejected++
		}
	}
	waitState(t, circuit.Closed, 5*time.Second, rs...)
	t.Logf("one call every %v, ProbeTimeout %v: closed after %d calls (%d turned away), %v", gap, pt, calls, rejected, time.Since(start).Round(time.Millisecond))
	assert.Equal(t, 1, rejected, "only the call that took the lease")
	assert.Equal(t, 3, calls)
}

// A replica that took the lease and then gets no more calls gives it
// back one ProbeTimeout after its last call: the next replica probes
// then, not before (the lease is the holder's for that long) and not a
// renewal later.
func TestIdleHolderGivesLeaseBack(t *testing.T) {
	srv := startRedis(t)
	const pt = time.Second
	rs := newFleet(t, srv, fleetSpec{n: 2, breaker: []circuit.Option{
		circuit.WithOpenTimeout(50 * time.Millisecond),
		circuit.WithProbeTimeout(pt),
	}})
	a, b := rs[0], rs[1]
	require.True(t, a.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.HalfOpen, 5*time.Second, a, b)

	asked := time.Now()
	require.ErrorIs(t, a.ok(), circuit.ErrOpen, "the call that asks for the lease is turned away")
	lease := circuitredis.KeysFor(circuitredis.DefaultPrefix, "dep").Lease()
	require.Eventually(t, func() bool {
		tok, err := a.client.Get(context.Background(), lease).Result()
		return err == nil && strings.HasPrefix(tok, "r0/")
	}, 5*time.Second, time.Millisecond, "a holds the lease")

	release := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(release); wg.Wait() }()
	waited := probeOnce(t, b, release, &wg).Sub(asked)
	t.Logf("b probed %v after a's only call, with ProbeTimeout %v", waited, pt)
	assert.GreaterOrEqual(t, waited, pt-50*time.Millisecond, "a holds the lease for a ProbeTimeout after its call")
	assert.Less(t, waited, pt+pt/2, "and then gives it back")
}
