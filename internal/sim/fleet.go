package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/breakerlab/circuit"
)

// FleetScenario is a service run as Replicas replicas, each calling the
// same dependency through a circuit.Breaker of its own, and a dependency
// that is down from FaultStart to FaultEnd. RunFleet simulates it three
// ways (see FleetMode). The zero value is not valid: start from
// DefaultFleetScenario. Validation errors name the fields by their
// circuitsim flags ("replicas", "fault-start").
type FleetScenario struct {
	// Replicas is how many replicas run, 1 to MaxFleetReplicas.
	Replicas int
	// Rate is each replica's requests per second: a Poisson process of
	// its own, drawn from the seed and the replica's index alone, so that
	// every mode sees the same traffic.
	Rate float64
	// Duration is the simulated time; the fault must end before it.
	Duration time.Duration
	// Every call that starts in [FaultStart, FaultEnd) fails; every other
	// one succeeds.
	FaultStart, FaultEnd time.Duration
	// Latency is how long every call takes, failed or not.
	Latency time.Duration

	// The coordinator of the coordinated modes. Propagation is how long
	// news of an open or a close takes to reach the other replicas
	// (shorter than the breaker's OpenTimeout). Flush is how often a
	// replica sends its counts to the shared window, which sums those of
	// the last Window (at least Flush) and trips the fleet once they
	// meet the breaker's ErrorRateThreshold and MinRequests, with counts
	// from at least MinReplicas replicas (1 to Replicas).
	Propagation time.Duration
	Flush       time.Duration
	Window      time.Duration
	MinReplicas int
}

// Limits of a fleet run, which keep the default run and any other within
// a few seconds.
const (
	// MaxFleetReplicas is the most replicas a FleetScenario may have.
	MaxFleetReplicas = 1000
	// MaxFleetRequests is the most requests a FleetScenario may expect
	// per mode (Replicas × Rate × Duration).
	MaxFleetRequests = 1_000_000
)

// DefaultFleetScenario returns the scenario of `circuitsim fleet`: 20
// replicas serving 0.2 requests a second each (traffic so low that a
// breaker takes half a minute to see five failures), a dependency that answers
// in 20ms and is down from 1:00 to 3:00 of a five-minute run, news that
// takes 500ms to spread, and a shared window of 10s fed every 250ms that
// needs 3 replicas.
func DefaultFleetScenario() FleetScenario {
	return FleetScenario{
		Replicas:    20,
		Rate:        0.2,
		Duration:    5 * time.Minute,
		FaultStart:  60 * time.Second,
		FaultEnd:    180 * time.Second,
		Latency:     20 * time.Millisecond,
		Propagation: 500 * time.Millisecond,
		Flush:       250 * time.Millisecond,
		Window:      10 * time.Second,
		MinReplicas: 3,
	}
}

// FleetMode is how a fleet's breakers learn of each other.
type FleetMode uint8

// The modes RunFleet compares, in the order of FleetResult.Runs.
const (
	// PerReplica: no coordination; each breaker learns from its own
	// replica's calls alone.
	PerReplica FleetMode = iota
	// Coordinated: when one replica's breaker opens, the coordinator opens
	// every other one until the same RetryAt (OpenUntil, ReasonFleet)
	// after the propagation delay; in half-open a lease lets one replica
	// probe (SetProbeGate), and its outcome is published: the others
	// close (Close, ReasonFleet) or open again.
	Coordinated
	// SharedWindow: Coordinated, and the replicas' counts are summed in a
	// shared window that trips the whole fleet on the error rate.
	SharedWindow
)

// NumFleetModes is the number of FleetModes.
const NumFleetModes = 3

var fleetModeNames = [NumFleetModes]string{"per-replica", "fleet", "fleet+window"}

// String returns "per-replica", "fleet" or "fleet+window".
func (m FleetMode) String() string {
	if int(m) < len(fleetModeNames) {
		return fleetModeNames[m]
	}
	return fmt.Sprintf("mode(%d)", m)
}

// FleetResult is the outcome of RunFleet: the same traffic and fault in
// every mode. It is a plain value.
type FleetResult struct {
	Scenario FleetScenario
	Config   circuit.Config
	Seed     uint64
	Runs     [NumFleetModes]FleetRun // indexed by FleetMode
}

// FleetRun is one mode's run in numbers, summed over the replicas. Times
// of the opening are from FaultStart, times of the closing from FaultEnd.
type FleetRun struct {
	Mode     FleetMode
	Requests int // requests that arrived
	Calls    int // calls made to the dependency
	// FailedCalls is the calls made while the dependency was down (from
	// FaultStart to FaultEnd), which all failed: what the breakers let
	// through.
	FailedCalls int
	Rejected    int // calls the breakers turned away
	// RejectedAfter is the calls turned away from FaultEnd on, when the
	// dependency would have answered.
	RejectedAfter int

	// FirstOpen is when the first breaker opened, AllOpen when the last
	// one first did; Opened and AllOpened are false if none or not every
	// one opened.
	FirstOpen, AllOpen time.Duration
	Opened, AllOpened  bool

	// Probes is the calls admitted in half-open, FaultProbes those made
	// while the dependency was down. HalfOpens counts the half-open
	// periods that began while it was down, every replica's, and
	// HalfOpenReplicas the replicas that had one. A fleet-wide round is
	// one half-open period of each of those replicas, so ProbesPerRound,
	// FaultProbes × HalfOpenReplicas / HalfOpens, is the probes the dead
	// dependency got per round: 1 when one replica probes for all, about
	// one per replica when each probes alone. It is 0 when HalfOpens is.
	Probes, FaultProbes int
	HalfOpens           int
	HalfOpenReplicas    int
	ProbesPerRound      float64

	// ClosedAfter is when the last breaker closed again (0 if every one
	// was closed when the fault ended); Closed is false if one was not
	// closed at the end of the run.
	ClosedAfter time.Duration
	Closed      bool

	Opens      int // transitions to open, every replica's
	FleetOpens int // those the coordinator made (ReasonFleet)

	// Rounds is the coordinator's log of the fleet's open periods, in the
	// coordinated modes; nil in PerReplica.
	Rounds []FleetRound
}

// FleetRound is one open period of the whole fleet, as the coordinator
// ran it, and the half-open round that ended it.
type FleetRound struct {
	Opened time.Duration // when the coordinator heard of the open
	// Opener is the replica whose breaker opened, or -1 when the shared
	// window tripped the fleet; Reason is why (ReasonErrorRate for the
	// window).
	Opener int
	Reason circuit.Reason
	// RetryAt is the end of the fleet's open period, as every replica was
	// told (the latest of the replicas' own that reached the coordinator).
	RetryAt time.Duration
	// Prober is the replica that held the lease in half-open, -1 if none
	// did; Probes the probes it sent.
	Prober int
	Probes int
	// Outcome is "reopened" (a probe failed), "closed" (the probes
	// succeeded) or "" (the run ended first).
	Outcome string
}

// RunFleet simulates fs in every FleetMode, with every replica's breaker
// built from cfg (named replica-N unless cfg names it) and driven through
// its two-step Allow API on one virtual clock shared by the fleet. The
// result depends only on fs, cfg and seed.
//
// An invalid fs or cfg returns an error joining one *InputError per bad
// field; so does a latency of at least cfg.CallTimeout. RunFleet is safe to call from several goroutines
// at once; it starts none.
func RunFleet(fs FleetScenario, cfg circuit.Config, seed uint64) (*FleetResult, error) {
	if err := fs.validate(cfg); err != nil {
		return nil, err
	}
	res := &FleetResult{Scenario: fs, Config: cfg, Seed: seed}
	for m := range FleetMode(NumFleetModes) {
		s, err := newFleetSim(&res.Scenario, cfg, seed, m)
		if err != nil {
			return nil, err
		}
		s.run()
		res.Runs[m] = s.out
	}
	return res, nil
}

// validate reports every bad field of fs, and of cfg as the fleet uses it.
func (fs *FleetScenario) validate(cfg circuit.Config) error {
	var errs []error
	bad := func(field string, value any, problem string) {
		v := fmt.Sprint(value)
		if d, ok := value.(time.Duration); ok {
			v = d.String()
		}
		errs = append(errs, &InputError{Field: field, Value: v, Problem: problem})
	}
	if err := configErrors("", cfg, nil); err != nil {
		errs = append(errs, errorList(err)...)
	} else {
		if cfg.CallTimeout > 0 && fs.Latency >= cfg.CallTimeout {
			bad("latency", fs.Latency, fmt.Sprintf("must be shorter than the breaker's CallTimeout (%v), or every call fails", cfg.CallTimeout))
		}
		if fs.Propagation >= cfg.OpenTimeout {
			bad("propagation", fs.Propagation, fmt.Sprintf("must be shorter than the breaker's OpenTimeout (%v)", cfg.OpenTimeout))
		}
	}
	if fs.Replicas < 1 || fs.Replicas > MaxFleetReplicas {
		bad("replicas", fs.Replicas, fmt.Sprintf("must be from 1 to %d", MaxFleetReplicas))
	}
	if !(fs.Rate > 0) || math.IsInf(fs.Rate, 0) {
		bad("rate", fs.Rate, "must be a positive number of requests per second per replica")
	}
	switch {
	case fs.Duration <= 0 || fs.Duration > 24*time.Hour:
		bad("duration", fs.Duration, "must be positive and at most 24h")
	case fs.FaultStart < 0:
		bad("fault-start", fs.FaultStart, "must not be negative")
	case fs.FaultEnd <= fs.FaultStart:
		bad("fault-end", fs.FaultEnd, fmt.Sprintf("must be after the fault's start (%v)", fs.FaultStart))
	case fs.FaultEnd >= fs.Duration:
		bad("fault-end", fs.FaultEnd, fmt.Sprintf("must be before the end of the run (%v), which shows the recovery", fs.Duration))
	}
	if fs.Latency < 0 || fs.Latency > time.Minute {
		bad("latency", fs.Latency, "must be from 0 to 1m")
	}
	if fs.Propagation < 0 {
		bad("propagation", fs.Propagation, "must not be negative")
	}
	switch {
	case fs.Flush < time.Millisecond:
		bad("flush", fs.Flush, "must be at least 1ms")
	case fs.Window < fs.Flush || fs.Window > time.Hour:
		bad("window", fs.Window, fmt.Sprintf("must be from the flush interval (%v) to 1h", fs.Flush))
	}
	if fs.MinReplicas < 1 || (fs.Replicas >= 1 && fs.MinReplicas > fs.Replicas) {
		bad("min-replicas", fs.MinReplicas, fmt.Sprintf("must be from 1 to the number of replicas (%d)", fs.Replicas))
	}
	if len(errs) == 0 {
		if n := float64(fs.Replicas) * fs.Rate * fs.Duration.Seconds(); n > MaxFleetRequests {
			errs = append(errs, &InputError{Problem: fmt.Sprintf(
				"%d replicas at %g req/s for %v is %.3g requests per mode; at most %d (lower the replicas, the rate or the duration)",
				fs.Replicas, fs.Rate, fs.Duration, n, MaxFleetRequests)})
		}
	}
	return errors.Join(errs...)
}

type fleetEvKind uint8

const (
	fevArrive   fleetEvKind = iota // a request reaches replica rep
	fevDone                        // replica rep's call ends
	fevOpenAll                     // the coordinator's open reaches every replica but rep (-1: every one)
	fevOpenOne                     // the coordinator's open reaches replica rep
	fevCloseAll                    // the coordinator's close reaches every replica but rep
	fevFlush                       // replica rep sends its counts to the shared window
)

func (e fleetEvent) when() time.Duration { return e.at }

type fleetEvent struct {
	at     time.Duration
	kind   fleetEvKind
	rep    int
	failed bool                     // fevDone: the call failed
	permit circuit.Permit[struct{}] // fevDone
	until  time.Duration            // fevOpenAll, fevOpenOne: the fleet's RetryAt
}

// fleetReplica is one replica: its breaker, its traffic, and what the run
// has seen of it.
type fleetReplica struct {
	b   *circuit.Breaker[struct{}]
	rng *rand.Rand // its arrivals

	opened    bool          // has opened since the fault's start
	halfOpen  bool          // has gone half-open during the fault
	firstOpen time.Duration // when it first did
	lastClose time.Duration // its last transition to closed

	// Outcomes recorded since its last flush to the shared window.
	ok, fail int
	flushing bool // a flush is scheduled
}

// fleetSim is one mode's run: the replicas, the coordinator and the event
// loop. It is single-goroutine; breakers call back into it (hooks, gates,
// observers) on that goroutine, and those callbacks only book numbers and
// schedule events, never call a breaker.
type fleetSim struct {
	fs     *FleetScenario
	cfg    circuit.Config
	clk    *virtualClock
	reps   []fleetReplica
	co     *coordinator // nil in PerReplica
	events queue[fleetEvent]
	out    FleetRun
}

func newFleetSim(fs *FleetScenario, cfg circuit.Config, seed uint64, mode FleetMode) (*fleetSim, error) {
	s := &fleetSim{fs: fs, cfg: cfg, clk: newVirtualClock(), reps: make([]fleetReplica, fs.Replicas)}
	s.out.Mode = mode
	if mode != PerReplica {
		s.co = newCoordinator(s, mode == SharedWindow)
	}
	bc := cfg
	bc.CallTimeout = 0 // calls take a known time; none reaches the timeout (validate)
	for i := range s.reps {
		r := &s.reps[i]
		if cfg.Name == "" {
			bc.Name = fmt.Sprintf("replica-%d", i)
		}
		b, err := circuit.New[struct{}](
			circuit.WithConfig(bc),
			circuit.WithClock(s.clk),
			circuit.WithJitterSeed(seed), // each replica's name gives it its own sequence
			circuit.WithOnStateChange(func(t circuit.Transition) { s.heard(i, t) }),
		)
		if err != nil {
			return nil, err
		}
		r.b = b
		if s.co != nil {
			b.SetProbeGate(func() bool { return s.co.gate(i) })
			if s.co.shared {
				b.Observe(func(o circuit.Observation) { s.observed(i, o) })
			}
		}
		// A stream per replica, the same in every mode.
		r.rng = rand.New(rand.NewPCG(seed^0x51f1ee7c0ffee5, uint64(i)))
		s.events.push(fleetEvent{at: s.nextArrival(r, 0), kind: fevArrive, rep: i})
	}
	return s, nil
}

// nextArrival returns when the request after one at t reaches r, or a time
// past the run's end.
func (s *fleetSim) nextArrival(r *fleetReplica, t time.Duration) time.Duration {
	// In float seconds first: at a tiny rate the gap may not fit a Duration.
	next := t.Seconds() + r.rng.ExpFloat64()/s.fs.Rate
	if next >= s.fs.Duration.Seconds() {
		return s.fs.Duration
	}
	return time.Duration(next * 1e9)
}

func (s *fleetSim) run() {
	for {
		if at, ok := s.events.next(); !ok || at >= s.fs.Duration {
			break
		}
		ev := s.events.pop()
		s.clk.set(ev.at)
		switch ev.kind {
		case fevArrive:
			s.arrive(ev.rep)
		case fevDone:
			var err error
			if ev.failed {
				err = errDependency
			}
			ev.permit.Done(struct{}{}, err)
		case fevOpenAll:
			for j := range s.reps {
				if j != ev.rep {
					s.reps[j].b.OpenUntil(circuit.ReasonFleet, epoch.Add(ev.until))
				}
			}
		case fevOpenOne:
			s.reps[ev.rep].b.OpenUntil(circuit.ReasonFleet, epoch.Add(ev.until))
		case fevCloseAll:
			for j := range s.reps {
				if j != ev.rep {
					s.reps[j].b.Close(circuit.ReasonFleet)
				}
			}
		case fevFlush:
			s.flush(ev.rep)
		}
	}
	s.clk.set(s.fs.Duration)
	for i := range s.reps {
		s.reps[i].b.State() // applies a pending open -> half-open, for the record
	}
	s.finish()
}

// faulty reports whether a call starting at t fails.
func (s *fleetSim) faulty(t time.Duration) bool { return t >= s.fs.FaultStart && t < s.fs.FaultEnd }

func (s *fleetSim) arrive(i int) {
	now := s.clk.elapsed()
	r := &s.reps[i]
	s.events.push(fleetEvent{at: s.nextArrival(r, now), kind: fevArrive, rep: i})
	s.out.Requests++
	// State applies an open period's end first, so a half-open breaker
	// here means that an admitted call is a probe.
	probe := r.b.State() == circuit.HalfOpen
	permit, err := r.b.Allow()
	if err != nil {
		s.out.Rejected++
		if now >= s.fs.FaultEnd {
			s.out.RejectedAfter++
		}
		return
	}
	s.out.Calls++
	failed := s.faulty(now)
	if failed {
		s.out.FailedCalls++
	}
	if probe {
		s.out.Probes++
		if failed {
			s.out.FaultProbes++
		}
		if s.co != nil {
			s.co.probed(i)
		}
	}
	s.events.push(fleetEvent{at: now + s.fs.Latency, kind: fevDone, rep: i, failed: failed, permit: permit})
}

// heard books replica i's transition t, and tells the coordinator.
func (s *fleetSim) heard(i int, t circuit.Transition) {
	r := &s.reps[i]
	at := t.At.Sub(epoch)
	switch t.To {
	case circuit.Open:
		s.out.Opens++
		if t.Reason == circuit.ReasonFleet {
			s.out.FleetOpens++
		}
		if !r.opened && at >= s.fs.FaultStart {
			r.opened, r.firstOpen = true, at
		}
	case circuit.HalfOpen:
		if s.faulty(at) {
			s.out.HalfOpens++
			if !r.halfOpen {
				r.halfOpen = true
				s.out.HalfOpenReplicas++
			}
		}
	case circuit.Closed:
		r.lastClose = at
	}
	if s.co != nil {
		s.co.heard(i, t)
	}
}

// observed books a call replica i recorded, for its next flush.
func (s *fleetSim) observed(i int, o circuit.Observation) {
	r := &s.reps[i]
	switch {
	case o.Rejected:
		return
	case o.Outcome == circuit.Success:
		r.ok++
	case o.Outcome == circuit.Failure:
		r.fail++
	default:
		return
	}
	if !r.flushing {
		r.flushing = true
		s.events.push(fleetEvent{at: s.nextFlush(i, s.clk.elapsed()), kind: fevFlush, rep: i})
	}
}

// nextFlush returns replica i's first flush after t. The replicas flush
// every Flush, each at its own phase (i/Replicas of the interval), as
// independent processes would.
func (s *fleetSim) nextFlush(i int, t time.Duration) time.Duration {
	f := s.fs.Flush
	phase := f * time.Duration(i) / time.Duration(s.fs.Replicas)
	if t < phase {
		return phase
	}
	return phase + ((t-phase)/f+1)*f
}

func (s *fleetSim) flush(i int) {
	r := &s.reps[i]
	ok, fail := r.ok, r.fail
	r.ok, r.fail, r.flushing = 0, 0, false
	s.co.flush(i, ok, fail)
}

// finish computes the run's summary from what it booked.
func (s *fleetSim) finish() {
	o := &s.out
	o.AllOpened, o.Closed = true, true
	var lastClosed time.Duration
	for i := range s.reps {
		r := &s.reps[i]
		if r.opened {
			d := r.firstOpen - s.fs.FaultStart
			if !o.Opened || d < o.FirstOpen {
				o.FirstOpen = d
			}
			o.Opened = true
			o.AllOpen = max(o.AllOpen, d)
		} else {
			o.AllOpened = false
		}
		if r.b.State() != circuit.Closed {
			o.Closed = false
		}
		lastClosed = max(lastClosed, r.lastClose-s.fs.FaultEnd)
	}
	if !o.AllOpened {
		o.AllOpen = 0
	}
	if o.Closed {
		o.ClosedAfter = lastClosed
	}
	if o.HalfOpens > 0 {
		o.ProbesPerRound = float64(o.FaultProbes) * float64(o.HalfOpenReplicas) / float64(o.HalfOpens)
	}
	if s.co != nil {
		o.Rounds = s.co.rounds
	}
}
