// Package schema is the one definition of the metrics that the prometheus
// and otel exporter modules publish: metric names, help texts, units,
// label names, label values and histogram buckets, and the series a
// breaker's snapshot becomes. Both exporters import it, so a user who
// scrapes the prometheus Collector and one who exports the otel
// instruments through the OpenTelemetry Prometheus exporter see the same
// names. docs/metrics.md is the table for humans; TestDocTable keeps the
// two in step.
//
// It is internal to the module: the exporters are its only users, and its
// shape may change with them.
package schema

// Kind is how a family's values behave.
type Kind int

// The kinds of family.
const (
	// Gauge: a value that goes up and down.
	Gauge Kind = iota
	// Counter: a lifetime count that only goes up.
	Counter
	// Histogram: per-call observations in cumulative buckets.
	Histogram
)

// String returns "gauge", "counter" or "histogram".
func (k Kind) String() string {
	switch k {
	case Gauge:
		return "gauge"
	case Counter:
		return "counter"
	case Histogram:
		return "histogram"
	}
	return "kind(?)"
}

// Family is one metric family.
type Family struct {
	// Name is the name as Prometheus stores it, with the "_total" suffix of
	// a counter and the unit suffix ("_seconds", "_ratio").
	Name string
	// Instrument is the OpenTelemetry instrument name: Name without the
	// "_total" that the OpenTelemetry Prometheus exporter appends to every
	// counter. Its unit suffix is kept: the exporter does not repeat a
	// suffix the name already ends with.
	Instrument string
	Kind       Kind
	// Unit is the UCUM unit the otel exporter declares: "s", "1" (a ratio)
	// or a {annotation}, which the OpenTelemetry Prometheus exporter drops.
	Unit string
	Help string
	// Labels are the label names: LabelName first for a breaker's
	// families, LabelGroup alone for a group's, none for the fleet's.
	// Values are passed in this order.
	Labels []string
}

// Label names. They are the same in both exporters: the otel exporter uses
// them as attribute keys as they are.
const (
	LabelName    = "name"    // the breaker's Config.Name
	LabelState   = "state"   // a circuit.State's String form
	LabelOutcome = "outcome" // one of the Outcome values
	LabelFrom    = "from"    // the state before a transition
	LabelTo      = "to"      // the state after a transition
	LabelReason  = "reason"  // a circuit.Reason's String form, or ReasonUnknown
	LabelGroup   = "group"   // the name a group was exported under (WithGroup)
)

// The values of LabelOutcome, one per lifetime count of circuit.Metrics.
const (
	OutcomeSuccess  = "success"  // circuit.Metrics.Successes
	OutcomeFailure  = "failure"  // circuit.Metrics.Failures
	OutcomeRejected = "rejected" // circuit.Metrics.Rejections
	OutcomeIgnored  = "ignored"  // circuit.Metrics.Ignored
)

// ReasonUnknown is the reason of the transitions a breaker made before an
// exporter began to watch it: the breaker counts them by state pair but an
// exporter learns reasons only from the transitions it is told about.
const ReasonUnknown = "unknown"

// LatencyBuckets are the upper bounds, in seconds, of the call-duration
// histogram: 5ms to 30s, dense where service calls live and including
// every LatencyThreshold of the circuit presets (0.5s, 1s, 2s, 5s) and the
// common call timeouts (2s, 5s, 10s, 30s), so the share of calls over a
// threshold is read from one bucket exactly, not interpolated.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}

// The families of a breaker. Every exporter publishes all of them.
var (
	State = &Family{
		Name: "circuit_breaker_state", Instrument: "circuit_breaker_state", Kind: Gauge, Unit: "{breaker}",
		Help:   "Current state of the circuit breaker: 1 for the state it is in, 0 for the others.",
		Labels: []string{LabelName, LabelState},
	}
	Calls = &Family{
		Name: "circuit_breaker_calls_total", Instrument: "circuit_breaker_calls", Kind: Counter, Unit: "{call}",
		Help:   "Calls through the circuit breaker by outcome: success, failure, rejected (refused while open or half-open) or ignored (not judged: canceled by the caller, or classified Ignored; not in the window).",
		Labels: []string{LabelName, LabelOutcome},
	}
	Fallbacks = &Family{
		Name: "circuit_breaker_fallbacks_total", Instrument: "circuit_breaker_fallbacks", Kind: Counter, Unit: "{call}",
		Help:   "Calls of the circuit breaker's fallback.",
		Labels: []string{LabelName},
	}
	Transitions = &Family{
		Name: "circuit_breaker_transitions_total", Instrument: "circuit_breaker_transitions", Kind: Counter, Unit: "{transition}",
		Help:   "State changes of the circuit breaker, by previous state, new state and reason (unknown for those made before the exporter watched the breaker).",
		Labels: []string{LabelName, LabelFrom, LabelTo, LabelReason},
	}
	WindowRequests = &Family{
		Name: "circuit_breaker_window_requests", Instrument: "circuit_breaker_window_requests", Kind: Gauge, Unit: "{call}",
		Help:   "Outcomes in the circuit breaker's window, which its error rate and latency criteria judge once it holds MinRequests.",
		Labels: []string{LabelName},
	}
	ErrorRatio = &Family{
		Name: "circuit_breaker_error_ratio", Instrument: "circuit_breaker_error_ratio", Kind: Gauge, Unit: "1",
		Help:   "Share of failed calls, 0 to 1, among the outcomes in the circuit breaker's window.",
		Labels: []string{LabelName},
	}
	ErrorThreshold = &Family{
		Name: "circuit_breaker_error_threshold_ratio", Instrument: "circuit_breaker_error_threshold_ratio", Kind: Gauge, Unit: "1",
		Help:   "The circuit breaker's ErrorRateThreshold, 0 to 1; 0 means the error-rate criterion is disabled.",
		Labels: []string{LabelName},
	}
	WindowLatency = &Family{
		Name: "circuit_breaker_window_latency_seconds", Instrument: "circuit_breaker_window_latency_seconds", Kind: Gauge, Unit: "s",
		Help:   "Latency at the circuit breaker's LatencyPercentile (95th by default) over the calls in its window, the value its latency criterion compares with the threshold.",
		Labels: []string{LabelName},
	}
	LatencyThreshold = &Family{
		Name: "circuit_breaker_latency_threshold_seconds", Instrument: "circuit_breaker_latency_threshold_seconds", Kind: Gauge, Unit: "s",
		Help:   "The circuit breaker's LatencyThreshold; 0 means the latency criterion is disabled.",
		Labels: []string{LabelName},
	}
	CallDuration = &Family{
		Name: "circuit_breaker_call_duration_seconds", Instrument: "circuit_breaker_call_duration_seconds", Kind: Histogram, Unit: "s",
		Help:   "Duration of the calls admitted by the circuit breaker, successful or not, as observed by the exporter's latency recorder.",
		Labels: []string{LabelName},
	}
)

// The families of a group as a whole (WithGroup), labelled by the group's
// name alone: a group of a million keys is four series here.
var (
	GroupBreakers = &Family{
		Name: "circuit_breaker_group_breakers", Instrument: "circuit_breaker_group_breakers", Kind: Gauge, Unit: "{breaker}",
		Help:   "Breakers the group holds, one per key seen recently, the overflow breaker aside.",
		Labels: []string{LabelGroup},
	}
	GroupNotClosed = &Family{
		Name: "circuit_breaker_group_not_closed", Instrument: "circuit_breaker_group_not_closed", Kind: Gauge, Unit: "{breaker}",
		Help:   "Breakers of the group that are open, half-open, held open or disabled: the keys that get series of their own.",
		Labels: []string{LabelGroup},
	}
	GroupEvictions = &Family{
		Name: "circuit_breaker_group_evictions_total", Instrument: "circuit_breaker_group_evictions", Kind: Counter, Unit: "{breaker}",
		Help:   "Closed idle breakers the group has evicted to stay within its bound or after its idle timeout.",
		Labels: []string{LabelGroup},
	}
	GroupOverflows = &Family{
		Name: "circuit_breaker_group_overflows_total", Instrument: "circuit_breaker_group_overflows", Kind: Counter, Unit: "{call}",
		Help:   "Lookups of a new key that found the group full with nothing to evict, and shared its overflow breaker: a sign that MaxBreakers is too low.",
		Labels: []string{LabelGroup},
	}
)

// GroupFamilies lists the group families, in the order they are emitted
// for a group.
var GroupFamilies = []*Family{GroupBreakers, GroupNotClosed, GroupEvictions, GroupOverflows}

// FleetCoordinatorUp is the one family of the fleet coordinator that shares
// breaker state across replicas (the redis module), published once per
// collection, without labels, only when the exporter is given
// WithFleetCoordinator: an exporter does not import that module.
var FleetCoordinatorUp = &Family{
	Name: "circuit_breaker_fleet_coordinator_up", Instrument: "circuit_breaker_fleet_coordinator_up", Kind: Gauge, Unit: "",
	Help: "1 while this replica reaches the fleet coordinator that shares breaker state, 0 when it does not.",
}

// FleetFamilies lists the fleet families, in the order they are emitted.
var FleetFamilies = []*Family{FleetCoordinatorUp}

// Families lists the families every exporter publishes, in the order
// they are emitted for a breaker.
var Families = []*Family{
	State, Calls, Fallbacks, Transitions, WindowRequests, ErrorRatio,
	ErrorThreshold, WindowLatency, LatencyThreshold, CallDuration,
}
