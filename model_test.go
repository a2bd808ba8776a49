package circuit_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/breakerlab/circuit"
)

// This file holds the model-based test: random operation sequences run
// against a real Breaker and against the reference model (type model), a
// direct transcription of the semantics documented on circuit.Breaker, and
// every observable result is compared. The runner is sequence: fuzz_test.go
// drives it from fuzzer bytes and statemachine_test.go from step tables.

// Errors the test's calls return.
var (
	errFail            = errors.New("dependency failed")
	errBenign          = errors.New("not the dependency's fault") // the classifier calls it a success
	errSkip            = errors.New("not judged")                 // the classifier calls it Ignored
	errWrappedCanceled = fmt.Errorf("call aborted: %w", context.Canceled)
)

// panicValue is what a panicking fn panics with; compared by identity.
var panicValue = &struct{ name string }{"boom"}

// outcome is how a call ends.
type outcome int

const (
	outOK              outcome = iota // nil error: success
	outFail                           // errFail: failure
	outBenign                         // errBenign: success by the classifier
	outDeadline                       // context.DeadlineExceeded: failure by default
	outCanceled                       // context.Canceled: not recorded
	outWrappedCanceled                // an error wrapping context.Canceled: not recorded
	outPanic                          // fn panics (Execute only; done gets errFail)
	outSkip                           // errSkip: Ignored by the classifier
	outBadResult                      // nil error, but a result the classifier calls a failure
	numOutcomes
)

var outcomeNames = [...]string{"ok", "fail", "ignored", "deadline", "canceled", "wrapped-canceled", "panic", "skip", "bad-result"}

// badResult is the result the classifier calls a failure.
const badResult = 503

// result is what fn returns for o.
func (o outcome) result() int {
	if o == outBadResult {
		return badResult
	}
	return int(o) + 1
}

func (o outcome) String() string { return outcomeNames[o] }

func (o outcome) err() error {
	switch o {
	case outFail, outPanic:
		return errFail
	case outBenign:
		return errBenign
	case outDeadline:
		return context.DeadlineExceeded
	case outCanceled:
		return context.Canceled
	case outWrappedCanceled:
		return errWrappedCanceled
	case outSkip:
		return errSkip
	}
	return nil
}

// kind is how the breaker must book an outcome.
func (o outcome) kind() callKind {
	switch o {
	case outOK, outBenign:
		return kindSuccess
	case outCanceled, outWrappedCanceled, outSkip:
		return kindIgnored
	}
	return kindFailure
}

// recorded is the error the breaker books for o: a failing result with no
// error is booked as circuit.ErrResultFailed.
func (o outcome) recorded() error {
	if o == outBadResult {
		return circuit.ErrResultFailed
	}
	return o.err()
}

type callKind int

const (
	kindSuccess callKind = iota
	kindFailure
	kindIgnored
)

// opKind is one operation of a sequence. FuzzSequence decodes kinds by
// number, so the order is the fuzz corpus's encoding: append, never reorder.
type opKind int

const (
	opExec        opKind = iota // Execute; fn takes Lat and ends with Out
	opAllow                     // Allow; the done func is kept as a permitToken
	opDone                      // call permitToken Arg%len(tokens) with Out (again: ignored)
	opAdvance                   // move the clock by Lat
	opTrip                      // Trip
	opReset                     // Reset
	opEndOpen                   // ForceHalfOpen
	opState                     // State, then a full comparison
	opMetrics                   // Metrics, then a full comparison
	opExecDoneCtx               // Execute with a context that is already canceled
	opExecNilFn                 // Execute with a nil fn
	opExecNilCtx                // Execute with a nil context
	opTripHealth                // ForceOpen(ReasonHealthCheck)
	opSubscribe                 // Subscribe a recording hook
	opUnsubscribe               // call subscription Arg%len's unsubscribe (again: no effect)
	opForceOpen                 // ForceOpen: hold it open
	opDisable                   // Disable
	opOpenUntil                 // OpenUntil(ReasonRetryAfter, now + Lat)
	opReconfigure               // Reconfigure(reconfigured(base, Arg)), or Reconfigure(*Cfg)
	numOpKinds
)

var opNames = [...]string{"exec", "allow", "done", "advance", "trip", "reset", "endOpen", "state", "metrics", "execDoneCtx", "execNilFn", "execNilCtx", "tripHealth", "subscribe", "unsubscribe", "forceOpen", "disable", "openUntil", "reconfigure"}

// op is one step. Lat is a latency or clock advance; Arg picks a token, a
// subscription or a Reconfigure variant. Cfg, if set, is the Config an
// opReconfigure passes instead of a variant (step tables use it).
type op struct {
	Kind opKind
	Out  outcome
	Lat  time.Duration
	Arg  int
	Cfg  *circuit.Config
}

func (o op) String() string {
	switch o.Kind {
	case opExec:
		return fmt.Sprintf("exec(%v, %v)", o.Out, o.Lat)
	case opDone:
		return fmt.Sprintf("done(#%d, %v)", o.Arg, o.Out)
	case opAdvance:
		return fmt.Sprintf("advance(%v)", o.Lat)
	case opOpenUntil:
		return fmt.Sprintf("openUntil(+%v)", o.Lat)
	case opReconfigure:
		if o.Cfg != nil {
			return fmt.Sprintf("reconfigure(%+v)", *o.Cfg)
		}
		return fmt.Sprintf("reconfigure(%s)", reconfName(o.Arg))
	}
	return opNames[o.Kind]
}

// sequenceGoString prints ops as a Go literal, ready to paste into a regression test.
func sequenceGoString(cfg circuit.Config, fallback bool, ops []op) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "cfg := %#v\nfallback := %v\nops := []op{\n", cfg, fallback)
	for _, o := range ops {
		if o.Cfg != nil {
			fmt.Fprintf(&sb, "\t{Kind: %d, Cfg: &%#v}, // %v\n", o.Kind, *o.Cfg, o)
			continue
		}
		fmt.Fprintf(&sb, "\t{Kind: %d, Out: %d, Lat: %d, Arg: %d}, // %v\n", o.Kind, o.Out, int64(o.Lat), o.Arg, o)
	}
	sb.WriteString("}\n")
	return sb.String()
}

// ---------------------------------------------------------------------------
// The reference model. It keeps the window as a plain slice and computes the
// error rate and genPercentiles from scratch on every question, so that each
// rule below reads as the sentence of the spec it implements.

type modelSample struct {
	at     time.Duration // when it was recorded
	lat    time.Duration
	failed bool
}

// modelCall is an admitted call: the period it was admitted in, when, and
// whether it holds a probe slot.
type modelCall struct {
	id          int
	gen         int
	start       time.Duration
	probe       bool
	callTimeout time.Duration // Config.CallTimeout at admission (the one that counts is the one at the end)
}

type modelTransition struct {
	from, to circuit.State
	reason   circuit.Reason
	at       time.Duration
	retryAt  time.Duration // To Open: the end of the open period
	metrics  circuit.Metrics
	detail   string // ReasonReconfigured: what changed and what was cleared
}

type model struct {
	cfg   circuit.Config
	epoch time.Time
	rand  func() float64 // the jitter source, in step with the breaker's

	now     time.Duration // the latest time seen
	state   circuit.State
	gen     int            // increases with every period (and every Reset while closed)
	since   time.Duration  // when the current state began
	until   time.Duration  // Open: when the open period ends
	reopens int            // reopenings from half-open since the last close
	cause   error          // OpenError.Cause of the current period
	reason  circuit.Reason // OpenError.Reason of the current period's rejections
	// forcedUntil is OpenUntil's end for the open period it starts.
	forcedUntil time.Duration
	// forcedHint is what a ForcedOpen rejection's RetryAfter says: the
	// OpenTimeout in force when the breaker was held open (the period's
	// rejection error is built once).
	forcedHint time.Duration

	// The ramp of a recovered closed period (0: none): when it began and
	// ends, and the calls it has seen and admitted.
	rampFrom, rampUntil  time.Duration
	rampSeen, rampPassed uint64
	consecFail           int
	consecSucc           int
	samples              []modelSample         // outcomes since the window was last emptied, oldest first
	probes               map[int]time.Duration // in-flight probes of this period: call id -> admission

	// Calls in flight, for the latency criterion's count of slow calls in
	// flight: each admitted call's number, and the checkpoints of the
	// closed period (when, the last number handed out by then). A call
	// counts as slow in flight once a checkpoint taken after its
	// admission is LatencyThreshold old.
	seq         uint64
	inflight    map[int]uint64 // call id -> number
	slowStart   uint64         // the last number handed out before the closed period began
	checkpoints []modelCheckpoint
	lastLook    time.Duration // when the closed period last looked at its calls in flight
	slowCheckAt time.Duration // admission looks (takes the lock) from this time on

	successes, failures, rejections, ignored, fallbacks, slowCalls uint64
	admitted, finished                                             uint64
	pairs                                                          [5][5]uint64
	transitions                                                    []modelTransition // what the hooks hear: state changes and reconfigurations
	changes                                                        uint64            // state changes: Metrics.Transitions
	lastReason                                                     circuit.Reason    // of the last state change
	lastChangeAt                                                   time.Duration     // when the last state change took effect
	lastFailure                                                    error
	lastFailAt, lastSuccAt                                         time.Duration
	failedOnce, succeededOnce                                      bool

	nextID int
}

type modelCheckpoint struct {
	at  time.Duration
	seq uint64
}

func newModel(cfg circuit.Config, epoch time.Time, rand func() float64) *model {
	m := &model{cfg: cfg, epoch: epoch, rand: rand, state: circuit.Closed, probes: map[int]time.Duration{}, inflight: map[int]uint64{}}
	if cfg.LatencyThreshold == 0 {
		m.slowCheckAt = 1<<63 - 1
	}
	return m
}

// slowInFlight counts the closed period's calls in flight that a
// checkpoint at least LatencyThreshold old was taken after.
func (m *model) slowInFlight() int {
	if m.state != circuit.Closed || m.cfg.LatencyThreshold == 0 {
		return 0
	}
	var upTo uint64
	found := false
	for _, c := range m.checkpoints {
		if m.now-c.at >= m.cfg.LatencyThreshold {
			upTo, found = c.seq, true
		}
	}
	if !found {
		return 0
	}
	n := 0
	for _, seq := range m.inflight {
		if seq > m.slowStart && seq <= upTo {
			n++
		}
	}
	return n
}

// checkSlow is the look at the calls in flight that a closed period takes
// at most once per LatencyThreshold/16 (width): a checkpoint, then the
// latency criterion with the slow calls in flight counted as slow samples.
// Between looks admission skips the lock for width only, so every call
// numbered since the last look was admitted by min(now, last look + width).
func (m *model) checkSlow() {
	width := max(m.cfg.LatencyThreshold/16, 1)
	m.checkpoints = append(m.checkpoints, modelCheckpoint{at: min(m.now, m.lastLook+width), seq: m.seq})
	m.lastLook = m.now
	m.slowCheckAt = m.now + width
	s := m.slowInFlight()
	if s == 0 {
		return
	}
	win := m.window()
	lat := make([]modelSample, 0, len(win)+s)
	lat = append(lat, win...)
	for i := 0; i < s; i++ {
		lat = append(lat, modelSample{lat: 1<<63 - 1})
	}
	if len(lat) >= m.cfg.MinRequests && percentile(lat, m.cfg.LatencyPercentile) >= m.cfg.LatencyThreshold {
		m.enter(circuit.Open, m.now, circuit.ReasonSlowCalls)
	}
}

func (m *model) at(d time.Duration) time.Time { return m.epoch.Add(d) }

func (m *model) probeTimeout() time.Duration {
	if m.cfg.ProbeTimeout > 0 {
		return m.cfg.ProbeTimeout
	}
	return m.cfg.OpenTimeout
}

// advance applies the transitions that follow from time alone, each at the
// instant it took effect: open -> half-open at exactly the end of the open
// period, and half-open -> open when the oldest in-flight probe has not
// reported within ProbeTimeout of its admission.
func (m *model) advance(now time.Duration) {
	m.now = max(m.now, now)
	for {
		switch m.state {
		case circuit.Open:
			if now < m.until {
				return
			}
			m.enter(circuit.HalfOpen, m.until, circuit.ReasonTimeoutElapsed)
		case circuit.Closed:
			if m.rampUntil != 0 && m.now >= m.rampUntil {
				m.rampUntil = 0 // the ramp is over
			}
			if now < m.slowCheckAt {
				return
			}
			m.checkSlow()
		case circuit.HalfOpen:
			if len(m.probes) == 0 {
				return
			}
			oldest := time.Duration(1<<63 - 1)
			for _, a := range m.probes {
				oldest = min(oldest, a)
			}
			deadline := oldest + m.probeTimeout()
			if now < deadline {
				return
			}
			m.enter(circuit.Open, deadline, circuit.ReasonProbeTimeout)
		default:
			return
		}
	}
}

// openFor is the length of an open period: OpenTimeout times
// OpenBackoff^reopens, capped by OpenTimeoutMax, then spread by
// ±OpenJitter.
func (m *model) openFor() time.Duration {
	c := m.cfg
	d := float64(c.OpenTimeout)
	if c.OpenBackoff > 1 && m.reopens > 0 {
		d *= math.Pow(c.OpenBackoff, float64(m.reopens))
	}
	limit := float64(circuit.MaxOpenTimeout)
	if c.OpenTimeoutMax > 0 {
		limit = float64(c.OpenTimeoutMax)
	}
	d = min(d, limit)
	if c.OpenJitter > 0 {
		d *= 1 + c.OpenJitter*(2*m.rand()-1)
	}
	return time.Duration(max(min(d, float64(circuit.MaxOpenTimeout)), 1))
}

// enter starts a new period in state to at time at.
func (m *model) enter(to circuit.State, at time.Duration, reason circuit.Reason) {
	from := m.state
	slowInFlight := m.slowInFlight()
	m.gen++
	m.state = to
	m.since = at
	m.pairs[from][to]++
	m.probes = map[int]time.Duration{}
	tr := modelTransition{from: from, to: to, reason: reason, at: at}
	m.reason, m.rampUntil = reason, 0
	m.changes, m.lastReason, m.lastChangeAt = m.changes+1, reason, at
	switch to {
	case circuit.Open:
		if from == circuit.HalfOpen {
			m.reopens++
		} else {
			m.reopens = 0
		}
		if m.forcedUntil > at {
			m.until, m.forcedUntil = m.forcedUntil, 0
		} else {
			m.until = at + m.openFor()
		}
		tr.retryAt = m.until
		m.cause = m.lastFailure
	case circuit.HalfOpen:
		m.cause = m.lastFailure
	case circuit.ForcedOpen:
		m.cause, m.forcedHint = m.lastFailure, m.cfg.OpenTimeout
	case circuit.Closed:
		m.reopens = 0
		if reason == circuit.ReasonProbesSucceeded && m.cfg.RampDuration > 0 {
			m.rampFrom, m.rampUntil, m.rampSeen, m.rampPassed = at, at+m.cfg.RampDuration, 0, 0
			m.reason, m.cause = circuit.ReasonRamp, m.lastFailure
		}
		m.slowStart, m.checkpoints, m.lastLook = m.seq, nil, at
		if m.cfg.LatencyThreshold > 0 {
			m.slowCheckAt = at
		}
	}
	m.transitions = append(m.transitions, tr)
	// The snapshot shows what caused the transition: taken before the new
	// state clears the counters and (entering Closed) the window.
	m.transitions[len(m.transitions)-1].metrics = m.metrics()
	m.transitions[len(m.transitions)-1].metrics.SlowInFlight = slowInFlight
	m.consecFail, m.consecSucc = 0, 0
	if to == circuit.Closed {
		m.samples = nil
	}
}

// admit decides a call starting at now. ok is false for a rejection.
func (m *model) admit(now time.Duration) (c modelCall, ok bool) {
	m.advance(now)
	m.nextID++
	c = modelCall{id: m.nextID, gen: m.gen, start: now, callTimeout: m.cfg.CallTimeout}
	switch m.state {
	case circuit.Open, circuit.ForcedOpen:
		m.rejections++
		return c, false
	case circuit.Closed:
		if m.rampUntil != 0 {
			// A call passes while the share of the ramp's calls admitted so
			// far is below the ramp's share now.
			m.rampSeen++
			share := m.rampShare()
			if float64(m.rampPassed) >= share*float64(m.rampSeen) {
				m.rejections++
				return c, false
			}
			m.rampPassed++
		}
	case circuit.HalfOpen:
		if len(m.probes) >= m.cfg.HalfOpenMaxProbes {
			m.rejections++
			return c, false
		}
		c.probe = true
		m.probes[c.id] = now
	}
	m.admitted++
	m.seq++
	m.inflight[c.id] = m.seq
	return c, true
}

// judge applies CallTimeout: a call that took at least that long is a
// failure, whatever it returned, unless the caller canceled it.
func (m *model) judge(lat time.Duration, kind callKind, err error) (callKind, error) {
	if m.cfg.CallTimeout > 0 && lat >= m.cfg.CallTimeout && kind != kindFailure && !errors.Is(err, context.Canceled) {
		if err == nil {
			err = context.DeadlineExceeded
		}
		return kindFailure, err
	}
	return kind, err
}

// record books the outcome of c, which ended at end with err.
func (m *model) record(c modelCall, end time.Duration, kind callKind, err error) {
	delete(m.inflight, c.id) // first: a call that has ended is not in flight
	m.advance(end)
	m.finished++
	end = m.now
	switch kind {
	case kindSuccess:
		m.successes++
		m.lastSuccAt, m.succeededOnce = end, true
	case kindFailure:
		m.failures++
		m.lastFailure, m.lastFailAt, m.failedOnce = err, end, true
	case kindIgnored:
		m.ignored++
	}
	if lt := m.cfg.LatencyThreshold; lt > 0 && kind != kindIgnored && end-c.start >= lt {
		m.slowCalls++
	}
	if c.gen != m.gen {
		return // admitted in an earlier period: lifetime counts only
	}
	if c.probe {
		delete(m.probes, c.id)
	}
	if kind == kindIgnored {
		return
	}
	lat := max(end-c.start, 0)
	failed := kind == kindFailure
	switch m.state {
	case circuit.Closed, circuit.Disabled:
		m.samples = append(m.samples, modelSample{at: end, lat: lat, failed: failed})
		if failed {
			m.consecFail++
			m.consecSucc = 0
		} else {
			m.consecSucc++
			m.consecFail = 0
		}
		if m.state == circuit.Disabled {
			return
		}
		win := m.window()
		enough := len(win) >= m.cfg.MinRequests
		switch {
		case m.cfg.ConsecutiveFailures > 0 && m.consecFail >= m.cfg.ConsecutiveFailures:
			m.enter(circuit.Open, end, circuit.ReasonConsecutiveFailures)
		case m.cfg.ErrorRateThreshold > 0 && enough && errorRate(win) >= m.cfg.ErrorRateThreshold:
			m.enter(circuit.Open, end, circuit.ReasonErrorRate)
		case m.cfg.LatencyThreshold > 0 && enough && percentile(win, m.cfg.LatencyPercentile) >= m.cfg.LatencyThreshold:
			m.enter(circuit.Open, end, circuit.ReasonLatency)
		}
	case circuit.HalfOpen:
		switch {
		case failed:
			m.enter(circuit.Open, end, circuit.ReasonProbeFailed)
		case m.cfg.LatencyThreshold > 0 && lat >= m.cfg.LatencyThreshold:
			m.enter(circuit.Open, end, circuit.ReasonLatency)
		default:
			m.consecSucc++
			if m.consecSucc >= m.cfg.SuccessThreshold {
				m.enter(circuit.Closed, end, circuit.ReasonProbesSucceeded)
			}
		}
	}
}

// window returns the samples the window holds at m.now: the last
// WindowSize (if set) of those younger than WindowDuration (if set); with
// WindowDuration and no WindowSize, those in the newest 11 buckets of
// WindowDuration/10.
func (m *model) window() []modelSample {
	age, size := m.cfg.WindowDuration, m.cfg.WindowSize
	var held []modelSample
	for _, s := range m.samples {
		switch {
		case age <= 0:
		case size > 0:
			if m.now-s.at >= age {
				continue
			}
		default:
			width := (age + 9) / 10
			if m.now/width-s.at/width > 10 {
				continue
			}
		}
		held = append(held, s)
	}
	if size > 0 && len(held) > size {
		held = held[len(held)-size:]
	}
	return held
}

func (m *model) trip(now time.Duration, reason circuit.Reason) bool {
	m.advance(now)
	switch m.state {
	case circuit.Open, circuit.ForcedOpen, circuit.Disabled:
		return false
	}
	m.enter(circuit.Open, m.now, reason)
	return true
}

func (m *model) endOpen(now time.Duration) bool {
	m.advance(now)
	if m.state != circuit.Open {
		return false
	}
	m.enter(circuit.HalfOpen, m.now, circuit.ReasonHealthRecovered)
	return true
}

// openUntil opens the breaker until now+d, or extends an open period to
// it: never shortened, never over an operator's hold.
func (m *model) openUntil(now, d time.Duration) bool {
	m.advance(now)
	u := m.now + d
	if d <= 0 {
		return false
	}
	switch m.state {
	case circuit.Closed, circuit.HalfOpen:
		m.forcedUntil = u
		m.enter(circuit.Open, m.now, circuit.ReasonRetryAfter)
		return true
	case circuit.Open:
		if u <= m.until {
			return false
		}
		m.until, m.gen = u, m.gen+1 // a new period, not a transition
		return true
	}
	return false
}

func (m *model) hold(now time.Duration, to circuit.State, reason circuit.Reason) bool {
	m.advance(now)
	if m.state == to {
		return false
	}
	m.enter(to, m.now, reason)
	return true
}

// reconfigure replaces the Config at now, as Reconfigure documents it, and
// reports whether anything changed. The state, its period and the counts
// stay; the window empties if its shape (WindowSize, WindowDuration) or
// LatencyThreshold changes; a new LatencyThreshold also forgets the calls
// in flight and, closed, starts looking at calls in flight afresh; a new
// ramp setting ends a ramp in progress. Every later decision reads the new
// Config: the thresholds at the next outcome, probe slots at the next
// admission, the probe deadline of the probes in flight, CallTimeout when
// a call in flight ends, the open period's length at the next open. A
// probe that has already run the new ProbeTimeout times out at once: a
// transition is never dated before the change that caused it. The hooks
// hear of it as a transition from the state to itself, which is not a
// state change.
func (m *model) reconfigure(now time.Duration, c circuit.Config) bool {
	m.advance(now)
	c.Name = m.cfg.Name
	old := m.cfg
	changed := configChanges(old, c)
	if len(changed) == 0 {
		reconfCoverage[covEqual].Add(1)
		return false
	}
	var cleared []string
	if c.WindowSize != old.WindowSize || c.WindowDuration != old.WindowDuration || c.LatencyThreshold != old.LatencyThreshold {
		if n := len(m.window()); n > 0 {
			cleared = append(cleared, fmt.Sprintf("the window (%d outcomes)", n))
			reconfCoverage[covWindowCleared].Add(1)
		}
		m.samples = nil
	} else if len(m.window()) > 0 {
		reconfCoverage[covWindowKept].Add(1)
	}
	if c.LatencyThreshold != old.LatencyThreshold {
		if n := m.slowInFlight(); n > 0 {
			cleared = append(cleared, fmt.Sprintf("%d slow calls in flight", n))
			reconfCoverage[covSlowCleared].Add(1)
		}
		m.slowStart, m.checkpoints, m.lastLook = m.seq, nil, m.now
		m.slowCheckAt = 1<<63 - 1
		if c.LatencyThreshold > 0 && m.state == circuit.Closed {
			m.slowCheckAt = m.now
		}
	}
	rampChanged := c.RampDuration != old.RampDuration || c.RampStart != old.RampStart
	if m.state == circuit.Closed && m.rampUntil != 0 && rampChanged {
		m.rampUntil = 0
		cleared = append(cleared, "the ramp in progress")
		reconfCoverage[covRampEnded].Add(1)
	}
	if m.state == circuit.HalfOpen && len(m.probes) > c.HalfOpenMaxProbes {
		reconfCoverage[covProbesOverSlots].Add(1)
	}
	if m.state == circuit.HalfOpen && len(m.probes) >= old.HalfOpenMaxProbes && c.HalfOpenMaxProbes > old.HalfOpenMaxProbes {
		reconfCoverage[covProbeSlotsAdded].Add(1)
	}
	m.cfg = c
	detail := "changed " + strings.Join(changed, ", ")
	if len(cleared) > 0 {
		detail += "; cleared " + strings.Join(cleared, ", ")
	} else {
		detail += "; kept the window"
	}
	tr := modelTransition{from: m.state, to: m.state, reason: circuit.ReasonReconfigured, at: m.now, detail: detail, metrics: m.metrics()}
	if m.state == circuit.Open {
		tr.retryAt = m.until
		reconfCoverage[covWhileOpen].Add(1)
	}
	m.transitions = append(m.transitions, tr)
	if m.state == circuit.HalfOpen && len(m.probes) > 0 {
		oldest := time.Duration(1<<63 - 1)
		for _, a := range m.probes {
			oldest = min(oldest, a)
		}
		if m.now >= oldest+m.probeTimeout() {
			m.enter(circuit.Open, m.now, circuit.ReasonProbeTimeout)
			reconfCoverage[covProbeTimedOut].Add(1)
		}
	}
	return true
}

// configChanges lists the fields in which a and b differ, in the order
// Config declares them, as "Field old->new".
func configChanges(a, b circuit.Config) []string {
	fields := []struct {
		name     string
		old, new any
	}{
		{"Name", a.Name, b.Name},
		{"ConsecutiveFailures", a.ConsecutiveFailures, b.ConsecutiveFailures},
		{"ErrorRateThreshold", a.ErrorRateThreshold, b.ErrorRateThreshold},
		{"WindowSize", a.WindowSize, b.WindowSize},
		{"WindowDuration", a.WindowDuration, b.WindowDuration},
		{"MinRequests", a.MinRequests, b.MinRequests},
		{"LatencyThreshold", a.LatencyThreshold, b.LatencyThreshold},
		{"LatencyPercentile", a.LatencyPercentile, b.LatencyPercentile},
		{"OpenTimeout", a.OpenTimeout, b.OpenTimeout},
		{"OpenBackoff", a.OpenBackoff, b.OpenBackoff},
		{"OpenTimeoutMax", a.OpenTimeoutMax, b.OpenTimeoutMax},
		{"OpenJitter", a.OpenJitter, b.OpenJitter},
		{"ProbeTimeout", a.ProbeTimeout, b.ProbeTimeout},
		{"HalfOpenMaxProbes", a.HalfOpenMaxProbes, b.HalfOpenMaxProbes},
		{"SuccessThreshold", a.SuccessThreshold, b.SuccessThreshold},
		{"RampDuration", a.RampDuration, b.RampDuration},
		{"RampStart", a.RampStart, b.RampStart},
		{"CallTimeout", a.CallTimeout, b.CallTimeout},
	}
	var out []string
	for _, f := range fields {
		if f.old != f.new {
			out = append(out, fmt.Sprintf("%s %v->%v", f.name, f.old, f.new))
		}
	}
	return out
}

// rampShare is the share a ramp admits at m.now: linear from RampStart.
func (m *model) rampShare() float64 {
	c := m.cfg
	return c.RampStart + (1-c.RampStart)*float64(m.now-m.rampFrom)/float64(c.RampDuration)
}

func (m *model) reset(now time.Duration) {
	m.advance(now)
	if m.state != circuit.Closed {
		m.enter(circuit.Closed, m.now, circuit.ReasonReset)
		return
	}
	m.rampUntil = 0 // Reset closes without a ramp
	m.gen++         // calls in flight from before the reset no longer count
	m.samples = nil
	m.slowStart, m.checkpoints, m.lastLook = m.seq, nil, m.now
	if m.cfg.LatencyThreshold > 0 {
		m.slowCheckAt = m.now
	}
	m.consecFail, m.consecSucc = 0, 0
}

// errorRate is failures/outcomes, in float64.
func errorRate(win []modelSample) float64 {
	if len(win) == 0 {
		return 0
	}
	f := 0
	for _, s := range win {
		if s.failed {
			f++
		}
	}
	return float64(f) / float64(len(win))
}

// percentile is the nearest-rank p-percentile of the latencies: the
// ceil(p*n)-th smallest, where p is taken as the decimal the user wrote
// (the shortest decimal that round-trips to the float64), so 0.28 of 25 is
// rank 7 although the float64 product is a hair above 7.
func percentile(win []modelSample, p float64) time.Duration {
	n := len(win)
	if n == 0 {
		return 0
	}
	lat := make([]time.Duration, n)
	for i, s := range win {
		lat[i] = s.lat
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[decimalRank(p, n)-1]
}

// reported is how Metrics reports a latency: the midpoint of its
// log-linear bin, 32 bins an octave above 64ns, exact below.
func reported(d time.Duration) time.Duration {
	if d < 64 {
		return d
	}
	octave := 63 - bits.LeadingZeros64(uint64(d)) // 2^octave <= d < 2^(octave+1)
	width := time.Duration(1) << (octave - 5)
	lo := d / width * width
	return lo + width/2
}

// decimalRank is ceil(p*n) computed exactly on p's shortest decimal form,
// clamped to [1, n].
func decimalRank(p float64, n int) int {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(p, 'g', -1, 64))
	if !ok {
		panic("bad percentile " + strconv.FormatFloat(p, 'g', -1, 64))
	}
	r.Mul(r, new(big.Rat).SetInt64(int64(n)))
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	k := int(q.Int64())
	if rem.Sign() > 0 {
		k++
	}
	return max(1, min(k, n))
}

// metrics is the snapshot the breaker must report now.
func (m *model) metrics() circuit.Metrics {
	win := m.window()
	mt := circuit.Metrics{
		Name:                 m.cfg.Name,
		State:                m.state,
		StateSince:           m.at(m.since),
		Successes:            m.successes,
		Failures:             m.failures,
		Rejections:           m.rejections,
		Ignored:              m.ignored,
		SlowCalls:            m.slowCalls,
		InFlight:             m.admitted - m.finished,
		Fallbacks:            m.fallbacks,
		Transitions:          m.changes,
		TransitionCounts:     m.pairs,
		ConsecutiveFailures:  m.consecFail,
		ConsecutiveSuccesses: m.consecSucc,
		WindowRequests:       len(win),
		ErrorRate:            errorRate(win),
		SlowInFlight:         m.slowInFlight(),
		RampShare:            1,
		P95Latency:           reported(percentile(win, 0.95)),
		PercentileLatency:    reported(percentile(win, m.cfg.LatencyPercentile)),
		LastFailure:          m.lastFailure,
	}
	if m.state == circuit.Closed && m.rampUntil != 0 && m.now < m.rampUntil {
		mt.RampShare = m.rampShare()
	}
	if m.changes > 0 {
		mt.LastReason, mt.LastTransitionAt = m.lastReason, m.at(m.lastChangeAt)
	}
	if n := len(win); n > 0 {
		sum := new(big.Int)
		for _, s := range win {
			sum.Add(sum, big.NewInt(int64(s.lat)))
		}
		mt.AvgLatency = time.Duration(sum.Div(sum, big.NewInt(int64(n))).Int64())
	}
	if m.failedOnce {
		mt.LastFailureAt = m.at(m.lastFailAt)
	}
	if m.succeededOnce {
		mt.LastSuccessAt = m.at(m.lastSuccAt)
	}
	return mt
}

// ---------------------------------------------------------------------------
// The runner: a sequence runs ops against the breaker and the model.

// failer is what the sequence needs from *testing.T and *rapid.T.
type failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

type permitToken struct {
	permit   circuit.Permit[int]
	call     modelCall
	rejected bool
	called   bool
}

type sequence struct {
	t        failer
	cfg      circuit.Config
	fallback bool
	ops      []op
	step     int

	clk *stepClock
	// openUntilEnd is the latest end asked of OpenUntil: an open period may last until then.
	openUntilEnd time.Time
	b            *circuit.Breaker[int]
	model        *model

	hooked       []circuit.Transition // delivered to the hook, in order
	hooksChecked int                  // how many of hooked checkHooks has compared with the model
	fallbackEr   error                // the error the fallback last received
	askedBad     string               // set if the classifier was asked about nil or Canceled
	tokens       []*permitToken
	calls        uint64 // Execute and Allow calls that reached admission
	lastSince    time.Time
	rejectErr    map[int]error // the rejection error seen in each period
	subs         []*subscription
	// The bounds over every Config the breaker has had: the most probe
	// slots, and the longest an open period may last.
	maxProbes   int
	longestOpen time.Duration
}

// runSequence builds a breaker from cfg and runs ops against it and the
// model, failing t at the first disagreement.
func runSequence(t failer, cfg circuit.Config, fallback bool, ops []op) *circuit.Breaker[int] {
	t.Helper()
	h := newSequence(t, cfg, fallback)
	h.ops = ops
	for h.step = range ops {
		h.apply(ops[h.step])
		h.checkHooks(false)
	}
	h.step = len(ops)
	h.checkAll(true)
	for _, tr := range h.model.transitions {
		reasonCoverage[tr.reason].Add(1)
	}
	return h.b
}

// newSequence builds a breaker from cfg on a step clock, and the model
// beside it, ready for ops.
func newSequence(t failer, cfg circuit.Config, fallback bool) *sequence {
	t.Helper()
	h := &sequence{t: t, cfg: cfg, fallback: fallback, clk: newStepClock(), rejectErr: map[int]error{}}
	opts := []circuit.Option{
		circuit.WithConfig(cfg),
		circuit.WithClock(h.clk),
		circuit.WithClassifier(func(result int, err error) circuit.Outcome {
			switch {
			case errors.Is(err, context.Canceled):
				h.askedBad = fmt.Sprintf("%v", err)
			case err == nil && result == badResult:
				return circuit.Failure
			case err == nil || errors.Is(err, errBenign):
				return circuit.Success
			case errors.Is(err, errSkip):
				return circuit.Ignored
			}
			return circuit.Failure
		}),
		circuit.WithJitterSource(newJitter()),
		circuit.WithOnStateChange(func(tr circuit.Transition) { h.hooked = append(h.hooked, tr) }),
	}
	if fallback {
		opts = append(opts, circuit.WithFallback(func(_ context.Context, err error) (int, error) {
			h.fallbackEr = err
			return -1, nil
		}))
	}
	b, err := circuit.New[int](opts...)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	h.b = b
	h.model = newModel(cfg, h.clk.Now(), newJitter())
	h.lastSince = h.clk.Now()
	h.noteConfig(cfg)
	return h
}

// noteConfig widens the bounds that hold whatever Config the breaker had
// when a period began to cover c.
func (h *sequence) noteConfig(c circuit.Config) {
	h.maxProbes = max(h.maxProbes, c.HalfOpenMaxProbes)
	longest := c.OpenTimeout
	if c.OpenBackoff > 1 {
		longest = circuit.MaxOpenTimeout
		if c.OpenTimeoutMax > 0 {
			longest = c.OpenTimeoutMax
		}
	}
	h.longestOpen = max(h.longestOpen, time.Duration(float64(longest)*(1+c.OpenJitter)))
}

// do appends ops to the sequence and applies them one by one, as
// runSequence does: a step table feeds its rows through here.
func (h *sequence) do(ops ...op) {
	h.t.Helper()
	for _, o := range ops {
		h.ops = append(h.ops, o)
		h.step = len(h.ops) - 1
		h.apply(o)
		h.checkHooks(false)
	}
}

// newJitter returns a deterministic sequence in [0, 1): the breaker and the
// model each get one and draw from it in step.
func newJitter() func() float64 {
	var k uint64
	return func() float64 {
		k++
		return float64((k*0x9E3779B97F4A7C15)>>11) / (1 << 53)
	}
}

// transitionReasons are the reasons a transition of the model's sequences
// can carry: every Reason but ReasonNone, ReasonRamp (an error's reason,
// never a transition's) and ReasonFleet (a coordinator's).
var transitionReasons = func() []circuit.Reason {
	var rs []circuit.Reason
	for r := circuit.ReasonConsecutiveFailures; r <= circuit.ReasonReconfigured; r++ {
		if r != circuit.ReasonRamp && r != circuit.ReasonFleet {
			rs = append(rs, r)
		}
	}
	return rs
}()

// reasonCoverage counts the transitions the model runs produced, by Reason,
// so that TestModel can prove its generator reaches every one.
var reasonCoverage [32]atomic.Int64

// The situations a Reconfigure meets that the model runs must reach, or
// the reconfigure op proves less than it seems to: counted in
// reconfCoverage, and checked by TestModel as reasonCoverage is.
const (
	covEqual               = iota // an equal Config: nothing delivered
	covInvalid                    // an invalid Config, refused
	covWindowKept                 // new thresholds over a kept window that holds outcomes
	covWindowCleared              // a window that held outcomes cleared
	covSlowCleared                // slow calls in flight no longer counted
	covRampEnded                  // a ramp in progress ended
	covWhileOpen                  // reconfigured while open: the event carries RetryAt
	covProbesOverSlots            // fewer probe slots than probes in flight
	covProbeSlotsAdded            // more probe slots while all were taken
	covProbeTimedOut              // a probe past the new ProbeTimeout timed out at once
	covCallTimeoutInFlight        // a call in flight judged by a CallTimeout changed since its admission
	numReconfCov
)

var reconfCovNames = [numReconfCov]string{"equal", "invalid", "window-kept", "window-cleared", "slow-cleared", "ramp-ended",
	"while-open", "probes-over-slots", "probe-slots-added", "probe-timed-out", "call-timeout-in-flight"}

var reconfCoverage [numReconfCov]atomic.Int64

func (h *sequence) fail(format string, args ...any) {
	h.t.Helper()
	at := "after the last step"
	if h.step < len(h.ops) {
		at = fmt.Sprintf("at step %d (%v)", h.step, h.ops[h.step])
	}
	h.t.Fatalf("%s: %s\nsequence:\n%s", at, fmt.Sprintf(format, args...), sequenceGoString(h.cfg, h.fallback, h.ops))
}

func (h *sequence) apply(o op) {
	h.t.Helper()
	switch o.Kind {
	case opExec:
		h.exec(o)
	case opAllow:
		h.allow()
	case opDone:
		h.done(o)
	case opAdvance:
		h.clk.Add(o.Lat)
	case opTrip, opTripHealth:
		reason := circuit.ReasonManual
		if o.Kind == opTripHealth {
			reason = circuit.ReasonHealthCheck
		}
		got := h.b.Trip(reason)
		if want := h.model.trip(h.clk.elapsed(), reason); got != want {
			h.fail("Trip = %v, want %v", got, want)
		}
	case opForceOpen, opDisable:
		var got, want bool
		if o.Kind == opForceOpen {
			got = h.b.ForceOpen()
			want = h.model.hold(h.clk.elapsed(), circuit.ForcedOpen, circuit.ReasonForcedOpen)
		} else {
			got = h.b.Disable()
			want = h.model.hold(h.clk.elapsed(), circuit.Disabled, circuit.ReasonDisabled)
		}
		if got != want {
			h.fail("%v = %v, want %v", o, got, want)
		}
	case opOpenUntil:
		if end := h.clk.Now().Add(o.Lat); end.After(h.openUntilEnd) {
			h.openUntilEnd = end // an open period may last until then
		}
		got := h.b.OpenUntil(circuit.ReasonRetryAfter, h.clk.Now().Add(o.Lat))
		if want := h.model.openUntil(h.clk.elapsed(), o.Lat); got != want {
			h.fail("%v = %v, want %v", o, got, want)
		}
	case opReset:
		h.b.Reset()
		h.model.reset(h.clk.elapsed())
	case opEndOpen:
		got := h.b.EndOpen(circuit.ReasonHealthRecovered)
		if want := h.model.endOpen(h.clk.elapsed()); got != want {
			h.fail("EndOpen = %v, want %v", got, want)
		}
	case opState, opMetrics:
		h.checkAll(o.Kind == opState)
	case opExecDoneCtx, opExecNilFn, opExecNilCtx:
		h.execRefused(o.Kind)
	case opSubscribe:
		h.subscribe()
	case opUnsubscribe:
		h.unsubscribe(o.Arg)
	case opReconfigure:
		h.reconfigure(o)
	}
}

// reconfigure passes the op's Config, or its variant of the base Config, to
// Reconfigure. A valid one is applied to the model too; an invalid one must
// be refused with a *ConfigError naming the bad field, and change nothing.
func (h *sequence) reconfigure(o op) {
	h.t.Helper()
	var c circuit.Config
	var badField string
	if o.Cfg != nil {
		c = *o.Cfg
		if c.Name != "" && c.Name != h.cfg.Name {
			badField = "Name"
		} else if ces := configErrors(c.Validate()); len(ces) > 0 {
			badField = ces[0].Field
		}
	} else {
		c, badField = reconfigured(h.cfg, o.Arg)
	}
	err := h.b.Reconfigure(c)
	if badField != "" {
		var ce *circuit.ConfigError
		if !errors.Is(err, circuit.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != badField {
			h.fail("Reconfigure = %v, want an invalid-config error naming %s", err, badField)
		}
		reconfCoverage[covInvalid].Add(1)
	} else {
		if err != nil {
			h.fail("Reconfigure(%+v) = %v, want nil", c, err)
		}
		h.model.reconfigure(h.clk.elapsed(), c)
		h.noteConfig(c)
	}
	if got := h.b.Config(); got != h.model.cfg {
		h.fail("Config() = %+v, want %+v", got, h.model.cfg)
	}
}

// execRefused makes a call the breaker must refuse before admission:
// nothing is recorded and neither fn nor the fallback runs.
func (h *sequence) execRefused(k opKind) {
	h.t.Helper()
	ctx := context.Background()
	fn := func(context.Context) (int, error) { h.fail("fn called"); return 0, nil }
	var want error
	switch k {
	case opExecDoneCtx:
		c, cancel := context.WithCancel(ctx)
		cancel()
		ctx, want = c, context.Canceled
	case opExecNilFn:
		fn, want = nil, circuit.ErrNilFunc
	case opExecNilCtx:
		ctx, want = nil, circuit.ErrNilContext
	}
	h.fallbackEr = nil
	v, err := h.b.Execute(ctx, fn)
	if v != 0 || err != want {
		h.fail("Execute = (%d, %v), want (0, %v)", v, err, want)
	}
	if h.fallbackEr != nil {
		h.fail("fallback called with %v", h.fallbackEr)
	}
}

func (h *sequence) exec(o op) {
	h.t.Helper()
	h.calls++
	start := h.clk.elapsed()
	c, admitted := h.model.admit(start)
	called := false
	h.fallbackEr = nil
	var v int
	var err error
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		v, err = h.b.Execute(context.Background(), func(context.Context) (int, error) {
			called = true
			h.clk.Add(o.Lat)
			if o.Out == outPanic {
				panic(panicValue)
			}
			return o.Out.result(), o.Out.err()
		})
	}()
	if called != admitted {
		h.fail("fn called = %v, want %v (model state %v)", called, admitted, h.model.state)
	}
	if !admitted {
		if recovered != nil {
			h.fail("rejected call panicked: %v", recovered)
		}
		h.checkRejection(c, err, v)
		return
	}
	kind, ferr := h.model.judge(o.Lat, o.Out.kind(), o.Out.recorded())
	if o.Out == outPanic {
		if recovered != panicValue {
			h.fail("recovered %v, want the fn's panic value re-raised", recovered)
		}
		h.model.record(c, start+o.Lat, kindFailure, &circuit.PanicError{Value: panicValue})
		if h.fallbackEr != nil {
			h.fail("fallback called after a panic")
		}
		return
	}
	if recovered != nil {
		h.fail("Execute panicked: %v", recovered)
	}
	h.model.record(c, start+o.Lat, kind, ferr)
	// The caller gets fn's own result, whatever the breaker booked.
	switch ret := o.Out.err(); {
	case ret != nil && h.fallback:
		h.model.fallbacks++
		if v != -1 || err != nil || h.fallbackEr != ret {
			h.fail("Execute = (%d, %v), fallback got %v; want the fallback's (-1, nil) for %v", v, err, h.fallbackEr, ret)
		}
	default:
		if v != o.Out.result() || err != ret {
			h.fail("Execute = (%d, %v), want (%d, %v)", v, err, o.Out.result(), ret)
		}
		if h.fallbackEr != nil {
			h.fail("fallback called with %v", h.fallbackEr)
		}
	}
}

// checkRejection checks the error of a rejected call against the model.
func (h *sequence) checkRejection(c modelCall, err error, v int) {
	h.t.Helper()
	if h.fallback {
		h.model.fallbacks++
		if v != -1 || err != nil {
			h.fail("rejected Execute = (%d, %v), want the fallback's (-1, nil)", v, err)
		}
		err = h.fallbackEr
	}
	var oe *circuit.OpenError
	if !errors.Is(err, circuit.ErrOpen) || !errors.As(err, &oe) {
		h.fail("rejection error %v (%T) is not an *OpenError matching ErrOpen", err, err)
	}
	m := h.model
	if oe.State != m.state || oe.Name != m.cfg.Name {
		h.fail("OpenError{State: %v, Name: %q}, want {%v, %q}", oe.State, oe.Name, m.state, m.cfg.Name)
	}
	if oe.Reason != m.reason {
		h.fail("OpenError.Reason = %v, want %v", oe.Reason, m.reason)
	}
	var retry time.Time
	switch m.state {
	case circuit.Closed:
		retry = m.at(m.rampUntil)
	case circuit.Open:
		retry = m.at(m.until)
	case circuit.HalfOpen:
		oldest := time.Duration(1<<63 - 1)
		for _, a := range m.probes {
			oldest = min(oldest, a)
		}
		retry = m.at(oldest + m.probeTimeout())
	}
	if !oe.RetryAt.Equal(retry) {
		h.fail("OpenError.RetryAt = %v, want %v", oe.RetryAt, retry)
	}
	wantAfter := max(retry.Sub(h.clk.Now()), 0)
	if m.state == circuit.ForcedOpen {
		wantAfter = m.forcedHint
	}
	if got := oe.RetryAfter(h.clk.Now()); got != wantAfter {
		h.fail("OpenError.RetryAfter = %v, want %v", got, wantAfter)
	}
	if !sameErr(oe.Cause, m.cause) {
		h.fail("OpenError.Cause = %v, want %v", oe.Cause, m.cause)
	}
	if oe.Cause != nil && errors.Is(err, oe.Cause) {
		h.fail("rejection errors.Is-matches its Cause %v", oe.Cause)
	}
	if prev, ok := h.rejectErr[c.gen]; ok && prev != err && m.state != circuit.HalfOpen {
		h.fail("rejection error changed within one period")
	}
	h.rejectErr[c.gen] = err
}

func (h *sequence) allow() {
	h.t.Helper()
	h.calls++
	c, admitted := h.model.admit(h.clk.elapsed())
	permit, err := h.b.Allow()
	if err != nil && permit != (circuit.Permit[int]{}) {
		h.fail("a rejected Allow returned a non-zero Permit")
	}
	tk := &permitToken{permit: permit, call: c, rejected: !admitted}
	if admitted {
		if err != nil {
			h.fail("Allow = %v, want admission (model state %v)", err, h.model.state)
		}
	} else {
		if err == nil {
			h.fail("Allow admitted, want a rejection (model state %v)", h.model.state)
		}
		fb := h.fallback
		h.fallback = false // Allow calls no fallback
		h.checkRejection(c, err, 0)
		h.fallback = fb
	}
	h.tokens = append(h.tokens, tk)
}

func (h *sequence) done(o op) {
	h.t.Helper()
	if len(h.tokens) == 0 {
		return
	}
	tk := h.tokens[o.Arg%len(h.tokens)]
	out := o.Out
	if out == outPanic {
		out = outFail
	}
	tk.permit.Done(out.result(), out.err())
	if tk.rejected || tk.called {
		return // a rejected Allow's Permit, or a second Done: ignored
	}
	tk.called = true
	lat := h.clk.elapsed() - tk.call.start
	kind, err := h.model.judge(lat, out.kind(), out.recorded())
	if c := tk.call.callTimeout; c != h.model.cfg.CallTimeout && (kind == kindFailure) != (c > 0 && lat >= c || out.kind() == kindFailure) {
		reconfCoverage[covCallTimeoutInFlight].Add(1)
	}
	h.model.record(tk.call, h.clk.elapsed(), kind, err)
}

// subscription is a hook added with Subscribe: it must receive the transitions
// numbered start..end-1 (end -1 while subscribed).
type subscription struct {
	start, end int
	got        []circuit.Transition
	unsub      func()
}

// subscribe adds a recording hook. State first applies any pending
// time-only transition (the model has already applied it), so that the
// new hook starts at the same transition in both.
func (h *sequence) subscribe() {
	if len(h.subs) >= 4 {
		return
	}
	h.b.State()
	h.model.advance(h.clk.elapsed())
	sub := &subscription{start: len(h.model.transitions), end: -1}
	sub.unsub = h.b.Subscribe(func(tr circuit.Transition) { sub.got = append(sub.got, tr) })
	h.subs = append(h.subs, sub)
}

func (h *sequence) unsubscribe(i int) {
	if len(h.subs) == 0 {
		return
	}
	sub := h.subs[i%len(h.subs)]
	h.b.State()
	h.model.advance(h.clk.elapsed())
	if sub.end < 0 {
		sub.end = len(h.model.transitions)
	}
	sub.unsub()
}

// outstanding counts admitted Allow calls whose done has not been called.
func (h *sequence) outstanding() uint64 {
	n := uint64(0)
	for _, tk := range h.tokens {
		if !tk.rejected && !tk.called {
			n++
		}
	}
	return n
}

// checkHooks checks the transitions delivered since the last check against
// the model's (neither list changes once appended to). The model applies
// time-only transitions eagerly and the breaker lazily, so between full
// checks the delivered list need only be a prefix.
func (h *sequence) checkHooks(all bool) {
	h.t.Helper()
	want := h.model.transitions
	if len(h.hooked) > len(want) || (all && len(h.hooked) != len(want)) {
		h.fail("hooks got %d transitions, model has %d:\n got %s\nwant %s", len(h.hooked), len(want), fmtTransitions(h.hooked), fmtModelTransitions(want))
	}
	for i := h.hooksChecked; i < len(h.hooked); i++ {
		got, w := h.hooked[i], want[i]
		if got.From != w.from || got.To != w.to || got.Reason != w.reason || !got.At.Equal(h.model.at(w.at)) || got.Name != h.cfg.Name {
			h.fail("transition %d = %v->%v (%v) at %v, want %v->%v (%v) at %v", i,
				got.From, got.To, got.Reason, got.At.Sub(h.model.epoch), w.from, w.to, w.reason, w.at)
		}
		var retry time.Time
		if w.to == circuit.Open {
			retry = h.model.at(w.retryAt)
		}
		if !got.RetryAt.Equal(retry) {
			h.fail("transition %d (%v->%v) RetryAt = %v, want %v", i, w.from, w.to, got.RetryAt, retry)
		}
		if d := diffMetrics(got.Metrics, w.metrics); d != "" {
			h.fail("transition %d (%v->%v, %v) metrics differ:%s", i, w.from, w.to, w.reason, d)
		}
		if got.Detail != w.detail {
			h.fail("transition %d (%v->%v, %v) Detail = %q, want %q", i, w.from, w.to, w.reason, got.Detail, w.detail)
		}
		// Delivered in the order they happened, each dated when it took
		// effect: never before the one delivered before it.
		if i > 0 && got.At.Before(h.hooked[i-1].At) {
			h.fail("transition %d (%v->%v, %v) at %v is dated before transition %d at %v", i, got.From, got.To, got.Reason,
				got.At.Sub(h.model.epoch), i-1, h.hooked[i-1].At.Sub(h.model.epoch))
		}
	}
	h.hooksChecked = len(h.hooked)
}

// checkAll compares everything observable, calling State first or
// Metrics first, since each applies pending time-only transitions.
func (h *sequence) checkAll(stateFirst bool) {
	h.t.Helper()
	now := h.clk.elapsed()
	var s circuit.State
	var mt circuit.Metrics
	if stateFirst {
		s = h.b.State()
		mt = h.b.Metrics()
	} else {
		mt = h.b.Metrics()
		s = h.b.State()
	}
	h.model.advance(now)
	if s != mt.State {
		h.fail("State() = %v but Metrics().State = %v at a quiet moment", s, mt.State)
	}
	if d := diffMetrics(mt, h.model.metrics()); d != "" {
		h.fail("Metrics differ from the model:%s", d)
	}
	if mt.StateSince.Before(h.lastSince) {
		h.fail("StateSince went backwards: %v -> %v", h.lastSince, mt.StateSince)
	}
	h.lastSince = mt.StateSince
	if total := mt.Successes + mt.Failures + mt.Rejections + mt.Ignored; total != h.calls-h.outstanding() {
		h.fail("conservation: successes+failures+rejections+canceled = %d, want %d calls made - %d outstanding",
			total, h.calls, h.outstanding())
	}
	if len(h.model.probes) > h.maxProbes {
		h.fail("model bug: %d probes in flight", len(h.model.probes))
	}
	if got := h.b.Config(); got != h.model.cfg {
		h.fail("Config() = %+v, want %+v", got, h.model.cfg)
	}
	prev := circuit.Closed
	for i, tr := range h.hooked {
		if tr.Reason == circuit.ReasonReconfigured && tr.From != tr.To {
			h.fail("hook transition %d is a reconfiguration from %v to %v", i, tr.From, tr.To)
		}
		if tr.From != prev {
			h.fail("hook transition %d goes %v->%v, but the previous one ended in %v", i, tr.From, tr.To, prev)
		}
		prev = tr.To
	}
	if prev != s {
		h.fail("the last transition delivered ends in %v, but the state is %v", prev, s)
	}
	// No wedge, independently of the model: an open period never lasts
	// longer than its longest possible length under any Config it had.
	longest := h.longestOpen
	if s == circuit.Open && !h.clk.Now().Before(mt.StateSince.Add(longest)) && !h.clk.Now().Before(h.openUntilEnd) {
		h.fail("still open at %v, %v after it opened at %v", h.clk.Now(), longest, mt.StateSince)
	}
	if mt.InFlight != h.outstanding() {
		h.fail("InFlight = %d, want %d Permits outstanding", mt.InFlight, h.outstanding())
	}
	for i, sub := range h.subs {
		end := sub.end
		if end < 0 {
			end = len(h.model.transitions)
		}
		want := h.model.transitions[sub.start:end]
		ok := len(sub.got) == len(want)
		for j := 0; ok && j < len(want); j++ {
			ok = sub.got[j].From == want[j].from && sub.got[j].To == want[j].to && sub.got[j].Reason == want[j].reason
		}
		if !ok {
			h.fail("subscription %d (transitions %d..%d) got %s, want %s", i, sub.start, end, fmtTransitions(sub.got), fmtModelTransitions(want))
		}
	}
	if h.askedBad != "" {
		h.fail("the classifier was asked about %s", h.askedBad)
	}
	h.checkHooks(true)
}

// diffMetrics lists the fields in which got and want differ.
func diffMetrics(got, want circuit.Metrics) string {
	var sb strings.Builder
	d := func(name string, g, w any) {
		fmt.Fprintf(&sb, "\n  %s: got %v, want %v", name, g, w)
	}
	if got.Name != want.Name {
		d("Name", got.Name, want.Name)
	}
	if got.State != want.State {
		d("State", got.State, want.State)
	}
	if !got.StateSince.Equal(want.StateSince) {
		d("StateSince", got.StateSince, want.StateSince)
	}
	if got.Successes != want.Successes {
		d("Successes", got.Successes, want.Successes)
	}
	if got.Failures != want.Failures {
		d("Failures", got.Failures, want.Failures)
	}
	if got.Rejections != want.Rejections {
		d("Rejections", got.Rejections, want.Rejections)
	}
	if got.Ignored != want.Ignored {
		d("Ignored", got.Ignored, want.Ignored)
	}
	if got.InFlight != want.InFlight {
		d("InFlight", got.InFlight, want.InFlight)
	}
	if got.SlowCalls != want.SlowCalls {
		d("SlowCalls", got.SlowCalls, want.SlowCalls)
	}
	if got.RampShare != want.RampShare {
		d("RampShare", got.RampShare, want.RampShare)
	}
	if got.SlowInFlight != want.SlowInFlight {
		d("SlowInFlight", got.SlowInFlight, want.SlowInFlight)
	}
	if got.LastReason != want.LastReason {
		d("LastReason", got.LastReason, want.LastReason)
	}
	if !got.LastTransitionAt.Equal(want.LastTransitionAt) {
		d("LastTransitionAt", got.LastTransitionAt, want.LastTransitionAt)
	}
	if got.Fallbacks != want.Fallbacks {
		d("Fallbacks", got.Fallbacks, want.Fallbacks)
	}
	if got.Transitions != want.Transitions {
		d("Transitions", got.Transitions, want.Transitions)
	}
	if got.TransitionCounts != want.TransitionCounts {
		d("TransitionCounts", got.TransitionCounts, want.TransitionCounts)
	}
	if got.ConsecutiveFailures != want.ConsecutiveFailures {
		d("ConsecutiveFailures", got.ConsecutiveFailures, want.ConsecutiveFailures)
	}
	if got.ConsecutiveSuccesses != want.ConsecutiveSuccesses {
		d("ConsecutiveSuccesses", got.ConsecutiveSuccesses, want.ConsecutiveSuccesses)
	}
	if got.WindowRequests != want.WindowRequests {
		d("WindowRequests", got.WindowRequests, want.WindowRequests)
	}
	if got.ErrorRate != want.ErrorRate {
		d("ErrorRate", got.ErrorRate, want.ErrorRate)
	}
	if got.AvgLatency != want.AvgLatency {
		d("AvgLatency", got.AvgLatency, want.AvgLatency)
	}
	if got.P95Latency != want.P95Latency {
		d("P95Latency", got.P95Latency, want.P95Latency)
	}
	if got.PercentileLatency != want.PercentileLatency {
		d("PercentileLatency", got.PercentileLatency, want.PercentileLatency)
	}
	if !sameErr(got.LastFailure, want.LastFailure) {
		d("LastFailure", got.LastFailure, want.LastFailure)
	}
	if !got.LastFailureAt.Equal(want.LastFailureAt) {
		d("LastFailureAt", got.LastFailureAt, want.LastFailureAt)
	}
	if !got.LastSuccessAt.Equal(want.LastSuccessAt) {
		d("LastSuccessAt", got.LastSuccessAt, want.LastSuccessAt)
	}
	return sb.String()
}

// sameErr compares errors by identity, and PanicErrors (a new one per
// panic) by their value.
func sameErr(got, want error) bool {
	var gp, wp *circuit.PanicError
	if errors.As(want, &wp) {
		return errors.As(got, &gp) && gp.Value == wp.Value
	}
	return got == want
}

func fmtTransitions(ts []circuit.Transition) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = fmt.Sprintf("%v->%v(%v)", t.From, t.To, t.Reason)
	}
	return strings.Join(s, " ")
}

func fmtModelTransitions(ts []modelTransition) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = fmt.Sprintf("%v->%v(%v)@%v", t.from, t.to, t.reason, t.at)
	}
	return strings.Join(s, " ")
}

// ---------------------------------------------------------------------------
// Generators.

// genPercentiles mixes the usual ones, decimals whose float64 product with a
// window size lands a hair above an integer (0.28*25, 0.56*25, 0.14*50),
// and arbitrary floats.
var genPercentiles = []float64{0.5, 0.9, 0.95, 0.99, 0.28, 0.56, 0.14, 0.07, 0.25, 0.75, 0.1, 0.3}

func genConfig(t *rapid.T) circuit.Config {
	ms := func(lo, hi int, label string) time.Duration {
		return time.Duration(rapid.IntRange(lo, hi).Draw(t, label)) * time.Millisecond
	}
	c := circuit.Config{Name: rapid.SampledFrom([]string{"", "svc"}).Draw(t, "name")}
	if rapid.Bool().Draw(t, "consecutive") {
		c.ConsecutiveFailures = rapid.IntRange(1, 5).Draw(t, "consecutiveFailures")
	}
	// Windows are small so that they fill, wrap and trip; now and then one
	// of 25 or 50, the sizes at which the decimal-percentile cases differ.
	c.WindowSize = rapid.OneOf(rapid.IntRange(1, 12), rapid.SampledFrom([]int{25, 50})).Draw(t, "windowSize")
	// A third of the windows are time windows: capped by WindowSize, or
	// (WindowSize 0) bucketed.
	switch rapid.IntRange(0, 5).Draw(t, "windowKind") {
	case 0:
		c.WindowDuration = ms(1, 80, "windowDuration")
	case 1:
		c.WindowDuration = ms(1, 80, "windowDuration")
		c.WindowSize = 0
	}
	c.MinRequests = rapid.IntRange(0, max(c.WindowSize, 6)).Draw(t, "minRequests")
	if c.WindowSize > 0 {
		c.MinRequests = min(c.MinRequests, c.WindowSize)
	}
	if rapid.Bool().Draw(t, "rate") {
		c.ErrorRateThreshold = rapid.OneOf(
			rapid.SampledFrom([]float64{0.1, 0.2, 0.25, 1.0 / 3, 0.5, 0.6, 2.0 / 3, 0.75, 1}),
			rapid.Float64Range(0x1p-20, 1),
		).Draw(t, "errorRate")
	}
	if rapid.Bool().Draw(t, "latency") {
		c.LatencyThreshold = ms(1, 30, "latencyThreshold")
	}
	c.LatencyPercentile = rapid.OneOf(rapid.SampledFrom(genPercentiles), rapid.Float64Range(0.001, 0.999)).Draw(t, "percentile")
	c.OpenTimeout = ms(1, 40, "openTimeout")
	if rapid.Bool().Draw(t, "backoff") {
		c.OpenBackoff = rapid.SampledFrom([]float64{0, 1, 1.5, 2, 3}).Draw(t, "openBackoff")
		if rapid.Bool().Draw(t, "openTimeoutMaxSet") {
			c.OpenTimeoutMax = c.OpenTimeout + ms(0, 100, "openTimeoutMax")
		}
		c.OpenJitter = rapid.SampledFrom([]float64{0, 0.1, 0.5, 0.99}).Draw(t, "openJitter")
	}
	if rapid.Bool().Draw(t, "probeTimeoutSet") {
		c.ProbeTimeout = ms(1, 60, "probeTimeout")
	}
	if rapid.IntRange(0, 2).Draw(t, "rampSet") == 0 {
		c.RampDuration = ms(1, 50, "rampDuration")
		c.RampStart = rapid.SampledFrom([]float64{0, 0.1, 0.5, 0.9}).Draw(t, "rampStart")
	}
	if rapid.IntRange(0, 3).Draw(t, "callTimeoutSet") == 0 {
		c.CallTimeout = ms(1, 40, "callTimeout")
	}
	c.HalfOpenMaxProbes = rapid.IntRange(1, 3).Draw(t, "probes")
	c.SuccessThreshold = rapid.IntRange(1, 3).Draw(t, "successThreshold")
	return c
}

// The variants of a sequence's base Config that an opReconfigure passes
// to Reconfigure: Arg%numReconf picks one, and the bits of Arg/numReconf
// pick a flavour: bit 0 leaves the Name empty (Reconfigure accepts that
// for the breaker's own), bit 1 takes the other direction where a variant
// has two. Each changes what its name says, relative to the base, so a
// sequence that reconfigures twice moves between two of them.
const (
	reconfBase           = iota // the base Config again
	reconfThresholds            // every threshold and the open period's length, one way: the window is kept
	reconfThresholds2           // the same, the other way, and the percentile
	reconfProbesUp              // two more probe slots, and probes may run twice as long
	reconfProbesDown            // one probe slot, and (bit 1 clear) probes may run a third as long
	reconfWindowSize            // another WindowSize: the window is cleared
	reconfWindowDuration        // another WindowDuration, or a count window for a time one: cleared
	reconfLatency               // another LatencyThreshold (bit 1: none): the window and the slow watch are cleared
	reconfCallTimeout           // another CallTimeout (bit 1: none, or a longer one)
	reconfRamp                  // another ramp (bit 1: none, or another length): a ramp in progress ends
	reconfInvalid               // an invalid Config (bit 0: another Name): refused, nothing changes
	numReconf
)

var reconfNames = [numReconf]string{"base", "thresholds", "thresholds2", "probesUp", "probesDown", "windowSize", "windowDuration", "latency", "callTimeout", "ramp", "invalid"}

func reconfName(arg int) string {
	arg = max(arg, 0)
	return fmt.Sprintf("%s/%d", reconfNames[arg%numReconf], arg/numReconf%4)
}

// reconfigured returns variant arg of base (see reconfBase), and the field
// Reconfigure must name in its error, "" if the variant is valid.
func reconfigured(base circuit.Config, arg int) (circuit.Config, string) {
	arg = max(arg, 0)
	c := base
	emptyName, other := arg/numReconf&1 != 0, arg/numReconf&2 != 0
	probeTimeout := base.ProbeTimeout
	if probeTimeout == 0 {
		probeTimeout = base.OpenTimeout
	}
	// capMin keeps MinRequests within a WindowSize.
	capMin := func() {
		if c.WindowSize > 0 {
			c.MinRequests = min(c.MinRequests, c.WindowSize)
		}
	}
	switch arg % numReconf {
	case reconfThresholds:
		c.ConsecutiveFailures = base.ConsecutiveFailures%4 + 1
		c.ErrorRateThreshold = 0.5
		if base.ErrorRateThreshold > 0 {
			c.ErrorRateThreshold = base.ErrorRateThreshold / 2
		}
		c.MinRequests = base.MinRequests / 2
		if c.MinRequests == base.MinRequests {
			c.MinRequests = 1
		}
		capMin()
		c.SuccessThreshold = base.SuccessThreshold + 1
		c.OpenTimeout = 2 * base.OpenTimeout
		c.OpenBackoff = 2
		if base.OpenBackoff > 1 {
			c.OpenBackoff = 0
		}
		c.OpenTimeoutMax = 3 * base.OpenTimeout
		if base.OpenTimeoutMax > 0 {
			c.OpenTimeoutMax = 0
		}
	case reconfThresholds2:
		c.ConsecutiveFailures = 2
		if base.ConsecutiveFailures > 0 {
			c.ConsecutiveFailures = 0
		}
		c.ErrorRateThreshold = 0.25
		if base.ErrorRateThreshold > 0 {
			c.ErrorRateThreshold = 0
		}
		c.MinRequests = base.MinRequests + 3
		if base.WindowSize > 0 {
			c.MinRequests = base.WindowSize
		}
		c.LatencyPercentile = 0.5
		if base.LatencyPercentile == 0.5 {
			c.LatencyPercentile = 0.9
		}
		c.SuccessThreshold = 2
		if base.SuccessThreshold > 1 {
			c.SuccessThreshold = 1
		}
		c.OpenTimeout = max(base.OpenTimeout/2, 1)
		c.OpenJitter = 0.5
		if base.OpenJitter > 0 {
			c.OpenJitter = 0
		}
		c.OpenBackoff = 1.5
		if base.OpenBackoff == 1.5 {
			c.OpenBackoff = 3
		}
	case reconfProbesUp:
		c.HalfOpenMaxProbes = base.HalfOpenMaxProbes + 2
		c.ProbeTimeout = 2 * probeTimeout
	case reconfProbesDown:
		c.HalfOpenMaxProbes = 1
		if !other {
			c.ProbeTimeout = max(probeTimeout/3, 1)
		}
	case reconfWindowSize:
		c.WindowSize = base.WindowSize + 3
		if other && base.WindowSize > 3 {
			c.WindowSize = base.WindowSize - 3
		}
		capMin()
	case reconfWindowDuration:
		switch {
		case base.WindowDuration == 0 && other:
			c.WindowDuration, c.WindowSize = 20*time.Millisecond, 0 // a bucketed time window
		case base.WindowDuration == 0:
			c.WindowDuration = 20 * time.Millisecond
		case other:
			c.WindowDuration, c.WindowSize = 0, max(base.WindowSize, 4) // a count window
		default:
			c.WindowDuration = 2 * base.WindowDuration
		}
		capMin()
	case reconfLatency:
		switch {
		case base.LatencyThreshold == 0:
			c.LatencyThreshold = max(base.OpenTimeout/4, 1)
		case other:
			c.LatencyThreshold = 0
		default:
			c.LatencyThreshold = max(base.LatencyThreshold/2, 1)
		}
	case reconfCallTimeout:
		switch {
		case base.CallTimeout == 0 && other:
			c.CallTimeout = base.OpenTimeout
		case base.CallTimeout == 0:
			c.CallTimeout = max(base.OpenTimeout/4, 1)
		case other:
			c.CallTimeout = 0
		default:
			c.CallTimeout = max(base.CallTimeout/2, 1)
		}
	case reconfRamp:
		switch {
		case base.RampDuration == 0:
			c.RampDuration, c.RampStart = base.OpenTimeout, 0
			if other {
				c.RampStart = 0.5
			}
		case other:
			c.RampDuration, c.RampStart = 0, 0
		default:
			c.RampStart = 0.9
			if base.RampStart == 0.9 {
				c.RampStart = 0.1
			}
		}
	case reconfInvalid:
		if emptyName {
			c.Name = "other" // Reconfigure cannot rename a breaker
			return c, "Name"
		}
		c.WindowSize = -1
		return c, "WindowSize"
	}
	if emptyName {
		c.Name = ""
	}
	return c, ""
}

// genOpKinds weights the operations: mostly calls and clock moves.
var genOpKinds = []opKind{
	opExec, opExec, opExec, opExec, opExec, opExec,
	opAllow, opAllow, opDone, opDone, opDone,
	opAdvance, opAdvance, opAdvance, opAdvance,
	opTrip, opReset, opEndOpen, opState, opMetrics, opMetrics,
	opExecDoneCtx, opExecNilFn, opExecNilCtx,
	opTripHealth, opSubscribe, opUnsubscribe, opForceOpen, opDisable, opOpenUntil,
	opReconfigure, opReconfigure,
}

// genReconfigureConfig is genConfig made for the sequences about
// Reconfigure: several probe slots, probes that close it quickly, and
// often a ramp and a latency criterion, so that reconfigurations meet
// probes in flight, ramps in progress and slow calls in flight.
func genReconfigureConfig(t *rapid.T) circuit.Config {
	c := genConfig(t)
	c.HalfOpenMaxProbes = rapid.IntRange(2, 3).Draw(t, "reconfigureProbes")
	c.SuccessThreshold = rapid.IntRange(1, 2).Draw(t, "reconfigureSuccessThreshold")
	if rapid.Bool().Draw(t, "reconfigureRamp") {
		c.RampDuration = time.Duration(rapid.IntRange(10, 60).Draw(t, "reconfigureRampMs")) * time.Millisecond
	}
	if rapid.Bool().Draw(t, "reconfigureLatency") {
		c.LatencyThreshold = time.Duration(rapid.IntRange(1, 20).Draw(t, "reconfigureLatencyMs")) * time.Millisecond
	}
	return c
}

// genReconfigureOpKinds weights the operations for the sequences about
// Reconfigure: many reconfigurations, with probes in flight, during ramps
// and with slow calls in flight, which the usual mix seldom combines.
// rapid draws the earlier entries of a list more often than the later,
// so the kinds this mix is about come first, and again later.
var genReconfigureOpKinds = []opKind{
	opReconfigure, opAllow, opAdvance, opExec, opDone,
	opReconfigure, opAllow, opAdvance, opExec, opDone,
	opTrip, opEndOpen, opReset, opState, opMetrics,
}

// opMix is a distribution of operations: the kinds, weighted by
// repetition, the outcomes of calls, and the longest latency (ms).
type opMix struct {
	kinds  []opKind
	outs   []outcome
	maxLat int
}

var (
	// genOps is the usual mix: every outcome alike.
	genOps = opMix{genOpKinds, []outcome{outOK, outFail, outBenign, outDeadline, outCanceled, outWrappedCanceled, outPanic, outSkip, outBadResult}, 50}
	// genReconfigureOps favours quick successes, so that probes often
	// close the breaker and a ramp follows.
	genReconfigureOps = opMix{genReconfigureOpKinds, []outcome{outOK, outOK, outOK, outOK, outFail, outFail, outBenign, outDeadline, outCanceled, outPanic, outSkip, outBadResult}, 20}
)

func (mix opMix) gen(t *rapid.T) op {
	o := op{Kind: rapid.SampledFrom(mix.kinds).Draw(t, "kind")}
	switch o.Kind {
	case opExec, opDone:
		o.Out = rapid.SampledFrom(mix.outs).Draw(t, "outcome")
		if o.Kind == opExec {
			o.Lat = time.Duration(rapid.IntRange(0, mix.maxLat).Draw(t, "latencyMs")) * time.Millisecond
		}
		o.Arg = rapid.IntRange(0, 7).Draw(t, "token")
	case opAdvance:
		o.Lat = time.Duration(rapid.IntRange(0, 60).Draw(t, "advanceMs")) * time.Millisecond
	case opUnsubscribe:
		o.Arg = rapid.IntRange(0, 3).Draw(t, "subscription")
	case opOpenUntil:
		o.Lat = time.Duration(rapid.IntRange(0, 60).Draw(t, "untilMs")) * time.Millisecond
	case opReconfigure:
		// Earlier entries come more often: the variants that need a
		// situation to meet (a ramp, probes in flight) first.
		v := rapid.SampledFrom([]int{reconfRamp, reconfProbesDown, reconfProbesUp, reconfLatency, reconfBase, reconfThresholds,
			reconfCallTimeout, reconfWindowSize, reconfWindowDuration, reconfThresholds2, reconfInvalid}).Draw(t, "reconfigure")
		o.Arg = v + numReconf*rapid.IntRange(0, 3).Draw(t, "reconfigureFlavour")
	}
	return o
}

// modelChecks is how many sequences each TestModel subtest runs when
// -rapid.checks is not given: rapid's own default of 100 takes well under a
// second here, so a plain `go test` affords ten times as many.
const modelChecks = 1000

// TestModel runs random operation sequences on random valid configs against
// the breaker and the reference model, modelChecks of them per subtest
// (or -rapid.checks; rapid runs a fifth with -short), and shrinks any
// failure to a minimal sequence, printed as a Go literal for a regression
// test. The short and long subtests mix every operation; the reconfigure
// subtest is about Reconfigure, amid probes, ramps and slow calls.
func TestModel(t *testing.T) {
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if !explicit {
		old := flag.Lookup("rapid.checks").Value.String()
		if err := flag.Set("rapid.checks", strconv.Itoa(modelChecks)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flag.Set("rapid.checks", old) })
	}
	for _, tc := range []struct {
		name     string
		min, max int
		ops      opMix
		cfg      func(*rapid.T) circuit.Config
	}{
		{"short", 1, 40, genOps, genConfig},                               // many configs, quick trips and recoveries
		{"long", 1, 300, genOps, genConfig},                               // long runs: windows wrap, many periods
		{"reconfigure", 20, 150, genReconfigureOps, genReconfigureConfig}, // Config changes amid probes, ramps and slow calls
	} {
		t.Run(tc.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				cfg := tc.cfg(t)
				if err := cfg.Validate(); err != nil {
					t.Fatalf("generated an invalid config: %v", err)
				}
				fallback := rapid.Bool().Draw(t, "fallback")
				n := rapid.IntRange(tc.min, tc.max).Draw(t, "steps")
				ops := rapid.SliceOfN(rapid.Custom(tc.ops.gen), n, n).Draw(t, "ops")
				runSequence(t, cfg, fallback, ops)
			})
		})
	}
	var seen []string
	for _, r := range transitionReasons {
		seen = append(seen, fmt.Sprintf("%v=%d", r, reasonCoverage[r].Load()))
	}
	t.Logf("transitions by reason: %s", strings.Join(seen, " "))
	seen = seen[:0]
	for i, name := range reconfCovNames {
		seen = append(seen, fmt.Sprintf("%s=%d", name, reconfCoverage[i].Load()))
	}
	t.Logf("reconfigurations: %s", strings.Join(seen, " "))
	if !explicit && !testing.Short() {
		// The generator must reach every transition, and every situation
		// a reconfiguration meets, or the comparison proves less than it
		// seems to.
		for _, r := range transitionReasons {
			if reasonCoverage[r].Load() == 0 {
				t.Errorf("no sequence produced a %v transition", r)
			}
		}
		for i, name := range reconfCovNames {
			if reconfCoverage[i].Load() == 0 {
				t.Errorf("no sequence reconfigured a breaker in situation %s", name)
			}
		}
	}
}

// TestModelPercentileRankIsDecimal pins the percentile rank where the
// float64 product p*n lands a hair above an integer: 0.28*25 is
// 7.000000000000001 in float64, but the rank of the 28th percentile of 25
// samples is 7. With 7 fast and 18 slow samples the 7th smallest is fast,
// so the latency criterion must not trip (a plain math.Ceil(p*n) would
// pick the 8th, a slow one, and trip).
func TestModelPercentileRankIsDecimal(t *testing.T) {
	cfg := circuit.Config{
		WindowSize: 25, MinRequests: 25, LatencyThreshold: 10 * time.Millisecond, LatencyPercentile: 0.28,
		OpenTimeout: time.Second, HalfOpenMaxProbes: 1, SuccessThreshold: 1,
	}
	var ops []op
	for i := 0; i < 25; i++ {
		lat := 10 * time.Millisecond
		if i < 7 {
			lat = 0
		}
		ops = append(ops, op{Kind: opExec, Out: outOK, Lat: lat})
	}
	ops = append(ops, op{Kind: opMetrics})
	if b := runSequence(t, cfg, false, ops); b.State() != circuit.Closed {
		t.Fatalf("7 fast and 18 slow samples tripped the P28 criterion")
	}
	if got := decimalRank(0.28, 25); got != 7 {
		t.Fatalf("decimalRank(0.28, 25) = %d, want 7", got)
	}
	// One more slow sample evicts a fast one: 6 fast, 19 slow, and now the
	// 7th smallest is slow.
	ops = append(ops, op{Kind: opExec, Out: outOK, Lat: 10 * time.Millisecond}, op{Kind: opState})
	if b := runSequence(t, cfg, false, ops); b.State() != circuit.Open {
		t.Fatalf("6 fast and 19 slow samples did not trip the P28 criterion")
	}
}
