// Package otel exports circuit breakers through the OpenTelemetry metrics
// API (go.opentelemetry.io/otel/metric), under the same names as the
// prometheus exporter.
//
// Register creates one instrument per family of the module's schema (the
// table in docs/metrics.md) on a Meter named ScopeName, and one callback
// that, at every collection, reads each breaker's circuit.Metrics once and
// observes every series. The counters are the breakers' own lifetime
// counts. It also watches each breaker's transitions to count them by
// reason, and records call durations in a histogram that the service feeds
// through ObserveLatency or Timed.
//
// The instrument names and attribute keys are chosen so that the
// OpenTelemetry Prometheus exporter (go.opentelemetry.io/otel/exporters/prometheus,
// default translation) produces exactly the names the prometheus package
// does: "circuit_breaker_calls" with unit {call} becomes
// circuit_breaker_calls_total, attribute "outcome" the label outcome. They
// therefore use underscores and short attribute keys (name, state, outcome,
// from, to, reason) rather than the dotted, namespaced style of the
// semantic conventions: one set of dashboards and alerts serves both
// exporters.
//
// The state is an UpDownCounter rather than a gauge because it is
// additive: summed over name it counts the breakers in each state. Every
// series but the histogram's is observed from the first collection, zeros
// included; the histogram's appears with the breaker's first observed
// call.
//
// A circuit.Group passed with WithGroup adds the four group instruments
// (breakers held, not closed, evictions, overflows; attribute group) and
// per-breaker series only for its keys that are not closed, so that a
// million tenants do not become a million series.
//
// A service whose breakers share state through the fleet coordinator (the
// redis module) passes its health with WithFleetCoordinator, and gets the
// gauge circuit_breaker_fleet_coordinator_up, without attributes.
//
// The package is named after its folder; import it under another name
// (circuitotel, say) next to go.opentelemetry.io/otel.
package otel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope name of the Meter that Register
// obtains from the MeterProvider.
const ScopeName = "github.com/breakerlab/circuit/otel"

// Attribute keys, the schema's label names.
const (
	// AttrName is the breaker's name (circuit.Config.Name), on every observation.
	AttrName = attribute.Key(schema.LabelName)
	// AttrState is a state ("closed", "open", "half-open") on circuit_breaker_state.
	AttrState = attribute.Key(schema.LabelState)
	// AttrOutcome is the outcome of a call on circuit_breaker_calls.
	AttrOutcome = attribute.Key(schema.LabelOutcome)
	// AttrFrom is the state before a transition on circuit_breaker_transitions.
	AttrFrom = attribute.Key(schema.LabelFrom)
	// AttrTo is the state after a transition on circuit_breaker_transitions.
	AttrTo = attribute.Key(schema.LabelTo)
	// AttrReason is why a transition happened ("error-rate", ...) on
	// circuit_breaker_transitions, or "unknown" for one made before the
	// breaker was watched.
	AttrReason = attribute.Key(schema.LabelReason)
)

// The values of AttrOutcome.
const (
	OutcomeSuccess  = schema.OutcomeSuccess  // circuit.Metrics.Successes
	OutcomeFailure  = schema.OutcomeFailure  // circuit.Metrics.Failures
	OutcomeRejected = schema.OutcomeRejected // circuit.Metrics.Rejections
	OutcomeIgnored  = schema.OutcomeIgnored  // circuit.Metrics.Ignored
)

// Source supplies the breakers to export. Breakers is called once per
// collection, possibly from several goroutines at once, so it must be safe
// for concurrent use; the result may change from one collection to the
// next. monitor.Registry satisfies it.
type Source interface {
	Breakers() []circuit.View
}

// Exporter is one registration of breakers with a MeterProvider. It is
// safe for concurrent use. Unregister ends it.
type Exporter struct {
	src      Source
	cfg      schema.Config
	watches  schema.Watches
	observed map[*schema.Family]metric.Observable // the asynchronous instruments
	duration metric.Float64Histogram              // circuit_breaker_call_duration_seconds
	reg      metric.Registration
}

// Register exports a fixed list of breakers through mp, with the schema's
// default buckets, until Unregister is called, and starts watching their
// transitions. Register with no views is valid and observes nothing.
// A nil mp, a nil view or a repeated name is an error wrapping
// ErrInvalidConfig (a *circuit.ConfigError for each); an instrument or
// callback the Meter refuses is an error prefixed "otel: ".
//
// Registering the same breakers twice on one MeterProvider makes the SDK
// see each series twice; register each breaker once. For options, pass the
// views to RegisterSource as a Source.
func Register(mp metric.MeterProvider, views ...circuit.View) (*Exporter, error) {
	list, err := schema.CheckViews("otel", views)
	if err != nil {
		return nil, err
	}
	e, err := RegisterSource(mp, list)
	if err != nil {
		return nil, err
	}
	e.watches.Sync(list)
	return e, nil
}

// RegisterSource exports the breakers src returns at each collection, so
// breakers registered or unregistered later show up or stop being observed
// (and watched). Nil views from src are skipped; a name src returns twice
// is observed once, and the collection reports an error naming it (through
// the SDK's Collect, or otel.Handle). The groups of WithGroup are observed
// beside src's breakers (to observe groups alone, pass an empty
// monitor.Registry). A nil mp or src, or an invalid option, is an error
// wrapping ErrInvalidConfig.
func RegisterSource(mp metric.MeterProvider, src Source, opts ...Option) (*Exporter, error) {
	if mp == nil {
		return nil, schema.Missing("otel", "MeterProvider")
	}
	if src == nil {
		return nil, schema.Missing("otel", "Source")
	}
	cfg, err := schema.NewConfig("otel", opts)
	if err != nil {
		return nil, err
	}
	m := mp.Meter(ScopeName)
	e := &Exporter{src: src, cfg: cfg, observed: make(map[*schema.Family]metric.Observable)}
	var list []metric.Observable
	families := slices.Concat(schema.GroupFamilies, schema.Families)
	if cfg.Fleet() {
		families = slices.Concat(schema.FleetFamilies, families)
	}
	for _, f := range families {
		desc, unit := metric.WithDescription(f.Help), metric.WithUnit(f.Unit)
		var ins metric.Observable
		switch {
		case f.Kind == schema.Histogram:
			e.duration, err = m.Float64Histogram(f.Instrument, desc, unit, metric.WithExplicitBucketBoundaries(cfg.Buckets...))
		case f.Kind == schema.Counter:
			ins, err = m.Int64ObservableCounter(f.Instrument, desc, unit)
		case f == schema.State:
			ins, err = m.Int64ObservableUpDownCounter(f.Instrument, desc, unit)
		default:
			ins, err = m.Float64ObservableGauge(f.Instrument, desc, unit)
		}
		if err != nil {
			return nil, fmt.Errorf("otel: %s: %w", f.Instrument, err)
		}
		if ins != nil {
			e.observed[f] = ins
			list = append(list, ins)
		}
	}
	e.reg, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return e.observe(ctx, o, e.cfg.Views(e.src.Breakers()))
	}, list...)
	if err != nil {
		return nil, fmt.Errorf("otel: register callback: %w", err)
	}
	return e, nil
}

// Unregister stops the collection callback and the watching of
// transitions. ObserveLatency still records afterwards.
func (e *Exporter) Unregister() error {
	e.watches.Stop()
	return e.reg.Unregister()
}

// observe records every series of every view. It stops early, with the
// context's error, if ctx is done.
func (e *Exporter) observe(ctx context.Context, o metric.Observer, views []circuit.View) error {
	var errs []error
	watches := e.watches.Sync(views)
	seen := make(map[string]bool, len(views))
	attrs := make([]attribute.KeyValue, 0, 4)
	emit := func(f *schema.Family, v float64, labels ...string) {
		attrs = attrs[:0]
		for i, l := range labels {
			attrs = append(attrs, attribute.String(f.Labels[i], l))
		}
		opt := metric.WithAttributes(attrs...)
		switch ins := e.observed[f].(type) {
		case metric.Int64Observable:
			o.ObserveInt64(ins, toInt(v), opt)
		case metric.Float64Observable:
			o.ObserveFloat64(ins, v, opt)
		}
	}
	e.cfg.FleetSamples(emit)
	e.cfg.GroupSamples(emit)
	for i, v := range views {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if v == nil {
			continue
		}
		m := v.Metrics()
		if seen[m.Name] {
			errs = append(errs, fmt.Errorf("otel: duplicate breaker name %q", m.Name))
			continue
		}
		seen[m.Name] = true
		schema.Samples(emit, v, m, watches[i])
	}
	return errors.Join(errs...)
}

// toInt converts a count to the API's int64, saturating rather than
// wrapping to a negative value.
func toInt(v float64) int64 {
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
