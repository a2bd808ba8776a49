package tune_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/tune"
)

// BenchmarkExecute measures a live breaker's Execute on the real clock,
// with the defaults and a call that does nothing, without shadows and
// with one and with three, in one run: the cost of shadows is what they
// add to every live call. Compare within one run:
//
//	go test -run '^$' -bench . -benchmem -count 8 ./tune/
//
// Besides ns/op, the wall time, each reports cpu-ns/op, the process's CPU
// time per call (on unix), which a machine shared with other programs
// disturbs far less.
func BenchmarkExecute(b *testing.B) {
	for _, mix := range []struct {
		name     string
		failEach int // every failEach-th call fails; 0: none
	}{{"success", 0}, {"fail10pct", 10}} {
		for _, n := range []int{0, 1, 3} {
			b.Run(fmt.Sprintf("%s/shadows=%d", mix.name, n), func(b *testing.B) {
				live, err := circuit.New[int](circuit.WithName("live"))
				if err != nil {
					b.Fatal(err)
				}
				var cands []tune.Candidate
				for i := range n {
					c := circuit.DefaultConfig()
					c.ConsecutiveFailures = 3 + 2*i // all differ, none trips on 10% failures
					c.ErrorRateThreshold = 0.3 + 0.1*float64(i)
					cands = append(cands, tune.Candidate{Name: string(rune('a' + i)), Config: c})
				}
				if n > 0 {
					s, err := tune.Attach(live, cands)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Detach()
				}
				ctx := context.Background()
				ok := func(context.Context) (int, error) { return 1, nil }
				fail := func(context.Context) (int, error) { return 0, errBoom }
				b.ReportAllocs()
				cpu0, measured := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					fn := ok
					if mix.failEach > 0 && i%mix.failEach == 0 {
						fn = fail
					}
					_, _ = live.Execute(ctx, fn)
				}
				b.StopTimer()
				if cpu1, ok := cpuTime(); measured && ok {
					b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
