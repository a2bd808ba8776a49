// Package otel exports circuit breakers through the OpenTelemetry metrics
// API (go.opentelemetry.io/otel/metric).
//
// Register creates six asynchronous instruments on a Meter named ScopeName
// and one callback that, at every collection, reads each breaker's
// circuit.Metrics once and observes all six. Nothing is kept between
// collections: the counters are the breakers' own lifetime counts. Every
// observation carries the attribute circuit_breaker.name.
//
//	circuit_breaker.state        UpDownCounter {breaker}     1 for the current state, 0 for the others (attribute circuit_breaker.state)
//	circuit_breaker.calls        Counter       {call}        calls by circuit_breaker.call.outcome: success, failure, rejected, canceled
//	circuit_breaker.fallbacks    Counter       {call}        calls of the fallback
//	circuit_breaker.transitions  Counter       {transition}  state changes by circuit_breaker.transition.from and .to
//	circuit_breaker.error_rate   Gauge         1             failures/outcomes over the breaker's window, 0 to 1
//	circuit_breaker.latency.p95  Gauge         s             95th percentile latency over the window
//
// The state is an UpDownCounter rather than a gauge because it is
// additive: summed over circuit_breaker.name it counts the breakers in each
// state, as the semantic conventions do for other one-hot states. Every
// series of a breaker is observed from the first collection, zeros
// included.
//
// The package is named after its folder; import it under another name
// (circuitotel, say) next to go.opentelemetry.io/otel.
package otel

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/breakerlab/circuit"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope name of the Meter that Register
// obtains from the MeterProvider.
const ScopeName = "github.com/breakerlab/circuit/otel"

// Instrument names.
const (
	MetricState       = "circuit_breaker.state"       // Int64ObservableUpDownCounter, unit {breaker}
	MetricCalls       = "circuit_breaker.calls"       // Int64ObservableCounter, unit {call}
	MetricFallbacks   = "circuit_breaker.fallbacks"   // Int64ObservableCounter, unit {call}
	MetricTransitions = "circuit_breaker.transitions" // Int64ObservableCounter, unit {transition}
	MetricErrorRate   = "circuit_breaker.error_rate"  // Float64ObservableGauge, unit 1
	MetricLatencyP95  = "circuit_breaker.latency.p95" // Float64ObservableGauge, unit s
)

// Attribute keys.
const (
	// AttrName is the breaker's name (circuit.Config.Name), on every observation.
	AttrName = attribute.Key("circuit_breaker.name")
	// AttrState is a state ("closed", "open", "half-open") on circuit_breaker.state.
	AttrState = attribute.Key("circuit_breaker.state")
	// AttrOutcome is the outcome of a call on circuit_breaker.calls.
	AttrOutcome = attribute.Key("circuit_breaker.call.outcome")
	// AttrFrom is the state before a transition on circuit_breaker.transitions.
	AttrFrom = attribute.Key("circuit_breaker.transition.from")
	// AttrTo is the state after a transition on circuit_breaker.transitions.
	AttrTo = attribute.Key("circuit_breaker.transition.to")
)

// The values of AttrOutcome.
const (
	OutcomeSuccess  = "success"  // circuit.Metrics.Successes
	OutcomeFailure  = "failure"  // circuit.Metrics.Failures
	OutcomeRejected = "rejected" // circuit.Metrics.Rejections
	OutcomeIgnored  = "ignored"  // circuit.Metrics.Ignored
)

// Source supplies the breakers to export. Breakers is called once per
// collection, possibly from several goroutines at once, so it must be safe
// for concurrent use; the result may change from one collection to the
// next. monitor.Registry satisfies it.
type Source interface {
	Breakers() []circuit.View
}

// fixed is the Source of Register: a list that never changes.
type fixed []circuit.View

func (f fixed) Breakers() []circuit.View { return f }

var states = [...]circuit.State{circuit.Closed, circuit.Open, circuit.HalfOpen}

// Register exports a fixed list of breakers through mp until the returned
// Registration's Unregister is called. It returns an error, prefixed
// "otel: ", if mp is nil, a view is nil, two views have the same name, or
// the Meter refuses an instrument or the callback. Register with no views
// is valid and observes nothing.
//
// Registering the same breakers twice on one MeterProvider makes the SDK
// see each series twice; register each breaker once.
func Register(mp metric.MeterProvider, views ...circuit.View) (metric.Registration, error) {
	seen := make(map[string]bool, len(views))
	list := make(fixed, 0, len(views))
	for i, v := range views {
		if v == nil {
			return nil, fmt.Errorf("otel: view %d is nil", i)
		}
		name := v.Name()
		if seen[name] {
			return nil, fmt.Errorf("otel: duplicate breaker name %q", name)
		}
		seen[name] = true
		list = append(list, v)
	}
	return register(mp, list)
}

// RegisterSource exports the breakers src returns at each collection, so
// breakers registered or unregistered later show up or stop being
// observed. It returns an error if mp or src is nil, or the Meter refuses
// an instrument or the callback. Nil views from src are skipped; a name
// src returns twice is observed once, and the collection reports an error
// naming it (through the SDK's Collect, or otel.Handle).
func RegisterSource(mp metric.MeterProvider, src Source) (metric.Registration, error) {
	if src == nil {
		return nil, errors.New("otel: nil source")
	}
	return register(mp, src)
}

// instruments are the six instruments of one registration.
type instruments struct {
	state       metric.Int64ObservableUpDownCounter
	calls       metric.Int64ObservableCounter
	fallbacks   metric.Int64ObservableCounter
	transitions metric.Int64ObservableCounter
	errorRate   metric.Float64ObservableGauge
	latencyP95  metric.Float64ObservableGauge
}

func register(mp metric.MeterProvider, src Source) (metric.Registration, error) {
	if mp == nil {
		return nil, errors.New("otel: nil MeterProvider")
	}
	m := mp.Meter(ScopeName)
	var ins instruments
	var err error
	ins.state, err = m.Int64ObservableUpDownCounter(MetricState,
		metric.WithDescription("Current state of the circuit breaker: 1 for the state it is in, 0 for the others."),
		metric.WithUnit("{breaker}"))
	if err != nil {
		return nil, fmt.Errorf("otel: %s: %w", MetricState, err)
	}
	ins.calls, err = m.Int64ObservableCounter(MetricCalls,
		metric.WithDescription("Calls through the circuit breaker by outcome: success, failure, rejected (refused while open or half-open) or canceled (ended by the caller's cancellation, not recorded)."),
		metric.WithUnit("{call}"))
	if err != nil {
		return nil, fmt.Errorf("otel: %s: %w", MetricCalls, err)
	}
	ins.fallbacks, err = m.Int64ObservableCounter(MetricFallbacks,
		metric.WithDescription("Calls of the circuit breaker's fallback."),
		metric.WithUnit("{call}"))
	if err != nil {
		return nil, fmt.Errorf("otel: %s: %w", MetricFallbacks, err)
	}
	ins.transitions, err = m.Int64ObservableCounter(MetricTransitions,
		metric.WithDescription("State changes of the circuit breaker, by previous and new state."),
		metric.WithUnit("{transition}"))
	if err != nil {
		return nil, fmt.Errorf("otel: %s: %w", MetricTransitions, err)
	}
	ins.errorRate, err = m.Float64ObservableGauge(MetricErrorRate,
		metric.WithDescription("Share of failed calls, 0 to 1, among the recent calls in the circuit breaker's window."),
		metric.WithUnit("1"))
	if err != nil {
		return nil, fmt.Errorf("otel: %s: %w", MetricErrorRate, err)
	}
	ins.latencyP95, err = m.Float64ObservableGauge(MetricLatencyP95,
		metric.WithDescription("95th percentile latency of the recent calls in the circuit breaker's window."),
		metric.WithUnit("s"))
	if err != nil {
		return nil, fmt.Errorf("otel: %s: %w", MetricLatencyP95, err)
	}

	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return ins.observe(ctx, o, src.Breakers())
	}, ins.state, ins.calls, ins.fallbacks, ins.transitions, ins.errorRate, ins.latencyP95)
	if err != nil {
		return nil, fmt.Errorf("otel: register callback: %w", err)
	}
	return reg, nil
}

// observe records every series of every view. It stops early, with the
// context's error, if ctx is done.
func (ins *instruments) observe(ctx context.Context, o metric.Observer, views []circuit.View) error {
	var errs []error
	seen := make(map[string]bool, len(views))
	for _, v := range views {
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
		ins.observeOne(o, m)
	}
	return errors.Join(errs...)
}

func (ins *instruments) observeOne(o metric.Observer, m circuit.Metrics) {
	name := AttrName.String(m.Name)
	for _, s := range states {
		var v int64
		if m.State == s {
			v = 1
		}
		o.ObserveInt64(ins.state, v, metric.WithAttributes(name, AttrState.String(s.String())))
	}
	o.ObserveInt64(ins.calls, clamp(m.Successes), metric.WithAttributes(name, AttrOutcome.String(OutcomeSuccess)))
	o.ObserveInt64(ins.calls, clamp(m.Failures), metric.WithAttributes(name, AttrOutcome.String(OutcomeFailure)))
	o.ObserveInt64(ins.calls, clamp(m.Rejections), metric.WithAttributes(name, AttrOutcome.String(OutcomeRejected)))
	o.ObserveInt64(ins.calls, clamp(m.Ignored), metric.WithAttributes(name, AttrOutcome.String(OutcomeIgnored)))
	o.ObserveInt64(ins.fallbacks, clamp(m.Fallbacks), metric.WithAttributes(name))
	for from := range m.TransitionCounts {
		for to, n := range m.TransitionCounts[from] {
			// Every pair of distinct states, zeros included; a pair from a
			// state to itself only if the core ever counts one.
			if from == to && n == 0 {
				continue
			}
			o.ObserveInt64(ins.transitions, clamp(n), metric.WithAttributes(name,
				AttrFrom.String(circuit.State(from).String()), AttrTo.String(circuit.State(to).String())))
		}
	}
	o.ObserveFloat64(ins.errorRate, m.ErrorRate, metric.WithAttributes(name))
	o.ObserveFloat64(ins.latencyP95, m.P95Latency.Seconds(), metric.WithAttributes(name))
}

// clamp converts a lifetime count to the API's int64, saturating rather
// than wrapping to a negative value.
func clamp(n uint64) int64 {
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}
