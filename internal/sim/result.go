package sim

import (
	"math"
	"slices"
	"time"

	"github.com/breakerlab/circuit"
)

// Result is the outcome of Run: the same traffic without and with the
// breaker. It is a plain value computed from the simulated events.
type Result struct {
	Scenario Scenario
	Config   circuit.Config
	Seed     uint64
	Interval time.Duration // length of each timeline row

	// The fault window: from the first fault phase's start to the last
	// one's end. HasFault is false when no phase is a fault.
	FaultStart, FaultEnd time.Duration
	HasFault             bool

	// Runs[0] is the run without a breaker, Runs[1] the run with one.
	Runs [2]RunResult

	// Ramped is the breaker run again with RampConfig, Config with the
	// scenario's Ramp, when Scenario.Ramp is set; nil otherwise.
	Ramped     *RunResult
	RampConfig circuit.Config

	// Grouped is the run through a circuit.Group keyed by tenant, when
	// Scenario.Tenants is set; nil otherwise. Its transitions are those of
	// every tenant's breaker, in the order the breakers reported them, and
	// its timeline's State means nothing: each tenant has its own.
	Grouped *RunResult
}

// Windows of the recovery metrics, fixed so that runs compare.
const (
	// ReTripWindow: a trip (closed -> open) within ReTripWindow of the
	// breaker closing again counts as a re-trip.
	ReTripWindow = 60 * time.Second
	// RecoveryWindow: the dependency's load during recovery is measured
	// over the first RecoveryWindow after the fault's end.
	RecoveryWindow = 60 * time.Second
)

// RunResult is one run's timeline, transitions and summary.
type RunResult struct {
	Label       string // "no breaker" or "with breaker"
	Breaker     bool
	Intervals   []Interval
	Transitions []Transition // empty without a breaker
	Summary     Summary
}

// Interval is one row of the timeline. Counts of answers are booked in the
// interval in which the answer was given; Offered in the one in which the
// request arrived.
type Interval struct {
	Start time.Duration
	End   time.Duration

	Offered       int // requests that arrived
	OK            int // answered in full (by the dependency, or by local work) within the deadline
	Late          int // answered in full after the deadline
	Errors        int // failed calls (errors, call timeouts, overload) not retried
	Fallbacks     int // rejected by the breaker (or the bulkhead) and answered by a fallback
	QueueTimeouts int // dropped after waiting QueueTimeout in the queue
	Shed          int // turned away because the queue was full
	Served        int // OK plus fallbacks within the deadline
	Calls         int // calls made to the dependency, retries included
	Retries       int // calls that were retries

	PeakBusy  int           // most workers busy at once
	PeakQueue int           // most requests queued at once
	P99       time.Duration // of the answers given in the interval (0 if none)

	State   circuit.State // the breaker's state at the end (Closed without one)
	Changed bool          // the breaker changed state during the interval
}

// failed returns the answers that were no use to the client: errors, late
// answers, queue timeouts and shed requests.
func (iv *Interval) failed() int { return iv.Errors + iv.Late + iv.QueueTimeouts + iv.Shed }

// Transition is one change of the breaker's state, at simulated time At.
type Transition struct {
	At     time.Duration
	From   circuit.State
	To     circuit.State
	Reason circuit.Reason
}

// Summary is the whole run in numbers.
type Summary struct {
	// Totals of the Interval counts of the same names.
	Offered       int
	OK            int
	Late          int
	Errors        int
	Fallbacks     int
	QueueTimeouts int
	Shed          int
	Unfinished    int // still queued or in flight when the run ended
	Calls         int // calls made to the dependency
	Retries       int

	// Goodput is full answers within the deadline (OK) per second over the
	// whole run; Served adds the fallbacks given within the deadline. The
	// Fault forms count the requests that arrived during the fault window,
	// per second of that window (0 when there is no fault). A fallback is
	// a degraded answer: an open breaker raises Served, and lowers
	// Goodput when the dependency would have answered.
	Goodput      float64
	Served       float64
	FaultGoodput float64
	FaultServed  float64

	P50, P99  time.Duration // over every answer, including errors and fallbacks
	PeakBusy  int
	PeakQueue int

	// Detect is the time from the fault's start to the first time the
	// breaker opened during the fault; Detected is false if it never did.
	Detect   time.Duration
	Detected bool
	// Recover is the time from the fault's end until the breaker was next
	// closed (0 if it was closed when the fault ended); Recovered is false
	// if the breaker never opened for the fault, or never closed again.
	Recover   time.Duration
	Recovered bool

	Opens      int // transitions to open, re-opens from half-open included
	FalseOpens int // trips (closed -> open) while the dependency was in a healthy phase
	Spared     int // calls the breaker kept from the dependency (rejections)
	// GoodRejected counts the rejections (of Spared) whose call would have
	// been a full answer within the deadline: judged by the draws that call
	// would have had, at the dependency's phase and load at that instant
	// (the call itself included), under the call timeout. It is the
	// goodput a breaker gives up, for nothing when the dependency was well.
	GoodRejected int
	// BulkheadFull is how many calls the bulkhead turned away
	// (Scenario.Bulkhead); they got the fallback too.
	BulkheadFull int

	// ReTrips counts the trips (closed -> open) that came within
	// ReTripWindow of a transition to closed: a dependency let back in
	// too fast that failed again.
	ReTrips int
	// RecoveryCalls is how many calls were made to the dependency in the
	// recovery window, the first RecoveryWindow after the fault's end (cut
	// at the run's end), and RecoveryLoad the same per second of that
	// window; RecoveryPeak is the most calls in flight at the dependency
	// when a call started in it. All 0 without a fault.
	RecoveryCalls int
	RecoveryLoad  float64
	RecoveryPeak  int

	// Saturated counts the intervals in which every worker was busy at
	// once (PeakBusy = Scenario.Workers). CascadesPrevented, in a breaker
	// run, counts the intervals saturated without the breaker but not
	// with it.
	Saturated         int
	CascadesPrevented int

	// MTTR is the mean length of the Recoveries outages that ended. An
	// outage runs from a trip (closed -> open) to the transition to closed
	// that no re-trip follows within ReTripWindow (or the run ends first):
	// re-trips belong to the outage they prolong. One still open at the
	// end is left out.
	MTTR       time.Duration
	Recoveries int

	// FallbacksInTime counts the fallbacks given within the deadline (all
	// of them without one); the rest waited too long for a worker.
	FallbacksInTime int

	// With Scenario.Tenants, the tenants that are not failing: their
	// requests, their goodput (full answers in time per second, over the
	// run and over the fault window, like Goodput and FaultGoodput), and
	// how many of their calls a breaker rejected. Refused counts the
	// tenants, failing or not, that had at least one call rejected. All 0
	// without tenants.
	GoodTenantOffered      int
	GoodTenantGoodput      float64
	GoodTenantFaultGoodput float64
	GoodTenantRejected     int
	Refused                int
}

// FalsePositiveRate returns FalseOpens / Opens, the share of opens that
// came while the dependency was healthy; ok is false when there was no
// open.
func (s *Summary) FalsePositiveRate() (rate float64, ok bool) {
	if s.Opens == 0 {
		return 0, false
	}
	return float64(s.FalseOpens) / float64(s.Opens), true
}

// FallbackSuccessRate returns FallbacksInTime / Fallbacks; ok is false
// when there was no fallback.
func (s *Summary) FallbackSuccessRate() (rate float64, ok bool) {
	if s.Fallbacks == 0 {
		return 0, false
	}
	return float64(s.FallbacksInTime) / float64(s.Fallbacks), true
}

// Amplification returns calls to the dependency per offered request.
func (s *Summary) Amplification() float64 {
	if s.Offered == 0 {
		return 0
	}
	return float64(s.Calls) / float64(s.Offered)
}

// result assembles the run's result once the loop has ended.
func (r *runner) result(res *Result) RunResult {
	rr := RunResult{Label: "no breaker", Breaker: r.breaker != nil || r.group != nil, Intervals: r.ivs, Transitions: r.transitions}
	if rr.Breaker {
		rr.Label = "with breaker"
	}
	s := &rr.Summary
	for i := range r.ivs {
		iv := &r.ivs[i]
		iv.End = min(iv.Start+r.interval, r.sc.Duration)
		iv.P99 = percentile(r.ivLat[i], 0.99)
		iv.State, iv.Changed = stateAt(r.transitions, iv.Start, iv.End)
		s.Offered += iv.Offered
		s.OK += iv.OK
		s.Late += iv.Late
		s.Errors += iv.Errors
		s.Fallbacks += iv.Fallbacks
		s.QueueTimeouts += iv.QueueTimeouts
		s.Shed += iv.Shed
		s.Calls += iv.Calls
		s.Retries += iv.Retries
		s.PeakBusy = max(s.PeakBusy, iv.PeakBusy)
		if iv.PeakBusy >= r.sc.Workers {
			s.Saturated++
		}
		s.PeakQueue = max(s.PeakQueue, iv.PeakQueue)
		s.Goodput += float64(iv.OK)
		s.Served += float64(iv.Served)
	}
	s.Goodput /= r.sc.Duration.Seconds()
	s.Served /= r.sc.Duration.Seconds()
	s.Unfinished = s.Offered - (s.OK + s.Late + s.Errors + s.Fallbacks + s.QueueTimeouts + s.Shed)
	s.P50 = percentile(r.lat, 0.50)
	s.P99 = percentile(r.lat, 0.99)
	s.Spared, s.GoodRejected = r.spared, r.goodSpared
	s.BulkheadFull = r.bulkFull
	s.FallbacksInTime = r.fbInTime
	s.GoodTenantOffered, s.GoodTenantRejected, s.Refused = r.goodOffered, r.goodRejected, len(r.refused)
	s.GoodTenantGoodput = float64(r.goodOK) / r.sc.Duration.Seconds()
	if res.HasFault {
		s.RecoveryCalls, s.RecoveryPeak = r.recCalls, r.recPeak
		if w := min(res.FaultEnd+RecoveryWindow, r.sc.Duration) - res.FaultEnd; w > 0 {
			s.RecoveryLoad = float64(r.recCalls) / w.Seconds()
		}
	}
	s.ReTrips, s.MTTR, s.Recoveries = recoveryStats(r.transitions)
	if res.HasFault {
		s.FaultGoodput = float64(r.faultGood) / (res.FaultEnd - res.FaultStart).Seconds()
		s.FaultServed = float64(r.faultServed) / (res.FaultEnd - res.FaultStart).Seconds()
		s.GoodTenantFaultGoodput = float64(r.goodFaultOK) / (res.FaultEnd - res.FaultStart).Seconds()
	}

	// An open counts against the fault from its start until its slowest
	// calls have reported: calls started in the fault may trip the breaker
	// after the fault phase itself has ended.
	faultUntil := res.FaultEnd + r.sc.faultTail()
	inFault := func(at time.Duration) bool {
		return res.HasFault && at >= res.FaultStart && at < faultUntil
	}
	opened := false // opened because of the fault
	for _, t := range r.transitions {
		if t.To != circuit.Open {
			continue
		}
		s.Opens++
		if t.From == circuit.Closed && r.sc.healthyAt(t.At) && !inFault(t.At) {
			s.FalseOpens++
		}
		if inFault(t.At) {
			if !opened {
				s.Detect, s.Detected = t.At-res.FaultStart, true
			}
			opened = true
		}
	}
	if opened {
		detectedAt := res.FaultStart + s.Detect
		if st, _ := stateAt(r.transitions, 0, res.FaultEnd); st == circuit.Closed && detectedAt < res.FaultEnd {
			s.Recovered = true
		} else {
			for _, t := range r.transitions {
				if t.To == circuit.Closed && t.At >= res.FaultEnd && t.At > detectedAt {
					s.Recover, s.Recovered = t.At-res.FaultEnd, true
					break
				}
			}
		}
	}
	return rr
}

// recoveryStats returns the re-trips (trips within ReTripWindow of a
// transition to closed) and the mean length of the breaker's outages over
// the n that ended: an outage runs from a trip to the close that no trip
// follows within ReTripWindow (or the run's end does), so a re-trip
// prolongs its outage rather than starting a short one of its own.
func recoveryStats(ts []Transition) (reTrips int, mttr time.Duration, n int) {
	var start, closedAt time.Duration
	closed := false // the outage begun at start has closed, at closedAt
	var total time.Duration
	for _, t := range ts {
		switch {
		case t.To == circuit.Closed:
			closedAt, closed = t.At, true
		case t.From == circuit.Closed && t.To == circuit.Open:
			if closed && t.At-closedAt < ReTripWindow {
				reTrips++
				closed = false
				continue
			}
			if closed {
				total += closedAt - start
				n++
			}
			start, closed = t.At, false
		}
	}
	if closed {
		total += closedAt - start
		n++
	}
	if n > 0 {
		mttr = total / time.Duration(n)
	}
	return reTrips, mttr, n
}

// cascadesPrevented counts the intervals in which base's pool was
// saturated and brk's was not.
func cascadesPrevented(base, brk *RunResult, workers int) int {
	n := 0
	for i := range base.Intervals {
		if base.Intervals[i].PeakBusy >= workers && brk.Intervals[i].PeakBusy < workers {
			n++
		}
	}
	return n
}

// stateAt returns the state after the last transition before end, and
// whether any transition happened in [start, end).
func stateAt(ts []Transition, start, end time.Duration) (circuit.State, bool) {
	st, changed := circuit.Closed, false
	for _, t := range ts {
		if t.At >= end {
			break
		}
		st = t.To
		if t.At >= start {
			changed = true
		}
	}
	return st, changed
}

// percentile returns the nearest-rank p-th percentile of lat (reordering
// it), or 0 for none.
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	// ceil(p*n), less a hair so that 0.99*100 is 99, not 100.
	k := int(math.Ceil(float64(len(lat))*p-1e-9)) - 1
	return lat[min(max(k, 0), len(lat)-1)]
}
