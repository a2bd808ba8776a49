package prometheus_test

import (
	"testing"

	"github.com/breakerlab/circuit/internal/schema/schematest"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
)

// BenchmarkGather measures one scrape's collection and encoding-ready
// gathering of 100 breakers: 29 series each (one of them a histogram).
func BenchmarkGather(b *testing.B) {
	views := schematest.Views(b, 100)
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
