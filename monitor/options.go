package monitor

import (
	"log/slog"
	"time"
)

// Option configures a Monitor in New. Options apply in order, so a later
// one overrides an earlier one. A nil Option is ignored. Options only
// record values: New validates the result.
//
// The status page takes HandlerOption values instead, so that an option
// that means nothing to it cannot be passed to it and silently ignored.
// WithClock is both.
type Option interface{ applyMonitor(*settings) }

// HandlerOption configures a status page in Handler. A nil HandlerOption
// is ignored.
type HandlerOption interface{ applyHandler(*pageSettings) }

// SharedOption is an option that configures a Monitor and a status page
// alike.
type SharedOption interface {
	Option
	HandlerOption
}

// settings is what the Options build for New.
type settings struct {
	cfg     Config
	clock   Clock
	onAlert []func(Alert)
	logger  *slog.Logger
}

// pageSettings is what the HandlerOptions build for Handler.
type pageSettings struct {
	clock   Clock
	monitor *Monitor
	summary func(time.Time) []Figure // nil: no summary
	tuning  []TuningSource           // WithTuning; nil: none
}

type optionFunc func(*settings)

func (f optionFunc) applyMonitor(s *settings) { f(s) }

type handlerOptionFunc func(*pageSettings)

func (f handlerOptionFunc) applyHandler(s *pageSettings) { f(s) }

// WithConfig sets the monitor's whole Config.
func WithConfig(c Config) Option { return optionFunc(func(s *settings) { s.cfg = c }) }

// WithClock sets the clock a Monitor reads and schedules with, or the one
// a status page measures "since" with. The default is the wall clock; for
// a status page with WithMonitor, the monitor's clock. Tests pass
// clock.NewMock() of github.com/benbjohnson/clock. A nil Clock leaves the
// default.
func WithClock(c Clock) SharedOption { return clockOption{c} }

type clockOption struct{ c Clock }

func (o clockOption) applyMonitor(s *settings) {
	if o.c != nil {
		s.clock = o.c
	}
}

func (o clockOption) applyHandler(s *pageSettings) {
	if o.c != nil {
		s.clock = o.c
	}
}

// WithOnAlert adds a callback that receives every raised and cleared
// alert; see Monitor for how callbacks are run. Callbacks are called in the
// order they were added. A nil callback is ignored.
func WithOnAlert(fn func(Alert)) Option {
	return optionFunc(func(s *settings) {
		if fn != nil {
			s.onAlert = append(s.onAlert, fn)
		}
	})
}

// WithLogger sets where the monitor logs alert callbacks that panic, time
// out, or are skipped because they are still blocked, and the transition
// log (Config.TransitionLogInterval). The default is slog.Default(); a nil
// logger leaves the default.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(s *settings) { s.logger = l }) }

// WithMonitor makes the status page show what m knows besides each
// breaker's Metrics: its active alerts (and so its severity order), its
// transitions in the last 10 minutes, a flapping badge, and the reason and
// time of its last transition. Without it the page shows Metrics only,
// sorted by state. m must watch the registry the page shows (the page
// answers 500 otherwise); breakers m has not checked yet show no monitor
// data. A nil m is the same as no WithMonitor.
func WithMonitor(m *Monitor) HandlerOption {
	return handlerOptionFunc(func(s *pageSettings) { s.monitor = m })
}

func newSettings(opts []Option) settings {
	s := settings{cfg: DefaultConfig()}
	for _, o := range opts {
		if o != nil {
			o.applyMonitor(&s)
		}
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s
}

func newPageSettings(opts []HandlerOption) pageSettings {
	var s pageSettings
	for _, o := range opts {
		if o != nil {
			o.applyHandler(&s)
		}
	}
	if s.clock == nil && s.monitor != nil {
		s.clock = s.monitor.clock
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	return s
}
