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

// WithTimeout is never called: shadows use Allow and Done, not Execute,
// so there is no call to bound.
func (c *replayClock) WithTimeout(parent context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
	return context.WithCancel(parent)
}

// errFailed is the error a shadow is told for a live failure: its default
// classifier counts it as one.
var errFailed = errors.New("tune: the live call failed")

// shadow is one candidate: its Config, its breaker and its record.
type shadow struct {
	cfg circuit.Config             // validated, with an empty Name
	b   *circuit.Breaker[struct{}] // nil until the first call, or if it could not be built
	err error                      // why b could not be built
	tr  tracker
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
			// its Allow or Done, so with s.mu held.
			circuit.WithOnStateChange(func(t circuit.Transition) { x.tr.transition(t, &s.inc) }),
		)
		// Attach validated the Config, which is all New checks of it, so
		// err is nil; should it not be, the shadow stays idle and its
		// report says why.
		x.b, x.err = b, err
	}
}

// feed replays one live call on the shadow. It requires Shadows.mu.
func (x *shadow) feed(clk *replayClock, o circuit.Observation) {
	if x.b == nil {
		return
	}
	clk.now = o.Start
	p, err := x.b.Allow()
	if err != nil {
		switch {
		case o.Rejected, o.Outcome == circuit.Ignored:
			x.tr.rejectedUnknown++
		case o.Outcome == circuit.Failure:
			x.tr.rejectedFailed++
		default:
			x.tr.rejectedSucceeded++
		}
		return
	}
	if o.Rejected {
		// No outcome to learn from: the call ends at once, unjudged, so
		// that a probe slot is not held.
		x.tr.admittedUnseen++
		p.Done(struct{}{}, context.Canceled)
		return
	}
	clk.now = o.End
	switch o.Outcome {
	case circuit.Success:
		p.Done(struct{}{}, nil)
	case circuit.Failure:
		if x.tr.state == circuit.Closed { // as of admission: Allow delivered any transition first
			x.tr.letThrough++
		}
		p.Done(struct{}{}, errFailed)
	default:
		p.Done(struct{}{}, context.Canceled) // Ignored, as the live breaker counted it
	}
}
