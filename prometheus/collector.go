// Package prometheus exports circuit breakers as Prometheus metrics.
//
// A Collector reads each breaker's circuit.Metrics at scrape time, so the
// counters it reports are the breakers' lifetime counts and nothing is lost
// between scrapes. It also watches each breaker's transitions, to count
// them by reason, and keeps a call-duration histogram that the service
// feeds through ObserveLatency or Timed. Register one Collector per
// registry:
//
//	c, err := circuitprom.New(payments, inventory) // or NewFromSource(registry)
//	if err != nil { ... }
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//
// The metric names, label names and buckets are the module's one schema,
// shared with the otel exporter and listed in docs/metrics.md:
//
//	circuit_breaker_state{name,state}                          gauge, 1 for the current state and 0 for the others
//	circuit_breaker_calls_total{name,outcome}                  counter, outcome is success, failure, rejected or ignored
//	circuit_breaker_fallbacks_total{name}                      counter
//	circuit_breaker_transitions_total{name,from,to,reason}     counter
//	circuit_breaker_window_requests{name}                      gauge, outcomes in the breaker's window
//	circuit_breaker_error_ratio{name}                          gauge, failures/outcomes over the window, 0 to 1
//	circuit_breaker_error_threshold_ratio{name}                gauge, Config.ErrorRateThreshold
//	circuit_breaker_window_latency_seconds{name}               gauge, latency at Config.LatencyPercentile over the window
//	circuit_breaker_latency_threshold_seconds{name}            gauge, Config.LatencyThreshold
//	circuit_breaker_call_duration_seconds{name}                histogram of the observed call durations
//
// A circuit.Group passed with WithGroup adds four series of its own and the
// series above only for its keys that are not closed:
//
//	circuit_breaker_group_breakers{group}                      gauge, breakers the group holds
//	circuit_breaker_group_not_closed{group}                    gauge, of which not closed
//	circuit_breaker_group_evictions_total{group}               counter
//	circuit_breaker_group_overflows_total{group}               counter, lookups that got the overflow breaker
//
// A service whose breakers share state through the fleet coordinator (the
// redis module) passes its health with WithFleetCoordinator, and gets one
// series without labels:
//
//	circuit_breaker_fleet_coordinator_up                       gauge, 1 while this replica reaches the coordinator, 0 when not
//
// Every series of a breaker is present from the first scrape, zeros
// included, so its initial state is visible and rate() has a starting
// point. The package is named after its folder; import it under another
// name (circuitprom, say) next to the client library.
package prometheus

import (
	"fmt"
	"slices"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
	prom "github.com/prometheus/client_golang/prometheus"
)

// Source supplies the breakers to export. Breakers is called once per
// scrape, possibly from several goroutines at once, so it must be safe for
// concurrent use; the result may change from one scrape to the next.
// monitor.Registry satisfies it.
type Source interface {
	Breakers() []circuit.View
}

// The outcome label values of circuit_breaker_calls_total.
const (
	OutcomeSuccess  = schema.OutcomeSuccess  // circuit.Metrics.Successes
	OutcomeFailure  = schema.OutcomeFailure  // circuit.Metrics.Failures
	OutcomeRejected = schema.OutcomeRejected // circuit.Metrics.Rejections
	OutcomeIgnored  = schema.OutcomeIgnored  // circuit.Metrics.Ignored
)

// descs holds the descriptor of each constant family of the schema.
var descs = func() map[*schema.Family]*prom.Desc {
	all := slices.Concat(schema.FleetFamilies, schema.GroupFamilies, schema.Families)
	m := make(map[*schema.Family]*prom.Desc, len(all))
	for _, f := range all {
		if f.Kind != schema.Histogram {
			m[f] = prom.NewDesc(f.Name, f.Help, f.Labels, nil)
		}
	}
	return m
}()

// Collector is a prometheus.Collector over a set of breakers. Create one
// with New or NewFromSource; the zero value collects nothing.
//
// It is safe for concurrent use. Each scrape takes one consistent
// circuit.Metrics snapshot per breaker. Its descriptors are fixed, so it
// is a checked collector and a registry refuses a second Collector (with
// the same metric names) beside it.
//
// It subscribes to every breaker it exports (with View.Subscribe) to
// count transitions by reason, for as long as it exports the breaker.
// Transitions made before it first saw a breaker are reported with reason
// "unknown".
//
// A breaker whose name is not valid UTF-8, or two breakers with the same
// name in one scrape, make the registry's Gather return an error naming the
// breaker, as the client library does for every collection error, instead
// of a panic or a silently merged series. Gather still returns the other
// breakers' metrics; promhttp serves them only with
// HandlerOpts.ErrorHandling set to ContinueOnError (its default fails the
// whole scrape with HTTP 500).
type Collector struct {
	src      Source
	cfg      schema.Config
	watches  schema.Watches
	duration *prom.HistogramVec // circuit_breaker_call_duration_seconds, by name
}

// New returns a Collector over a fixed list of breakers, in the order
// given, with the schema's default buckets, and starts watching their
// transitions. New with no views is valid and collects nothing. A nil view
// or a repeated name is an error wrapping ErrInvalidConfig (one
// *circuit.ConfigError per bad view, joined). For options, pass the views
// to NewFromSource as a Source.
func New(views ...circuit.View) (*Collector, error) {
	list, err := schema.CheckViews("prometheus", views)
	if err != nil {
		return nil, err
	}
	c, err := NewFromSource(list)
	if err != nil {
		return nil, err
	}
	c.watches.Sync(list)
	return c, nil
}

// NewFromSource returns a Collector that asks src for the breakers at every
// scrape, so breakers registered or unregistered later show up or vanish
// (and are watched, or no longer watched, from that scrape on). Nil views
// returned by src are skipped. The groups of WithGroup are exported beside
// src's breakers (to export groups alone, pass an empty monitor.Registry). A nil src or an invalid option is an error
// wrapping ErrInvalidConfig.
func NewFromSource(src Source, opts ...Option) (*Collector, error) {
	if src == nil {
		return nil, schema.Missing("prometheus", "Source")
	}
	cfg, err := schema.NewConfig("prometheus", opts)
	if err != nil {
		return nil, err
	}
	f := schema.CallDuration
	return &Collector{
		src: src,
		cfg: cfg,
		duration: prom.NewHistogramVec(prom.HistogramOpts{
			Name: f.Name, Help: f.Help, Buckets: cfg.Buckets,
		}, f.Labels),
	}, nil
}

// Describe sends the descriptors of the schema's families, the fleet
// coordinator's only with WithFleetCoordinator. It implements
// prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	if c != nil && c.cfg.Fleet() {
		for _, f := range schema.FleetFamilies {
			ch <- descs[f]
		}
	}
	for _, f := range append(schema.GroupFamilies, schema.Families...) {
		if d := descs[f]; d != nil {
			ch <- d
		}
	}
	if c != nil && c.duration != nil {
		c.duration.Describe(ch)
	}
}

// Collect sends the current metrics of every breaker. It implements
// prometheus.Collector.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	if c == nil || c.src == nil {
		return
	}
	fleet := emitter{ch: ch}
	c.cfg.FleetSamples(fleet.send)
	g := emitter{ch: ch}
	c.cfg.GroupSamples(g.send)
	views := c.cfg.Views(c.src.Breakers())
	watches := c.watches.Sync(views)
	seen := make(map[string]bool, len(views))
	for i, v := range views {
		if v == nil {
			continue
		}
		m := v.Metrics()
		if seen[m.Name] {
			ch <- prom.NewInvalidMetric(descs[schema.State],
				fmt.Errorf("prometheus: duplicate breaker name %q", m.Name))
			continue
		}
		seen[m.Name] = true
		e := emitter{ch: ch, name: m.Name}
		schema.Samples(e.send, v, m, watches[i])
		if !e.failed {
			if h, err := c.duration.GetMetricWithLabelValues(m.Name); err == nil {
				ch <- h.(prom.Metric)
			}
		}
	}
}

// emitter sends a breaker's metrics until the first error, which it
// reports as a single invalid metric: a label value the client library
// refuses (a name that is not valid UTF-8) is reported once per breaker.
type emitter struct {
	ch     chan<- prom.Metric
	name   string
	failed bool
}

func (e *emitter) send(f *schema.Family, v float64, labels ...string) {
	if e.failed {
		return
	}
	t := prom.GaugeValue
	if f.Kind == schema.Counter {
		t = prom.CounterValue
	}
	d := descs[f]
	m, err := prom.NewConstMetric(d, t, v, labels...)
	if err != nil {
		e.failed = true
		m = prom.NewInvalidMetric(d, fmt.Errorf("prometheus: breaker %q: %w", e.name, err))
	}
	e.ch <- m
}
