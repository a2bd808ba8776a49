package prometheus_test

import (
	"fmt"
	"testing"

	"github.com/breakerlab/circuit"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
)

// BenchmarkGather measures one scrape's collection and encoding-ready
// gathering of 100 breakers: 29 series each (one of them a histogram).
func BenchmarkGather(b *testing.B) {
	views := make([]circuit.View, 100)
	for i := range views {
		br, err := circuit.New[int](circuit.WithName(fmt.Sprintf("dep-%03d", i)))
		if err != nil {
			b.Fatal(err)
		}
		views[i] = br
	}
	c, err := circuitprom.New(views...)
	if err != nil {
		b.Fatal(err)
	}
	reg := prom.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
