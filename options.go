package circuit

import (
	"context"
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"
)

// Option configures a breaker in New. Options apply in order, so a later
// one overrides an earlier one; WithConfig replaces every threshold at
// once. A nil Option is ignored. Options only record values: New validates
// the result and reports every bad field.
type Option interface {
	apply(*settings)
}

// settings is what the options build: the Config plus the parts of a
// breaker that are not plain thresholds (code and a clock).
type settings struct {
	cfg       Config
	isFailure func(error) bool
	fallback  any // func(context.Context, error) (T, error) for the breaker's T
	hooks     []func(Transition)
	clock     clock.Clock
	logger    *slog.Logger
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// WithConfig replaces every threshold (and the name) with those of c.
func WithConfig(c Config) Option { return optionFunc(func(s *settings) { s.cfg = c }) }

// WithName sets Config.Name.
func WithName(name string) Option { return optionFunc(func(s *settings) { s.cfg.Name = name }) }

// WithConsecutiveFailures sets Config.ConsecutiveFailures (0 disables).
func WithConsecutiveFailures(n int) Option {
	return optionFunc(func(s *settings) { s.cfg.ConsecutiveFailures = n })
}

// WithErrorRate sets Config.ErrorRateThreshold (0 disables).
func WithErrorRate(rate float64) Option {
	return optionFunc(func(s *settings) { s.cfg.ErrorRateThreshold = rate })
}

// WithWindow sets Config.WindowSize.
func WithWindow(size int) Option { return optionFunc(func(s *settings) { s.cfg.WindowSize = size }) }

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

// WithHalfOpenProbes sets Config.HalfOpenMaxProbes.
func WithHalfOpenProbes(n int) Option {
	return optionFunc(func(s *settings) { s.cfg.HalfOpenMaxProbes = n })
}

// WithSuccessThreshold sets Config.SuccessThreshold.
func WithSuccessThreshold(n int) Option {
	return optionFunc(func(s *settings) { s.cfg.SuccessThreshold = n })
}

// WithCallTimeout sets Config.CallTimeout (0 means none).
func WithCallTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cfg.CallTimeout = d })
}

// WithIsFailure sets the classifier that decides which errors count as
// failures; an error it calls no failure counts as a success. It is never
// asked about nil or about errors matching context.Canceled, which are
// never recorded. The default counts every other non-nil error as a
// failure. A nil classifier restores the default. It runs outside the
// breaker's lock and must be safe for concurrent use.
func WithIsFailure(isFailure func(error) bool) Option {
	return optionFunc(func(s *settings) { s.isFailure = isFailure })
}

// WithFallback sets the function whose result Execute returns instead of
// an error. It receives every error fn or the breaker produced: rejections
// (*OpenError), failures, errors classified as non-failures, and
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

// WithClock sets the clock the breaker reads time from. Tests pass
// clock.NewMock(); nil means the real clock, read through its monotonic
// reading alone (the fastest path). A clock set back is treated as standing
// still until it passes the latest time the breaker has seen, so the state
// machine never moves backwards.
func WithClock(c clock.Clock) Option { return optionFunc(func(s *settings) { s.clock = c }) }

// WithLogger logs every transition once through l: at Warn level when the
// breaker opens and at Info otherwise, with the attributes name, from, to,
// reason, consecutive_failures, error_rate, p95_latency and last_failure.
// Nothing is logged on the call path. nil disables logging.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(s *settings) { s.logger = l }) }
