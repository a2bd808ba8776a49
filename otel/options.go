package otel

import (
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/schema"
)

// ErrInvalidConfig is the module's single sentinel for bad configuration,
// circuit.ErrInvalidConfig: every configuration error from Register and RegisterSource
// wraps it through a *circuit.ConfigError naming the field.
var ErrInvalidConfig = circuit.ErrInvalidConfig

// Option configures an Exporter. Nil options are ignored.
type Option = schema.Option

// WithLatencyBuckets replaces the upper bounds, in seconds, of the
// call-duration histogram (default: 5ms to 30s, see docs/metrics.md).
// They must be finite, positive and strictly increasing, or the
// constructor returns a LatencyBuckets config error. Change them only
// together with the prometheus exporter's, or the two no longer aggregate.
func WithLatencyBuckets(bounds ...float64) Option { return schema.WithLatencyBuckets(bounds) }

// Group is what WithGroup takes: a set of breakers keyed by tenant,
// endpoint or host. Every *circuit.Group satisfies it.
type Group = schema.Group

// DefaultGroupMaxKeys is how many breakers of each group get series of
// their own unless WithGroupMaxKeys is given.
const DefaultGroupMaxKeys = schema.DefaultGroupMaxKeys

// WithGroup exports g under name: the four circuit_breaker_group_* series
// (breakers held, not closed, evictions, overflows) labelled group=name,
// and the per-breaker series of g's breakers that are not closed, at most
// WithGroupMaxKeys of them. A closed key has no series. g is read once per
// collection (g.Metrics visits every key: O(keys)). An empty or repeated
// name, or a nil g, is a config error. Give several per-key names a prefix
// (circuit.WithKeyName) when they could collide with other breakers.
func WithGroup(name string, g Group) Option { return schema.WithGroup(name, g) }

// WithGroupMaxKeys sets how many breakers of each group, at most, get
// series of their own: those with the most lifetime failures, so that an
// outage that opens every key adds at most n series per family. At least 1;
// DefaultGroupMaxKeys unless set.
func WithGroupMaxKeys(n int) Option { return schema.WithGroupMaxKeys(n) }

// WithFleetCoordinator observes circuit_breaker_fleet_coordinator_up, one
// gauge without attributes: 1 while up returns true, 0 while it returns
// false. Without this option the instrument is not created. The
// collection callback calls up once per collection, outside any lock of
// the Exporter, possibly from concurrent collections, so up must be safe
// for concurrent use, and quick: it should read what the coordinator
// already knows, not make a round trip. This module does not import the
// fleet coordinator's (that would bring its Redis client to every user), so
// pass its health as a func:
//
//	circuitotel.WithFleetCoordinator(func() bool { return coord.Health().Up })
//
// A nil up, or the option given more than once (the gauge has no
// attributes: one coordinator per Exporter), is a FleetCoordinator config
// error.
func WithFleetCoordinator(up func() bool) Option { return schema.WithFleetCoordinator(up) }
