package sim_test

import (
	"testing"

	"github.com/breakerlab/circuit/internal/sim"
)

// BenchmarkRunFlaky is ten simulated minutes at 100 requests a second,
// run twice (without and with the breaker).
func BenchmarkRunFlaky(b *testing.B) {
	benchRun(b, "flaky")
}

// BenchmarkRunDBSlowdown is the default scenario of circuitsim.
func BenchmarkRunDBSlowdown(b *testing.B) {
	benchRun(b, "db-slowdown")
}

func benchRun(b *testing.B, name string) {
	sc, err := sim.Builtin(name)
	if err != nil {
		b.Fatal(err)
	}
	cfg := sc.BreakerConfig()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := sim.Run(sc, cfg, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
}
