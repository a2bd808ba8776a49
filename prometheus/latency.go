package prometheus

import (
	"context"
	"time"

	"github.com/breakerlab/circuit/internal/schema"
)

// ObserveLatency records one call of the breaker called name that took d,
// in circuit_breaker_call_duration_seconds. Record every call the breaker
// admitted, failed or not, as the breaker's own latency window does; a
// rejected call has no duration. A name that is not valid UTF-8 is
// dropped. It is safe for concurrent use and does nothing on a nil or zero
// Collector.
func (c *Collector) ObserveLatency(name string, d time.Duration) {
	if c == nil || c.duration == nil {
		return
	}
	if h, err := c.duration.GetMetricWithLabelValues(name); err == nil {
		h.Observe(d.Seconds())
	}
}

// Timed returns fn wrapped to record its duration with c.ObserveLatency
// under name, for passing to the breaker's Execute: the breaker runs fn
// only for admitted calls, so rejections are not observed. The duration is
// measured on the wall clock (time.Since).
func Timed[T any](c *Collector, name string, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	return schema.Timed(fn, func(_ context.Context, d time.Duration) { c.ObserveLatency(name, d) })
}
