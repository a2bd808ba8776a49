// Package prometheus exports circuit breakers as Prometheus metrics.
//
// A Collector reads each breaker's circuit.Metrics at scrape time and keeps
// no state of its own: the counters it reports are the breakers' lifetime
// counts, so nothing is lost between scrapes and nothing needs a
// subscription. Register one Collector per registry:
//
//	c, err := circuitprom.New(payments, inventory) // or NewFromSource(registry)
//	if err != nil { ... }
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//
// The metrics, all labelled with the breaker's name:
//
//	circuit_breaker_state{name,state}                gauge, 1 for the current state and 0 for the other two
//	circuit_breaker_calls_total{name,outcome}        counter, outcome is success, failure, rejected or canceled
//	circuit_breaker_fallbacks_total{name}            counter
//	circuit_breaker_transitions_total{name,from,to}  counter, every pair of distinct states
//	circuit_breaker_error_rate{name}                 gauge, failures/outcomes over the breaker's window, 0 to 1
//	circuit_breaker_latency_p95_seconds{name}        gauge, 95th percentile latency over the window
//
// Every series of a breaker is present from the first scrape, zeros
// included, so its initial state is visible and rate() has a starting
// point. The package is named after its folder; import it under another
// name (circuitprom, say) next to the client library.
package prometheus

import (
	"errors"
	"fmt"

	"github.com/breakerlab/circuit"
	prom "github.com/prometheus/client_golang/prometheus"
)

// Source supplies the breakers to export. Breakers is called once per
// scrape, possibly from several goroutines at once, so it must be safe for
// concurrent use; the result may change from one scrape to the next.
// monitor.Registry satisfies it.
type Source interface {
	Breakers() []circuit.View
}

// fixed is the Source of New: a list that never changes.
type fixed []circuit.View

func (f fixed) Breakers() []circuit.View { return f }

// The outcome label values of circuit_breaker_calls_total.
const (
	OutcomeSuccess  = "success"  // circuit.Metrics.Successes
	OutcomeFailure  = "failure"  // circuit.Metrics.Failures
	OutcomeRejected = "rejected" // circuit.Metrics.Rejections
	OutcomeIgnored  = "ignored"  // circuit.Metrics.Ignored
)

var (
	descState = prom.NewDesc("circuit_breaker_state",
		"Current state of the circuit breaker: 1 for the state it is in, 0 for the others.",
		[]string{"name", "state"}, nil)
	descCalls = prom.NewDesc("circuit_breaker_calls_total",
		"Calls through the circuit breaker by outcome: success, failure, rejected (refused while open or half-open) or canceled (ended by the caller's cancellation, not recorded).",
		[]string{"name", "outcome"}, nil)
	descFallbacks = prom.NewDesc("circuit_breaker_fallbacks_total",
		"Calls of the circuit breaker's fallback.",
		[]string{"name"}, nil)
	descTransitions = prom.NewDesc("circuit_breaker_transitions_total",
		"State changes of the circuit breaker, by previous and new state.",
		[]string{"name", "from", "to"}, nil)
	descErrorRate = prom.NewDesc("circuit_breaker_error_rate",
		"Share of failed calls, 0 to 1, among the recent calls in the circuit breaker's window.",
		[]string{"name"}, nil)
	descLatencyP95 = prom.NewDesc("circuit_breaker_latency_p95_seconds",
		"95th percentile latency of the recent calls in the circuit breaker's window, in seconds.",
		[]string{"name"}, nil)
)

// states lists every circuit.State, in the order the one-hot gauge and the
// transition pairs are emitted.
var states = [...]circuit.State{circuit.Closed, circuit.Open, circuit.HalfOpen}

// Collector is a prometheus.Collector over a set of breakers. Create one
// with New or NewFromSource; the zero value collects nothing.
//
// It is safe for concurrent use: it holds no mutable state, and each scrape
// takes one consistent circuit.Metrics snapshot per breaker. Its
// descriptors are fixed, so it is a checked collector and a registry
// refuses a second Collector (with the same metric names) beside it.
//
// A breaker whose name is not valid UTF-8, or two breakers with the same
// name in one scrape, make the registry's Gather return an error naming the
// breaker, as the client library does for every collection error, instead
// of a panic or a silently merged series. Gather still returns the other
// breakers' metrics; promhttp serves them only with
// HandlerOpts.ErrorHandling set to ContinueOnError (its default fails the
// whole scrape with HTTP 500).
type Collector struct {
	src Source
}

// New returns a Collector over a fixed list of breakers, in the order
// given. It returns an error, prefixed "prometheus: ", if a view is nil or
// two views have the same name. New with no views is valid and collects
// nothing.
func New(views ...circuit.View) (*Collector, error) {
	seen := make(map[string]bool, len(views))
	list := make(fixed, 0, len(views))
	for i, v := range views {
		if v == nil {
			return nil, fmt.Errorf("prometheus: view %d is nil", i)
		}
		name := v.Name()
		if seen[name] {
			return nil, fmt.Errorf("prometheus: duplicate breaker name %q", name)
		}
		seen[name] = true
		list = append(list, v)
	}
	return &Collector{src: list}, nil
}

// NewFromSource returns a Collector that asks src for the breakers at every
// scrape, so breakers registered or unregistered later show up or vanish.
// It returns an error if src is nil. Nil views returned by src are skipped.
func NewFromSource(src Source) (*Collector, error) {
	if src == nil {
		return nil, errors.New("prometheus: nil source")
	}
	return &Collector{src: src}, nil
}

// Describe sends the descriptors of the six metric families. It
// implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	ch <- descState
	ch <- descCalls
	ch <- descFallbacks
	ch <- descTransitions
	ch <- descErrorRate
	ch <- descLatencyP95
}

// Collect sends the current metrics of every breaker. It implements
// prometheus.Collector.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	if c == nil || c.src == nil {
		return
	}
	views := c.src.Breakers()
	seen := make(map[string]bool, len(views))
	for _, v := range views {
		if v == nil {
			continue
		}
		m := v.Metrics()
		if seen[m.Name] {
			ch <- prom.NewInvalidMetric(descState,
				fmt.Errorf("prometheus: duplicate breaker name %q", m.Name))
			continue
		}
		seen[m.Name] = true
		collectOne(ch, m)
	}
}

// collectOne sends the series of one breaker. A label value the client
// library refuses (a name that is not valid UTF-8) becomes one invalid
// metric, so the scrape reports the error once for that breaker.
func collectOne(ch chan<- prom.Metric, m circuit.Metrics) {
	e := emitter{ch: ch, name: m.Name}
	for _, s := range states {
		v := 0.0
		if m.State == s {
			v = 1
		}
		e.send(descState, prom.GaugeValue, v, s.String())
	}
	e.send(descCalls, prom.CounterValue, float64(m.Successes), OutcomeSuccess)
	e.send(descCalls, prom.CounterValue, float64(m.Failures), OutcomeFailure)
	e.send(descCalls, prom.CounterValue, float64(m.Rejections), OutcomeRejected)
	e.send(descCalls, prom.CounterValue, float64(m.Ignored), OutcomeIgnored)
	e.send(descFallbacks, prom.CounterValue, float64(m.Fallbacks))
	for from := range m.TransitionCounts {
		for to, n := range m.TransitionCounts[from] {
			// Every pair of distinct states, zeros included, so the series
			// exist before the first transition; a pair from a state to
			// itself only if the core ever counts one.
			if from == to && n == 0 {
				continue
			}
			e.send(descTransitions, prom.CounterValue, float64(n),
				circuit.State(from).String(), circuit.State(to).String())
		}
	}
	e.send(descErrorRate, prom.GaugeValue, m.ErrorRate)
	e.send(descLatencyP95, prom.GaugeValue, m.P95Latency.Seconds())
}

// emitter sends a breaker's metrics until the first error, which it
// reports as a single invalid metric.
type emitter struct {
	ch     chan<- prom.Metric
	name   string
	failed bool
	labels []string // reused: NewConstMetric copies the values
}

func (e *emitter) send(d *prom.Desc, t prom.ValueType, v float64, labels ...string) {
	if e.failed {
		return
	}
	e.labels = append(append(e.labels[:0], e.name), labels...)
	m, err := prom.NewConstMetric(d, t, v, e.labels...)
	if err != nil {
		e.failed = true
		m = prom.NewInvalidMetric(d, fmt.Errorf("prometheus: breaker %q: %w", e.name, err))
	}
	e.ch <- m
}
