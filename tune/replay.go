package tune

import (
	"context"
	"errors"
	"time"

	"github.com/breakerlab/circuit"
)

// replayClock is the clock of the shadow breakers: it says whatever time
// the call being replayed is at. Shadows.mu guards now; the breakers read
// it only inside calls made with that lock held.
type replayClock struct{ now time.Time }

func (c *replayClock) Now() time.Time { return c.now }

// WithTimeout returns parent itself: a shadow's fn never looks at its
// context (it returns at once), and the shadow judges CallTimeout from the
// times, so there is nothing to bound, and nothing to allocate.
func (c *replayClock) WithTimeout(parent context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
	return parent, noCancel
}

func noCancel() {}

// errFailed is the error a shadow is told for a live failure: its default
// classifier counts it as one.
var errFailed = errors.New("tune: the live call failed")

// shadow is one candidate: its Config, its breaker and its record.
type shadow struct {
	cfg circuit.Config             // validated, with an empty Name
	b   *circuit.Breaker[struct{}] // nil until the first call, or if it could not be built
	err error                      // why b could not be built
	tr  tracker

	// The call being replayed, for fn; both require Shadows.mu.
	fn  func(context.Context) (struct{}, error) // built once: replays cur
	cur *circuit.Observation                    // Shadows.cur
	ran bool                                    // fn ran: the shadow admitted *cur
}

// start builds the shadow breakers, on a replay clock whose first time is
// at, the start of the first call observed. It requires s.mu.
func (s *Shadows) start(at time.Time) {
	s.started = true
	s.clock.now = at
	for _, x := range s.shadows {
		x := x
		b, err := circuit.New[struct{}](
			circuit.WithConfig(x.cfg),
			circuit.WithName(x.tr.name),
			circuit.WithClock(s.clock),
			// Delivered on the goroutine that feeds the shadow, inside
			// its Execute, so with s.mu held.
			circuit.WithOnStateChange(func(t circuit.Transition) { x.tr.transition(t, &s.inc) }),
		)
		// Attach validated the Config, which is all New checks of it, so
		// err is nil; should it not be, the shadow stays idle and its
		// report says why.
		x.b, x.err = b, err
		x.cur = &s.cur
		x.fn = x.replay(s.clock)
	}
}

// feed replays one live call on the shadow: Execute at the call's start,
// whose fn, if the shadow admits the call, moves the clock to the call's
// end and returns its outcome. Execute rather than Allow and Done: the
// same state machine, without a Permit's pooled record. It requires
// Shadows.mu.
func (x *shadow) feed(clk *replayClock) {
	if x.b == nil {
		return
	}
	o := x.cur
	clk.now = o.Start
	x.ran = false
	_, _ = x.b.Execute(context.Background(), x.fn)
	if x.ran {
		return
	}
	switch {
	case o.Rejected, o.Outcome == circuit.Ignored:
		x.tr.rejectedUnknown++
	case o.Outcome == circuit.Failure:
		x.tr.rejectedFailed++
	default:
		x.tr.rejectedSucceeded++
	}
}

// replay returns the shadow's fn.
func (x *shadow) replay(clk *replayClock) func(context.Context) (struct{}, error) {
	return func(context.Context) (struct{}, error) {
		x.ran = true
		o := x.cur
		if o.Rejected {
			// No outcome to learn from: the call ends at once, unjudged,
			// so that it holds no probe slot.
			x.tr.admittedUnseen++
			return struct{}{}, context.Canceled
		}
		clk.now = o.End
		switch o.Outcome {
		case circuit.Success:
			return struct{}{}, nil
		case circuit.Failure:
			if x.tr.state == circuit.Closed { // as of admission: transitions are delivered before it
				x.tr.letThrough++
			}
			return struct{}{}, errFailed
		}
		return struct{}{}, context.Canceled // Ignored, as the live breaker counted it
	}
}
