package otel

import (
	"context"
	"time"

	"github.com/breakerlab/circuit/internal/schema"
	"go.opentelemetry.io/otel/metric"
)

// ObserveLatency records one call of the breaker called name that took d,
// in circuit_breaker_call_duration_seconds. Record every call the breaker
// admitted, failed or not, as the breaker's own latency window does; a
// rejected call has no duration. It is safe for concurrent use and does
// nothing on a nil Exporter.
func (e *Exporter) ObserveLatency(ctx context.Context, name string, d time.Duration) {
	if e == nil || e.duration == nil {
		return
	}
	e.duration.Record(ctx, d.Seconds(), metric.WithAttributes(AttrName.String(name)))
}

// Timed returns fn wrapped to record its duration with e.ObserveLatency
// under name, for passing to the breaker's Execute: the breaker runs fn
// only for admitted calls, so rejections are not observed. The duration is
// measured on the wall clock (time.Since).
func Timed[T any](e *Exporter, name string, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	return schema.Timed(fn, func(ctx context.Context, d time.Duration) { e.ObserveLatency(ctx, name, d) })
}
