// Package sim is the discrete-event simulator behind cmd/circuitsim: one
// service with a worker pool and a queue calls one dependency whose
// latency and error rate change over time, and the same traffic runs twice,
// without a breaker and through a real circuit.Breaker.
//
// The breaker run drives the library's own code through the two-step
// Breaker.Allow API; only time is simulated. A virtual clock that
// implements clock.Clock is set to each event's time before the breaker
// (or the retry budget) is touched, so a run never sleeps: ten simulated
// minutes at 100 requests a second take well under a second. Arrivals are
// a seeded Poisson process, and each call's latency and error are drawn
// from the seed, the request and the attempt alone, so both runs see the
// same traffic and the same dependency, and a seed always gives the same
// Result.
//
// Scenarios come from Builtin (db-slowdown, error-burst, retry-storm,
// flaky, brownout, flapping, slow-recovery), from JSON through
// ParseScenario, or from code. Run returns a Result, which WriteText,
// WriteSVG and WriteJSON render; with Scenario.Ramp it also runs the
// breaker again with a recovery ramp, for comparison. Sweep runs one
// scenario through many configs (Candidates: a base, the presets and a
// Grid) on the same traffic, in parallel, and ranks them by the cost of
// their mistakes, Summary.Cost; WriteSweepText and WriteSweepJSON render
// the ranking. Bad input never panics: ParseScenario, ParseConfig,
// ParseGrid, Candidates, Sweep and Run return *InputError values naming
// the file, the field and the value. Run and Sweep also refuse, before
// simulating anything, work whose predicted cost exceeds MaxRunTime.
package sim
