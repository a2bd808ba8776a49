package otel_test

import (
	"context"
	"testing"

	"github.com/breakerlab/circuit/internal/schema/schematest"
	circuitotel "github.com/breakerlab/circuit/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// BenchmarkCollect measures one SDK collection of 100 breakers: 28 data
// points each (the histogram has none until a call is observed).
func BenchmarkCollect(b *testing.B) {
	views := schematest.Views(b, 100)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if _, err := circuitotel.Register(mp, views...); err != nil {
		b.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := reader.Collect(context.Background(), &rm); err != nil {
			b.Fatal(err)
		}
	}
}
