package otel_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/breakerlab/circuit"
	circuitotel "github.com/breakerlab/circuit/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// BenchmarkCollect measures one SDK collection of 100 breakers: 28 data
// points each (the histogram has none until a call is observed).
func BenchmarkCollect(b *testing.B) {
	views := make([]circuit.View, 100)
	for i := range views {
		br, err := circuit.New[int](circuit.WithName(fmt.Sprintf("dep-%03d", i)))
		if err != nil {
			b.Fatal(err)
		}
		views[i] = br
	}
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
