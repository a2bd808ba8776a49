package tune

import (
	"time"

	"github.com/breakerlab/circuit"
)

// MaxRecent is how many of the latest opens and incidents a Report lists
// (Report.RecentOpens, Report.RecentIncidents); the counts and durations
// cover all of them.
const MaxRecent = 16

// isOpen reports whether s turns calls away: every state but Closed and
// Disabled. Time in it is Report.TimeOpen.
func isOpen(s circuit.State) bool { return s != circuit.Closed && s != circuit.Disabled }

// tracker is the record of one breaker, live or shadow: its states over
// time and what it did with the calls. It is not safe for concurrent use:
// its owner guards it (Shadows.mu).
type tracker struct {
	name string
	live bool

	// The state timeline, from the breaker's transitions.
	state     circuit.State
	prev      circuit.State // the state before the last transition
	since     time.Time     // when state began; zero before the first transition seen
	openSince time.Time     // when the breaker last left Closed; meaningful while isOpen(state)
	timeOpen  time.Duration // of the open stretches that have ended
	opens     int
	recent    [MaxRecent]time.Time // the latest opens, a ring: recent[(opens-1)%MaxRecent] is the last

	// The incident in progress (see incidents): whether the breaker has
	// detected it, and when.
	detected   bool
	detectedAt time.Time
	// Over the confirmed incidents.
	detections  int
	detectTotal time.Duration
	detectMax   time.Duration
	detectRing  [MaxRecent]time.Duration // per incident of incidents.ring, -1 if not detected

	// The calls.
	rejectedFailed    uint64
	rejectedSucceeded uint64
	rejectedUnknown   uint64
	admittedUnseen    uint64
	letThrough        uint64
}

// transition applies a transition of the breaker, and notes an open as the
// detection of the incident in progress, if any.
func (tr *tracker) transition(t circuit.Transition, inc *incidents) {
	if t.From == t.To { // ReasonReconfigured
		return
	}
	wasOpen := isOpen(tr.state)
	tr.prev, tr.state, tr.since = t.From, t.To, t.At
	switch nowOpen := isOpen(t.To); {
	case wasOpen && !nowOpen:
		if d := t.At.Sub(tr.openSince); d > 0 {
			tr.timeOpen += d
		}
	case !wasOpen && nowOpen:
		tr.openSince = t.At
	}
	if t.To == circuit.Open || t.To == circuit.ForcedOpen {
		tr.recent[tr.opens%MaxRecent] = t.At
		tr.opens++
		inc.opened(tr, t.At)
	}
}

// closedAt reports whether the breaker was closed when a call was admitted
// at start, from the last transition: at the very instant of a trip, the
// call came first (a call's own failure trips the breaker at its end,
// which equals its start for an instant call); at any other transition,
// the transition came first (an open period ends at an instant, and the
// call admitted then is a probe). It is exact for sequential calls and
// approximate when many overlap.
func (tr *tracker) closedAt(start time.Time) bool {
	s := tr.state
	switch {
	case tr.since.IsZero(), start.After(tr.since):
	case start.Before(tr.since):
		s = tr.prev
	case tr.prev == circuit.Closed && isOpen(tr.state):
		s = tr.prev
	}
	return s == circuit.Closed
}

// openTime returns the time spent open from first up to until.
func (tr *tracker) openTime(first, until time.Time) time.Duration {
	d := tr.timeOpen
	if isOpen(tr.state) {
		from := tr.openSince
		if from.Before(first) {
			from = first
		}
		if until.After(from) {
			d += until.Sub(from)
		}
	}
	return d
}

// recentOpens returns the latest opens, oldest first.
func (tr *tracker) recentOpens() []time.Time {
	n := min(tr.opens, MaxRecent)
	out := make([]time.Time, n)
	for i := range n {
		out[i] = tr.recent[(tr.opens-n+i)%MaxRecent].UTC()
	}
	return out
}

// incidents finds incidents in the stream of known outcomes, the same for
// every breaker that watches it. An incident begins at a failure recorded
// after a healthy run (healthyRun successes in a row, or the start of the
// stream), its onset, and ends at the first success of the next healthy
// run; it counts once it has had minFailures failures. It is not safe for
// concurrent use: its owner guards it.
type incidents struct {
	healthyRun  int
	minFailures int
	trackers    []*tracker

	active    bool // an incident, confirmed or not, is in progress
	confirmed bool // it has had minFailures failures
	onset     time.Time
	failures  int
	succRun   int       // successes in a row
	runStart  time.Time // the time of the first of them

	n    int // confirmed incidents
	ring [MaxRecent]struct{ onset, end time.Time }
}

// outcome adds a known outcome, recorded at t.
func (inc *incidents) outcome(t time.Time, failed bool) {
	if !failed {
		if inc.succRun == 0 {
			inc.runStart = t
		}
		inc.succRun++
		if inc.active && inc.succRun >= inc.healthyRun {
			if inc.confirmed {
				inc.ring[(inc.n-1)%MaxRecent].end = inc.runStart
			}
			inc.active = false
		}
		return
	}
	inc.succRun = 0
	if !inc.active {
		inc.active, inc.confirmed, inc.onset, inc.failures = true, false, t, 0
		for _, tr := range inc.trackers {
			// A breaker that is open already at the onset is protecting
			// from it: it detects the incident at once.
			tr.detected, tr.detectedAt = isOpen(tr.state), t
		}
	}
	inc.failures++
	if inc.confirmed || inc.failures < inc.minFailures {
		return
	}
	inc.confirmed = true
	inc.n++
	slot := (inc.n - 1) % MaxRecent
	inc.ring[slot] = struct{ onset, end time.Time }{inc.onset, time.Time{}}
	for _, tr := range inc.trackers {
		tr.detectRing[slot] = -1
		if tr.detected {
			inc.detect(tr)
		}
	}
}

// opened notes that tr opened at t: the detection of the incident in
// progress, if tr has not detected it yet.
func (inc *incidents) opened(tr *tracker, t time.Time) {
	if !inc.active || tr.detected || t.Before(inc.onset) {
		return
	}
	tr.detected, tr.detectedAt = true, t
	if inc.confirmed {
		inc.detect(tr)
	}
}

// detect books tr's detection of the confirmed incident in progress.
func (inc *incidents) detect(tr *tracker) {
	d := tr.detectedAt.Sub(inc.onset)
	tr.detections++
	tr.detectTotal += d
	tr.detectMax = max(tr.detectMax, d)
	tr.detectRing[(inc.n-1)%MaxRecent] = d
}

// recent returns tr's view of the latest confirmed incidents, oldest
// first.
func (inc *incidents) recent(tr *tracker) []Incident {
	n := min(inc.n, MaxRecent)
	out := make([]Incident, n)
	for i := range n {
		slot := (inc.n - n + i) % MaxRecent
		r := inc.ring[slot]
		out[i] = Incident{Onset: r.onset.UTC(), End: utcOrZero(r.end)}
		if d := tr.detectRing[slot]; d >= 0 {
			out[i].Detected, out[i].TimeToDetect = true, d
		}
	}
	return out
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
