package circuit

import "time"

// Metrics is a point-in-time snapshot of a breaker, taken under its lock so
// that its fields agree with one another. It is a plain value: keep it,
// compare it, marshal it.
type Metrics struct {
	Name       string
	State      State
	StateSince time.Time // when the current state began; never goes backwards

	// The last transition: its reason (ReasonNone before the first) and
	// when it took effect (zero before the first).
	LastReason       Reason
	LastTransitionAt time.Time

	// Lifetime counts, never reset (not even by Reset). Every call ends as
	// exactly one of Successes, Failures, Rejections or Ignored, except
	// calls refused before admission (nil func, nil or already-done
	// context), which are counted nowhere, and admitted calls still
	// running (InFlight).
	Successes  uint64 // calls recorded as successes
	Failures   uint64 // calls recorded as failures, including panics and calls over CallTimeout
	Rejections uint64 // calls refused because the breaker was open, held open, or half-open and full
	// Ignored counts calls that were not judged: the classifier said
	// Ignored, the error matched context.Canceled, fn called
	// runtime.Goexit, or a hook ended the caller's goroutine before the
	// call was admitted.
	Ignored  uint64
	InFlight uint64 // admitted calls not yet recorded, Permits not yet done included
	// SlowCalls counts the Successes and Failures that took at least the
	// LatencyThreshold in force when they were recorded (none while it is
	// 0). With Successes and Failures it lets a poller, such as a fleet
	// coordinator's shared window, follow the outcomes without observing
	// every call.
	SlowCalls uint64
	// RampShare is the share of calls admitted now: below 1 only while a
	// recovered breaker ramps its traffic back up (Config.RampDuration).
	RampShare   float64
	Fallbacks   uint64 // calls of the fallback
	Transitions uint64 // state changes
	// TransitionCounts[from][to] counts the transitions between each pair
	// of states, indexed by State, so an exporter needs no subscription.
	TransitionCounts [NumStates][NumStates]uint64

	// Consecutive outcomes in the current state period (reset when the
	// state changes).
	ConsecutiveFailures  int
	ConsecutiveSuccesses int

	// The window: the outcomes it holds (see Config.WindowSize and
	// Config.WindowDuration) since the breaker last entered Closed, and the
	// share of them that failed.
	WindowRequests int
	ErrorRate      float64

	// Latencies over the same outcomes. The percentiles are nearest-rank,
	// reported as the midpoint of a log-linear histogram bin: within 1.56%
	// of the true sample (exact below 64ns). The latency criterion itself
	// is exact: it counts samples at or over the threshold.
	AvgLatency time.Duration
	P95Latency time.Duration
	// PercentileLatency is the latency at Config.LatencyPercentile, the
	// value the latency criterion compares with Config.LatencyThreshold.
	PercentileLatency time.Duration
	// SlowInFlight is how many calls of the current closed period have
	// been running for at least Config.LatencyThreshold and have not
	// finished: the latency criterion counts them as slow samples (see
	// ReasonSlowCalls). 0 in other states, or without a threshold.
	SlowInFlight int

	LastFailure   error     // the last recorded failure, nil if none
	LastFailureAt time.Time // when LastFailure was recorded; zero if none
	LastSuccessAt time.Time // when the last success was recorded; zero if none
}

// Metrics returns a snapshot of the breaker, taken under its lock in
// O(histogram bins), whatever the window size. Like State, it first
// applies any transition that time alone has caused.
func (b *Breaker[T]) Metrics() Metrics {
	now := b.now()
	b.mu.Lock()
	b.advance(now)
	m := b.snapshot()
	b.unlockAndDeliver()
	return m
}

// snapshot fills every Metrics field. It requires b.mu.
func (b *Breaker[T]) snapshot() Metrics {
	b.win.held(b.last) // expires what has aged out
	var transitions uint64
	var pairs [NumStates][NumStates]uint64
	if b.pairs != nil {
		pairs = *b.pairs
	}
	for _, row := range pairs {
		for _, c := range row {
			transitions += c
		}
	}
	return Metrics{
		Name:                 b.name,
		State:                b.period.Load().state,
		StateSince:           b.at(b.since),
		LastReason:           b.lastReason,
		LastTransitionAt:     b.at(b.lastTransAt),
		Successes:            b.successes,
		Failures:             b.failures,
		Rejections:           b.rej.load(),
		Ignored:              b.ignored,
		SlowCalls:            b.slowCalls,
		InFlight:             b.admitted.Load() - b.finished,
		RampShare:            b.rampShareNow(),
		Fallbacks:            b.fallbacks.Load(),
		Transitions:          transitions,
		TransitionCounts:     pairs,
		ConsecutiveFailures:  b.consecFail,
		ConsecutiveSuccesses: b.consecSucc,
		WindowRequests:       b.win.outcomes(),
		ErrorRate:            b.win.errorRate(),
		AvgLatency:           b.win.avgLatency(),
		SlowInFlight:         b.slowInFlight(),
		P95Latency:           b.win.percentile(0.95),
		PercentileLatency:    b.win.percentile(b.cfg.LatencyPercentile),
		LastFailure:          b.lastFailure,
		LastFailureAt:        b.at(b.lastFailAt),
		LastSuccessAt:        b.at(b.lastSuccAt),
	}
}

// slowInFlight is Metrics.SlowInFlight. It requires b.mu.
func (b *Breaker[T]) slowInFlight() int {
	if b.period.Load().state != Closed {
		return 0
	}
	if b.slow == nil {
		return 0
	}
	return b.slow.slow(b.last)
}

// rampShareNow is Metrics.RampShare. It requires b.mu.
func (b *Breaker[T]) rampShareNow() float64 {
	if p := b.period.Load(); p.state == Closed && p.until != 0 && b.last < p.until {
		return b.cfg.rampShare(b.rampFrom, b.last)
	}
	return 1
}
