package circuitredis_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/redis/go-redis/v9"
)

// BenchmarkCall measures one call through Execute on a breaker with no
// coordinator (coord=none), attached to one (coord=fleet), and attached to
// one with the shared window on (coord=window, which reads the breaker's
// Metrics every flush interval, 250ms), on one goroutine and on
// GOMAXPROCS; for calls that succeed and for rejections by an open
// breaker. Compare the columns within one run; on a shared machine, run the whole benchmark
// eight times rather than -count 8, which repeats each sub-benchmark in a
// row, so that changes in load fall on every column alike:
//
//	go test -c -o circuitredis.test
//	for i in 1 2 3 4 5 6 7 8; do ./circuitredis.test -test.run '^$' -test.bench BenchmarkCall -test.benchmem -test.benchtime 300ms; done > bench.txt
//	benchstat -col /coord bench.txt
func BenchmarkCall(b *testing.B) {
	srv := startRedis(b)
	client := srv.client(b)
	quiet := circuitredis.WithLogger(slog.New(slog.DiscardHandler))
	for _, coord := range []string{"none", "fleet", "window"} {
		var c *circuitredis.Coordinator
		switch coord {
		case "fleet":
			c = newBenchCoordinator(b, client, quiet)
		case "window":
			c = newBenchCoordinator(b, client, quiet, circuitredis.WithSharedWindow(10*time.Second))
		}
		for _, outcome := range []string{"success", "rejection"} {
			for _, run := range []string{"serial", "parallel"} {
				name := "outcome=" + outcome + "/run=" + run + "/coord=" + coord
				b.Run(name, func(b *testing.B) {
					br, err := circuit.New[int](circuit.WithName(name), circuit.WithOpenTimeout(time.Hour))
					if err != nil {
						b.Fatal(err)
					}
					if c != nil {
						detach, err := c.Attach(br)
						if err != nil {
							b.Fatal(err)
						}
						defer detach()
					}
					if outcome == "rejection" {
						br.Trip(circuit.ReasonManual)
					}
					benchCalls(b, br, run == "parallel", outcome == "rejection")
				})
			}
		}
	}
}

func newBenchCoordinator(b *testing.B, client *redis.Client, opts ...circuitredis.Option) *circuitredis.Coordinator {
	b.Helper()
	c, err := circuitredis.New(client, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !c.Up() {
		select {
		case <-tick.C:
		case <-deadline:
			b.Fatal("the coordinator did not reach Redis")
		}
	}
	return c
}

// benchCalls runs b.N calls that succeed on br.
func benchCalls(b *testing.B, br *circuit.Breaker[int], parallel, rejected bool) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	check := func(err error) bool { return (err != nil) == rejected }
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for range b.N {
			if _, err := br.Execute(ctx, fn); !check(err) {
				b.Fatal(err)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.Execute(ctx, fn); !check(err) {
				b.Error(err)
				return
			}
		}
	})
}
