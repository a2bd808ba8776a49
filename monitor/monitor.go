// Package monitor watches circuit breakers: a Registry holds breakers of
// any result type by name, a Monitor raises and clears alerts when a
// breaker stays open, flaps, or fails to protect, and reports how each
// breaker spent its time, and Handler serves a status page and JSON.
//
// It uses only the standard library, the circuit package and the clock
// package.
package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
)

// Errors of Start.
var (
	// ErrRunning: Start was called on a started monitor.
	ErrRunning = errors.New("monitor: already started")
	// ErrClosed: Start was called after Close.
	ErrClosed = errors.New("monitor: closed")
)

// Monitor evaluates alert rules over the breakers of a Registry, on a
// ticker (Start) or on demand (Check), and keeps a history of each breaker
// for Report. Create one with New; the zero value is not usable. All
// methods are safe for concurrent use.
//
// History. The monitor starts watching a breaker at the first check that
// finds it in the registry: it subscribes to its transitions (exact times)
// and samples its Metrics at every check. It stops, and unsubscribes, at
// the first check after the breaker is unregistered; an alert still raised
// for it is then cleared. Close unsubscribes from every breaker. Memory
// per breaker is constant (flapping keeps at most FlappingTransitions+1
// timestamps).
//
// Alerts. A rule's condition raises an Alert once, on the check that first
// finds it true, and a clear (Alert.Cleared) once, on the check that first
// finds it false again: no storm while it holds.
//
// Handlers. Each alert is passed to every handler, in the order they were
// given to New; handlers run concurrently with each other, each on a
// goroutine of its own, but a handler is never called again before its
// previous call returned. The check waits for the handlers to return, at
// most Config.HandlerTimeout per alert (measured on the monitor's clock),
// then moves on. A handler that panics is recovered and logged. A handler
// that is still running at the timeout is logged and abandoned: Go cannot
// stop a goroutine, so its goroutine stays until the handler returns, and
// while it has not returned the later alerts for that handler are skipped
// (and logged) instead of piling up goroutines. So a handler that blocks
// forever costs one goroutine and its own alerts, never the other
// handlers' alerts nor the monitor. A handler may call Active and Report;
// Check, Stop or Close called from a handler wait until the current check
// has given up on that handler, that is for HandlerTimeout.
type Monitor struct {
	reg      *Registry
	cfg      Config
	clock    clock.Clock
	logger   *slog.Logger
	handlers []*handler // fixed after New

	// checkMu serializes checks, including their dispatch to handlers, so
	// that handlers see raises and clears in order.
	checkMu sync.Mutex

	mu      sync.Mutex          // guards tracked, active, closed and every tracker's history fields
	tracked map[string]*tracker // membership changed only by checks and Close
	active  map[alertKey]Alert  // raised and not yet cleared
	closed  bool

	runMu sync.Mutex    // guards stop and done
	stop  chan struct{} // closed by Stop; nil when not started
	done  chan struct{} // closed when the check loop has exited
}

type handler struct {
	fn   func(Alert)
	busy atomic.Bool // a call has not returned yet
}

type alertKey struct {
	name string
	kind Kind
}

// tracker is the monitor's history of one registration of a breaker.
type tracker struct {
	view        circuit.View
	id          uint64
	unsubscribe func()

	// Guarded by Monitor.mu.
	known          bool             // the fields below are initialized
	start          time.Time        // the history begins
	state          circuit.State    // as last seen
	since          time.Time        // when state began, or start if later
	inState        [3]time.Duration // completed time per state, indexed by State
	seq            uint64           // Metrics.Transitions last applied, to skip duplicates
	transitions    int              // seen since start
	recent         []time.Time      // the latest transitions, oldest first, for flapping
	outageStart    time.Time        // when it last left Closed; zero while closed
	recoveries     int              // outages that ended in Closed
	recoveryTotal  time.Duration    // their total length
	checks         int              // samples taken
	errSum         float64          // sum of sampled error rates
	latSum, p95Sum time.Duration    // sums of sampled mean and P95 latency
	baseRejections uint64           // Metrics.Rejections when the history began
}

// New returns a monitor over reg, configured by DefaultConfig and then
// opts. It returns an error wrapping ErrInvalidConfig if reg is nil or the
// Config is invalid. The monitor does nothing until Start or Check.
func New(reg *Registry, opts ...Option) (*Monitor, error) {
	s := newSettings(opts)
	var errs []error
	if reg == nil {
		errs = append(errs, fmt.Errorf("%w: nil registry", ErrInvalidConfig))
	}
	if err := s.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m := &Monitor{
		reg:     reg,
		cfg:     s.cfg,
		clock:   s.clock,
		logger:  s.logger,
		tracked: make(map[string]*tracker),
		active:  make(map[alertKey]Alert),
	}
	for _, h := range s.handlers {
		m.handlers = append(m.handlers, &handler{fn: h})
	}
	return m, nil
}

// Config returns the monitor's configuration.
func (m *Monitor) Config() Config { return m.cfg }

// Start runs a check every Config.Interval on the monitor's clock until
// Stop, on a goroutine of its own. Ticks that come while a check is still
// running are dropped, as with time.Ticker. The ticker is created before
// Start returns, so a test may advance a mock clock right after. It
// returns ErrRunning if already started, ErrClosed after Close.
func (m *Monitor) Start() error {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if m.stop != nil {
		return ErrRunning
	}
	t := m.clock.Ticker(m.cfg.Interval)
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go m.loop(t, m.stop, m.done)
	return nil
}

func (m *Monitor) loop(t *clock.Ticker, stop, done chan struct{}) {
	defer close(done)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			m.Check()
		}
	}
}

// Stop stops the ticker started by Start and waits for the check in
// progress, if any, to finish (its wait for handlers is bounded by
// Config.HandlerTimeout per alert). It does not wait for abandoned
// handlers. Stop on a monitor not started does nothing; Start may be
// called again after Stop.
func (m *Monitor) Stop() {
	m.runMu.Lock()
	stop, done := m.stop, m.done
	m.stop, m.done = nil, nil
	m.runMu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
}

// Close stops the monitor for good: it calls Stop, waits for a check in
// progress, removes the monitor's subscriptions from every breaker and
// forgets the history and the raised alerts (without sending clears).
// Afterwards Check returns nil, Report returns ErrUnknownBreaker and Start
// returns ErrClosed. Close may be called more than once.
func (m *Monitor) Close() {
	m.mu.Lock()
	m.closed = true // first, so that no Start succeeds after the Stop below
	m.mu.Unlock()
	m.Stop()
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	m.mu.Lock()
	var subs []func()
	for _, tr := range m.tracked {
		if tr.unsubscribe != nil {
			subs = append(subs, tr.unsubscribe)
		}
	}
	m.tracked = make(map[string]*tracker)
	m.active = make(map[alertKey]Alert)
	m.mu.Unlock()
	for _, unsubscribe := range subs {
		unsubscribe()
	}
}

// Check evaluates every rule for every registered breaker now, passes the
// alerts raised and cleared to the handlers, and returns them, sorted by
// breaker name and then kind. Checks are serialized: a Check waits for the
// one in progress. After Close it does nothing and returns nil.
func (m *Monitor) Check() []Alert {
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil
	}
	alerts := m.evaluate()
	m.dispatch(alerts)
	return alerts
}

// Active returns the alerts raised and not yet cleared, sorted by breaker
// name and then kind.
func (m *Monitor) Active() []Alert {
	m.mu.Lock()
	as := make([]Alert, 0, len(m.active))
	for _, a := range m.active {
		as = append(as, a)
	}
	m.mu.Unlock()
	sortAlerts(as)
	return as
}

func sortAlerts(as []Alert) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].Breaker != as[j].Breaker {
			return as[i].Breaker < as[j].Breaker
		}
		return as[i].Kind < as[j].Kind
	})
}

// evaluate brings the subscriptions in line with the registry, samples
// every breaker and applies the rules. It requires m.checkMu.
func (m *Monitor) evaluate() []Alert {
	entries := m.reg.list()
	fresh, stale := m.sync(entries)
	for _, unsubscribe := range stale {
		unsubscribe()
	}
	for _, tr := range fresh {
		tr := tr
		u := tr.view.Subscribe(func(t circuit.Transition) { m.onTransition(tr, t) })
		m.mu.Lock()
		tr.unsubscribe = u
		m.mu.Unlock()
	}
	// Outside m.mu: Metrics may deliver transitions to our hooks, which
	// take m.mu.
	ms := make([]circuit.Metrics, len(entries))
	for i, e := range entries {
		ms[i] = e.view.Metrics()
	}
	now := m.clock.Now()

	m.mu.Lock()
	defer m.mu.Unlock()
	var alerts []Alert
	present := make(map[string]bool, len(entries))
	for i, e := range entries {
		present[e.name] = true
		tr := m.tracked[e.name]
		if !tr.known {
			tr.initFrom(ms[i], now, m.flapCap())
		}
		tr.sample(ms[i])
		for k := Kind(0); k < numKinds; k++ {
			holds, msg := m.rule(k, tr, ms[i], now)
			alerts = m.transition(alerts, alertKey{e.name, k}, holds, msg, ms[i], now)
		}
	}
	var gone []Alert
	for key := range m.active {
		if !present[key.name] {
			gone = m.transition(gone, key, false, "breaker unregistered", circuit.Metrics{}, now)
		}
	}
	sortAlerts(gone)
	return append(alerts, gone...)
}

// sync starts trackers for new registrations and drops those of breakers
// no longer registered, returning the trackers to subscribe and the
// subscriptions to cancel, both to be done outside m.mu.
func (m *Monitor) sync(entries []named) (fresh []*tracker, stale []func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.name] = true
		tr := m.tracked[e.name]
		if tr != nil && tr.id == e.id {
			continue
		}
		if tr != nil && tr.unsubscribe != nil {
			stale = append(stale, tr.unsubscribe)
		}
		tr = &tracker{view: e.view, id: e.id}
		m.tracked[e.name] = tr
		fresh = append(fresh, tr)
	}
	for name, tr := range m.tracked {
		if !present[name] {
			if tr.unsubscribe != nil {
				stale = append(stale, tr.unsubscribe)
			}
			delete(m.tracked, name)
		}
	}
	return fresh, stale
}

// transition raises or clears the alert for key as holds says, appending
// what changed to alerts. It requires m.mu.
func (m *Monitor) transition(alerts []Alert, key alertKey, holds bool, msg string, metrics circuit.Metrics, now time.Time) []Alert {
	prev, raised := m.active[key]
	switch {
	case holds && !raised:
		a := Alert{
			Breaker: key.name, Kind: key.kind, Severity: severityOf(key.kind),
			Message: msg, At: now, RaisedAt: now, Metrics: metrics,
		}
		m.active[key] = a
		alerts = append(alerts, a)
	case !holds && raised:
		delete(m.active, key)
		alerts = append(alerts, Alert{
			Breaker: key.name, Kind: key.kind, Severity: prev.Severity, Cleared: true,
			Message: msg, At: now, RaisedAt: prev.RaisedAt, Metrics: metrics,
		})
	}
	return alerts
}

// rule evaluates rule k for one breaker and returns whether its condition
// holds, with a message describing the state either way. It requires m.mu.
func (m *Monitor) rule(k Kind, tr *tracker, ms circuit.Metrics, now time.Time) (bool, string) {
	c := &m.cfg
	switch k {
	case ProlongedOpen:
		if c.ProlongedOpen == 0 {
			return false, "rule disabled"
		}
		if tr.outageStart.IsZero() {
			return false, "closed again"
		}
		d := now.Sub(tr.outageStart)
		msg := fmt.Sprintf("%s, not closed for %s (since %s; limit %s)",
			tr.state, d.Round(time.Second), tr.outageStart.UTC().Format(time.RFC3339), c.ProlongedOpen)
		return d > c.ProlongedOpen, msg
	case Flapping:
		if c.FlappingTransitions == 0 {
			return false, "rule disabled"
		}
		cut := now.Add(-c.FlappingWindow)
		n := 0
		for _, at := range tr.recent {
			if at.After(cut) {
				n++
			}
		}
		if n > c.FlappingTransitions {
			return true, fmt.Sprintf("more than %d transitions within %s", c.FlappingTransitions, c.FlappingWindow)
		}
		return false, fmt.Sprintf("%d transitions within %s (limit %d)", n, c.FlappingWindow, c.FlappingTransitions)
	case IneffectiveProtection:
		if c.IneffectiveErrorRate == 0 {
			return false, "rule disabled"
		}
		holds := ms.State == circuit.Closed && ms.WindowRequests > c.IneffectiveMinRequests && ms.ErrorRate > c.IneffectiveErrorRate
		return holds, fmt.Sprintf("%s with error rate %.1f%% over %d requests (limit %.1f%% over more than %d)",
			ms.State, 100*ms.ErrorRate, ms.WindowRequests, 100*c.IneffectiveErrorRate, c.IneffectiveMinRequests)
	}
	return false, ""
}

// flapCap is how many transition times a tracker keeps.
func (m *Monitor) flapCap() int { return m.cfg.FlappingTransitions + 1 }

// onTransition is the hook subscribed to a breaker for tr.
func (m *Monitor) onTransition(tr *tracker, t circuit.Transition) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !tr.known {
		// The history begins with this transition.
		mt := t.Metrics
		mt.State = t.From
		mt.StateSince = t.At
		mt.Transitions = 0
		tr.initFrom(mt, t.At, m.flapCap())
	}
	tr.apply(t, m.flapCap())
}

// initFrom starts the history at now from the snapshot ms. It requires
// Monitor.mu.
func (tr *tracker) initFrom(ms circuit.Metrics, now time.Time, flapCap int) {
	tr.known = true
	tr.start, tr.since = now, now
	tr.state = ms.State
	tr.seq = ms.Transitions
	tr.baseRejections = ms.Rejections
	tr.recent = make([]time.Time, 0, min(flapCap, 32)) // grows up to flapCap as transitions come
	if ms.State != circuit.Closed {
		// The outage may have begun before the last state change; this is
		// the earliest time the snapshot proves.
		tr.outageStart = ms.StateSince
		if tr.outageStart.IsZero() || tr.outageStart.After(now) {
			tr.outageStart = now
		}
	}
}

// apply adds a transition to the history. It requires Monitor.mu.
func (tr *tracker) apply(t circuit.Transition, flapCap int) {
	if seq := t.Metrics.Transitions; seq != 0 {
		if seq <= tr.seq {
			return // already in the snapshot the history began with
		}
		tr.seq = seq
	}
	at := t.At
	if at.Before(tr.since) {
		at = tr.since
	}
	if i := int(tr.state); i >= 0 && i < len(tr.inState) {
		tr.inState[i] += at.Sub(tr.since)
	}
	from := tr.state
	tr.state, tr.since = t.To, at
	tr.transitions++
	if flapCap > 1 {
		if len(tr.recent) == flapCap {
			copy(tr.recent, tr.recent[1:])
			tr.recent = tr.recent[:flapCap-1]
		}
		tr.recent = append(tr.recent, at)
	}
	switch {
	case from == circuit.Closed && t.To != circuit.Closed:
		tr.outageStart = at
	case t.To == circuit.Closed && !tr.outageStart.IsZero():
		tr.recoveries++
		tr.recoveryTotal += at.Sub(tr.outageStart)
		tr.outageStart = time.Time{}
	}
}

// sample adds a check's snapshot to the history. It requires Monitor.mu.
func (tr *tracker) sample(ms circuit.Metrics) {
	tr.checks++
	tr.errSum += ms.ErrorRate
	tr.latSum += ms.AvgLatency
	tr.p95Sum += ms.P95Latency
}

// dispatch passes each alert to every handler. It requires m.checkMu.
func (m *Monitor) dispatch(alerts []Alert) {
	if len(m.handlers) == 0 {
		return
	}
	for _, a := range alerts {
		timer := m.clock.Timer(m.cfg.HandlerTimeout)
		done := make(chan int, len(m.handlers)) // never blocks a handler's goroutine
		running := make(map[int]bool, len(m.handlers))
		for i, h := range m.handlers {
			if !h.busy.CompareAndSwap(false, true) {
				m.logger.Error("monitor: alert handler still blocked, alert skipped",
					slog.Int("handler", i), slog.String("alert", a.String()))
				continue
			}
			running[i] = true
			go m.call(i, h, a, done)
		}
	wait:
		for len(running) > 0 {
			select {
			case i := <-done:
				delete(running, i)
			case <-timer.C:
				for i := range running {
					m.logger.Error("monitor: alert handler timed out, abandoned",
						slog.Int("handler", i), slog.Duration("timeout", m.cfg.HandlerTimeout),
						slog.String("alert", a.String()))
				}
				break wait
			}
		}
		timer.Stop()
	}
}

// call runs handler i on one alert, recovering a panic.
func (m *Monitor) call(i int, h *handler, a Alert, done chan<- int) {
	defer func() {
		if r := recover(); r != nil {
			m.logger.Error("monitor: alert handler panicked",
				slog.Int("handler", i), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
		}
		h.busy.Store(false)
		done <- i
	}()
	h.fn(a)
}
