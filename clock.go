package circuit

import (
	"context"
	"time"
)

// Clock is what a breaker needs of time: the current time, and a context
// that ends after a duration (for Config.CallTimeout). The real clock is
// the default; tests pass a fake one. *clock.Mock from
// github.com/benbjohnson/clock satisfies Clock as it is, and so does any
// type with these two methods, so the core itself depends on the standard
// library alone.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// WithTimeout returns a copy of parent that is done d from now on this
	// clock, and the function that releases it.
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// realClock is the default Clock. The breaker never calls its Now on a
// hot path: with the real clock it reads the monotonic clock through
// time.Since instead.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}
