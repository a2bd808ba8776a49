package monitor

import (
	"sort"
	"time"

	"github.com/breakerlab/circuit"
)

// StatusPage is the document the status page serves, as HTML or, with
// ?format=json, as this type's JSON. Breakers are sorted most severe
// first: by their worst active alert (critical, then warning, then none),
// then by how many alerts, then by state (closed last), then by name.
type StatusPage struct {
	GeneratedAt time.Time `json:"generated_at"` // UTC, on the page's clock
	// Monitored is true when the page was given a monitor (WithMonitor):
	// only then are alerts, recent transitions and last reasons known.
	Monitored bool `json:"monitored"`
	// Summary holds the service's own figures (WithSummary), in its
	// order, then one figure per registered group (Registry.RegisterGroup);
	// empty, never nil, without either.
	Summary  []Figure `json:"summary"`
	Breakers []Status `json:"breakers"` // never nil
	// Tuning holds the reports of each WithTuning source, in its order;
	// empty, never nil, without WithTuning.
	Tuning []Tuning `json:"tuning"`
}

// Status is one breaker as the status page shows it. Fields that come
// from the monitor are zero without one; fields that come from the
// breaker's Config are in Thresholds, nil when the breaker does not offer
// a Config() method.
type Status struct {
	Name string `json:"name"`
	// State is the state's text form (circuit.State.String): "closed",
	// "open", "half-open", or whatever text a newer core gives a new
	// state, so that a client never fails to decode a page.
	State string    `json:"state"`
	Since time.Time `json:"since"` // when the current state began
	For   string    `json:"for"`   // how long ago that was, rounded to the second

	// Alerts are the monitor's active alerts for the breaker, most severe
	// first. Never nil.
	Alerts []AlertStatus `json:"alerts"`
	// Flapping is true while the monitor's Flapping alert is raised.
	Flapping bool `json:"flapping"`
	// RecentTransitions counts the breaker's transitions in the 10 minutes
	// before GeneratedAt, as the monitor saw them since it began watching.
	RecentTransitions int `json:"recent_transitions"`
	// LastReason and LastTransitionAt describe the last transition the
	// monitor saw; empty and nil when it saw none.
	LastReason       string     `json:"last_reason,omitempty"`
	LastTransitionAt *time.Time `json:"last_transition_at,omitempty"`

	ErrorRate                float64     `json:"error_rate"`                 // over the window, 0..1
	WindowRequests           int         `json:"window_requests"`            // outcomes in the window
	P95LatencySeconds        float64     `json:"p95_latency_seconds"`        // over the window
	AvgLatencySeconds        float64     `json:"avg_latency_seconds"`        // over the window
	PercentileLatencySeconds float64     `json:"percentile_latency_seconds"` // at Thresholds.LatencyPercentile
	Thresholds               *Thresholds `json:"thresholds,omitempty"`

	Successes           uint64     `json:"successes"`            // lifetime
	Failures            uint64     `json:"failures"`             // lifetime
	Rejections          uint64     `json:"rejections"`           // lifetime
	Fallbacks           uint64     `json:"fallbacks"`            // lifetime
	Transitions         uint64     `json:"transitions"`          // lifetime
	ConsecutiveFailures int        `json:"consecutive_failures"` // in the current state
	LastFailure         string     `json:"last_failure,omitempty"`
	LastFailureAt       *time.Time `json:"last_failure_at,omitempty"`

	state circuit.State // for the order and the badge
}

// Thresholds are the trip thresholds of a breaker's circuit.Config that
// the page compares its numbers with. A zero threshold means the
// criterion is disabled.
type Thresholds struct {
	ErrorRate           float64 `json:"error_rate"`           // Config.ErrorRateThreshold
	MinRequests         int     `json:"min_requests"`         // Config.MinRequests
	LatencySeconds      float64 `json:"latency_seconds"`      // Config.LatencyThreshold
	LatencyPercentile   float64 `json:"latency_percentile"`   // Config.LatencyPercentile
	ConsecutiveFailures int     `json:"consecutive_failures"` // Config.ConsecutiveFailures
}

// AlertStatus is one active alert as the status page shows it.
type AlertStatus struct {
	Kind     Kind      `json:"kind"`     // its text form, such as "flapping"
	Severity Severity  `json:"severity"` // "warning" or "critical"
	Message  string    `json:"message"`
	RaisedAt time.Time `json:"raised_at"`
	For      string    `json:"for"` // how long ago it was raised, rounded to the second
}

// configurer is a breaker that offers its Config, as *circuit.Breaker
// does; the View interface does not require it.
type configurer interface{ Config() circuit.Config }

// buildPage assembles the page at now from the registry and, if not nil,
// the monitor.
func buildPage(reg *Registry, m *Monitor, now time.Time) StatusPage {
	p := StatusPage{GeneratedAt: now.UTC(), Monitored: m != nil, Summary: []Figure{}, Breakers: []Status{}, Tuning: []Tuning{}}
	var alerts map[string][]Alert
	if m != nil {
		alerts = make(map[string][]Alert)
		for _, a := range m.Active() {
			alerts[a.Breaker] = append(alerts[a.Breaker], a)
		}
	}
	for _, e := range reg.list() {
		s := statusOf(e.view.Metrics(), now)
		if c, ok := e.view.(configurer); ok {
			s.Thresholds = thresholdsOf(c.Config())
		}
		if m != nil {
			m.describe(&s, e, alerts[e.name], now)
		}
		p.Breakers = append(p.Breakers, s)
	}
	sort.SliceStable(p.Breakers, func(i, j int) bool { return moreSevere(p.Breakers[i], p.Breakers[j]) })
	return p
}

func statusOf(m circuit.Metrics, now time.Time) Status {
	s := Status{
		Name:                     m.Name,
		State:                    m.State.String(),
		state:                    m.State,
		Since:                    m.StateSince.UTC(),
		For:                      ago(now.Sub(m.StateSince)),
		Alerts:                   []AlertStatus{},
		ErrorRate:                m.ErrorRate,
		WindowRequests:           m.WindowRequests,
		P95LatencySeconds:        m.P95Latency.Seconds(),
		AvgLatencySeconds:        m.AvgLatency.Seconds(),
		PercentileLatencySeconds: m.PercentileLatency.Seconds(),
		Successes:                m.Successes,
		Failures:                 m.Failures,
		Rejections:               m.Rejections,
		Fallbacks:                m.Fallbacks,
		Transitions:              m.Transitions,
		ConsecutiveFailures:      m.ConsecutiveFailures,
	}
	if m.LastFailure != nil {
		s.LastFailure = m.LastFailure.Error()
	}
	if !m.LastFailureAt.IsZero() {
		t := m.LastFailureAt.UTC()
		s.LastFailureAt = &t
	}
	return s
}

func thresholdsOf(c circuit.Config) *Thresholds {
	return &Thresholds{
		ErrorRate:           c.ErrorRateThreshold,
		MinRequests:         c.MinRequests,
		LatencySeconds:      c.LatencyThreshold.Seconds(),
		LatencyPercentile:   c.LatencyPercentile,
		ConsecutiveFailures: c.ConsecutiveFailures,
	}
}

// describe adds to s what the monitor knows of the registration e: its
// active alerts as, its recent transitions and its last one.
func (m *Monitor) describe(s *Status, e named, as []Alert, now time.Time) {
	sort.SliceStable(as, func(i, j int) bool { return as[i].Severity > as[j].Severity })
	for _, a := range as {
		s.Alerts = append(s.Alerts, AlertStatus{
			Kind: a.Kind, Severity: a.Severity, Message: a.Message,
			RaisedAt: a.RaisedAt.UTC(), For: ago(now.Sub(a.RaisedAt)),
		})
		if a.Kind == Flapping {
			s.Flapping = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	tr := m.tracked[e.name]
	if tr == nil || tr.id != e.id || !tr.known {
		return // not checked since it was registered
	}
	s.RecentTransitions = tr.transitionsSince(now.Add(-recentWindow))
	if !tr.lastAt.IsZero() {
		s.LastReason = tr.lastReason.String()
		t := tr.lastAt.UTC()
		s.LastTransitionAt = &t
	}
}

// moreSevere orders the page: worst alert, number of alerts, state, name.
func moreSevere(a, b Status) bool {
	if wa, wb := worst(a), worst(b); wa != wb {
		return wa > wb
	}
	if len(a.Alerts) != len(b.Alerts) {
		return len(a.Alerts) > len(b.Alerts)
	}
	if ra, rb := stateRank(a.state), stateRank(b.state); ra != rb {
		return ra > rb
	}
	return a.Name < b.Name
}

// worst is the severity of the most severe alert, or -1 without any.
func worst(s Status) Severity {
	w := Severity(-1)
	for _, a := range s.Alerts {
		w = max(w, a.Severity)
	}
	return w
}

// stateRank orders states by how much attention they need: closed least,
// then half-open (recovering), then open and any state this package does
// not know, such as a held one.
func stateRank(s circuit.State) int {
	switch s {
	case circuit.Closed:
		return 0
	case circuit.HalfOpen:
		return 1
	}
	return 2
}

// ago formats a non-negative duration rounded to the second, such as "5m3s".
func ago(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}
