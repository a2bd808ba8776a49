package circuitredis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/breakerlab/circuit"
)

// Defaults used by New when an option is not given.
const (
	// DefaultPrefix starts every key and the channel name.
	DefaultPrefix = "circuit"
	// DefaultFlushInterval is how often a replica adds its outcome counts
	// to the shared window.
	DefaultFlushInterval = 250 * time.Millisecond
	// DefaultMinReplicas is how many distinct replicas must have reported
	// failures (or slow calls) to the shared window before it may trip the
	// fleet: two, so that no single replica, whatever its own network or
	// host does, can open the breakers of the others through the window.
	DefaultMinReplicas = 2
	// DefaultOpTimeout bounds each Redis command the coordinator sends.
	DefaultOpTimeout = 500 * time.Millisecond
)

// Limits on option values.
const (
	minSharedWindow  = 100 * time.Millisecond
	maxSharedWindow  = 24 * time.Hour
	minFlushInterval = 10 * time.Millisecond
	maxFlushInterval = time.Minute
	maxOpTimeout     = time.Minute
	maxPrefixLen     = 128
	maxReplicaIDLen  = 128
	sharedBuckets    = 10 // the shared window is 10 buckets of window/10, plus the one being filled
	defaultHeartbeat = time.Second
	backoffMin       = 25 * time.Millisecond
	backoffMax       = 500 * time.Millisecond
)

// Option configures a Coordinator in New. Options apply in order, so a
// later one overrides an earlier one; a nil Option is ignored. Options only
// record values: New validates the result and reports every bad one as a
// *circuit.ConfigError with Pkg "circuitredis", named after the option
// (WithFlushInterval sets FlushInterval).
type Option interface {
	apply(*config)
}

type config struct {
	prefix        string
	replicaID     string
	window        time.Duration // 0: no shared window
	flushInterval time.Duration
	minReplicas   int
	propagate     bool // announce local opens
	logger        *slog.Logger
	opTimeout     time.Duration
	clock         circuit.Clock
	heartbeat     time.Duration // how long the subscription may be silent before a PING; test knob
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithPrefix sets the prefix of every key and of the channel (default
// DefaultPrefix), so that several applications, or several environments,
// can share one Redis: replicas coordinate only with replicas that use the
// same prefix. It must be 1 to 128 bytes of printable UTF-8 without
// spaces, '{' or '}' (braces would change the keys' Cluster hash slot).
func WithPrefix(p string) Option {
	return optionFunc(func(c *config) { c.prefix = p })
}

// WithReplicaID names this replica in what it writes to Redis and in its
// logs (default: "r-" and 12 random hex digits). Use the pod or host name
// to see in Redis who tripped the fleet. It must be 1 to 128 bytes of
// valid UTF-8. Two coordinators given the same ID still tell each other
// apart: every message also carries a random instance ID.
func WithReplicaID(id string) Option {
	return optionFunc(func(c *config) { c.replicaID = id })
}

// WithSharedWindow turns on the shared window (off by default): every
// replica adds the outcomes of its closed breakers (successes, failures,
// and calls that took at least Config.LatencyThreshold), read from their
// Metrics, to counters in Redis every flush interval, and a replica whose fleet-wide counts over
// the last d meet its breaker's own thresholds trips the fleet. d must be
// at least 100ms, at most 24h, and at least twice the flush interval.
// See the Coordinator's documentation for the rule.
func WithSharedWindow(d time.Duration) Option {
	return optionFunc(func(c *config) { c.window = d })
}

// WithFlushInterval sets how often a replica adds its counts to the shared
// window (default DefaultFlushInterval): a trip needs up to one interval
// more than it would alone, and each replica runs one script per breaker
// with new outcomes per interval. Between 10ms and a minute.
func WithFlushInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.flushInterval = d })
}

// WithMinReplicas sets how many distinct replicas must have reported
// failures (for the error rate) or slow calls (for the latency criterion)
// within the shared window before it may trip the fleet (default
// DefaultMinReplicas). At least 1; 1 lets one replica's trouble, such as
// its own network, open every replica's breaker.
func WithMinReplicas(n int) Option {
	return optionFunc(func(c *config) { c.minReplicas = n })
}

// WithPropagateLocalTrips sets whether a breaker that opens on its own
// opens the other replicas' breakers of its name (default true). With
// false, only the shared window opens a closed fleet, and only on
// failures or slow calls from WithMinReplicas distinct replicas, so that
// one replica's own trouble (its network, its DNS, its host) cannot open
// the others' breakers: a breaker that opens for its own reasons (its
// thresholds, a Trip, a Retry-After) probes and closes alone, as without
// a coordinator, and none of it is announced. Once the fleet is open, its
// probe round is the fleet's either way: one lease, and a failed probe
// opens the fleet again. false needs WithSharedWindow (New reports it as
// a config error otherwise: nothing else could open the fleet).
func WithPropagateLocalTrips(on bool) Option {
	return optionFunc(func(c *config) { c.propagate = on })
}

// WithLogger sets where the coordinator logs: one warning when Redis
// becomes unreachable, one line when it is back, fleet trips, and messages
// it cannot read. Default slog.Default(). nil is a config error.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithOpTimeout bounds each Redis command the coordinator sends (default
// DefaultOpTimeout); a command that takes longer counts as Redis being
// unreachable. Positive, at most a minute. It never delays a call: calls
// do not wait for Redis.
func WithOpTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.opTimeout = d })
}

// WithClock sets the clock the coordinator reads to turn a remaining open
// period into a time for Breaker.OpenUntil. Give it the clock your
// breakers use (circuit.WithClock); default the real clock. Redis
// timeouts, flushes and reconnection always run on real time. nil is a
// config error.
func WithClock(c circuit.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.clock = c })
}

// withHeartbeat sets how long the subscription may stay silent before the
// coordinator PINGs over it, and then how long it waits for the PONG.
// Tests use it to notice a paused server quickly.
func withHeartbeat(d time.Duration) Option {
	return optionFunc(func(c *config) { c.heartbeat = d })
}

// build applies opts over the defaults and validates them together with
// New's client, reporting every problem at once.
func build(client any, opts []Option) (config, error) {
	c := config{
		prefix:        DefaultPrefix,
		flushInterval: DefaultFlushInterval,
		minReplicas:   DefaultMinReplicas,
		propagate:     true,
		logger:        slog.Default(),
		opTimeout:     DefaultOpTimeout,
		clock:         realClock{},
		heartbeat:     defaultHeartbeat,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "circuitredis", Field: field, Value: value, Rule: rule})
	}
	if isNil(client) {
		bad("client", "nil", "must be a Redis client")
	}
	if msg := checkPrefix(c.prefix); msg != "" {
		bad("Prefix", c.prefix, msg)
	}
	switch {
	case c.replicaID == "":
		c.replicaID = "r-" + randomHex(6)
	case len(c.replicaID) > maxReplicaIDLen:
		bad("ReplicaID", c.replicaID, fmt.Sprintf("must be at most %d bytes", maxReplicaIDLen))
	case !utf8.ValidString(c.replicaID):
		bad("ReplicaID", c.replicaID, "must be valid UTF-8")
	}
	if c.flushInterval < minFlushInterval || c.flushInterval > maxFlushInterval {
		bad("FlushInterval", c.flushInterval, fmt.Sprintf("must be between %v and %v", minFlushInterval, maxFlushInterval))
	}
	if c.window != 0 {
		switch {
		case c.window < minSharedWindow || c.window > maxSharedWindow:
			bad("SharedWindow", c.window, fmt.Sprintf("must be between %v and %v", minSharedWindow, maxSharedWindow))
		case c.window < 2*c.flushInterval:
			bad("SharedWindow", c.window, fmt.Sprintf("must be at least twice the flush interval (%v)", c.flushInterval))
		}
	}
	if !c.propagate && c.window == 0 {
		bad("PropagateLocalTrips", false, "needs a shared window (WithSharedWindow): nothing else could open the fleet")
	}
	if c.minReplicas < 1 {
		bad("MinReplicas", c.minReplicas, "must be at least 1")
	}
	if c.logger == nil {
		bad("Logger", "nil", "must be a logger (slog.New(slog.DiscardHandler) logs nothing)")
	}
	if c.opTimeout <= 0 || c.opTimeout > maxOpTimeout {
		bad("OpTimeout", c.opTimeout, fmt.Sprintf("must be positive and at most %v", maxOpTimeout))
	}
	if isNil(c.clock) {
		bad("Clock", "nil", "must be a clock")
	}
	if c.heartbeat <= 0 {
		bad("heartbeat", c.heartbeat, "must be positive")
	}
	return c, errors.Join(errs...)
}

// checkPrefix says what is wrong with a key prefix, or "".
func checkPrefix(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case len(p) > maxPrefixLen:
		return fmt.Sprintf("must be at most %d bytes", maxPrefixLen)
	case !utf8.ValidString(p):
		return "must be valid UTF-8"
	case strings.ContainsAny(p, "{}"):
		return "must not contain '{' or '}', which would change the keys' Cluster hash slot"
	case strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return "must be printable, without spaces"
	}
	return ""
}

// isNil reports whether v is nil or holds a nil pointer, func or
// interface, so that a typed nil client or breaker is refused up front.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Interface, reflect.Map, reflect.Slice, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// realClock is the default Clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}
