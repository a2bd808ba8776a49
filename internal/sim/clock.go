package sim

import (
	"context"
	"time"

	"github.com/benbjohnson/clock"
)

// epoch is the wall-clock time that simulated time 0 maps to. Any fixed
// instant would do; a fixed one keeps runs identical.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// virtualClock is the simulation's clock. The event loop sets it to the time
// of each event before it touches the breaker or the retry budget, and they
// read it through Now, Since and Until. It never moves on its own and never
// sleeps, which is what makes a run fast and repeatable (clock.Mock's Add
// sleeps a millisecond per call).
//
// The simulation schedules its own events, so the timer methods (After,
// AfterFunc, Timer, Tick, Ticker, Sleep, WithTimeout, WithDeadline) are
// not supported: they panic with a message naming the method. The sim
// builds its breakers with Config.CallTimeout 0 and models call timeouts
// as events, so the breaker never calls them; a panic here is a bug in
// the sim, not bad input.
//
// A virtualClock is not safe for concurrent use: the event loop is one
// goroutine.
type virtualClock struct {
	now time.Time
}

var _ clock.Clock = (*virtualClock)(nil)

func newVirtualClock() *virtualClock { return &virtualClock{now: epoch} }

// set moves the clock to simulated time t (an offset from epoch). The event
// loop only ever moves it forward.
func (c *virtualClock) set(t time.Duration) { c.now = epoch.Add(t) }

// elapsed returns the simulated time, as an offset from epoch.
func (c *virtualClock) elapsed() time.Duration { return c.now.Sub(epoch) }

func (c *virtualClock) Now() time.Time                  { return c.now }
func (c *virtualClock) Since(t time.Time) time.Duration { return c.now.Sub(t) }
func (c *virtualClock) Until(t time.Time) time.Duration { return t.Sub(c.now) }

func unsupported(method string) {
	panic("sim: virtualClock." + method + " is not supported: the simulation schedules its own events")
}

func (c *virtualClock) After(time.Duration) <-chan time.Time { unsupported("After"); return nil }
func (c *virtualClock) AfterFunc(time.Duration, func()) *clock.Timer {
	unsupported("AfterFunc")
	return nil
}
func (c *virtualClock) Sleep(time.Duration)                 { unsupported("Sleep") }
func (c *virtualClock) Tick(time.Duration) <-chan time.Time { unsupported("Tick"); return nil }
func (c *virtualClock) Ticker(time.Duration) *clock.Ticker  { unsupported("Ticker"); return nil }
func (c *virtualClock) Timer(time.Duration) *clock.Timer    { unsupported("Timer"); return nil }
func (c *virtualClock) WithDeadline(context.Context, time.Time) (context.Context, context.CancelFunc) {
	unsupported("WithDeadline")
	return nil, nil
}
func (c *virtualClock) WithTimeout(context.Context, time.Duration) (context.Context, context.CancelFunc) {
	unsupported("WithTimeout")
	return nil, nil
}
