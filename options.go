package circuit

import (
	"context"
	"log/slog"
	"time"
)

// Option configures a breaker in New. Options apply in order, so a later
// one overrides an earlier one. A nil Option is ignored. Options only
// record values: New validates the result and reports every bad field.
type Option interface {
	apply(*settings)
}

// settings is what the options build: the Config plus the parts of a
// breaker that are not plain thresholds.
type settings struct {
	cfg        Config
	classifier any // func(T, error) Outcome for the breaker's T
	fallback   any // func(context.Context, error) (T, error) for the breaker's T
	hooks      []func(Transition)
	clock      Clock
	logger     *slog.Logger
	rand       func() float64 // jitter source in [0, 1); nil means math/rand/v2
	jitterSeed *uint64        // WithJitterSeed; nil means math/rand/v2
	errs       []error        // options that could not apply, such as an unknown preset
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// WithConfig replaces every threshold with those of c. An empty c.Name
// keeps the name already set, so a Config built from a preset never clears
// it.
func WithConfig(c Config) Option {
	return optionFunc(func(s *settings) {
		if c.Name == "" {
			c.Name = s.cfg.Name
		}
		s.cfg = c
	})
}

// WithPreset replaces every threshold with those of the named preset (see
// Preset), keeping the name, so WithName and WithPreset may come in either
// order. An unknown name makes New return an error listing the valid ones.
func WithPreset(name string) Option {
	return optionFunc(func(s *settings) {
		c, err := Preset(name)
		if err != nil {
			s.errs = append(s.errs, &ConfigError{Field: "Preset", Value: name, Rule: "must be one of " + joinNames(PresetNames())})
			return
		}
		c.Name = s.cfg.Name
		s.cfg = c
	})
}

// WithName sets Config.Name.
func WithName(name string) Option { return optionFunc(func(s *settings) { s.cfg.Name = name }) }

// WithConsecutiveFailures sets Config.ConsecutiveFailures (0 disables).
func WithConsecutiveFailures(n int) Option {
	return optionFunc(func(s *settings) { s.cfg.ConsecutiveFailures = n })
}

// WithErrorRateThreshold sets Config.ErrorRateThreshold (0 disables).
func WithErrorRateThreshold(rate float64) Option {
	return optionFunc(func(s *settings) { s.cfg.ErrorRateThreshold = rate })
}

// WithWindowSize sets Config.WindowSize.
func WithWindowSize(n int) Option { return optionFunc(func(s *settings) { s.cfg.WindowSize = n }) }

// WithWindowDuration sets Config.WindowDuration (0 means a count window).
func WithWindowDuration(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.WindowDuration = d })
}

// WithMinRequests sets Config.MinRequests.
func WithMinRequests(n int) Option { return optionFunc(func(s *settings) { s.cfg.MinRequests = n }) }

// WithLatencyThreshold sets Config.LatencyThreshold (0 disables).
func WithLatencyThreshold(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.LatencyThreshold = d })
}

// WithLatencyPercentile sets Config.LatencyPercentile.
func WithLatencyPercentile(p float64) Option {
	return optionFunc(func(s *settings) { s.cfg.LatencyPercentile = p })
}

// WithOpenTimeout sets Config.OpenTimeout.
func WithOpenTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.OpenTimeout = d })
}

// WithOpenBackoff sets Config.OpenBackoff (0 or 1 turns it off).
func WithOpenBackoff(factor float64) Option {
	return optionFunc(func(s *settings) { s.cfg.OpenBackoff = factor })
}

// WithOpenTimeoutMax sets Config.OpenTimeoutMax.
func WithOpenTimeoutMax(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.OpenTimeoutMax = d })
}

// WithOpenJitter sets Config.OpenJitter (0 turns it off).
func WithOpenJitter(fraction float64) Option {
	return optionFunc(func(s *settings) { s.cfg.OpenJitter = fraction })
}

// WithProbeTimeout sets Config.ProbeTimeout (0 means OpenTimeout).
func WithProbeTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.ProbeTimeout = d })
}

// WithHalfOpenMaxProbes sets Config.HalfOpenMaxProbes.
func WithHalfOpenMaxProbes(n int) Option {
	return optionFunc(func(s *settings) { s.cfg.HalfOpenMaxProbes = n })
}

// WithSuccessThreshold sets Config.SuccessThreshold.
func WithSuccessThreshold(n int) Option {
	return optionFunc(func(s *settings) { s.cfg.SuccessThreshold = n })
}

// WithRampDuration sets Config.RampDuration (0 turns the ramp off).
func WithRampDuration(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.RampDuration = d })
}

// WithRampStart sets Config.RampStart.
func WithRampStart(share float64) Option {
	return optionFunc(func(s *settings) { s.cfg.RampStart = share })
}

// WithCallTimeout sets Config.CallTimeout (0 means none).
func WithCallTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.CallTimeout = d })
}

// WithClassifier sets the function that decides how a finished call counts,
// from its result and its error: so an *http.Response with status 503 and
// a nil error can be a Failure, and a "not found" error can be Ignored.
//
// It is asked about every call that returned, except one whose error
// matches context.Canceled, which is always Ignored: a caller's
// cancellation says nothing about the dependency. Without a classifier a
// nil error is a Success and any other error a Failure. A value other
// than the three Outcomes counts as a Failure. Whatever it says, a call
// that took at least Config.CallTimeout is a Failure. A classifier that
// panics is treated like a call that panicked.
//
// T must be the breaker's T, or New returns an error naming both types. It
// runs outside the breaker's lock and must be safe for concurrent use. A
// nil classifier restores the default.
func WithClassifier[T any](classify func(result T, err error) Outcome) Option {
	return optionFunc(func(s *settings) {
		if classify == nil {
			s.classifier = nil
			return
		}
		s.classifier = classify
	})
}

// WithFallback sets the function whose result Execute returns instead of
// an error. It receives every error fn or the breaker produced: rejections
// (*OpenError), failures, errors classified as successes or ignored, and
// cancellations; not ErrNilFunc, ErrNilContext or the error of a context
// that was done before the call, which are the caller's own. T must be the
// breaker's T, or New returns an error naming both types. A nil fallback
// removes the fallback.
func WithFallback[T any](fallback func(ctx context.Context, err error) (T, error)) Option {
	return optionFunc(func(s *settings) {
		if fallback == nil {
			s.fallback = nil
			return
		}
		s.fallback = fallback
	})
}

// WithOnStateChange adds a hook that receives every transition. Hooks run
// after the breaker's lock is released, one at a time, in the order the
// transitions happened; see Breaker for the details. Several hooks may be
// added; nil is ignored.
func WithOnStateChange(hook func(Transition)) Option {
	return optionFunc(func(s *settings) {
		if hook != nil {
			s.hooks = append(s.hooks, hook)
		}
	})
}

// WithClock sets the clock the breaker reads time from. Tests pass a fake
// one (*clock.Mock from github.com/benbjohnson/clock fits); nil means the
// real clock, read through its monotonic reading alone (the fastest path).
// A clock set back is treated as standing still until it passes the latest
// time the breaker has seen, so the state machine never moves backwards.
func WithClock(c Clock) Option { return optionFunc(func(s *settings) { s.clock = c }) }

// WithJitterSeed makes the OpenJitter spread of each open period a
// deterministic sequence: each breaker draws from its own generator seeded
// by seed and its Name, so the same seed, name and calls give the same open
// periods on every run (a simulator or a test that must repeat). Without
// it the spread comes from math/rand/v2's global source. It has no effect
// without OpenJitter.
func WithJitterSeed(seed uint64) Option {
	return optionFunc(func(s *settings) { s.jitterSeed = &seed })
}

// WithLogger logs every transition once through l: at Warn level when the
// breaker opens and at Info otherwise, with the attributes name, from, to,
// reason, consecutive_failures, error_rate, p95_latency, retry_at and
// last_failure. Nothing is logged on the call path. nil disables logging.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(s *settings) { s.logger = l }) }
