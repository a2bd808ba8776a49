package bulkhead

// Metrics is a snapshot of a Bulkhead, taken under its lock so that its
// fields agree with one another.
type Metrics struct {
	MaxConcurrent int // the configured limit
	MaxQueue      int // the configured queue size
	InFlight      int // calls holding a slot now
	Queued        int // calls waiting for a slot now
	Peak          int // the most calls ever in flight at once
	PeakQueued    int // the most calls ever waiting at once

	// Lifetime counts. Every Acquire ends as exactly one of these, except
	// calls refused for a nil or already-done context, which count nowhere.
	Admitted uint64 // calls that got a slot, at once or after waiting
	Rejected uint64 // calls refused with ErrFull
	TimedOut uint64 // queued calls that gave up with ErrTimeout
	Canceled uint64 // queued calls whose context ended first
}
