package bulkhead

import (
	"context"
	"time"
)

// Clock is the time source of a Bulkhead's maximum wait. It holds only the
// one method the Bulkhead uses, with standard library types, so that
// *clock.Mock from github.com/benbjohnson/clock satisfies it as it is
// (tests drive time with it) while programs that never mock time need no
// clock module at all.
//
// WithTimeout returns a context that ends when parent does or d from now,
// whichever is first; its cancel func must release any timer behind it.
type Clock interface {
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// realClock is the Clock used when none is given: the time package.
type realClock struct{}

func (realClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}
