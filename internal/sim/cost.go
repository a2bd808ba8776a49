package sim

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/breakerlab/circuit"
)

// MaxRunTime is the longest a run may be predicted to take. Run refuses a
// scenario whose predicted cost is higher, before simulating anything, with
// an *InputError naming the field that makes it so: a scenario inside
// every other limit could otherwise keep the command busy for hours.
const MaxRunTime = time.Minute

// The cost model's constants, measured on the project's shared 2-core
// machine with Go 1.26 (both runs of a scenario together), rounded up:
// BenchmarkRunFlaky's median is 640 ns/request; BenchmarkRunFlapping's
// 1.4 to 2.6 µs per state change, calls included, whatever the window
// (the breaker's transitions cost O(histogram bins), not O(WindowSize)).
// A faster machine finishes sooner than predicted, which errs on the side
// of refusing.
const (
	// nsPerCall is the work per dependency call or local request: events
	// on the heap, the breaker, the retry policy and the accounting.
	nsPerCall = 700
	// nsPerTransition is the work per state change: the breaker builds
	// the Transition, with its snapshot, and delivers it to the
	// simulator's hook.
	nsPerTransition = 1000
)

// cost is a run's predicted work, split into its two terms.
type cost struct {
	calls          float64 // calls through the breaker at most: requests × attempts
	transitions    float64 // state changes at most
	callTime       float64 // seconds
	transitionTime float64 // seconds
}

func (c cost) total() time.Duration {
	s := c.callTime + c.transitionTime
	if s >= math.MaxInt64/1e9 {
		return math.MaxInt64
	}
	return time.Duration(s * 1e9)
}

// predictCost bounds the work of Run(sc, cfg, _) from above. It requires a
// valid sc and cfg.
//
// Every call costs about the same, and so does every state change, of
// which there are at most two per call (an open breaker
// found half-open at Allow, then the probe's outcome) and at most three
// per open period, each of which lasts OpenTimeout.
func predictCost(sc *Scenario, cfg circuit.Config) cost {
	attempts := 1.0
	if sc.Retry != nil {
		attempts = float64(sc.Retry.MaxAttempts)
	}
	var c cost
	c.calls = sc.Rate * sc.Duration.Seconds() * attempts
	c.callTime = c.calls * nsPerCall / 1e9
	openPeriods := float64(sc.Duration)/float64(cfg.OpenTimeout) + 1
	c.transitions = math.Min(2*c.calls+1, 3*openPeriods)
	c.transitionTime = c.transitions * nsPerTransition / 1e9
	if sc.Ramp != nil {
		// The ramp comparison runs the breaker once more: three runs where
		// the constants were measured on two, and the breaker run costs
		// more than the other (one is counted as half).
		c.callTime *= 1.5
		c.transitionTime *= 2
	}
	if tn := sc.Tenants; tn != nil {
		// One more run through a group: every tenant's breaker may open
		// and close on its own, and each call looks its breaker up.
		keyed := math.Min(2*c.calls+1, 3*openPeriods*float64(tn.Count))
		c.transitions += keyed
		c.callTime += c.calls * nsPerCall / 1e9
		c.transitionTime += keyed * nsPerTransition / 1e9
	}
	return c
}

// checkCost refuses sc and cfg when their predicted cost exceeds limit,
// naming the field that dominates it. It requires a valid sc and cfg.
func checkCost(sc *Scenario, cfg circuit.Config, limit time.Duration) error {
	c := predictCost(sc, cfg)
	if c.total() <= limit {
		return nil
	}
	about := roundCost(c.total())
	switch {
	case c.transitionTime >= c.callTime:
		return &InputError{
			Field: "OpenTimeout",
			Value: strconv.Quote(cfg.OpenTimeout.String()),
			Problem: fmt.Sprintf("the run could take about %v, over the limit of %v (MaxRunTime): "+
				"the breaker may change state up to %s times (%s calls, duration %v); "+
				"use a longer OpenTimeout, a lower rate or a shorter duration",
				about, limit, count(c.transitions), count(c.calls), sc.Duration),
		}
	}
	return &InputError{
		Field: "rate",
		Value: strconv.FormatFloat(sc.Rate, 'g', -1, 64),
		Problem: fmt.Sprintf("the run could take about %v, over the limit of %v (MaxRunTime): "+
			"up to %s calls (rate × duration × retry.maxAttempts); use a lower rate or a shorter duration",
			about, limit, count(c.calls)),
	}
}

// roundCost rounds a prediction to what it is worth: two figures.
func roundCost(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Hour:
		return d.Round(time.Hour)
	case d >= 10*time.Hour:
		return d.Round(10 * time.Minute)
	case d >= time.Hour:
		return d.Round(time.Minute)
	default:
		return d.Round(time.Second)
	}
}

// count formats a large count readably: 1048576, 9.8 million.
func count(f float64) string {
	if f < 1e6 {
		return strconv.FormatFloat(math.Round(f), 'f', -1, 64)
	}
	return strconv.FormatFloat(f/1e6, 'f', 1, 64) + " million"
}
