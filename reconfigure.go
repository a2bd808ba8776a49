package circuit

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// Reconfigure replaces the breaker's Config while calls run. c is
// validated first: if it is invalid, or its Name is neither empty nor the
// breaker's, Reconfigure returns an error wrapping ErrInvalidConfig that
// names every bad field, and changes nothing.
//
// The change is atomic with respect to calls: each outcome is judged
// entirely by the old Config or entirely by the new one. The state, its
// period, the consecutive counts and the lifetime counts are kept; the new
// thresholds are first applied to the next outcome recorded, and the new
// OpenTimeout to the next open period. A new ProbeTimeout applies to the
// probes in flight: one that has already run that long times out at once,
// after the ReasonReconfigured event. The window is kept when the new
// Config has the same WindowSize, WindowDuration and LatencyThreshold, and
// cleared otherwise; a new LatencyThreshold also stops counting the calls
// now in flight as slow, and a new ramp setting ends a ramp in progress.
// The hooks then receive a Transition with From equal to To and Reason
// ReasonReconfigured whose Detail lists the changed fields and what was
// cleared. Reconfiguring with an equal Config does nothing and delivers
// nothing.
//
// The fallback, classifier, clock, logger and hooks are not part of Config
// and stay as they are.
func (b *Breaker[T]) Reconfigure(c Config) error {
	if c.Name != "" && c.Name != b.name {
		return &ConfigError{Field: "Name", Value: c.Name, Rule: fmt.Sprintf("must be empty or the breaker's own name %q: Reconfigure cannot rename a breaker", b.name)}
	}
	c.Name = b.name
	if err := c.Validate(); err != nil {
		return err
	}
	c.Name = ""
	b.transition(func(s State, now time.Duration) bool {
		old := b.cfg
		changed := configDiff(*old, c)
		if len(changed) == 0 {
			return false
		}
		var cleared []string
		if old.WindowSize != c.WindowSize || old.WindowDuration != c.WindowDuration || old.LatencyThreshold != c.LatencyThreshold {
			if n, _ := b.win.held(now); n > 0 { // held first expires what has aged out
				cleared = append(cleared, fmt.Sprintf("the window (%d outcomes)", n))
			}
			b.win = nil // built again, to the new Config, by the next outcome
		}
		nc := c
		b.cfg = &nc
		b.callTimeout.Store(int64(c.CallTimeout))
		if old.LatencyThreshold != c.LatencyThreshold {
			if b.slow != nil && s == Closed {
				if n := b.slow.slow(now); n > 0 {
					cleared = append(cleared, fmt.Sprintf("%d slow calls in flight", n))
				}
			}
			b.slow = nil // built again by watch, to the new threshold
			b.slowCheckAt.Store(math.MaxInt64)
			if c.LatencyThreshold > 0 && s == Closed {
				b.watch().reset(now, b.admitted.Load())
				b.slowCheckAt.Store(int64(now))
			}
		}
		if old.HalfOpenMaxProbes != c.HalfOpenMaxProbes && b.probes != nil {
			b.probes.resize(c.HalfOpenMaxProbes)
		}
		if p := b.period.Load(); p.state == Closed && p.until != 0 && (old.RampDuration != c.RampDuration || old.RampStart != c.RampStart) {
			b.period.Store(&period{state: Closed, gen: p.gen})
			cleared = append(cleared, "the ramp in progress")
		}
		detail := "changed " + strings.Join(changed, ", ")
		if len(cleared) > 0 {
			detail += "; cleared " + strings.Join(cleared, ", ")
		} else {
			detail += "; kept the window"
		}
		if len(b.hookList()) > 0 {
			t := Transition{Name: b.name, From: s, To: s, Reason: ReasonReconfigured, At: b.at(now), Metrics: b.snapshot(), Detail: detail}
			if s == Open {
				t.RetryAt = b.at(b.period.Load().until) // as in every Transition to Open
			}
			b.queue(t)
		}
		if s == HalfOpen {
			// A probe that has already run the new ProbeTimeout times out
			// now: left to advance, its reopening would be dated back to
			// when the old ProbeTimeout was still in force.
			if oldest, ok := b.probes.oldest(); ok && now >= addSat(oldest, b.cfg.probeTimeout()) {
				b.setState(Open, now, ReasonProbeTimeout)
			}
		}
		return true
	})
	return nil
}

// configDiff lists the fields in which a and b differ, as "Field old->new".
func configDiff(a, b Config) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if x != y {
			out = append(out, fmt.Sprintf("%s %v->%v", va.Type().Field(i).Name, x, y))
		}
	}
	return out
}
