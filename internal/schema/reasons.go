package schema

import (
	"reflect"
	"sync"

	"github.com/breakerlab/circuit"
)

// expected lists, for each pair of states, the reasons the core gives
// transitions between them (see the circuit.Reason constants). Their series
// are emitted as zeros before the first such transition, so that
// increase() sees the first one; a reason not listed here (a new one, or
// one passed to Trip by hand) gets its series when it first happens.
var expected = []struct {
	from, to circuit.State
	reasons  []circuit.Reason
}{
	{circuit.Closed, circuit.Open, []circuit.Reason{circuit.ReasonConsecutiveFailures, circuit.ReasonErrorRate, circuit.ReasonLatency, circuit.ReasonManual, circuit.ReasonHealthCheck}},
	{circuit.HalfOpen, circuit.Open, []circuit.Reason{circuit.ReasonProbeFailed, circuit.ReasonLatency, circuit.ReasonProbeTimeout, circuit.ReasonManual, circuit.ReasonHealthCheck}},
	{circuit.Open, circuit.HalfOpen, []circuit.Reason{circuit.ReasonTimeoutElapsed, circuit.ReasonHealthRecovered}},
	{circuit.HalfOpen, circuit.Closed, []circuit.Reason{circuit.ReasonProbesSucceeded, circuit.ReasonReset}},
	{circuit.Open, circuit.Closed, []circuit.Reason{circuit.ReasonReset}},
}

// key is one series of Transitions.
type key struct {
	from, to circuit.State
	reason   circuit.Reason
}

// Watch counts one breaker's transitions by reason, from the moment it
// subscribed. It is safe for concurrent use; a nil *Watch counts nothing
// and emits every transition as ReasonUnknown.
type Watch struct {
	unsubscribe func()

	mu sync.Mutex // guards the fields below
	// base is the snapshot taken just after subscribing: its
	// TransitionCounts are the transitions of unknown reason, and a
	// transition whose Metrics.Transitions is at most base.Transitions is
	// already in them.
	base    circuit.Metrics
	ready   bool                 // base is set
	pending []circuit.Transition // delivered before base was set
	counts  map[key]uint64
}

// NewWatch subscribes to v's transitions. Call Stop to unsubscribe.
func NewWatch(v circuit.View) *Watch {
	w := &Watch{counts: make(map[key]uint64)}
	// Subscribe before the snapshot, so that no transition falls between
	// the two; those the snapshot already holds are dropped by number.
	w.unsubscribe = v.Subscribe(w.observe)
	base := v.Metrics()
	w.mu.Lock()
	w.base, w.ready = base, true
	for _, t := range w.pending {
		w.countLocked(t)
	}
	w.pending = nil
	w.mu.Unlock()
	return w
}

// Stop unsubscribes. The counts stay readable.
func (w *Watch) Stop() { w.unsubscribe() }

func (w *Watch) observe(t circuit.Transition) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ready {
		w.pending = append(w.pending, t)
		return
	}
	w.countLocked(t)
}

// countLocked counts t unless the baseline holds it. It requires w.mu.
func (w *Watch) countLocked(t circuit.Transition) {
	if t.Metrics.Transitions <= w.base.Transitions {
		return
	}
	w.counts[key{t.From, t.To, t.Reason}]++
}

// emit sends the Transitions series of one breaker: the expected reasons of
// every pair (zeros included), every other reason seen, and, for a pair
// whose transitions the watch did not see, their count as ReasonUnknown.
func (w *Watch) emit(emit Emit, name string, m circuit.Metrics) {
	var counts map[key]uint64
	var base circuit.Metrics
	if w == nil {
		base = m // all unknown
	} else {
		w.mu.Lock()
		counts = make(map[key]uint64, len(w.counts))
		for k, n := range w.counts {
			counts[k] = n
		}
		base = w.base
		w.mu.Unlock()
	}
	for _, e := range expected {
		for _, r := range e.reasons {
			k := key{e.from, e.to, r}
			emit(Transitions, float64(counts[k]), name, e.from.String(), e.to.String(), r.String())
			delete(counts, k)
		}
	}
	for k, n := range counts {
		emit(Transitions, float64(n), name, k.from.String(), k.to.String(), k.reason.String())
	}
	for from, row := range base.TransitionCounts {
		for to, n := range row {
			if n > 0 {
				emit(Transitions, float64(n), name, circuit.State(from).String(), circuit.State(to).String(), ReasonUnknown)
			}
		}
	}
}

// Watches keeps one Watch per breaker of a changing set. It is safe for
// concurrent use; the zero value is ready.
type Watches struct {
	mu sync.Mutex              // guards m
	m  map[circuit.View]*Watch // keyed by the view itself, so a new breaker under an old name is watched anew
}

// Sync returns the watches of views, in order (nil for a view that cannot
// be a map key), watching the new ones and stopping the watches of views no
// longer listed.
func (ws *Watches) Sync(views []circuit.View) []*Watch {
	out := make([]*Watch, len(views))
	ws.mu.Lock()
	defer ws.mu.Unlock()
	next := make(map[circuit.View]*Watch, len(views))
	for i, v := range views {
		if v == nil || !reflect.TypeOf(v).Comparable() {
			continue
		}
		w, ok := next[v]
		if !ok {
			w, ok = ws.m[v]
		}
		if !ok {
			w = NewWatch(v)
		}
		next[v] = w
		out[i] = w
	}
	for v, w := range ws.m {
		if next[v] == nil {
			w.Stop()
		}
	}
	ws.m = next
	return out
}

// Stop stops every watch.
func (ws *Watches) Stop() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, w := range ws.m {
		w.Stop()
	}
	ws.m = nil
}
