package tune

import (
	"context"
	"time"

	"github.com/breakerlab/circuit"
)

// batchSize is how many live calls a Shadows buffers before it replays
// them into the shadows: enough that one lock per shadow per batch costs
// little per call, few enough that the buffer stays small (about 5 KiB)
// and the call that fills it pays for a few microseconds of replay.
const batchSize = 64

// replayClock is the clock of the shadow breakers: their epoch, and the
// time Reports asks their state at. Replay itself does not read it.
// Shadows.mu guards now; the breakers read it only inside calls made with
// that lock held.
type replayClock struct{ now time.Time }

func (c *replayClock) Now() time.Time { return c.now }

// WithTimeout returns parent itself: a shadow runs no calls, so there is
// nothing to bound, and nothing to allocate.
func (c *replayClock) WithTimeout(parent context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
	return parent, noCancel
}

func noCancel() {}

// shadow is one candidate: its Config, its breaker and its record.
type shadow struct {
	cfg circuit.Config             // validated, with an empty Name
	b   *circuit.Breaker[struct{}] // nil until the first call, or if it could not be built
	err error                      // why b could not be built
	tr  tracker

	// The batch being replayed; all require Shadows.mu.
	out   []circuit.Replayed   // what b did with each call of the batch; Shadows.set.batch long
	trans []circuit.Transition // b's transitions, delivered to its hook, not yet applied to tr
	next  int                  // trans[next] is the first transition not yet applied
	mark  int                  // the next call of the batch with transitions, or the batch's length
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
			// Delivered on the goroutine that holds s.mu, before its
			// Replay or State returns: kept, to be applied in the order of
			// the calls (see flush).
			circuit.WithOnStateChange(func(t circuit.Transition) { x.trans = append(x.trans, t) }),
		)
		// Attach validated the Config, which is all New checks of it, so
		// err is nil; should it not be, the shadow stays idle and its
		// report says why.
		x.b, x.err = b, err
		x.out = make([]circuit.Replayed, s.set.batch)
		x.trans = make([]circuit.Transition, 0, 4)
	}
}

// flush replays the buffered calls into every shadow, one Replay per
// shadow, then applies them to the reports in the order they were
// observed: for each call, each shadow's transitions, then the live
// outcome. That is the order in which feeding the shadows one call at a
// time applies them, so the reports are exactly what they would be. (What
// a shadow did with each call is counted apart: it touches nothing shared.)
// It requires s.mu.
func (s *Shadows) flush() {
	n := len(s.buf)
	if n == 0 {
		return
	}
	if !s.started {
		s.start(s.buf[0].Start)
	}
	next := n // the first call that made a shadow transition
	for _, x := range s.shadows {
		x.mark = n
		if x.b == nil {
			continue
		}
		_ = x.b.Replay(s.buf, x.out[:n]) // cannot fail: the lengths match
		x.mark = x.tally(s.buf)
		next = min(next, x.mark)
	}
	for i := range s.buf {
		if i == next {
			next = n
			for _, x := range s.shadows {
				if x.mark == i {
					x.applyTransitions(x.out[i].Transitions, &s.inc)
					x.mark = x.nextMark(i+1, n)
				}
				next = min(next, x.mark)
			}
		}
		s.counted(&s.buf[i])
	}
	for _, x := range s.shadows {
		x.settle(&s.inc) // nothing should be left
	}
	clear(s.buf) // let the calls' errors go
	s.buf = s.buf[:0]
}

// tally counts what the shadow did with each call of obs, as x.out says,
// and returns the first call that made transitions, or len(obs).
// A call the shadow rejected still ran, and its live outcome is known,
// unless the live breaker rejected it too or counted it Ignored. A call
// the live breaker rejected has no outcome: the shadow admits or rejects
// it, so that its own state moves on, but learns nothing from it. It
// requires Shadows.mu.
func (x *shadow) tally(obs []circuit.Observation) int {
	tr := &x.tr
	mark := len(obs)
	for i, r := range x.out[:len(obs)] {
		o := &obs[i]
		if r.Transitions > 0 && mark == len(obs) {
			mark = i
		}
		switch {
		case !r.Rejected:
			if o.Rejected {
				tr.admittedUnseen++
			} else if o.Outcome == circuit.Failure && r.State == circuit.Closed {
				tr.letThrough++
			}
		case o.Rejected, o.Outcome == circuit.Ignored:
			tr.rejectedUnknown++
		case o.Outcome == circuit.Failure:
			tr.rejectedFailed++
		default:
			tr.rejectedSucceeded++
		}
	}
	return mark
}

// nextMark returns the first call of the batch from i on (up to n) that
// made transitions of the shadow, or n.
func (x *shadow) nextMark(i, n int) int {
	for ; i < n; i++ {
		if x.out[i].Transitions > 0 {
			return i
		}
	}
	return n
}

// applyTransitions applies the next n transitions of the shadow's breaker
// to its record. It requires Shadows.mu.
func (x *shadow) applyTransitions(n int, inc *incidents) {
	end := min(x.next+n, len(x.trans))
	for _, t := range x.trans[x.next:end] {
		x.tr.transition(t, inc)
	}
	x.next = end
}

// settle applies the transitions not yet applied, and empties the list.
// It requires Shadows.mu.
func (x *shadow) settle(inc *incidents) {
	x.applyTransitions(len(x.trans), inc)
	clear(x.trans) // let their Metrics go
	x.trans, x.next = x.trans[:0], 0
}
