package circuitredis_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// replica is one process of a fleet: its own client, coordinator and
// breaker.
type replica struct {
	id     string
	client *redis.Client
	coord  *circuitredis.Coordinator
	b      *circuit.Breaker[int]
	clock  circuit.Clock
	logs   *logBuffer
	detach func()

	mu    sync.Mutex // guards trans
	trans []circuit.Transition
}

// fleetSpec says how to build a fleet.
type fleetSpec struct {
	n       int
	name    string
	breaker []circuit.Option
	coord   []circuitredis.Option
	clock   func(i int) circuit.Clock // nil: the real clock
	user    string                    // with pass: the ACL user the clients log in as
	pass    string
}

// newFleet builds spec.n replicas on srv, each attached, and waits until
// every coordinator is up. Everything is closed at the end of the test.
func newFleet(t testing.TB, srv *redisServer, spec fleetSpec) []*replica {
	t.Helper()
	rs := make([]*replica, spec.n)
	for i := range rs {
		rs[i] = newReplica(t, srv, i, spec)
	}
	waitUp(t, rs...)
	return rs
}

func newReplica(t testing.TB, srv *redisServer, i int, spec fleetSpec) *replica {
	t.Helper()
	if spec.name == "" {
		spec.name = "dep"
	}
	r := &replica{id: fmt.Sprintf("r%d", i), client: srv.clientAs(t, spec.user, spec.pass), logs: &logBuffer{}}
	var clk circuit.Clock
	if spec.clock != nil {
		clk = spec.clock(i)
	}
	r.clock = clk
	bopts := append([]circuit.Option{circuit.WithName(spec.name)}, spec.breaker...)
	if clk != nil {
		bopts = append(bopts, circuit.WithClock(clk))
	}
	b, err := circuit.New[int](bopts...)
	require.NoError(t, err)
	r.b = b
	b.Subscribe(func(tr circuit.Transition) {
		r.mu.Lock()
		r.trans = append(r.trans, tr)
		r.mu.Unlock()
	})
	copts := []circuitredis.Option{
		circuitredis.WithReplicaID(r.id),
		circuitredis.WithLogger(slog.New(slog.NewTextHandler(r.logs, nil))),
		circuitredis.WithOpTimeout(200 * time.Millisecond),
		circuitredis.WithHeartbeat(200 * time.Millisecond),
	}
	if clk != nil {
		copts = append(copts, circuitredis.WithClock(clk))
	}
	c, err := circuitredis.New(r.client, append(copts, spec.coord...)...)
	require.NoError(t, err)
	r.coord = c
	t.Cleanup(func() { _ = c.Close() })
	r.detach, err = c.Attach(b)
	require.NoError(t, err)
	return r
}

// transitions returns what r's breaker has been through.
func (r *replica) transitions() []circuit.Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.trans)
}

// last returns r's last transition.
func (r *replica) last() circuit.Transition {
	tr := r.transitions()
	if len(tr) == 0 {
		return circuit.Transition{}
	}
	return tr[len(tr)-1]
}

// now reads r's clock.
func (r *replica) now() time.Time {
	if r.clock != nil {
		return r.clock.Now()
	}
	return time.Now()
}

// ok calls r's breaker with a call that succeeds.
func (r *replica) ok() error {
	_, err := r.b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	return err
}

// fail calls r's breaker with a call that fails.
func (r *replica) fail() error {
	_, err := r.b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	return err
}

var errDown = fmt.Errorf("dependency down")

// waitUp waits until every replica's coordinator reaches Redis.
func waitUp(t testing.TB, rs ...*replica) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, r := range rs {
			if !r.coord.Up() {
				return false
			}
		}
		return true
	}, 5*time.Second, 2*time.Millisecond, "coordinators up")
}

// waitState waits until every replica's breaker is in s.
func waitState(t testing.TB, s circuit.State, d time.Duration, rs ...*replica) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, r := range rs {
			if r.b.State() != s {
				return false
			}
		}
		return true
	}, d, time.Millisecond, "every breaker %v", s)
}

// logBuffer collects a coordinator's log lines.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many lines contain s.
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// offsetClock is the real clock shifted by a fixed offset: a replica whose
// clock is wrong.
type offsetClock struct{ off time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().Add(c.off) }

func (c offsetClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// percentile returns the nearest-rank p-th percentile of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
