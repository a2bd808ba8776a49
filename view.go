package circuit

import "time"

// View is the part of a breaker that does not depend on its result type:
// every *Breaker[T] satisfies it, so tools such as registries, exporters
// and health checkers can hold breakers of different T together.
type View interface {
	// Name returns Config.Name.
	Name() string
	// State returns the current state, applying any transition time alone
	// has caused first.
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
	// Trip opens the breaker now, to recover through its open period and
	// probes, and reports whether it did; see Breaker.Trip.
	Trip(reason Reason) bool
	// OpenUntil opens the breaker until a given time, or extends its open
	// period; see Breaker.OpenUntil.
	OpenUntil(reason Reason, until time.Time) bool
	// EndOpen ends an open period early; see Breaker.EndOpen.
	EndOpen(reason Reason) bool
	// ForceOpen holds the breaker open until Reset; see Breaker.ForceOpen.
	ForceOpen() bool
	// Disable switches the breaker off, keeping its metrics; see
	// Breaker.Disable.
	Disable() bool
	// Reset closes the breaker from any state and clears its window; see
	// Breaker.Reset.
	Reset()
}

// Interface checks.
var _ Controller = (*Breaker[int])(nil)
