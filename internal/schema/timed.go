package schema

import (
	"context"
	"time"
)

// Timed returns fn wrapped to pass its wall-clock duration to observe,
// with fn's context, once fn returns or panics. Both exporters' Timed are
// this with their ObserveLatency.
func Timed[T any](fn func(context.Context) (T, error), observe func(context.Context, time.Duration)) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		start := time.Now()
		defer func() { observe(ctx, time.Since(start)) }()
		return fn(ctx)
	}
}
