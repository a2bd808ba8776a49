package circuit

import "time"

// Metrics is a point-in-time snapshot of a breaker, taken under its lock so
// that its fields agree with one another. It is a plain value: keep it,
// compare it, marshal it.
type Metrics struct {
	Name       string
	State      State
	StateSince time.Time // when the current state began; never goes backwards

	// Lifetime counts, never reset (not even by Reset). Every call ends as
	// exactly one of Successes, Failures, Rejections or Canceled, except
	// calls refused before admission (nil func, nil or already-done
	// context), which are counted nowhere, and Allow calls whose done has
	// not been called (yet).
	Successes   uint64 // calls recorded as successes, including errors the classifier calls no failure
	Failures    uint64 // calls recorded as failures, including panics
	Rejections  uint64 // calls refused because the breaker was open or half-open and full
	Canceled    uint64 // admitted calls that ended with context.Canceled (or runtime.Goexit) and were not recorded
	Fallbacks   uint64 // calls of the fallback
	Transitions uint64 // state changes
	// TransitionCounts[from][to] counts the transitions between each pair
	// of states, indexed by State, so an exporter needs no subscription.
	TransitionCounts [numStates][numStates]uint64

	// Consecutive outcomes in the current state period (reset when the
	// state changes).
	ConsecutiveFailures  int
	ConsecutiveSuccesses int

	// The outcome window: the last WindowRequests outcomes (at most
	// Config.WindowSize) since the breaker last entered Closed, and the
	// share of them that failed.
	WindowRequests int
	ErrorRate      float64

	// The latency window, over the same calls.
	AvgLatency time.Duration
	P95Latency time.Duration // the 95th percentile (nearest rank)
	// PercentileLatency is the latency at Config.LatencyPercentile, the
	// value the latency criterion compares with Config.LatencyThreshold.
	// It equals P95Latency under the default percentile.
	PercentileLatency time.Duration

	LastFailure   error // the last recorded failure, nil if none
	LastFailureAt time.Time
	LastSuccessAt time.Time
}

// View is the part of a breaker that does not depend on its result type:
// every *Breaker[T] satisfies it, so tools such as registries, exporters
// and health checkers can hold breakers of different T together.
type View interface {
	// Name returns Config.Name.
	Name() string
	// State returns the current state, moving an open breaker whose
	// timeout has passed to half-open first.
	State() State
	// Metrics returns a consistent snapshot.
	Metrics() Metrics
	// Subscribe adds a hook that receives every later transition, like
	// WithOnStateChange, and returns a function that removes it.
	Subscribe(hook func(Transition)) (unsubscribe func())
}

// Controller is a View that can also be driven from outside: by an
// operator, or by a health checker that sees trouble before calls do.
type Controller interface {
	View
	// ForceOpen opens the breaker now with the given reason and reports
	// whether it did; see Breaker.ForceOpen.
	ForceOpen(reason Reason) bool
	// ForceHalfOpen ends an open period early; see Breaker.ForceHalfOpen.
	ForceHalfOpen(reason Reason) bool
	// Reset closes the breaker and clears its windows.
	Reset()
}
