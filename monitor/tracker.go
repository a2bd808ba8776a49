package monitor

import (
	"time"

	"github.com/breakerlab/circuit"
)

// maxRecent bounds the transition times a tracker keeps, whatever the
// rate: enough to decide FlappingTransitions up to its maximum.
const maxRecent = MaxFlappingTransitions + 1

// tracker is the monitor's history of one registration of a breaker.
type tracker struct {
	view        circuit.View
	id          uint64
	unsubscribe func()

	// Guarded by Monitor.mu.
	known          bool          // the fields below are initialized
	start          time.Time     // the history begins
	state          circuit.State // as last seen
	since          time.Time     // when state began, or start if later
	inState        []time.Duration
	seq            uint64         // Metrics.Transitions last applied, to skip duplicates
	transitions    int            // seen since start
	recent         []time.Time    // transition times of the last keepWindow, oldest first, at most maxRecent
	lastReason     circuit.Reason // of the last transition seen; valid if !lastAt.IsZero()
	lastAt         time.Time      // when the last transition seen took effect
	outageStart    time.Time      // when it last left Closed; zero while closed
	recoveries     int            // outages that ended in Closed
	recoveryTotal  time.Duration  // their total length
	checks         int            // samples taken
	errSum         float64        // sum of sampled error rates
	latSum, p95Sum time.Duration  // sums of sampled mean and P95 latency
	baseRejections uint64         // Metrics.Rejections when the history began
	log            transitionLog  // the transition log's pending summary
}

// initFrom starts the history at now from the snapshot ms. It requires
// Monitor.mu.
func (tr *tracker) initFrom(ms circuit.Metrics, now time.Time) {
	tr.known = true
	tr.start, tr.since = now, now
	tr.state = ms.State
	tr.seq = ms.Transitions
	tr.baseRejections = ms.Rejections
	// One slot per state the core knows: sized from the snapshot, so new
	// states need no change here.
	tr.inState = make([]time.Duration, len(ms.TransitionCounts))
	if !passesCalls(ms.State) {
		// The outage may have begun before the last state change; this is
		// the earliest time the snapshot proves.
		tr.outageStart = ms.StateSince
		if tr.outageStart.IsZero() || tr.outageStart.After(now) {
			tr.outageStart = now
		}
	}
}

// apply adds a transition to the history and reports whether it was new
// (not already in the snapshot the history began with). It requires
// Monitor.mu.
func (tr *tracker) apply(t circuit.Transition, keep time.Duration) bool {
	if seq := t.Metrics.Transitions; seq != 0 {
		if seq <= tr.seq {
			return false
		}
		tr.seq = seq
	}
	at := t.At
	if at.Before(tr.since) {
		at = tr.since
	}
	if i := int(tr.state); i >= 0 && i < len(tr.inState) {
		tr.inState[i] += at.Sub(tr.since)
	}
	from := tr.state
	tr.state, tr.since = t.To, at
	tr.transitions++
	tr.lastReason, tr.lastAt = t.Reason, at
	tr.prune(at, keep)
	if len(tr.recent) == maxRecent {
		tr.recent = tr.recent[1:]
	}
	tr.recent = append(tr.recent, at)
	switch {
	case passesCalls(from) && !passesCalls(t.To):
		tr.outageStart = at
	case passesCalls(t.To) && !tr.outageStart.IsZero():
		tr.recoveries++
		tr.recoveryTotal += at.Sub(tr.outageStart)
		tr.outageStart = time.Time{}
	}
	return true
}

// prune drops the transition times older than keep before now. It
// requires Monitor.mu.
func (tr *tracker) prune(now time.Time, keep time.Duration) {
	cut := now.Add(-keep)
	i := 0
	for i < len(tr.recent) && !tr.recent[i].After(cut) {
		i++
	}
	if i == len(tr.recent) {
		tr.recent = tr.recent[:0] // reuse the array rather than creep along it
		return
	}
	tr.recent = tr.recent[i:]
}

// transitionsSince counts the kept transitions after cut. It requires
// Monitor.mu.
func (tr *tracker) transitionsSince(cut time.Time) int {
	n := 0
	for i := len(tr.recent) - 1; i >= 0 && tr.recent[i].After(cut); i-- {
		n++
	}
	return n
}

// sample adds a check's snapshot to the history. It requires Monitor.mu.
func (tr *tracker) sample(ms circuit.Metrics) {
	tr.checks++
	tr.errSum += ms.ErrorRate
	tr.latSum += ms.AvgLatency
	tr.p95Sum += ms.P95Latency
}

// passesCalls reports whether a breaker in state s lets calls through:
// closed, or disabled by an operator. An outage, for the prolonged-open
// rule and the recovery figures, is a stay in the other states, held open
// included.
func passesCalls(s circuit.State) bool { return s == circuit.Closed || s == circuit.Disabled }
