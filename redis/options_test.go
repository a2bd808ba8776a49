package circuitredis_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unreachable returns a client of a server that does not exist.
func unreachable(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: "/nonexistent/redis.sock", MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestNewRejectsBadOptions(t *testing.T) {
	quiet := circuitredis.WithLogger(slog.New(slog.DiscardHandler))
	cases := []struct {
		name   string
		client redis.UniversalClient
		opts   []circuitredis.Option
		fields []string
	}{
		{"nil client", nil, nil, []string{"client"}},
		{"typed nil client", (*redis.Client)(nil), nil, []string{"client"}},
		{"empty prefix", unreachable(t), []circuitredis.Option{circuitredis.WithPrefix("")}, []string{"Prefix"}},
		{"brace in prefix", unreachable(t), []circuitredis.Option{circuitredis.WithPrefix("a{b")}, []string{"Prefix"}},
		{"space in prefix", unreachable(t), []circuitredis.Option{circuitredis.WithPrefix("a b")}, []string{"Prefix"}},
		{"bad replica ID", unreachable(t), []circuitredis.Option{circuitredis.WithReplicaID("\xff")}, []string{"ReplicaID"}},
		{"short window", unreachable(t), []circuitredis.Option{circuitredis.WithSharedWindow(50 * time.Millisecond)}, []string{"SharedWindow"}},
		{"window under two flushes", unreachable(t), []circuitredis.Option{circuitredis.WithSharedWindow(time.Second), circuitredis.WithFlushInterval(600 * time.Millisecond)}, []string{"SharedWindow"}},
		{"flush interval", unreachable(t), []circuitredis.Option{circuitredis.WithFlushInterval(time.Millisecond)}, []string{"FlushInterval"}},
		{"min replicas", unreachable(t), []circuitredis.Option{circuitredis.WithMinReplicas(0)}, []string{"MinReplicas"}},
		{"nil logger", unreachable(t), []circuitredis.Option{circuitredis.WithLogger(nil)}, []string{"Logger"}},
		{"op timeout", unreachable(t), []circuitredis.Option{circuitredis.WithOpTimeout(0)}, []string{"OpTimeout"}},
		{"nil clock", unreachable(t), []circuitredis.Option{circuitredis.WithClock(nil)}, []string{"Clock"}},
		{"local trips kept local without a window", unreachable(t), []circuitredis.Option{circuitredis.WithPropagateLocalTrips(false)}, []string{"PropagateLocalTrips"}},
		{"several", nil, []circuitredis.Option{circuitredis.WithMinReplicas(-1), circuitredis.WithOpTimeout(-1)}, []string{"client", "MinReplicas", "OpTimeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := circuitredis.New(tc.client, append([]circuitredis.Option{quiet}, tc.opts...)...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, circuit.ErrInvalidConfig)
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ce *circuit.ConfigError
				require.True(t, errors.As(e, &ce))
				assert.Equal(t, "circuitredis", ce.Pkg)
				assert.Contains(t, e.Error(), "circuitredis: invalid config: "+ce.Field)
				got = append(got, ce.Field)
			}
			assert.Equal(t, tc.fields, got)
		})
	}
}

func TestAttachRejectsBadBreakers(t *testing.T) {
	c, err := circuitredis.New(unreachable(t), circuitredis.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	assert.Regexp(t, `^r-[0-9a-f]{12}$`, c.ReplicaID())

	_, err = c.Attach(nil)
	assert.ErrorContains(t, err, "circuitredis: Attach of a nil breaker")
	_, err = c.Attach((*circuit.Breaker[int])(nil))
	assert.ErrorContains(t, err, "nil breaker")

	unnamed, err := circuit.New[int]()
	require.NoError(t, err)
	_, err = c.Attach(unnamed)
	assert.ErrorContains(t, err, "without a name")

	a, err := circuit.New[int](circuit.WithName("x"))
	require.NoError(t, err)
	b, err := circuit.New[string](circuit.WithName("x"))
	require.NoError(t, err)
	detach, err := c.Attach(a)
	require.NoError(t, err)
	_, err = c.Attach(b)
	assert.ErrorContains(t, err, `a breaker named "x" is attached already`)
	detach()
	detach()
	detach, err = c.Attach(b)
	require.NoError(t, err, "a detached name is free again")
	defer detach()

	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Attach(a)
	assert.ErrorIs(t, err, circuitredis.ErrClosed)
	assert.False(t, c.Up())
}

// Unreachable, the coordinator reports it; the breaker works alone.
func TestUnreachableRedisLeavesBreakerAlone(t *testing.T) {
	c, err := circuitredis.New(unreachable(t), circuitredis.WithLogger(slog.New(slog.DiscardHandler)), circuitredis.WithOpTimeout(50*time.Millisecond))
	require.NoError(t, err)
	defer c.Close()
	b, err := circuit.New[int](circuit.WithName("alone"), circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Millisecond), circuit.WithSuccessThreshold(1))
	require.NoError(t, err)
	detach, err := c.Attach(b)
	require.NoError(t, err)
	defer detach()

	require.Eventually(t, func() bool { h := c.Health(); return h.Outages == 1 && h.LastError != "" }, 5*time.Second, time.Millisecond)
	assert.False(t, c.Health().Up)
	b.Trip(circuit.ReasonManual)
	require.Eventually(t, func() bool { return b.State() == circuit.HalfOpen }, 5*time.Second, time.Millisecond)
	_, err = b.Execute(t.Context(), func(ctx context.Context) (int, error) { return 1, nil })
	require.NoError(t, err, "with Redis down the probe gate lets the breaker probe alone")
	assert.Equal(t, circuit.Closed, b.State())
}
