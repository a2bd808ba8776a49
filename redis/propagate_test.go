package circuitredis_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One replica trips; the other 15 open with ReasonFleet, for the time its
// open period has left. The delay from the trip to each Open is measured
// over rounds whose tripping replica rotates, and printed (go test -v).
func TestPropagationAcrossSixteenReplicas(t *testing.T) {
	srv := startRedis(t)
	const n, rounds = 16, 40
	rs := newFleet(t, srv, fleetSpec{n: n, breaker: []circuit.Option{circuit.WithOpenTimeout(30 * time.Second)}})

	type opened struct {
		i  int
		at time.Time
		tr circuit.Transition
	}
	var mu sync.Mutex // guards ch
	var ch chan opened
	for i, r := range rs {
		r.b.Subscribe(func(tr circuit.Transition) {
			if tr.To == circuit.Open && tr.Reason == circuit.ReasonFleet {
				at := time.Now()
				mu.Lock()
				c := ch
				mu.Unlock()
				if c != nil {
					c <- opened{i, at, tr}
				}
			}
		})
	}

	var delays []time.Duration
	for round := range rounds {
		src := rs[round%n]
		c := make(chan opened, n)
		mu.Lock()
		ch = c
		mu.Unlock()
		start := time.Now()
		require.True(t, src.b.Trip(circuit.ReasonManual))
		deadline := time.After(5 * time.Second)
		seen := map[int]bool{}
		for len(seen) < n-1 {
			select {
			case o := <-c:
				require.NotEqual(t, round%n, o.i, "the tripping replica hears no echo of its own trip")
				require.False(t, seen[o.i], "replica %d opened twice", o.i)
				seen[o.i] = true
				delays = append(delays, o.at.Sub(start))
				left := o.tr.RetryAt.Sub(o.tr.At)
				assert.InDelta(t, float64(30*time.Second), float64(left), float64(time.Second),
					"replica %d opens for what the trip had left", o.i)
			case <-deadline:
				t.Fatalf("round %d: %d of %d replicas opened within 5s", round, len(seen), n-1)
			}
		}
		mu.Lock()
		ch = nil
		mu.Unlock()
		for _, r := range rs {
			r.b.Reset() // a local Reset is not announced
		}
	}
	p50, p99 := percentile(delays, 0.50), percentile(delays, 0.99)
	t.Logf("propagation from a trip to Open on %d other replicas, %d samples: p50 %v, p99 %v, max %v",
		n-1, len(delays), p50, p99, percentile(delays, 1))
	// The target is a p99 under 20ms on loopback (docs/fleet.md quotes a
	// run without -race). Under -race on two shared cores the bound is
	// looser, but still far below anything that waits for a timeout.
	assert.Less(t, p99, 200*time.Millisecond)

	// The announcement is in Redis, versioned, with the period as its TTL.
	// The last round's is gone first: announced under a millisecond
	// earlier, it would tie with this one, and a tie keeps the key.
	k := circuitredis.KeysFor(circuitredis.DefaultPrefix, "dep")
	require.NoError(t, rs[0].client.Del(context.Background(), k.State()).Err())
	require.True(t, rs[3].b.Trip(circuit.ReasonManual))
	var p map[string]any
	require.Eventually(t, func() bool {
		s, err := rs[0].client.Get(context.Background(), k.State()).Result()
		return err == nil && json.Unmarshal([]byte(s), &p) == nil && p["replica"] == "r3"
	}, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 1, p["v"])
	assert.Equal(t, "open", p["kind"])
	assert.Equal(t, "dep", p["name"])
	assert.Equal(t, "manual", p["reason"])
	assert.InDelta(t, 30000, p["open_ms"], 1000)
	ttl, err := rs[0].client.PTTL(context.Background(), k.State()).Result()
	require.NoError(t, err)
	assert.InDelta(t, float64(30*time.Second), float64(ttl), float64(2*time.Second))
}

// A replica that starts while the fleet is open reads the open period in
// force, and opens for what it has left.
func TestLateReplicaReadsState(t *testing.T) {
	srv := startRedis(t)
	spec := fleetSpec{n: 1, breaker: []circuit.Option{circuit.WithOpenTimeout(20 * time.Second)}}
	rs := newFleet(t, srv, spec)
	require.True(t, rs[0].b.Trip(circuit.ReasonConsecutiveFailures))
	k := circuitredis.KeysFor(circuitredis.DefaultPrefix, "dep")
	require.Eventually(t, func() bool {
		return rs[0].client.Exists(context.Background(), k.State()).Val() == 1
	}, 5*time.Second, time.Millisecond)

	late := newReplica(t, srv, 1, spec)
	waitState(t, circuit.Open, 5*time.Second, late)
	tr := late.last()
	assert.Equal(t, circuit.ReasonFleet, tr.Reason)
	assert.InDelta(t, float64(20*time.Second), float64(tr.RetryAt.Sub(tr.At)), float64(time.Second))

	// The first replica does not reopen itself from its own announcement
	// when it reconnects: it knows its own state.
	rs[0].b.Reset()
	_ = rs[0].client.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err()
	require.Eventually(t, func() bool { return rs[0].coord.Health().Outages >= 1 && rs[0].coord.Up() }, 5*time.Second, time.Millisecond)
	assert.Equal(t, circuit.Closed, rs[0].b.State())
}

// Replicas' clocks need not agree: the open period travels as a
// duration. A replica an hour ahead trips; one an hour behind opens for
// the same time from its own now, and so does one with the right time.
func TestClockSkew(t *testing.T) {
	srv := startRedis(t)
	offsets := []time.Duration{time.Hour, -time.Hour, 0}
	rs := newFleet(t, srv, fleetSpec{n: 3,
		breaker: []circuit.Option{circuit.WithOpenTimeout(2 * time.Second)},
		clock:   func(i int) circuit.Clock { return offsetClock{offsets[i]} },
	})
	for _, src := range []int{0, 1} {
		require.True(t, rs[src].b.Trip(circuit.ReasonManual))
		for i, r := range rs {
			if i == src {
				continue
			}
			waitState(t, circuit.Open, 5*time.Second, r)
			tr := r.last()
			require.Equal(t, circuit.ReasonFleet, tr.Reason)
			left := tr.RetryAt.Sub(r.now())
			assert.Greater(t, left, time.Second, "replica %d (clock %v) opens for the trip's remaining time", i, offsets[i])
			assert.LessOrEqual(t, left, 2*time.Second)
		}
		for _, r := range rs {
			r.b.Reset()
		}
	}
}
