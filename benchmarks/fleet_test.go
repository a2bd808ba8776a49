package benchmarks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
)

// The fleet benchmarks measure, against one redis-server started for the
// run (redis_test.go), what a call costs when breakers share state across
// replicas, and how fast a trip reaches the other replicas:
//
//   - BenchmarkFleetCall and BenchmarkFleetCallParallel: a successful
//     call through a plain circuit breaker (lib=circuit, no Redis), one
//     attached to a circuitredis.Coordinator with the shared window on
//     (lib=circuit-fleet), and sony/gobreaker v2's DistributedCircuitBreaker
//     on a go-redis store (lib=gobreaker-distributed, store in
//     gobreaker_store_test.go). Besides ns/op and allocations each reports
//     redis-cmds/op: the commands its client sent while the benchmark ran,
//     over b.N. The coordinator sends none on a call; its flushes are
//     time based (one script per flush interval with new outcomes), so its
//     figure is that count over however many calls fit in the run.
//   - BenchmarkFleetPropagation: 16 replicas in one process, each with its
//     own client, coordinator and breaker; one trips, and the delay to Open
//     on each of the 15 others is taken from their Subscribe hooks. One
//     op is one round (trip to the last Open); p50-ms and p99-ms are over
//     all rounds' samples.
//
// Run them with `go test -run '^$' -bench BenchmarkFleet -benchmem -count 8
// -cpu 1,2 .`, or through run.sh, which prints the benchstat tables.

var fleetSeq atomic.Int64

// fleetName returns a breaker name not used before in this run, so that no
// benchmark sees another's state in Redis.
func fleetName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, fleetSeq.Add(1)) }

var quiet = circuitredis.WithLogger(slog.New(slog.DiscardHandler))

// fleetSubject is one library's breaker for the fleet benchmark.
type fleetSubject struct {
	call func() (int, error)
	// after checks the breaker once the calls are done: still closed, and
	// for the coordinator, still connected (else it measured a lone breaker).
	after func() error
	cmds  *cmdCounter // nil for a breaker without Redis
}

type fleetLib struct {
	name  string
	build func(tb testing.TB, srv *redisServer) fleetSubject
}

var fleetLibs = []fleetLib{
	{name: "circuit", build: buildFleetPlain},
	{name: "circuit-fleet", build: buildFleetCircuit},
	{name: "gobreaker-distributed", build: buildFleetGobreaker},
}

// circuit: the defaults, as lib=circuit in compare_test.go; no Redis.
func buildFleetPlain(tb testing.TB, _ *redisServer) fleetSubject {
	br := newCircuit(tb, tripping)
	ctx := context.Background()
	return fleetSubject{
		call:  func() (int, error) { return br.Execute(ctx, okCtx) },
		after: func() error { return wantState(br.State(), circuit.Closed) },
	}
}

// circuit-fleet: the same breaker attached to a coordinator with a shared
// window of 10s and the default flush interval (250ms), so that every call
// is observed and counted for the fleet.
func buildFleetCircuit(tb testing.TB, srv *redisServer) fleetSubject {
	client, n := srv.client(tb)
	coord := newCoordinator(tb, client, circuitredis.WithReplicaID("bench"), circuitredis.WithSharedWindow(10*time.Second))
	br := newCircuit(tb, tripping, circuit.WithName(fleetName("fleet")))
	detach, err := coord.Attach(br)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(detach)
	ctx := context.Background()
	return fleetSubject{
		call: func() (int, error) { return br.Execute(ctx, okCtx) },
		after: func() error {
			if h := coord.Health(); !h.Up || h.Outages != 0 {
				return fmt.Errorf("the coordinator lost Redis during the run: %+v", h)
			}
			return wantState(br.State(), circuit.Closed)
		},
		cmds: n,
	}
}

// gobreaker-distributed: gobreaker's DistributedCircuitBreaker with the
// settings of lib=gobreaker in compare_test.go. Each Execute reads the
// shared state (GET), takes the store's lock (SET NX PX), runs the call,
// writes the state back (SET) and unlocks (EVALSHA): four round trips.
func buildFleetGobreaker(tb testing.TB, srv *redisServer) fleetSubject {
	client, n := srv.client(tb)
	dcb, err := gobreaker.NewDistributedCircuitBreaker[int](newRedisStore(client), gobreakerSettings(fleetName("gobreaker"), tripping))
	if err != nil {
		tb.Fatal(err)
	}
	return fleetSubject{
		call: func() (int, error) { return dcb.Execute(okPlain) },
		after: func() error {
			st, err := dcb.State()
			if err != nil {
				return err
			}
			if st != gobreaker.StateClosed {
				return fmt.Errorf("gobreaker state %v after the run, want closed", st)
			}
			return nil
		},
		cmds: n,
	}
}

func wantState(got, want circuit.State) error {
	if got != want {
		return fmt.Errorf("breaker %v after the run, want %v", got, want)
	}
	return nil
}

// newCoordinator returns a coordinator over client, closed at the end of
// tb, once it has reached Redis.
func newCoordinator(tb testing.TB, client redis.UniversalClient, opts ...circuitredis.Option) *circuitredis.Coordinator {
	tb.Helper()
	c, err := circuitredis.New(client, append([]circuitredis.Option{quiet}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	waitFor(tb, 5*time.Second, "the coordinator to reach Redis", c.Up)
	return c
}

// waitFor polls cond every millisecond until it holds, failing tb after d.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s", d, what)
		}
		<-tick.C
	}
}

func BenchmarkFleetCall(b *testing.B)         { fleetCompare(b, false) }
func BenchmarkFleetCallParallel(b *testing.B) { fleetCompare(b, true) }

// fleetCompare runs successful calls through each fleet library; parallel
// runs them on GOMAXPROCS goroutines sharing one breaker.
func fleetCompare(b *testing.B, parallel bool) {
	srv := needRedis(b)
	for _, lib := range fleetLibs {
		b.Run("lib="+lib.name, func(b *testing.B) {
			s := lib.build(b, srv)
			check := func(i int) error {
				if v, err := s.call(); v != 42 || err != nil {
					return fmt.Errorf("call %d: unexpected result %d, %v", i, v, err)
				}
				return nil
			}
			var before int64
			if s.cmds != nil {
				before = s.cmds.load()
			}
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						if err := check(i); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for i := range b.N {
					if err := check(i); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			var cmds int64
			if s.cmds != nil {
				cmds = s.cmds.load() - before
			}
			b.ReportMetric(float64(cmds)/float64(b.N), "redis-cmds/op")
			if err := s.after(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// propFleet is n replicas of one breaker, each with its own client and
// coordinator, as n processes would have.
type propFleet struct {
	tb     testing.TB
	coords []*circuitredis.Coordinator
	brs    []*circuit.Breaker[int]

	mu     sync.Mutex  // guards ch and strays
	ch     chan opened // where the hooks report fleet opens; nil between rounds
	strays int         // fleet opens heard between rounds, or past a full ch
}

// opened is replica i's breaker opening by ReasonFleet, at.
type opened struct {
	i  int
	at time.Time
}

func newPropFleet(tb testing.TB, srv *redisServer, n int) *propFleet {
	tb.Helper()
	f := &propFleet{tb: tb}
	name := fleetName("prop")
	newBreaker := func() *circuit.Breaker[int] {
		// A long open period: no breaker turns half-open during a round.
		br, err := circuit.New[int](circuit.WithName(name), circuit.WithOpenTimeout(30*time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		return br
	}
	attach := func(id string, br *circuit.Breaker[int]) (*circuitredis.Coordinator, func()) {
		client, _ := srv.client(tb)
		coord := newCoordinator(tb, client, circuitredis.WithReplicaID(id))
		detach, err := coord.Attach(br)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(detach)
		return coord, detach
	}

	// Attach reads the fleet's state in the background, and a read that
	// lands after a round's Reset would open a replica outside any round.
	// So the fleet starts open: replica 0 trips while a witness listens;
	// once the witness has opened, the open period is in Redis, and every
	// replica attached after that opens by its own read, and only by it
	// (nobody else announces anything meanwhile). When all are open, all
	// reads are done.
	f.brs = append(f.brs, newBreaker())
	coord, _ := attach("r0", f.brs[0])
	f.coords = append(f.coords, coord)
	witness := newBreaker()
	_, detachWitness := attach("witness", witness)
	if !f.brs[0].Trip(circuit.ReasonManual) {
		tb.Fatal("replica 0 did not trip")
	}
	waitFor(tb, 5*time.Second, "the witness to open", func() bool { return witness.State() == circuit.Open })
	detachWitness()
	for i := 1; i < n; i++ {
		f.brs = append(f.brs, newBreaker())
		coord, _ := attach(fmt.Sprintf("r%d", i), f.brs[i])
		f.coords = append(f.coords, coord)
	}
	waitFor(tb, 5*time.Second, "every replica to read the open period", func() bool {
		for _, br := range f.brs {
			if br.State() != circuit.Open {
				return false
			}
		}
		return true
	})
	if err := f.reset(); err != nil {
		tb.Fatal(err)
	}

	for i, br := range f.brs {
		br.Subscribe(func(tr circuit.Transition) {
			if tr.To != circuit.Open || tr.Reason != circuit.ReasonFleet {
				return
			}
			at := time.Now()
			f.mu.Lock()
			defer f.mu.Unlock()
			select {
			case f.ch <- opened{i, at}: // a nil ch (between rounds) is never ready
			default:
				f.strays++
			}
		})
	}
	return f
}

// round trips replica src and returns, for each other replica, the time
// from the trip to its Open.
func (f *propFleet) round(src int) ([]time.Duration, error) {
	n := len(f.brs)
	ch := make(chan opened, n)
	f.mu.Lock()
	f.ch = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.ch = nil
		f.mu.Unlock()
	}()
	start := time.Now()
	if !f.brs[src].Trip(circuit.ReasonManual) {
		return nil, fmt.Errorf("replica %d did not trip: %v", src, f.brs[src].State())
	}
	delays := make([]time.Duration, 0, n-1)
	seen := make([]bool, n)
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for len(delays) < n-1 {
		select {
		case o := <-ch:
			if o.i == src || seen[o.i] {
				return nil, fmt.Errorf("replica %d opened by the fleet twice, or by its own trip", o.i)
			}
			seen[o.i] = true
			delays = append(delays, o.at.Sub(start))
		case <-timeout.C:
			var missing []string
			for i, br := range f.brs {
				if i != src && !seen[i] {
					missing = append(missing, fmt.Sprintf("r%d (%v)", i, br.State()))
				}
			}
			return nil, fmt.Errorf("%d of %d replicas opened within 5s of replica %d's trip; not: %v", len(delays), n-1, src, missing)
		}
	}
	return delays, nil
}

// reset closes every replica's breaker (a Reset is not announced) and
// waits until all are closed, and checks that no coordinator lost Redis and
// no fleet open came outside a round: either would spoil the samples.
func (f *propFleet) reset() error {
	for _, br := range f.brs {
		br.Reset()
	}
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for _, br := range f.brs {
		for br.State() != circuit.Closed {
			if time.Now().After(deadline) {
				return errors.New("the replicas did not all close within 5s of Reset")
			}
			<-tick.C
		}
	}
	for i, c := range f.coords {
		if h := c.Health(); !h.Up || h.Outages != 0 {
			return fmt.Errorf("replica %d lost Redis: %+v", i, h)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.strays != 0 {
		return fmt.Errorf("%d fleet opens outside a round", f.strays)
	}
	return nil
}

// BenchmarkFleetPropagation trips one of 16 replicas per op, rotating, and
// waits for the other 15 to open. ns/op is the time from a trip to the
// last Open; p50-ms and p99-ms are the nearest-rank percentiles of every
// replica's delay over all rounds (15 samples per op).
func BenchmarkFleetPropagation(b *testing.B) {
	srv := needRedis(b)
	const n = 16
	b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
		f := newPropFleet(b, srv, n)
		samples := make([]time.Duration, 0, b.N*(n-1))
		b.ResetTimer()
		for i := range b.N {
			d, err := f.round(i % n)
			if err != nil {
				b.Fatalf("round %d: %v", i, err)
			}
			b.StopTimer()
			samples = append(samples, d...)
			if err := f.reset(); err != nil {
				b.Fatalf("round %d: %v", i, err)
			}
			b.StartTimer()
		}
		b.StopTimer()
		b.ReportMetric(ms(percentile(samples, 0.50)), "p50-ms")
		b.ReportMetric(ms(percentile(samples, 0.99)), "p99-ms")
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the nearest-rank p-quantile of ds (0 < p <= 1).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(k, 0)]
}

// TestFleetSubjectsBehave checks the fleet harness in a plain test run (and
// so in CI): every library returns the dependency's result and stays
// closed, the command counts are what the benchmark's documentation says,
// and a trip reaches all 15 other replicas.
func TestFleetSubjectsBehave(t *testing.T) {
	srv := needRedis(t)
	const calls = 100
	for _, lib := range fleetLibs {
		t.Run(lib.name, func(t *testing.T) {
			s := lib.build(t, srv)
			var before int64
			if s.cmds != nil {
				before = s.cmds.load()
			}
			for i := range calls {
				if v, err := s.call(); v != 42 || err != nil {
					t.Fatalf("call %d: got %d, %v", i, v, err)
				}
			}
			var cmds int64
			if s.cmds != nil {
				cmds = s.cmds.load() - before
			}
			switch lib.name {
			case "gobreaker-distributed":
				// GET, SET NX PX, SET, EVALSHA; the first EVALSHA of the
				// run may add an EVAL (NOSCRIPT).
				if cmds < 4*calls || cmds > 4*calls+1 {
					t.Errorf("%d commands for %d calls, want 4 a call", cmds, calls)
				}
			case "circuit-fleet":
				// None on the calls; a flush (at most one script per 250ms)
				// may fall within them.
				if cmds > 2 {
					t.Errorf("%d commands for %d calls, want none but a flush", cmds, calls)
				}
			}
			if err := s.after(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("propagation", func(t *testing.T) {
		f := newPropFleet(t, srv, 16)
		for src := range 3 {
			d, err := f.round(src)
			if err != nil {
				t.Fatal(err)
			}
			if len(d) != 15 {
				t.Fatalf("%d delays, want 15", len(d))
			}
			if err := f.reset(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// The store's lock excludes a second holder, and its release deletes only
// its own lock.
func TestRedisStoreLock(t *testing.T) {
	srv := needRedis(t)
	client, _ := srv.client(t)
	a, b := newRedisStore(client), newRedisStore(client)
	a.lockTTL, b.lockWait = 30*time.Millisecond, 10*time.Millisecond
	key := fleetName("lock")
	if err := a.Lock(key); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(key); !errors.Is(err, errLocked) {
		t.Fatalf("second Lock: %v, want errLocked", err)
	}
	// a's lock expires under it; b takes the key, and a's late Unlock must
	// leave b's lock alone.
	b.lockWait = 5 * time.Second
	if err := b.Lock(key); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(key); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, err := client.Get(ctx, key).Result(); err != nil || v != b.tokens[key] {
		t.Fatalf("after a's late Unlock the key holds %q, %v; want b's token %q", v, err, b.tokens[key])
	}
	if err := b.Unlock(key); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("key still there after b's Unlock")
	}
	if err := b.Unlock(key); err == nil {
		t.Fatal("Unlock of a lock the store does not hold succeeded")
	}

	if d, err := a.GetData(key); d != nil || err != nil {
		t.Fatalf("GetData of a missing key: %q, %v; want nil, nil", d, err)
	}
	if err := a.SetData(key, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if d, err := b.GetData(key); string(d) != "x" || err != nil {
		t.Fatalf("GetData: %q, %v; want x", d, err)
	}
}
