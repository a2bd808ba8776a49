// Package monitor watches circuit breakers: a Registry holds breakers of
// any result type by name, a Monitor raises and clears alerts when a
// breaker stays open, flaps, or fails to protect, and reports how each
// breaker spent its time, and Handler serves a status page and JSON that
// lead with what is wrong.
//
// It uses only the standard library and the circuit package; time comes
// from a Clock passed with WithClock.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

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
// schedule (Start) or on demand (Check), and keeps a history of each
// breaker for Report and the status page. Create one with New; the zero
// value is not usable. All methods are safe for concurrent use.
//
// History. The monitor starts watching a breaker at the first check that
// finds it in the registry: it subscribes to its transitions (exact times)
// and samples its Metrics at every check. It stops, and unsubscribes, at
// the first check after the breaker is unregistered; an alert still raised
// for it is then cleared. Close unsubscribes from every breaker. Memory
// per breaker is bounded: the times of the transitions of the last 10
// minutes (or FlappingWindow, if longer), at most
// MaxFlappingTransitions+1 of them.
//
// Alerts. A rule's condition raises an Alert once, on the check that first
// finds it true, and a clear (Alert.Cleared) once, on the check that first
// finds it false again: no storm while it holds.
//
// Callbacks. Each alert is passed to every WithOnAlert callback, in the
// order they were given to New; callbacks run concurrently with each
// other, each on a goroutine of its own, but a callback is never called
// again before its previous call returned. The check waits for the
// callbacks to return, at most Config.OnAlertTimeout per alert (measured
// on the monitor's clock), then moves on. A callback that panics is
// recovered and logged. A callback that is still running at the timeout is
// logged and abandoned: Go cannot stop a goroutine, so its goroutine stays
// until the callback returns, and while it has not returned the later
// alerts for that callback are skipped (and logged) instead of piling up
// goroutines. So a callback that blocks forever costs one goroutine and
// its own alerts, never the other callbacks' alerts nor the monitor. A
// callback may call Active and Report; Check, Stop or Close called from a
// callback wait until the current check has given up on it, that is for
// OnAlertTimeout.
//
// Logs. The monitor logs callback failures and, when
// Config.TransitionLogInterval is set, the transitions of its breakers,
// summarised per breaker and interval.
type Monitor struct {
	reg       *Registry
	cfg       Config
	clock     Clock
	logger    *slog.Logger
	callbacks []*callback // fixed after New

	// checkMu serializes checks, including their dispatch to callbacks,
	// so that callbacks see raises and clears in order.
	checkMu sync.Mutex

	mu      sync.Mutex          // guards tracked, active, closed and every tracker's history fields
	tracked map[string]*tracker // membership changed only by checks and Close
	active  map[alertKey]Alert  // raised and not yet cleared
	// groupKeys maps the names listed at the last check as keys of a group
	// to the group's name, so that an alert of a key that closed (and so
	// left the list) is cleared as such, not as unregistered.
	groupKeys map[string]string
	closed    bool

	runMu sync.Mutex    // guards stop and done
	stop  chan struct{} // closed by Stop; nil when not started
	done  chan struct{} // closed when the check loop has exited
}

type alertKey struct {
	name string
	kind Kind
}

// New returns a monitor over reg, configured by DefaultConfig and then
// opts. It returns an error wrapping ErrInvalidConfig, with one
// *circuit.ConfigError per problem, if reg is nil or the Config is
// invalid. The monitor does nothing until Start or Check.
func New(reg *Registry, opts ...Option) (*Monitor, error) {
	s := newSettings(opts)
	var errs []error
	if reg == nil {
		errs = append(errs, &circuit.ConfigError{Pkg: "monitor", Field: "Registry", Value: "nil", Rule: "must not be nil"})
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
	for _, fn := range s.onAlert {
		m.callbacks = append(m.callbacks, &callback{fn: fn})
	}
	return m, nil
}

// Config returns the monitor's configuration.
func (m *Monitor) Config() Config { return m.cfg }

// Start runs a check every Config.Interval on the monitor's clock until
// Stop, on a goroutine of its own. The schedule is fixed from the moment
// Start is called, as with time.Ticker: a check that overruns one or more
// ticks is followed by one check at once, and the ticks it overran are
// dropped. It returns ErrRunning if already started, ErrClosed after
// Close.
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
	// The first deadline is set before Start returns, so a test may
	// advance a mock clock right after.
	first := m.clock.Now().Add(m.cfg.Interval)
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go m.loop(first, m.stop, m.done)
	return nil
}

// loop runs the checks of Start, at next, next+Interval, and so on.
func (m *Monitor) loop(next time.Time, stop, done chan struct{}) {
	defer close(done)
	for {
		// A deadline rather than a timer per wait: a deadline the clock
		// has already passed is done at once, so a tick is never lost to
		// a clock that moved while a check ran.
		ctx, cancel := m.clock.WithDeadline(context.Background(), next)
		select {
		case <-stop:
			cancel()
			return
		case <-ctx.Done():
			cancel()
		}
		m.Check()
		next = nextTick(next, m.clock.Now(), m.cfg.Interval)
	}
}

// nextTick returns the tick after prev, or the last tick at or before now
// if that is later: one overdue tick fires at once, and the ones before it
// are dropped.
func nextTick(prev, now time.Time, interval time.Duration) time.Time {
	next := prev.Add(interval)
	if late := now.Sub(next); late >= interval {
		next = next.Add(late / interval * interval)
	}
	return next
}

// Stop stops the schedule started by Start and waits for the check in
// progress, if any, to finish (its wait for callbacks is bounded by
// Config.OnAlertTimeout per alert). It does not wait for abandoned
// callbacks. Stop on a monitor not started does nothing; Start may be
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
// progress, logs the transition summaries still pending, removes the
// monitor's subscriptions from every breaker and forgets the history and
// the raised alerts (without sending clears). Afterwards Check returns
// nil, Report returns ErrUnknownBreaker and Start returns ErrClosed. Close
// may be called more than once.
func (m *Monitor) Close() {
	m.mu.Lock()
	m.closed = true // first, so that no Start succeeds after the Stop below
	m.mu.Unlock()
	m.Stop()
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	m.mu.Lock()
	var subs []func()
	var logs []logLine
	for name, tr := range m.tracked {
		if tr.unsubscribe != nil {
			subs = append(subs, tr.unsubscribe)
		}
		logs = tr.flushLog(logs, name, time.Time{}, m.cfg.TransitionLogInterval)
	}
	m.tracked = make(map[string]*tracker)
	m.active = make(map[alertKey]Alert)
	m.mu.Unlock()
	m.writeLogs(logs)
	for _, unsubscribe := range subs {
		unsubscribe()
	}
}

// Check evaluates every rule for every registered breaker now, passes the
// alerts raised and cleared to the callbacks, and returns them, sorted by
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
	alerts, logs := m.evaluate()
	m.writeLogs(logs)
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
// every breaker and applies the rules. It returns the alerts and the
// transition summaries due. It requires m.checkMu.
func (m *Monitor) evaluate() ([]Alert, []logLine) {
	entries := m.reg.list()
	fresh, stale, logs := m.sync(entries)
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
			tr.initFrom(ms[i], now)
		}
		tr.sample(ms[i])
		tr.prune(now, m.keepWindow())
		if m.cfg.TransitionLogInterval > 0 {
			logs = tr.flushLog(logs, e.name, now, m.cfg.TransitionLogInterval)
		}
		for k := Kind(0); k < numKinds; k++ {
			holds, msg := m.rule(k, tr, ms[i], now)
			alerts = m.transition(alerts, alertKey{e.name, k}, holds, msg, ms[i], now)
		}
	}
	var gone []Alert
	for key := range m.active {
		if !present[key.name] {
			msg := "breaker unregistered"
			if g, ok := m.groupKeys[key.name]; ok {
				msg = fmt.Sprintf("closed, or evicted: group %s lists only its keys that are not closed", g)
			}
			gone = m.transition(gone, key, false, msg, circuit.Metrics{}, now)
		}
	}
	m.groupKeys = make(map[string]string)
	for _, e := range entries {
		if e.group != "" {
			m.groupKeys[e.name] = e.group
		}
	}
	sortAlerts(gone)
	return append(alerts, gone...), logs
}

// sync starts trackers for new registrations and drops those of breakers
// no longer registered, returning the trackers to subscribe and the
// subscriptions to cancel, both to be done outside m.mu, and the
// transition summaries of the dropped trackers.
func (m *Monitor) sync(entries []named) (fresh []*tracker, stale []func(), logs []logLine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.name] = true
		tr := m.tracked[e.name]
		if tr != nil && tr.id == e.id {
			continue
		}
		if tr != nil {
			if tr.unsubscribe != nil {
				stale = append(stale, tr.unsubscribe)
			}
			logs = tr.flushLog(logs, e.name, time.Time{}, m.cfg.TransitionLogInterval)
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
			logs = tr.flushLog(logs, name, time.Time{}, m.cfg.TransitionLogInterval)
			delete(m.tracked, name)
		}
	}
	return fresh, stale, logs
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
		n := tr.transitionsSince(now.Add(-c.FlappingWindow))
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

// recentWindow is the span over which the status page counts a breaker's
// transitions.
const recentWindow = 10 * time.Minute

// keepWindow is how far back a tracker keeps transition times: far enough
// for the flapping rule and for the status page.
func (m *Monitor) keepWindow() time.Duration { return max(m.cfg.FlappingWindow, recentWindow) }

// onTransition is the hook subscribed to a breaker for tr.
func (m *Monitor) onTransition(tr *tracker, t circuit.Transition) {
	m.mu.Lock()
	if !tr.known {
		// The history begins with this transition.
		mt := t.Metrics
		mt.State = t.From
		mt.StateSince = t.At
		mt.Transitions = 0
		tr.initFrom(mt, t.At)
	}
	var logs []logLine
	if tr.apply(t, m.keepWindow()) && m.cfg.TransitionLogInterval > 0 {
		logs = tr.logTransition(logs, t, m.cfg.TransitionLogInterval)
	}
	m.mu.Unlock()
	m.writeLogs(logs) // outside m.mu: the logger's handler is the user's code
}
