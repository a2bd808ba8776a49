package circuitredis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleetACL is the ACL rule docs/fleet.md gives for a coordinator under the
// prefix "circuit": its keys and channel, and the commands it and its
// scripts run.
const fleetACL = "on >fleet-secret resetkeys ~circuit:* resetchannels &circuit:* -@all " +
	"+hello +auth +ping +subscribe +evalsha +eval " +
	"+get +set +del +pexpire +pttl +publish +time +hincrby +hgetall +hdel +zadd +zremrangebyscore +zcard"

// A coordinator needs no more than the documented ACL: a fleet whose
// clients log in as a user with only that rule propagates a trip, runs
// the probe lease, and pools the shared window.
func TestRunsUnderDocumentedACL(t *testing.T) {
	srv := startRedis(t)
	admin := srv.client(t)
	ctx := context.Background()
	require.NoError(t, admin.Do(ctx, append([]any{"ACL", "SETUSER", "fleet"}, splitArgs(fleetACL)...)...).Err())

	rs := newFleet(t, srv, fleetSpec{n: 2, user: "fleet", pass: "fleet-secret",
		breaker: []circuit.Option{circuit.WithOpenTimeout(50 * time.Millisecond), circuit.WithSuccessThreshold(1)},
		coord:   []circuitredis.Option{circuitredis.WithSharedWindow(time.Second), circuitredis.WithFlushInterval(20 * time.Millisecond)},
	})
	a, b := rs[0], rs[1]
	require.NoError(t, a.ok())
	require.NoError(t, b.ok())
	require.Eventually(t, func() bool {
		got, err := circuitredis.ReadTotals(ctx, admin, circuitredis.DefaultPrefix, "dep", time.Second)
		return err == nil && got.Successes == 2
	}, 5*time.Second, time.Millisecond)
	require.True(t, a.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.Open, 5*time.Second, b)
	waitState(t, circuit.HalfOpen, 5*time.Second, a, b)
	require.Eventually(t, func() bool { _ = a.ok(); return a.b.State() == circuit.Closed }, 5*time.Second, time.Millisecond, "a probes under the lease")
	waitState(t, circuit.Closed, 5*time.Second, b)
	for _, r := range rs {
		h := r.coord.Health()
		assert.True(t, h.Up)
		assert.Empty(t, h.LastError, "%s: nothing refused", r.id)
		assert.Zero(t, r.logs.count("refused"), r.logs.String())
	}
}

func splitArgs(s string) []any {
	var out []any
	for _, f := range strings.Fields(s) {
		out = append(out, f)
	}
	return out
}

// A server that refuses the coordinator's scripts (here an ACL without
// SET) does not take the link down, and does not leave a half-open
// breaker rejecting every call for want of a lease: it probes alone. The
// refusal is logged once and shown in Health.
func TestRefusedLeaseProbesAlone(t *testing.T) {
	srv := startRedis(t)
	admin := srv.client(t)
	ctx := context.Background()
	rule := strings.Replace(fleetACL, " +set ", " ", 1)
	require.NotEqual(t, fleetACL, rule)
	require.NoError(t, admin.Do(ctx, append([]any{"ACL", "SETUSER", "fleet"}, splitArgs(rule)...)...).Err())

	rs := newFleet(t, srv, fleetSpec{n: 1, user: "fleet", pass: "fleet-secret",
		breaker: []circuit.Option{circuit.WithOpenTimeout(20 * time.Millisecond), circuit.WithProbeTimeout(time.Minute), circuit.WithSuccessThreshold(1)}})
	r := rs[0]
	require.True(t, r.b.Trip(circuit.ReasonManual))
	waitState(t, circuit.HalfOpen, 5*time.Second, r)
	require.Eventually(t, func() bool { _ = r.ok(); return r.b.State() == circuit.Closed }, 5*time.Second, time.Millisecond)
	h := r.coord.Health()
	assert.True(t, h.Up)
	assert.Zero(t, h.Outages)
	assert.Contains(t, h.LastError, "can't run this command")
	assert.Equal(t, 1, r.logs.count(`command="acquire lease"`), r.logs.String())
}
