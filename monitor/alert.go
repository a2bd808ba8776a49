package monitor

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/breakerlab/circuit"
)

// Kind names an alert rule.
type Kind int

// The alert rules.
const (
	// ProlongedOpen: the breaker has not closed for longer than
	// Config.ProlongedOpen. Open periods end after the breaker's
	// OpenTimeout (30s by default) with a probe, so the rule measures the
	// whole outage, open and half-open alike, from the moment the breaker
	// left Closed.
	ProlongedOpen Kind = iota
	// Flapping: more than Config.FlappingTransitions transitions within
	// Config.FlappingWindow.
	Flapping
	// IneffectiveProtection: the breaker is closed although its window's
	// error rate is above Config.IneffectiveErrorRate over more than
	// Config.IneffectiveMinRequests outcomes: its thresholds let a failing
	// dependency be called.
	IneffectiveProtection
	numKinds
)

var kindNames = [...]string{
	ProlongedOpen:         "prolonged-open",
	Flapping:              "flapping",
	IneffectiveProtection: "ineffective-protection",
}

// String returns the kind in kebab case, such as "prolonged-open", and
// "kind(N)" for an unknown value.
func (k Kind) String() string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText encodes the kind as its String form.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind's String form; anything else is an error.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("monitor: unknown alert kind %q", b)
}

// Severity says how urgent an alert is.
type Severity int

// The severities, least urgent first.
const (
	Warning Severity = iota
	Critical
)

// String returns "warning" or "critical", and "severity(N)" otherwise.
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the severity as its String form.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "warning" or "critical"; anything else is an error.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "warning":
		*s = Warning
	case "critical":
		*s = Critical
	default:
		return fmt.Errorf("monitor: unknown severity %q", b)
	}
	return nil
}

// severityOf is the fixed severity of each rule.
func severityOf(k Kind) Severity {
	if k == IneffectiveProtection {
		return Critical
	}
	return Warning
}

// Alert is one raise or clear of a rule for one breaker. It is a plain
// value: callbacks may keep it.
type Alert struct {
	Breaker  string   // the breaker's name
	Kind     Kind     // the rule
	Severity Severity // fixed per rule: IneffectiveProtection is Critical, the others Warning
	// Cleared is false when the condition starts to hold (the alert is
	// raised) and true when it stops holding (the alert is cleared). A
	// condition is raised once, however many checks it holds for, and
	// cleared once.
	Cleared bool
	Message string    // one line for a human, with the numbers that matter
	At      time.Time // when the check that raised or cleared it ran
	// RaisedAt is when the alert was raised; for a raise it equals At.
	RaisedAt time.Time
	// Metrics is the breaker's snapshot at the check. It is the zero value
	// in the clear sent when a breaker is unregistered while alerting.
	Metrics circuit.Metrics
}

// String returns a one-line summary, such as
// "critical ineffective-protection payments: closed with error rate 45% over 80 requests".
func (a Alert) String() string {
	verb := ""
	if a.Cleared {
		verb = "cleared "
	}
	return verb + a.Severity.String() + " " + a.Kind.String() + " " + a.Breaker + ": " + a.Message
}

// LogValue logs the alert as a group, so that slog.Any("alert", a) keeps
// its fields: breaker, kind, severity, cleared, message, at, raised_at,
// and from its Metrics the state, error_rate, window_requests and
// p95_latency. Durations carry their units ("960ms").
func (a Alert) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("breaker", a.Breaker),
		slog.Any("kind", a.Kind),
		slog.Any("severity", a.Severity),
		slog.Bool("cleared", a.Cleared),
		slog.String("message", a.Message),
		slog.Time("at", a.At),
		slog.Time("raised_at", a.RaisedAt),
		slog.Any("state", a.Metrics.State),
		slog.Float64("error_rate", a.Metrics.ErrorRate),
		slog.Int("window_requests", a.Metrics.WindowRequests),
		slog.String("p95_latency", a.Metrics.P95Latency.String()),
	)
}
