package circuit_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// The stress test runs 64 goroutines of mixed calls (Execute and Allow;
// successes, failures, ignored errors, cancellations, panics, abandoned
// probes) against one breaker, with a state-change hook that calls back
// into the breaker and a controller goroutine calling Trip, Reset,
// ForceHalfOpen and Metrics. Run it under -race. It checks, while running,
// that no more than HalfOpenMaxProbes probes of one half-open period are
// ever inside fn at once and that hooks never run concurrently, and at the
// end that every call was booked exactly once, that the hooks saw a valid
// path of transitions in order, and that the breaker can still close.

const (
	stressGoroutines = 64
	stressCalls      = 1000 // per goroutine
)

// stressOutcomes weights the outcomes of stress calls: mostly successes,
// with enough failures that the breaker keeps tripping and recovering.
var stressOutcomes = []outcome{
	outOK, outOK, outOK, outOK, outOK, outOK, outOK, outOK,
	outOK, outOK, outOK, outOK, outFail, outFail,
	outBenign, outDeadline, outCanceled, outPanic, outSkip,
}

// stress is one stress run.
type stress struct {
	t   *testing.T
	b   *circuit.Breaker[int]
	cfg circuit.Config
	clk *stepClock // nil: the real clock, where some calls hang until CallTimeout

	// Test-side booking of every call, to compare with Metrics at the end.
	calls, successes, failures, rejections, canceled, fallbacks, abandoned atomic.Uint64

	probeMu  sync.Mutex
	probesIn map[uint64]int // verified probes inside fn, by half-open period (Transitions count)
	verified atomic.Uint64  // calls verified to be probes
	maxIn    int

	quiet   atomic.Bool // the hook only records: the end checks are running
	inHook  atomic.Int32
	hookMu  sync.Mutex
	hooked  []circuit.Transition
	toClose int // transitions to Closed seen by the hook
}

func TestStress(t *testing.T) {
	cfg := circuit.Config{
		Name:                "stress",
		ConsecutiveFailures: 4,
		ErrorRateThreshold:  0.4,
		WindowSize:          20,
		MinRequests:         10,
		LatencyThreshold:    400 * time.Millisecond,
		LatencyPercentile:   0.9,
		OpenTimeout:         20 * time.Millisecond,
		HalfOpenMaxProbes:   3,
		SuccessThreshold:    3,
	}
	t.Run("step-clock", func(t *testing.T) {
		runStress(t, cfg, newStepClock(), stressCalls)
	})
	t.Run("time-window-backoff", func(t *testing.T) {
		runStress(t, timedStressConfig(cfg), newStepClock(), stressCalls)
	})
	t.Run("real-clock", func(t *testing.T) {
		// Real time: calls take no time unless they hang until CallTimeout,
		// so the timeouts are short; fewer calls, since hung ones wait.
		cfg := cfg
		cfg.OpenTimeout = time.Millisecond
		cfg.LatencyThreshold = 500 * time.Microsecond
		cfg.CallTimeout = 2 * time.Millisecond
		runStress(t, cfg, nil, stressCalls/5)
	})
}

// timedStressConfig is cfg with every v1 feature on: a time window (bucketed,
// no cap), open backoff with jitter and a cap, a probe timeout longer than
// the open timeout, and a ramp after recovering (the latency threshold
// already counts slow calls in flight).
func timedStressConfig(cfg circuit.Config) circuit.Config {
	cfg.WindowSize, cfg.WindowDuration = 0, 80*time.Millisecond
	cfg.OpenBackoff, cfg.OpenTimeoutMax, cfg.OpenJitter = 2, 8*cfg.OpenTimeout, 0.3
	cfg.ProbeTimeout = 2 * cfg.OpenTimeout
	cfg.RampDuration, cfg.RampStart = 2*cfg.OpenTimeout, 0.2
	return cfg
}

// longestOpen is the longest open period cfg allows.
func longestOpen(cfg circuit.Config) time.Duration {
	d := cfg.OpenTimeout
	if cfg.OpenBackoff > 1 {
		d = cfg.OpenTimeoutMax
		if d == 0 {
			d = circuit.MaxOpenTimeout
		}
	}
	return time.Duration(float64(d) * (1 + cfg.OpenJitter))
}

var soakFor = flag.Duration("soak", 0, "run TestSoak for this long (e.g. -soak=10m): the stress workload with every feature on, round after round, checking conservation and the probe limit after each")

// TestSoak runs the stress workload, in its three variants and with a new
// seed each round, until -soak has passed. It is off by default.
func TestSoak(t *testing.T) {
	if *soakFor == 0 {
		t.Skip("soak mode is off; run with -soak=10m")
	}
	cfg := circuit.Config{
		Name: "soak", ConsecutiveFailures: 4, ErrorRateThreshold: 0.4, WindowSize: 20, MinRequests: 10,
		LatencyThreshold: 400 * time.Millisecond, LatencyPercentile: 0.9, OpenTimeout: 20 * time.Millisecond,
		HalfOpenMaxProbes: 3, SuccessThreshold: 3,
	}
	start := time.Now()
	var rounds, calls, transitions uint64
	for round := int64(1); time.Since(start) < *soakFor; round++ {
		for _, v := range []struct {
			name string
			cfg  circuit.Config
			clk  *stepClock
			n    int
		}{
			{"step-clock", cfg, newStepClock(), stressCalls},
			{"time-window-backoff", timedStressConfig(cfg), newStepClock(), stressCalls},
			{"real-clock", func() circuit.Config {
				c := cfg
				c.OpenTimeout, c.LatencyThreshold, c.CallTimeout = time.Millisecond, 500*time.Microsecond, 2*time.Millisecond
				return c
			}(), nil, stressCalls / 5},
		} {
			ok := t.Run(fmt.Sprintf("round-%d/%s", round, v.name), func(t *testing.T) {
				s := runStressSeeded(t, v.cfg, v.clk, v.n, round*1000)
				m := s.b.Metrics()
				calls += s.calls.Load()
				transitions += m.Transitions
			})
			if !ok {
				t.Fatalf("round %d (%s) failed after %v", round, v.name, time.Since(start).Round(time.Second))
			}
		}
		rounds++
	}
	t.Logf("soak: %d rounds of 3 variants in %v: %d calls, %d transitions, conservation and probe limit held in every one",
		rounds, time.Since(start).Round(time.Second), calls, transitions)
}

func runStress(t *testing.T, cfg circuit.Config, clk *stepClock, perGoroutine int) {
	runStressSeeded(t, cfg, clk, perGoroutine, 0)
}

// runStressSeeded is runStress with the goroutines' random sources
// offset by seed, and returns the run.
func runStressSeeded(t *testing.T, cfg circuit.Config, clk *stepClock, perGoroutine int, seed int64) *stress {
	s := &stress{t: t, cfg: cfg, clk: clk, probesIn: map[uint64]int{}}
	opts := []circuit.Option{
		circuit.WithConfig(cfg),
		circuit.WithClassifier(func(_ int, err error) circuit.Outcome {
			switch {
			case err == nil || errors.Is(err, errBenign):
				return circuit.Success
			case errors.Is(err, errSkip):
				return circuit.Ignored
			}
			return circuit.Failure
		}),
		circuit.WithFallback(func(_ context.Context, err error) (int, error) {
			s.fallbacks.Add(1)
			return -1, err // pass the error through, so that the caller can still classify
		}),
		circuit.WithOnStateChange(s.hook),
	}
	if clk != nil {
		opts = append(opts, circuit.WithClock(clk))
	}
	b, err := circuit.New[int](opts...)
	require.NoError(t, err)
	s.b = b

	var workers sync.WaitGroup
	for g := 0; g < stressGoroutines; g++ {
		workers.Add(1)
		go func(g int) {
			defer workers.Done()
			rng := rand.New(rand.NewSource(seed + int64(g)))
			for i := 0; i < perGoroutine; i++ {
				if rng.Intn(4) == 0 {
					s.allow(rng)
				} else {
					s.execute(rng)
				}
			}
		}(g)
	}
	stop := make(chan struct{})
	ctrlDone := make(chan struct{})
	go s.control(stop, ctrlDone)
	workers.Wait()
	close(stop)
	<-ctrlDone

	s.checkEnd()
	return s
}

// hook records each transition, checks that hooks run one at a time, and
// calls back into the breaker, now and then causing a transition itself.
func (s *stress) hook(tr circuit.Transition) {
	if !s.inHook.CompareAndSwap(0, 1) {
		s.t.Errorf("two hooks ran at once")
		return
	}
	defer s.inHook.Store(0)
	s.hookMu.Lock()
	s.hooked = append(s.hooked, tr)
	trip := false
	if tr.To == circuit.Closed {
		s.toClose++
		trip = s.toClose%5 == 0
	}
	s.hookMu.Unlock()
	if tr.Metrics.State != tr.To || !tr.Metrics.StateSince.Equal(tr.At) {
		s.t.Errorf("transition %v->%v at %v carries a snapshot in %v since %v", tr.From, tr.To, tr.At, tr.Metrics.State, tr.Metrics.StateSince)
	}
	if s.quiet.Load() {
		return
	}
	_ = s.b.State()
	_ = s.b.Metrics()
	switch {
	case trip:
		s.b.Trip(circuit.ReasonManual) // delivered after this hook returns
	case tr.To == circuit.HalfOpen:
		s.execute(rand.New(rand.NewSource(int64(tr.Metrics.Transitions)))) // a probe from inside a hook
	}
}

// probeEnter is called first thing inside fn (or after Allow). pre is a
// snapshot taken before the call was admitted. If both pre and a snapshot
// taken now show the same half-open period (same Transitions count), the
// call was admitted in that period, so it is a probe; it is counted until
// the returned func is called, and no more than HalfOpenMaxProbes such
// calls may be in at once.
func (s *stress) probeEnter(pre circuit.Metrics) (leave func()) {
	in := s.b.Metrics()
	if pre.State != circuit.HalfOpen || in.State != circuit.HalfOpen || pre.Transitions != in.Transitions {
		return func() {}
	}
	k := in.Transitions
	s.verified.Add(1)
	s.probeMu.Lock()
	s.probesIn[k]++
	if n := s.probesIn[k]; n > s.maxIn {
		s.maxIn = n
	}
	if n := s.probesIn[k]; n > s.cfg.HalfOpenMaxProbes {
		s.t.Errorf("%d probes of half-open period %d in flight, max %d", n, k, s.cfg.HalfOpenMaxProbes)
	}
	s.probeMu.Unlock()
	return func() {
		s.probeMu.Lock()
		s.probesIn[k]--
		s.probeMu.Unlock()
	}
}

// work is the call's body: it takes lat of step-clock time, or on the real
// clock returns at once unless it hangs until the call's deadline.
func (s *stress) work(ctx context.Context, rng *rand.Rand, out outcome) error {
	// Yield a few times so that calls overlap inside fn even on few cores.
	for i := rng.Intn(4); i > 0; i-- {
		runtime.Gosched()
	}
	if s.clk != nil {
		s.clk.Add(time.Duration(rng.Intn(4000)) * time.Microsecond)
		return out.err()
	}
	if out == outDeadline {
		if _, ok := ctx.Deadline(); !ok {
			s.t.Errorf("fn got no deadline with CallTimeout %v", s.cfg.CallTimeout)
			return out.err()
		}
		<-ctx.Done() // a hung call, ended by CallTimeout
		return ctx.Err()
	}
	return out.err()
}

// pause is the time between a goroutine's calls on the step clock, so that
// time passes while the breaker rejects everything.
func (s *stress) pause(rng *rand.Rand) {
	if s.clk != nil {
		s.clk.Add(time.Duration(rng.Intn(1000)) * time.Microsecond)
	}
}

func (s *stress) execute(rng *rand.Rand) {
	out := stressOutcomes[rng.Intn(len(stressOutcomes))]
	s.pause(rng)
	pre := s.b.Metrics()
	s.checkSnapshot(pre)
	s.calls.Add(1)
	ran := false
	var err error
	r := catchPanic(func() {
		_, err = s.b.Execute(context.Background(), func(ctx context.Context) (int, error) {
			ran = true
			leave := s.probeEnter(pre)
			ferr := s.work(ctx, rng, out)
			leave()
			if out == outPanic {
				panic(panicValue)
			}
			return 1, ferr
		})
	})
	switch {
	case !ran:
		if !errors.Is(err, circuit.ErrOpen) || r != nil {
			s.t.Errorf("call not run but returned %v (panic %v), want a rejection", err, r)
		}
		s.rejections.Add(1)
	case out == outPanic:
		if r != panicValue {
			s.t.Errorf("fn's panic came back as %v", r)
		}
		s.failures.Add(1)
	default:
		s.book(out.kind())
		if !errors.Is(err, out.err()) && !(out == outDeadline && errors.Is(err, context.DeadlineExceeded)) {
			s.t.Errorf("Execute returned %v for outcome %v", err, out)
		}
	}
}

func (s *stress) book(k callKind) {
	switch k {
	case kindSuccess:
		s.successes.Add(1)
	case kindFailure:
		s.failures.Add(1)
	case kindIgnored:
		s.canceled.Add(1)
	}
}

// allow makes a two-step call; 1 in 50 admitted calls never calls done
// (an abandoned probe must not wedge half-open), and 1 in 10 calls it twice.
func (s *stress) allow(rng *rand.Rand) {
	out := stressOutcomes[rng.Intn(len(stressOutcomes))]
	if out == outPanic {
		out = outFail
	}
	s.pause(rng)
	pre := s.b.Metrics()
	s.calls.Add(1)
	permit, err := s.b.Allow()
	if err != nil {
		if !errors.Is(err, circuit.ErrOpen) {
			s.t.Errorf("Allow = %v, want a rejection", err)
		}
		s.rejections.Add(1)
		permit.Done(0, nil) // does nothing
		return
	}
	leave := s.probeEnter(pre)
	var ctx context.Context = context.Background()
	if s.clk == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
	}
	ferr := s.work(ctx, rng, out)
	leave()
	switch rng.Intn(50) {
	case 0:
		s.abandoned.Add(1)
		return
	case 1, 2, 3, 4:
		permit.Done(0, errFail)
		permit.Done(0, ferr) // ignored: the first call counts
		s.failures.Add(1)
		return
	}
	permit.Done(0, ferr)
	s.book(out.kind())
}

// control drives the breaker from outside while the workers run: an action
// after every ~200 calls, so that it paces itself on their progress.
func (s *stress) control(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	rng := rand.New(rand.NewSource(-1))
	next := uint64(200)
	var lastSince time.Time
	for {
		select {
		case <-stop:
			return
		default:
		}
		if s.calls.Load() < next {
			runtime.Gosched()
			continue
		}
		next += 200
		switch rng.Intn(6) {
		case 0:
			s.b.Trip(circuit.ReasonManual)
		case 1:
			s.b.Reset()
		case 2:
			s.b.EndOpen(circuit.ReasonHealthRecovered)
		default:
			m := s.b.Metrics()
			s.checkSnapshot(m)
			if m.StateSince.Before(lastSince) {
				s.t.Errorf("StateSince went backwards: %v -> %v", lastSince, m.StateSince)
			}
			lastSince = m.StateSince
		}
	}
}

// checkSnapshot checks what any snapshot must satisfy: a closed breaker
// checks its criteria after every outcome and opens at once, so no closed
// snapshot shows a criterion that holds; a half-open one has not yet seen
// SuccessThreshold successes; an open one counts nothing.
func (s *stress) checkSnapshot(m circuit.Metrics) {
	c := s.cfg
	bad := ""
	switch m.State {
	case circuit.Closed:
		enough := m.WindowRequests >= c.MinRequests
		switch {
		case c.WindowSize > 0 && m.WindowRequests > c.WindowSize:
			bad = "window overfull"
		case c.WindowDuration > 0:
			// A time window also changes when outcomes age out, with no
			// outcome recorded (and so no trip check): an error rate at
			// or over the threshold between two calls is legitimate.
		case c.ConsecutiveFailures > 0 && m.ConsecutiveFailures >= c.ConsecutiveFailures:
			bad = "consecutive failures reached"
		case c.ErrorRateThreshold > 0 && enough && m.ErrorRate >= c.ErrorRateThreshold:
			bad = "error rate reached"
		case c.LatencyThreshold > 0 && enough && m.WindowRequests > 0 && m.PercentileLatency >= c.LatencyThreshold+c.LatencyThreshold/64:
			// Metrics reports the percentile within 1/64; the criterion is exact.
			bad = "latency percentile reached"
		}
	case circuit.HalfOpen:
		if m.ConsecutiveFailures != 0 || m.ConsecutiveSuccesses >= c.SuccessThreshold {
			bad = "half-open counters"
		}
	case circuit.Open:
		if m.ConsecutiveFailures != 0 || m.ConsecutiveSuccesses != 0 {
			bad = "open counters"
		}
	}
	if bad != "" {
		s.t.Errorf("snapshot in %v: %s: %+v", m.State, bad, m)
	}
}

func (s *stress) checkEnd() {
	t := s.t
	s.quiet.Store(true)
	m := s.b.Metrics()

	// Conservation: every call booked once, in the category it ended in.
	if s.clk != nil {
		assert.Equal(t, s.successes.Load(), m.Successes, "successes")
		assert.Equal(t, s.failures.Load(), m.Failures, "failures")
		assert.Equal(t, s.canceled.Load(), m.Ignored, "ignored")
	} else {
		// On the real clock a call that returned a success, or an error the
		// classifier ignores, may still have taken CallTimeout under load,
		// and is then booked as a failure: only that direction is allowed.
		assert.Equal(t, s.successes.Load()+s.failures.Load()+s.canceled.Load(), m.Successes+m.Failures+m.Ignored,
			"successes+failures+ignored")
		assert.GreaterOrEqual(t, m.Failures, s.failures.Load(), "failures")
		assert.LessOrEqual(t, m.Successes, s.successes.Load(), "successes")
		assert.LessOrEqual(t, m.Ignored, s.canceled.Load(), "ignored")
	}
	assert.Equal(t, s.rejections.Load(), m.Rejections, "rejections")
	assert.Equal(t, s.fallbacks.Load(), m.Fallbacks, "fallbacks")
	assert.Equal(t, s.calls.Load()-s.abandoned.Load(), m.Successes+m.Failures+m.Rejections+m.Ignored,
		"successes+failures+rejections+canceled = calls - abandoned")

	// The hooks saw every transition, as a valid path, in order.
	s.hookMu.Lock()
	hooked := append([]circuit.Transition(nil), s.hooked...)
	s.hookMu.Unlock()
	require.Equal(t, m.Transitions, uint64(len(hooked)), "transitions delivered to the hook")
	prev := circuit.Closed
	var prevAt time.Time
	var byReason [32]int
	for i, tr := range hooked {
		if tr.From != prev {
			t.Fatalf("transition %d goes %v->%v, but the previous one ended in %v", i, tr.From, tr.To, prev)
		}
		if tr.At.Before(prevAt) {
			t.Fatalf("transition %d at %v is before the previous one at %v", i, tr.At, prevAt)
		}
		if tr.Metrics.Transitions != uint64(i+1) {
			t.Fatalf("transition %d carries Transitions = %d", i, tr.Metrics.Transitions)
		}
		prev, prevAt = tr.To, tr.At
		byReason[tr.Reason]++
	}
	require.Equal(t, prev, m.State, "the last transition's To is the state")
	if s.clk != nil { // on the real clock the open timeout may end between the two calls
		assert.Equal(t, m.State, s.b.State(), "State() and Metrics().State at a quiet moment")
	}

	var reasons []string
	for r, n := range byReason {
		if n > 0 {
			reasons = append(reasons, fmt.Sprintf("%v=%d", circuit.Reason(r), n))
		}
	}
	t.Logf("%d calls (%d abandoned): %d successes, %d failures, %d rejections, %d canceled; %d transitions %v; %d calls verified as probes, at most %d in fn at once",
		s.calls.Load(), s.abandoned.Load(), m.Successes, m.Failures, m.Rejections, m.Ignored, len(hooked), reasons, s.verified.Load(), s.maxIn)
	if s.clk != nil { // on the real clock, recovery depends on the scheduler
		assert.Positive(t, byReason[circuit.ReasonProbesSucceeded], "the breaker never recovered: the run proves little")
	}
	assert.Positive(t, s.verified.Load(), "no call was verified to be a probe: the probe limit was never checked")

	// No wedge and no lost slot: once the timeouts have passed, probes are
	// admitted and SuccessThreshold successes close the breaker.
	probe := func() (called bool) {
		_, _ = s.b.Execute(context.Background(), func(context.Context) (int, error) { called = true; return 1, nil })
		return called
	}
	if s.clk != nil {
		s.clk.Add(2 * longestOpen(s.cfg))
		require.NotEqual(t, circuit.Open, s.b.State(), "still open after two of its longest open periods")
		for i := 0; i < s.cfg.SuccessThreshold && s.b.State() != circuit.Closed; i++ {
			require.True(t, probe(), "probe %d was not admitted: a slot was lost", i)
		}
		require.Equal(t, circuit.Closed, s.b.State())
		return
	}
	// Real time must pass: poll (no fixed sleep) until the breaker closes;
	// a probe that the race detector makes slower than LatencyThreshold
	// reopens it, so allow retries, within a generous bound.
	deadline := time.Now().Add(10 * time.Second)
	for s.b.State() != circuit.Closed {
		if time.Now().After(deadline) {
			t.Fatalf("the breaker did not close within 10s of quiet: %+v", s.b.Metrics())
		}
		if !probe() {
			runtime.Gosched()
		}
	}
}

func TestConcurrentUseIsSafe(t *testing.T) {
	b, err := circuit.New[int](circuit.WithConsecutiveFailures(3), circuit.WithOpenTimeout(time.Millisecond), circuit.WithSuccessThreshold(1))
	require.NoError(t, err)
	const goroutines, perG = 8, 300
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
					if (g+i)%4 == 0 {
						return 0, errBoom
					}
					return i, nil
				})
				if i%50 == 0 {
					_ = b.Metrics()
				}
			}
		}(g)
	}
	wg.Wait()
	m := b.Metrics()
	assert.Equal(t, uint64(goroutines*perG), m.Successes+m.Failures+m.Rejections+m.Ignored)
}
