package monitor

import (
	"context"
	"time"
)

// Clock is the time source of a Monitor and of a status page. It is the
// smallest set of methods they need, so that any clock can be passed:
// *clock.Mock and clock.New() of github.com/benbjohnson/clock satisfy it as
// they are, and so does a type wrapping time.Now and context.WithDeadline.
//
// The monitor reads Now once per check and per report, and waits with
// WithDeadline: for the next tick of Start's schedule, and for alert
// callbacks up to Config.OnAlertTimeout. A WithDeadline whose deadline has
// passed must return a context that is already done.
type Clock interface {
	Now() time.Time
	WithDeadline(parent context.Context, deadline time.Time) (context.Context, context.CancelFunc)
}

// realClock is the default Clock: the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) WithDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(parent, d)
}
