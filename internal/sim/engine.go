package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/bulkhead"
	"github.com/breakerlab/circuit/retry"
)

// errDependency is the error a failed simulated call reports to the
// breaker.
var errDependency = errors.New("sim: dependency call failed")

// Run simulates sc twice with the same traffic (the same seed): once with
// no breaker, and once through a circuit.Breaker built from cfg and driven
// by its two-step Allow API on a virtual clock. It returns the timelines
// and summaries of both runs. The result depends only on sc, cfg and seed.
//
// cfg.CallTimeout, when set, limits each dependency call in the breaker
// run (as circuit.Execute would); the breaker itself is built with
// CallTimeout 0 and the timeout is modelled as an event. An invalid sc or
// cfg returns an error naming every bad field, and so does one whose
// predicted cost exceeds MaxRunTime.
//
// When sc.Ramp is set, Run simulates the breaker a second time with
// sc.RampConfig(cfg), on the same traffic, into Result.Ramped. When
// sc.Tenants is set, it simulates the same traffic through a
// circuit.Group of breakers built from cfg, one per tenant, into
// Result.Grouped.
//
// Run is safe to call from several goroutines at once; it starts none.
func Run(sc Scenario, cfg circuit.Config, seed uint64) (*Result, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if err := configErrors("", cfg, nil); err != nil {
		return nil, err
	}
	if err := checkCost(&sc, cfg, MaxRunTime); err != nil {
		return nil, err
	}
	res := &Result{
		Scenario: sc,
		Config:   cfg,
		Seed:     seed,
		Interval: sc.interval(),
	}
	res.FaultStart, res.FaultEnd, res.HasFault = sc.faultWindow()
	arrivals := arrivalTimes(&sc, seed)
	for i, mode := range []breakerMode{noBreaker, sharedBreaker} {
		r, err := newRunner(&sc, cfg, seed, arrivals, mode)
		if err != nil {
			return nil, err
		}
		r.run()
		res.Runs[i] = r.result(res)
	}
	if sc.Ramp != nil {
		rc := sc.RampConfig(cfg)
		r, err := newRunner(&sc, rc, seed, arrivals, sharedBreaker)
		if err != nil {
			return nil, err
		}
		r.run()
		rr := r.result(res)
		rr.Label = "with ramp"
		res.RampConfig, res.Ramped = rc, &rr
	}
	if sc.Tenants != nil {
		r, err := newRunner(&sc, cfg, seed, arrivals, keyedBreaker)
		if err != nil {
			return nil, err
		}
		r.run()
		rr := r.result(res)
		rr.Label = "group by tenant"
		res.Grouped = &rr
	}
	res.Runs[1].Summary.CascadesPrevented = cascadesPrevented(&res.Runs[0], &res.Runs[1], sc.Workers)
	if res.Ramped != nil {
		res.Ramped.Summary.CascadesPrevented = cascadesPrevented(&res.Runs[0], res.Ramped, sc.Workers)
	}
	return res, nil
}

// arrivalTimes returns when each request arrives: a Poisson process of
// rate sc.Rate seeded by seed, or evenly spaced arrivals from time 0.
func arrivalTimes(sc *Scenario, seed uint64) []time.Duration {
	n := int(sc.Rate*sc.Duration.Seconds()) + 16
	out := make([]time.Duration, 0, n)
	// Times are compared in float seconds before they become Durations: at
	// a tiny rate the next arrival may lie beyond what a Duration can hold.
	end := sc.Duration.Seconds()
	if sc.Arrivals == "uniform" {
		for i := 0; ; i++ {
			t := float64(i) / sc.Rate
			if t >= end {
				return out
			}
			out = append(out, time.Duration(t*1e9))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	t := 0.0
	for {
		t += rng.ExpFloat64() / sc.Rate
		if t >= end {
			return out
		}
		out = append(out, time.Duration(t*1e9))
	}
}

// outcome is how one request ended.
type outcome uint8

const (
	outOK           outcome = iota // the dependency answered, in time
	outLate                        // the dependency answered after the deadline
	outError                       // the call failed (error, call timeout, overload) and was not retried
	outFallback                    // the breaker rejected the call; a fallback answered
	outQueueTimeout                // waited in the queue past QueueTimeout
	outShed                        // found the queue full
)

type request struct {
	id      int
	tenant  int // with Scenario.Tenants: who sent it
	arrival time.Duration
	attempt int                      // attempts made so far
	permit  circuit.Permit[struct{}] // the breaker's permit for the call in flight
	release func()                   // the bulkhead slot of the call in flight
	failed  bool                     // the call in flight will fail
	holds   bool                     // the call in flight is to end at the dependency when it ends for the client
}

type evKind uint8

const (
	evCallDone evKind = iota
	evRetry
	evLocalDone
	evDepRelease // the dependency finishes a call whose client gave up
)

func (e event) when() time.Duration { return e.at }

type event struct {
	at   time.Duration
	kind evKind
	req  *request
}

// breakerMode is what stands between a run's service and its dependency.
type breakerMode uint8

const (
	noBreaker     breakerMode = iota
	sharedBreaker             // one circuit.Breaker for every call
	keyedBreaker              // a circuit.Group keyed by tenant
)

// runner is one run of a scenario: the event loop and its accounting. It
// is single-goroutine.
type runner struct {
	sc          *Scenario
	seed        uint64
	arrivals    []time.Duration
	clk         *virtualClock
	breaker     *circuit.Breaker[struct{}]
	group       *circuit.Group[int, struct{}] // keyedBreaker: in place of breaker
	bulkhead    *bulkhead.Bulkhead[struct{}]
	transitions []Transition
	callTimeout time.Duration
	policy      *retry.Policy[struct{}]
	budget      *retry.Budget
	draw        *rand.PCG
	drawRand    *rand.Rand

	events queue[event]
	busy   int
	queue  []*request // FIFO: queue[qhead:] waits
	qhead  int
	depIn  int // calls in flight at the dependency

	interval    time.Duration
	cur         int // index of the current interval
	ivs         []Interval
	ivLat       [][]time.Duration // latencies of the answers in each interval
	lat         []time.Duration   // every answer's latency
	faultGood   int               // requests arriving in the fault window that got a full answer in time
	faultServed int               // the same, fallbacks included
	spared      int               // calls the breaker rejected
	goodSpared  int               // of those, the ones that would have been full answers in time (wouldAnswer)
	fbInTime    int               // fallbacks given within the deadline
	recCalls    int               // calls started in the recovery window
	recPeak     int               // most calls in flight at the dependency when one started in it
	faultEnd    time.Duration     // the fault window's end (sc.faultWindow), if hasFault
	hasFault    bool
	bulkFull    int // calls the bulkhead rejected

	// With Scenario.Tenants: the good (not failing) tenants' requests,
	// their full answers in time (in the fault window too), their calls a
	// breaker rejected, and the tenants that had a call rejected.
	goodOffered, goodOK, goodFaultOK, goodRejected int
	refused                                        map[int]bool
}

func newRunner(sc *Scenario, cfg circuit.Config, seed uint64, arrivals []time.Duration, mode breakerMode) (*runner, error) {
	n := int((sc.Duration + sc.interval() - 1) / sc.interval())
	r := &runner{
		sc:          sc,
		seed:        seed,
		arrivals:    arrivals,
		clk:         newVirtualClock(),
		callTimeout: sc.CallTimeout,
		interval:    sc.interval(),
		ivs:         make([]Interval, n),
		ivLat:       make([][]time.Duration, n),
		lat:         make([]time.Duration, 0, len(arrivals)),
		draw:        rand.NewPCG(0, 0),
		refused:     map[int]bool{},
	}
	withBreaker := mode != noBreaker
	r.drawRand = rand.New(r.draw)
	_, r.faultEnd, r.hasFault = sc.faultWindow()
	for i := range r.ivs {
		r.ivs[i].Start = time.Duration(i) * r.interval
	}
	if withBreaker {
		if cfg.CallTimeout > 0 && (r.callTimeout == 0 || cfg.CallTimeout < r.callTimeout) {
			r.callTimeout = cfg.CallTimeout
		}
		bc := cfg
		bc.CallTimeout = 0 // modelled as an event; the virtual clock has no timers
		if bc.Name == "" {
			bc.Name = "dependency"
		}
		opts := []circuit.Option{
			circuit.WithConfig(bc),
			circuit.WithClock(r.clk),
			circuit.WithJitterSeed(seed), // OpenJitter repeats with the seed
			circuit.WithOnStateChange(func(t circuit.Transition) {
				r.transitions = append(r.transitions, Transition{
					At: t.At.Sub(epoch), From: t.From, To: t.To, Reason: t.Reason,
				})
			}),
		}
		if mode == keyedBreaker {
			// Room for every tenant: the run compares keying, not eviction.
			g, err := circuit.NewGroup[int, struct{}](
				circuit.WithBreakerOptions(opts...),
				circuit.WithKeyName(func(k int) string { return fmt.Sprintf("tenant-%d", k) }),
				circuit.WithMaxBreakers(sc.Tenants.Count),
			)
			if err != nil {
				return nil, err
			}
			r.group = g
		} else {
			b, err := circuit.New[struct{}](opts...)
			if err != nil {
				return nil, err
			}
			r.breaker = b
		}
		if sc.Bulkhead > 0 {
			// No queue: Acquire never waits, so it needs no timers.
			bh, err := bulkhead.New[struct{}](bulkhead.WithMaxConcurrent(sc.Bulkhead), bulkhead.WithClock(r.clk))
			if err != nil {
				return nil, fmt.Errorf("sim: bulkhead: %w", err)
			}
			r.bulkhead = bh
		}
	}
	if rt := sc.Retry; rt != nil {
		p, err := retry.New[struct{}](
			retry.WithMaxAttempts(rt.MaxAttempts),
			retry.WithBackoff(retry.Exponential), retry.WithBaseDelay(rt.Backoff),
			retry.WithRand(rand.New(rand.NewPCG(seed, 0x5eed))),
		)
		if err != nil {
			return nil, fmt.Errorf("sim: retry policy: %w", err)
		}
		r.policy = p
		if withBreaker && (rt.BudgetRatio > 0 || rt.BudgetMinPerSecond > 0) {
			w := rt.BudgetWindow
			if w == 0 {
				w = 10 * time.Second
			}
			bud, err := retry.NewBudget(rt.BudgetRatio, rt.BudgetMinPerSecond, w, retry.WithClock(r.clk))
			if err != nil {
				return nil, fmt.Errorf("sim: retry budget: %w", err)
			}
			r.budget = bud
		}
	}
	return r, nil
}

// run processes every arrival and event up to the scenario's end. Calls
// still in flight at the end are left unfinished.
func (r *runner) run() {
	next := 0
	for {
		t := r.sc.Duration
		fromArrivals := false
		if next < len(r.arrivals) {
			t, fromArrivals = r.arrivals[next], true
		}
		// An event at the same instant as an arrival goes first: a call
		// that ends frees its worker for the newcomer.
		if at, ok := r.events.next(); ok && at <= t {
			t, fromArrivals = at, false
		}
		if t >= r.sc.Duration {
			break
		}
		r.advance(t)
		r.clk.set(t)
		if fromArrivals {
			r.arrive(&request{id: next, arrival: t, tenant: r.tenantOf(next)})
			next++
		} else {
			ev := r.events.pop()
			switch ev.kind {
			case evCallDone:
				r.callDone(ev.req)
			case evRetry:
				r.attempt(ev.req)
			case evLocalDone:
				r.respond(ev.req, ev.at, outOK)
			case evDepRelease:
				r.depIn--
			}
		}
		r.dispatch()
	}
	r.advance(r.sc.Duration)
	r.clk.set(r.sc.Duration)
	if r.breaker != nil {
		r.breaker.State() // applies a pending open -> half-open, for the record
	}
	if r.group != nil {
		for _, b := range r.group.Breakers() {
			b.State()
		}
	}
}

// advance moves the accounting to time t: it drops the queued requests
// whose QueueTimeout expires by t, and starts the intervals that begin by
// t, each in time order.
func (r *runner) advance(t time.Duration) {
	for {
		expiry := time.Duration(math.MaxInt64)
		if r.sc.QueueTimeout > 0 && r.qhead < len(r.queue) {
			expiry = r.queue[r.qhead].arrival + r.sc.QueueTimeout
		}
		boundary := time.Duration(math.MaxInt64)
		if r.cur+1 < len(r.ivs) {
			boundary = r.ivs[r.cur+1].Start
		}
		switch {
		case expiry <= t && expiry < boundary:
			req := r.queue[r.qhead]
			r.queue[r.qhead] = nil
			r.qhead++
			r.respond(req, expiry, outQueueTimeout)
		case boundary <= t:
			r.cur++
			r.ivs[r.cur].PeakBusy = r.busy
			r.ivs[r.cur].PeakQueue = r.queued()
		default:
			return
		}
	}
}

func (r *runner) queued() int { return len(r.queue) - r.qhead }

func (r *runner) arrive(req *request) {
	iv := &r.ivs[r.cur]
	iv.Offered++
	if r.good(req) {
		r.goodOffered++
	}
	switch {
	case r.busy < r.sc.Workers && r.queued() == 0:
		r.start(req)
	case r.queued() < r.sc.QueueSize:
		if r.qhead > 0 && r.qhead == len(r.queue) {
			r.queue, r.qhead = r.queue[:0], 0
		}
		r.queue = append(r.queue, req)
		iv.PeakQueue = max(iv.PeakQueue, r.queued())
	default:
		r.respond(req, req.arrival, outShed)
	}
}

// dispatch hands queued requests to free workers. A request that the
// breaker rejects frees its worker at once, so this loops.
func (r *runner) dispatch() {
	for r.busy < r.sc.Workers && r.queued() > 0 {
		req := r.queue[r.qhead]
		r.queue[r.qhead] = nil
		r.qhead++
		r.start(req)
	}
}

func (r *runner) start(req *request) {
	r.busy++
	if r.sc.DependencyShare > 0 && r.sc.DependencyShare < 1 {
		// Drawn from the seed and the request alone, like the calls, so
		// both runs agree on which requests need the dependency.
		r.draw.Seed(r.seed^0xda3e39cb94b95bdb, uint64(req.id)<<8)
		if r.drawRand.Float64() >= r.sc.DependencyShare {
			r.events.push(event{at: r.clk.elapsed() + r.sc.LocalLatency, kind: evLocalDone, req: req})
			r.ivs[r.cur].PeakBusy = max(r.ivs[r.cur].PeakBusy, r.busy)
			return
		}
	}
	r.attempt(req)
	// Measured after the attempt: a worker that answers a fallback at once
	// was never busy for any time.
	iv := &r.ivs[r.cur]
	iv.PeakBusy = max(iv.PeakBusy, r.busy)
}

// attempt makes one call to the dependency for req, through the breaker
// when there is one, and schedules its end.
func (r *runner) attempt(req *request) {
	now := r.clk.elapsed()
	// The bulkhead sits outside the breaker (see docs/composition.md), so
	// its rejections never count against the dependency.
	if r.bulkhead != nil {
		release, err := r.bulkhead.Acquire(context.Background())
		if err != nil {
			r.bulkFull++
			r.respond(req, now, outFallback)
			return
		}
		req.release = release.Release
	}
	if b := r.breakerFor(req); b != nil {
		permit, err := b.Allow()
		if err != nil {
			if req.release != nil {
				req.release()
				req.release = nil
			}
			r.spared++
			if r.wouldAnswer(req, now) {
				r.goodSpared++
			}
			if r.sc.Tenants != nil {
				r.refused[req.tenant] = true
				if r.good(req) {
					r.goodRejected++
				}
			}
			r.respond(req, now, outFallback)
			return
		}
		req.permit = permit
	}
	req.attempt++
	if req.attempt == 1 && r.budget != nil {
		r.budget.RecordAttempt()
	}
	iv := &r.ivs[r.cur]
	iv.Calls++
	if req.attempt > 1 {
		iv.Retries++
	}

	r.depIn++
	var d time.Duration
	d, req.failed = r.fate(req, req.attempt, now, r.depIn)
	if r.recovering(now) {
		r.recCalls++
		r.recPeak = max(r.recPeak, r.depIn)
	}
	req.holds = true
	if r.callTimeout > 0 && d >= r.callTimeout {
		// The client gives up; the dependency does not, and keeps
		// working on the abandoned call until it is done.
		r.events.push(event{at: now + d, kind: evDepRelease})
		d, req.failed, req.holds = r.callTimeout, true, false
	}
	r.events.push(event{at: now + d, kind: evCallDone, req: req})
}

func (r *runner) callDone(req *request) {
	now := r.clk.elapsed()
	if req.holds {
		r.depIn--
	}
	if req.permit != (circuit.Permit[struct{}]{}) {
		var err error
		if req.failed {
			err = errDependency
		}
		req.permit.Done(struct{}{}, err)
		req.permit = circuit.Permit[struct{}]{}
	}
	if req.release != nil {
		req.release()
		req.release = nil
	}
	if !req.failed {
		r.respond(req, now, outOK)
		return
	}
	if r.policy != nil && req.attempt < r.policy.MaxAttempts() && (r.budget == nil || r.budget.TryRetry()) {
		r.events.push(event{at: now + r.policy.Delay(req.attempt), kind: evRetry, req: req})
		return
	}
	r.respond(req, now, outError)
}

// fate returns how attempt a of req, started at now with n calls in flight
// at the dependency (itself included), fares: how long the dependency takes
// and whether the call fails. Common random numbers: the draws depend on
// the seed, the request and the attempt only, so a call made in both runs
// fares the same in both, and a call the breaker rejected can be judged by
// the draws it would have had.
func (r *runner) fate(req *request, a int, now time.Duration, n int) (time.Duration, bool) {
	r.draw.Seed(r.seed^0xda3e39cb94b95bdb, uint64(req.id)<<8|uint64(a))
	u := r.drawRand.Float64()
	z := r.drawRand.NormFloat64()

	ph := r.sc.phaseAt(now)
	failed := u < ph.ErrorRate || (ph.Fault && r.sc.Tenants != nil && !r.good(req))
	secs := ph.Latency.Seconds() * math.Exp(ph.Spread*z)
	if r.sc.Capacity > 0 {
		c := float64(r.sc.Capacity) * ph.capacityShare(now)
		if n := float64(n); n > c {
			// Overloaded: the dependency shares itself among the calls in
			// flight, so this one takes longer in proportion (judged when it
			// starts, a simplification of processor sharing).
			secs *= n / c
			if f := r.sc.OverloadFailure; f > 0 && n > f*c {
				failed = true
			}
		}
	}
	return time.Duration(math.Min(secs, maxDuration.Seconds()) * 1e9), failed
}

// wouldAnswer reports whether the call the breaker has just rejected for
// req at now would have been a full answer within the deadline had it been
// made: its own draws, at the load of that instant plus itself, under the
// call timeout. Only this call is imagined made; the rest of the run stays
// as it was.
func (r *runner) wouldAnswer(req *request, now time.Duration) bool {
	d, failed := r.fate(req, req.attempt+1, now, r.depIn+1)
	switch {
	case failed, r.callTimeout > 0 && d >= r.callTimeout:
		return false
	case r.sc.Deadline > 0 && now+d-req.arrival > r.sc.Deadline:
		return false
	}
	return true
}

// respond books the answer to req at time t and frees its worker.
func (r *runner) respond(req *request, t time.Duration, out outcome) {
	lat := t - req.arrival
	iv := &r.ivs[r.cur]
	inTime := r.sc.Deadline == 0 || lat <= r.sc.Deadline
	full, served := false, false
	switch out {
	case outOK:
		if inTime {
			iv.OK++
			full, served = true, true
		} else {
			iv.Late++
		}
	case outError:
		iv.Errors++
	case outFallback:
		iv.Fallbacks++
		served = inTime
		if inTime {
			r.fbInTime++
		}
	case outQueueTimeout:
		iv.QueueTimeouts++
	case outShed:
		iv.Shed++
	}
	if served {
		iv.Served++
		inFault := false
		if fs, fe, ok := r.sc.faultWindow(); ok && req.arrival >= fs && req.arrival < fe {
			inFault = true
			r.faultServed++
			if full {
				r.faultGood++
			}
		}
		if full && r.good(req) {
			r.goodOK++
			if inFault {
				r.goodFaultOK++
			}
		}
	}
	r.ivLat[r.cur] = append(r.ivLat[r.cur], lat)
	r.lat = append(r.lat, lat)
	if out != outQueueTimeout && out != outShed {
		r.busy--
	}
}

// tenantOf returns the tenant that sends request id (see Tenants), or 0
// without Scenario.Tenants.
func (r *runner) tenantOf(id int) int {
	tn := r.sc.Tenants
	if tn == nil {
		return 0
	}
	if tn.Share == 0 {
		return id % tn.Count
	}
	// A stream of its own (another first seed word than the calls'), so
	// which tenant sends a request changes no call's draws.
	r.draw.Seed(r.seed^0x2545f4914f6cdd1d, uint64(id)<<8)
	if r.drawRand.Float64() < tn.Share {
		return id % tn.Failing
	}
	return tn.Failing + id%(tn.Count-tn.Failing)
}

// good reports whether req comes from a tenant that is not failing; false
// without Scenario.Tenants.
func (r *runner) good(req *request) bool {
	return r.sc.Tenants != nil && req.tenant >= r.sc.Tenants.Failing
}

// breakerFor returns the breaker req's calls go through: the shared one,
// its tenant's, or nil without a breaker.
func (r *runner) breakerFor(req *request) *circuit.Breaker[struct{}] {
	if r.group != nil {
		return r.group.Get(req.tenant)
	}
	return r.breaker
}

// recovering reports whether t lies in the recovery window: the first
// RecoveryWindow after the fault's end (cut at the run's end).
func (r *runner) recovering(t time.Duration) bool {
	return r.hasFault && t >= r.faultEnd && t < r.faultEnd+RecoveryWindow
}
