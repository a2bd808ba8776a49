package circuitredis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrClosed is returned by Attach once the Coordinator is closed.
var ErrClosed = errors.New("circuitredis: coordinator closed")

// Coordinator makes the breakers attached to it act as one across the
// replicas of a service, through Redis, without putting Redis on the path
// of any call. Create one per process with New; the zero value is not
// usable. Its methods are safe for concurrent use.
//
// Calls never wait for Redis, and a closed or open breaker's calls run no
// coordinator code at all: a coordinator hears transitions through
// Subscribe, reads outcome counts from Metrics once per flush interval,
// and does all its Redis I/O on its own goroutines, each command bounded
// by WithOpTimeout. What it does for an attached breaker:
//   - A breaker that opens on its own (any reason but circuit.ReasonFleet)
//     announces it; every other replica's breaker of that name opens with
//     circuit.ReasonFleet for the time the first one's open period had
//     left. A replica that starts, or reconnects, reads the open period in
//     force. With WithPropagateLocalTrips(false), only the shared window
//     opens a closed fleet; a breaker's own trips stay its own.
//   - Half-open, a replica probes only while it holds the breaker's probe
//     lease in Redis, so the fleet runs at most Config.HalfOpenMaxProbes
//     probes at once; the others reject until the holder announces the
//     outcome (close, or open again). The holder keeps the lease while its
//     calls ask for probes, and gives it back one ProbeTimeout after its
//     last; a holder that dies costs at most one ProbeTimeout.
//   - With WithSharedWindow, replicas pool their outcomes, and the fleet
//     trips when the pooled counts meet the breaker's own thresholds and
//     at least WithMinReplicas replicas saw the failures (or slow calls).
//
// While Redis is unreachable every breaker works alone, exactly as without
// a coordinator; the coordinator reconnects with capped backoff, logs one
// warning per outage, and reports it in Health. docs/fleet.md has the
// protocol, the keys and the failure modes.
type Coordinator struct {
	client   redis.UniversalClient
	cfg      config
	instance string // random: tells this coordinator's own messages from others'
	channel  string
	epoch    time.Time // mono reads time since this, on the monotonic clock

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the coordinator's goroutines
	wake   chan struct{}  // one token: members are waiting in dirty
	link   atomic.Int32   // linkConnecting, linkUp or linkDown; read by the probe gates

	mu      sync.Mutex         // guards the fields below
	members map[string]*member // by breaker name
	dirty   []*member          // members with work for the events goroutine
	closed  bool
	nextID  uint64 // numbers attachments, for lease tokens

	psMu   sync.Mutex    // guards ps
	ps     *redis.PubSub // the current subscription, closed to make the subscriber reconnect
	kicked atomic.Bool   // ps was closed by kick, after the failure was recorded

	hmu    sync.Mutex // guards health and warned
	health Health
	warned map[string]bool // messages already logged once

	flushes   atomic.Uint64 // flush scripts run, for tests
	rounds    atomic.Uint64 // flush intervals done, for tests
	closeOnce sync.Once
}

// Link states.
const (
	linkConnecting int32 = iota
	linkUp
	linkDown
)

// Health is the state of a coordinator's link to Redis.
type Health struct {
	// Up is true while the coordinator is subscribed to its channel and
	// its commands succeed: the breakers act as a fleet. While it is
	// false they work alone.
	Up bool
	// Since is when Up last changed (when New ran, before the first
	// connection).
	Since time.Time
	// LastError is the last error a Redis command returned, "" if none.
	LastError string
	// Outages counts the times Redis became unreachable, the first failed
	// connection included.
	Outages uint64
}

// New returns a coordinator that shares breaker state through client, and
// starts its goroutines (stop them with Close). It does no I/O itself:
// the connection is made in the background, so a service starts, with
// breakers that work alone, even when Redis is down.
//
// client is the application's own client: a *redis.Client, a
// *redis.ClusterClient, a Sentinel failover client, or any
// redis.UniversalClient, with its TLS, ACL and pool settings. The
// coordinator never closes it. New returns an error wrapping
// circuit.ErrInvalidConfig (a *circuit.ConfigError per problem, Pkg
// "circuitredis") if client is nil or an option is invalid, and starts
// nothing.
func New(client redis.UniversalClient, opts ...Option) (*Coordinator, error) {
	cfg, err := build(client, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		client:   client,
		cfg:      cfg,
		instance: randomHex(8),
		channel:  channelFor(cfg.prefix),
		epoch:    time.Now(),
		ctx:      ctx,
		cancel:   cancel,
		wake:     make(chan struct{}, 1),
		members:  make(map[string]*member),
		warned:   make(map[string]bool),
	}
	c.health.Since = c.epoch.Round(0)
	c.wg.Add(2)
	go c.subscriber()
	go c.events()
	if cfg.window > 0 {
		c.wg.Add(1)
		go c.flusher()
	}
	return c, nil
}

// ReplicaID returns the replica's ID (WithReplicaID, or the random one).
func (c *Coordinator) ReplicaID() string { return c.cfg.replicaID }

// Health returns the state of the link to Redis.
func (c *Coordinator) Health() Health {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	return c.health
}

// Up reports whether the coordinator reaches Redis now (Health().Up). It
// is what an exporter turns into the circuit_breaker_fleet_coordinator_up
// gauge; it takes no lock.
func (c *Coordinator) Up() bool { return c.link.Load() == linkUp }

// Attach makes b a member of the fleet: from now on its transitions are
// announced, other replicas' announcements drive it, it probes only under
// the fleet's lease, and, with WithSharedWindow, its outcomes are pooled.
// It returns a function that detaches b again (safe to call more than
// once): the coordinator then lets go of b entirely and releases a probe
// lease b holds.
//
// Breakers of the same name on different replicas form one fleet breaker,
// so b must have a non-empty Name, and only one breaker of a name may be
// attached to one coordinator. A breaker may be attached to one
// coordinator at a time (it has one probe gate). Attach takes over b's
// probe gate (SetProbeGate), and does no I/O: it asks the background to
// read the fleet's state for b. It returns an error if b is nil, unnamed,
// or its name is attached already, and ErrClosed after Close.
func (c *Coordinator) Attach(b Member) (detach func(), err error) {
	if isNil(b) {
		return nil, errors.New("circuitredis: Attach of a nil breaker")
	}
	name := b.Name()
	if name == "" {
		return nil, errors.New("circuitredis: Attach of a breaker without a name: replicas match breakers by name")
	}
	cfg := b.Config()
	metrics := b.Metrics()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := c.members[name]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("circuitredis: a breaker named %q is attached already", name)
	}
	c.nextID++
	m := newMember(c, b, name, fmt.Sprintf("%s/%s/%d", c.cfg.replicaID, c.instance, c.nextID), metrics)
	m.loadConfig(cfg)
	c.members[name] = m
	// Subscribed under c.mu, so that a concurrent Close finds the hook
	// installed and removes it.
	m.unsubscribe = b.Subscribe(m.onTransition)
	b.SetProbeGate(m.gate)
	c.mu.Unlock()

	m.start(b.State())
	var once sync.Once
	return func() {
		once.Do(func() {
			if tok := c.detach(m); tok != "" {
				m.mu.Lock()
				m.release = tok
				m.mu.Unlock()
				c.markDirty(m)
			}
		})
	}, nil
}

// detach lets go of m, and returns the lease token to release, if m held
// the lease.
func (c *Coordinator) detach(m *member) (token string) {
	m.mu.Lock()
	if m.detached {
		m.mu.Unlock()
		return ""
	}
	m.detached = true
	if m.keeper != nil {
		m.keeper.Stop()
	}
	if m.lease.Swap(nil) != nil {
		token = m.token
	}
	m.mu.Unlock()
	m.unsubscribe()
	m.b.SetProbeGate(nil)
	c.mu.Lock()
	if c.members[m.name] == m {
		delete(c.members, m.name)
	}
	c.mu.Unlock()
	return token
}

// Close detaches every breaker, releases the probe leases this replica
// holds (best effort, each bounded by the op timeout, so that another
// replica may probe at once rather than after the lease expires), and
// stops the coordinator's goroutines; it returns once they have exited.
// It does not close the client. It is safe to call more than once, and
// always returns nil.
func (c *Coordinator) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		all := make([]*member, 0, len(c.members))
		for _, m := range c.members {
			all = append(all, m)
		}
		c.mu.Unlock()
		for _, m := range all {
			if tok := c.detach(m); tok != "" && c.Up() {
				_ = c.release(m, tok)
			}
		}
		c.cancel()
		c.kick()
		c.wg.Wait()
	})
	return nil
}

// markDirty queues m for the events goroutine. It never blocks for long:
// the probe gate and the hooks call it on callers' goroutines.
func (c *Coordinator) markDirty(m *member) {
	if !m.queued.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	c.dirty = append(c.dirty, m)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// requeueAll asks for the fleet's state of every member and queues them
// all, so that what waited for Redis is sent: after each (re)connection.
func (c *Coordinator) requeueAll() {
	for _, m := range c.snapshot() {
		m.mu.Lock()
		m.readState = true
		m.mu.Unlock()
		c.markDirty(m)
	}
}

// snapshot returns the attached members.
func (c *Coordinator) snapshot() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := make([]*member, 0, len(c.members))
	for _, m := range c.members {
		all = append(all, m)
	}
	return all
}

// lookup returns the member named name, or nil.
func (c *Coordinator) lookup(name string) *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[name]
}

// mono returns the time since New on the monotonic clock: the time base
// of leases and of announcements waiting to be sent.
func (c *Coordinator) mono() time.Duration { return time.Since(c.epoch) }

// op returns a context for one Redis command.
func (c *Coordinator) op() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, c.cfg.opTimeout)
}

// warnOnce logs msg at most once per key for the coordinator's lifetime,
// for trouble that would otherwise repeat with every message (a payload
// from a newer version, say).
func (c *Coordinator) warnOnce(key, msg string, attrs ...slog.Attr) {
	c.hmu.Lock()
	if c.warned[key] || len(c.warned) >= 64 {
		c.hmu.Unlock()
		return
	}
	c.warned[key] = true
	c.hmu.Unlock()
	c.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}
