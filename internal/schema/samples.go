package schema

import "github.com/breakerlab/circuit"

// Emit is how an exporter receives the samples of one breaker: the family,
// the value, and the label values in f.Labels order (the breaker's name
// first). Counts above 2^53 lose precision as float64; that is a breaker
// serving a billion calls a second for three centuries.
type Emit func(f *Family, v float64, labels ...string)

// configured is what a View must also implement for its thresholds to be
// exported; every *circuit.Breaker does.
type configured interface {
	Config() circuit.Config
}

// Samples emits every gauge and counter series of one breaker, zeros
// included, so that each exists from the first scrape and rate() has a
// starting point. m is the breaker's snapshot, v the breaker (for its
// Config, when it has one), and r its reason counts (nil if not watched).
// The histogram (CallDuration) is the exporter's own.
func Samples(emit Emit, v circuit.View, m circuit.Metrics, r *Watch) {
	name := m.Name
	for s := range m.TransitionCounts {
		on := 0.0
		if m.State == circuit.State(s) {
			on = 1
		}
		emit(State, on, name, circuit.State(s).String())
	}
	emit(Calls, float64(m.Successes), name, OutcomeSuccess)
	emit(Calls, float64(m.Failures), name, OutcomeFailure)
	emit(Calls, float64(m.Rejections), name, OutcomeRejected)
	emit(Calls, float64(m.Ignored), name, OutcomeIgnored)
	emit(Fallbacks, float64(m.Fallbacks), name)
	r.emit(emit, name, m)
	emit(WindowRequests, float64(m.WindowRequests), name)
	emit(ErrorRatio, m.ErrorRate, name)
	emit(WindowLatency, m.PercentileLatency.Seconds(), name)
	if c, ok := v.(configured); ok {
		cfg := c.Config()
		emit(ErrorThreshold, cfg.ErrorRateThreshold, name)
		emit(LatencyThreshold, cfg.LatencyThreshold.Seconds(), name)
	}
}
