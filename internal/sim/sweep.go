package sim

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MaxRejectWeight is the largest reject weight Sweep accepts.
const MaxRejectWeight = 1e6

// SweepResult is the outcome of Sweep: every candidate's breaker run on
// the same traffic, ranked by the cost of its mistakes. It is a plain
// value computed from the simulated events.
type SweepResult struct {
	Scenario     Scenario
	Seed         uint64
	RejectWeight float64

	// The fault window, as in Result.
	FaultStart, FaultEnd time.Duration
	HasFault             bool

	// NoBreaker is the run without a breaker on the same traffic: the
	// cost of having none is its FailedRequests.
	NoBreaker Summary

	// Ranking holds every candidate, lowest cost first; candidates of
	// equal cost keep the order they were given in. Ranking[0] is the
	// recommended one.
	Ranking []SweepEntry
}

// SweepEntry is one candidate's place in a sweep.
type SweepEntry struct {
	Candidate
	Index   int     // position in the list given to Sweep
	Rank    int     // 1 + how many candidates cost less: tied ones share a rank
	Cost    float64 // Summary.Cost(RejectWeight)
	Summary Summary // the breaker run's; its Intervals are not kept
}

// Recommended returns the candidate of lowest cost, the first of them when
// several tie.
func (r *SweepResult) Recommended() *SweepEntry { return &r.Ranking[0] }

// Tied returns how many candidates share the recommended one's cost, the
// recommended one included.
func (r *SweepResult) Tied() int {
	n := 0
	for n < len(r.Ranking) && r.Ranking[n].Rank == 1 {
		n++
	}
	return n
}

// FailedRequests returns the requests that got no useful answer in time:
// errors, late answers, queue timeouts, shed requests, and fallbacks given
// after the deadline.
func (s *Summary) FailedRequests() int {
	return s.Errors + s.Late + s.QueueTimeouts + s.Shed + s.Fallbacks - s.FallbacksInTime
}

// Cost returns the cost of a run's mistakes, in failed requests:
//
//	rejectWeight × GoodRejected + FailedRequests()
//
// GoodRejected is the goodput the breaker gave up (calls turned away that
// would have been full answers in time); FailedRequests is what it let
// through, or let happen. A run without a breaker rejects nothing, so its
// cost is its failures.
func (s *Summary) Cost(rejectWeight float64) float64 {
	return rejectWeight*float64(s.GoodRejected) + float64(s.FailedRequests())
}

// Sweep runs the breaker run of sc once per candidate, each through a
// circuit.Breaker built from its Config, all on the traffic of seed, and
// ranks them by Summary.Cost(rejectWeight): lowest first, ties in the
// order of cands (see Candidates). It also runs sc once without a
// breaker, for reference and for CascadesPrevented. It leaves out the
// scenario's ramp comparison and its run grouped by tenant: the sweep
// compares configs of one shared breaker.
//
// The candidates run in parallel on up to GOMAXPROCS goroutines, which
// have all ended when Sweep returns; the result depends only on sc, cands,
// seed and rejectWeight. Sweep is safe to call from several goroutines at
// once.
//
// An invalid sc, an empty list, more than MaxSweep candidates, an invalid
// config, or a rejectWeight that is not a number in [0, MaxRejectWeight] returns an
// *InputError (joined when there are several), and so does a sweep whose
// predicted cost, the sum of its runs', exceeds MaxRunTime.
func Sweep(sc Scenario, cands []Candidate, seed uint64, rejectWeight float64) (*SweepResult, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if math.IsNaN(rejectWeight) || rejectWeight < 0 || rejectWeight > MaxRejectWeight {
		return nil, &InputError{Field: "reject weight", Value: strconv.FormatFloat(rejectWeight, 'g', -1, 64),
			Problem: fmt.Sprintf("must be a number between 0 and %g (the cost of a good call rejected, in failed requests)", float64(MaxRejectWeight))}
	}
	switch {
	case len(cands) == 0:
		return nil, &InputError{Field: "candidates", Problem: "none to compare"}
	case len(cands) > MaxSweep:
		return nil, &InputError{Field: "candidates", Value: strconv.Itoa(len(cands)),
			Problem: fmt.Sprintf("at most %d configurations (MaxSweep)", MaxSweep)}
	}
	// The cost model counts the ramp and group runs, which the sweep leaves
	// out; the traffic it measures is the same.
	bare := sc
	bare.Ramp, bare.Tenants = nil, nil
	var predicted time.Duration
	for _, c := range cands {
		if err := configErrors("", c.Config, nil); err != nil {
			for _, e := range errorList(err) {
				if ie, ok := e.(*InputError); ok {
					ie.Problem += " (configuration " + strconv.Quote(c.Name) + ")"
				}
			}
			return nil, err
		}
		predicted = min(predicted+predictCost(&bare, c.Config).total(), math.MaxInt64/2)
	}
	if predicted > MaxRunTime {
		return nil, &InputError{Field: "candidates", Value: strconv.Itoa(len(cands)),
			Problem: fmt.Sprintf("the sweep could take about %v, over the limit of %v (MaxRunTime), "+
				"for %s calls per run; use fewer configurations, a lower rate or a shorter duration",
				roundCost(predicted), MaxRunTime, count(predictCost(&bare, cands[0].Config).calls))}
	}

	res := &SweepResult{Scenario: sc, Seed: seed, RejectWeight: rejectWeight}
	res.FaultStart, res.FaultEnd, res.HasFault = sc.faultWindow()
	shell := &Result{Scenario: sc, Seed: seed, Interval: sc.interval(),
		FaultStart: res.FaultStart, FaultEnd: res.FaultEnd, HasFault: res.HasFault}
	// The runners only read sc and the arrivals, so every goroutine shares
	// them: the same traffic, computed once.
	arrivals := arrivalTimes(&sc, seed)
	base, err := newRunner(&sc, cands[0].Config, seed, arrivals, noBreaker)
	if err != nil {
		return nil, err
	}
	base.run()
	baseRun := base.result(shell)
	res.NoBreaker = baseRun.Summary

	entries := make([]SweepEntry, len(cands))
	errs := make([]error, len(cands))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(cands)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cands) {
					return
				}
				r, err := newRunner(&sc, cands[i].Config, seed, arrivals, sharedBreaker)
				if err != nil {
					errs[i] = err
					continue
				}
				r.run()
				rr := r.result(shell)
				rr.Summary.CascadesPrevented = cascadesPrevented(&baseRun, &rr, sc.Workers)
				entries[i] = SweepEntry{Candidate: cands[i], Index: i, Summary: rr.Summary, Cost: rr.Summary.Cost(rejectWeight)}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(entries, func(a, b SweepEntry) int { return cmp.Compare(a.Cost, b.Cost) })
	for i := range entries {
		entries[i].Rank = i + 1
		if i > 0 && entries[i].Cost == entries[i-1].Cost {
			entries[i].Rank = entries[i-1].Rank
		}
	}
	res.Ranking = entries
	return res, nil
}
