package health

import (
	"context"
	"time"
)

// Clock is the time source of a Watcher: its schedule, each check's
// timeout, and the times in a Result. It holds only the two methods the
// watcher uses, both with standard library types, so that *clock.Mock from
// github.com/benbjohnson/clock satisfies it as it is (tests drive time
// with it) while programs that never mock time need no clock module at
// all.
//
// Now returns the current time. WithTimeout returns a context that ends
// when parent does or d after Now, whichever is first; its cancel func
// must release any timer behind it.
type Clock interface {
	Now() time.Time
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// realClock is the Clock used when none is given: the time package.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}
