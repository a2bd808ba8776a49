package circuitredis

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerlab/circuit"
)

// Member is what a Coordinator needs of a breaker: the extension points
// of the core. Every *circuit.Breaker[T] satisfies it, whatever its T.
type Member interface {
	Name() string
	State() circuit.State
	Config() circuit.Config
	Metrics() circuit.Metrics
	Subscribe(hook func(circuit.Transition)) (unsubscribe func())
	SetProbeGate(gate func() bool)
	Trip(reason circuit.Reason) bool
	OpenUntil(reason circuit.Reason, until time.Time) bool
	Close(reason circuit.Reason) bool
}

var _ Member = (*circuit.Breaker[int])(nil)

// reasonSharedWindow is the reason an announcement gives when the shared
// window tripped the fleet.
const reasonSharedWindow = "shared-window"

// member is one attached breaker.
type member struct {
	c     *Coordinator
	b     Member
	name  string
	keys  keys
	token string // the probe lease's value while this replica holds it

	cfg          atomic.Pointer[circuit.Config] // the breaker's, refreshed on Reconfigure
	probeTimeout atomic.Int64                   // the lease's length: Config.ProbeTimeout, or OpenTimeout when 0

	lease      atomic.Pointer[heldLease] // the probe lease while this replica holds it
	leaseRetry atomic.Int64              // mono time before which the gate asks for no lease: another replica holds it
	heard      atomic.Uint64             // announcements heard for this breaker: a lease refusal sent before one is stale
	asked      atomic.Int64              // mono time of the latest call the probe gate was asked about
	solo       atomic.Int64              // mono time before which the breaker probes alone: Redis refused the lease
	leaseBusy  atomic.Bool               // an acquisition or renewal is queued or running
	selfTrip   atomic.Bool               // the shared window is tripping the breaker: announce the open
	fleetOpen  atomic.Bool               // the breaker's open or half-open period is the fleet's, not only its own
	queued     atomic.Bool               // in Coordinator.dirty

	mu        sync.Mutex    // guards the fields below
	state     circuit.State // as of the last transition heard
	known     bool          // state has been set
	announce  *announcement // the latest announcement not yet sent
	release   string        // a lease token to release, "" if none
	readState bool          // read the fleet's state when Redis is next reachable
	detached  bool
	keeper    *time.Timer // runs keep while the lease is held; nil until first needed

	wmu     sync.Mutex // guards seen and pending: the shared window's accounts
	seen    tally      // the latest of the breaker's Metrics accounted for
	pending tally      // outcomes of the closed breaker not yet flushed (counts only)

	unsubscribe func() // set by Attach before anything else can read it
}

// heldLease is the probe lease as this replica holds it. Times are mono.
type heldLease struct {
	expires time.Duration // when it ends at the latest (its TTL from when the command was sent)
	ttl     time.Duration
}

// announcement is a transition waiting to be sent.
type announcement struct {
	kind   string
	reason string
	until  time.Duration // mono: when an open period ends
	at     time.Duration // mono: when the transition was heard
}

// newMember returns the member for b, with the shared window counting
// from metrics, b's Metrics when it was attached.
func newMember(c *Coordinator, b Member, name, token string, metrics circuit.Metrics) *member {
	return &member{c: c, b: b, name: name, keys: keysFor(c.cfg.prefix, name), token: token, seen: tallyOf(metrics)}
}

// loadConfig caches what the hot path and the gate read of the breaker's
// Config.
func (m *member) loadConfig(cfg circuit.Config) {
	m.cfg.Store(&cfg)
	pt := cfg.ProbeTimeout
	if pt <= 0 {
		pt = cfg.OpenTimeout
	}
	m.probeTimeout.Store(int64(pt))
}

// start completes Attach once the hook is in: it learns the breaker's
// state (unless a transition already told it), and asks for the fleet's
// state.
func (m *member) start(s circuit.State) {
	m.mu.Lock()
	if m.detached {
		m.mu.Unlock()
		return
	}
	if !m.known {
		m.state, m.known = s, true
	}
	m.readState = true
	m.mu.Unlock()
	m.c.markDirty(m)
}

// onTransition is the breaker's hook. It runs on whichever goroutine
// delivers the transition, a caller's among them, so it only records what
// to send and wakes the events goroutine.
func (m *member) onTransition(t circuit.Transition) {
	if t.Reason == circuit.ReasonReconfigured {
		m.loadConfig(m.b.Config())
		return
	}
	c := m.c
	if c.cfg.window > 0 {
		// The shared window's accounts, before the state changes again:
		// Metrics tells which outcomes the closed breaker recorded.
		m.account(tallyOf(m.b.Metrics()))
	}
	now := c.mono()
	fleet := m.fleetOpen.Load()
	if t.To == circuit.Closed {
		fleet = m.fleetOpen.Swap(false)
	}
	// Opened here: tell the fleet for how long, if it is the fleet's
	// business. The time left is measured on the coordinator's clock,
	// which is the breaker's.
	open := func(reason string) *announcement {
		m.fleetOpen.Store(true)
		return &announcement{kind: kindOpen, reason: reason, until: now + t.RetryAt.Sub(c.cfg.clock.Now()), at: now}
	}
	var ann *announcement
	switch {
	case t.To == circuit.Open && t.Reason == circuit.ReasonFleet:
		if m.selfTrip.CompareAndSwap(true, false) {
			ann = open(reasonSharedWindow)
		}
	case t.To == circuit.Open && (c.cfg.propagate || fleet):
		ann = open(t.Reason.String())
	case t.From == circuit.HalfOpen && t.To == circuit.Closed && t.Reason == circuit.ReasonProbesSucceeded && (c.cfg.propagate || fleet):
		ann = &announcement{kind: kindClose, reason: t.Reason.String(), at: now}
	}
	m.leaseRetry.Store(0)
	m.mu.Lock()
	if m.detached {
		m.mu.Unlock()
		return
	}
	m.state, m.known = t.To, true
	fleetClose := t.To == circuit.Closed && t.Reason == circuit.ReasonFleet
	held := false
	if t.To != circuit.HalfOpen && m.lease.Swap(nil) != nil {
		held = true
		m.release = m.token
	}
	if ann != nil && (ann.kind == kindOpen || held) {
		// A close is the fleet's only if this replica probed under the
		// lease; one that probed alone (Redis down) has nothing to tell.
		m.announce = ann
		fleetClose = fleetClose || ann.kind == kindClose
	}
	dirty := m.announce != nil || m.release != ""
	m.mu.Unlock()
	if fleetClose {
		// The fleet's close clears its window in Redis: counts from before
		// it, not yet flushed, would only bring the old period back. A
		// close of this breaker alone leaves the window, and them, be.
		m.dropPending()
	}
	if dirty {
		c.markDirty(m)
	}
}

// gate is the breaker's probe gate: a half-open breaker probes while this
// replica holds the fleet's lease with at least half of it left (keep
// renews it every quarter, so the probe's deadline, one ProbeTimeout
// ahead, stays covered), and asks for the lease (without waiting) when it
// does not. With Redis unreachable the breaker works alone and always
// may.
func (m *member) gate() bool {
	c := m.c
	if c.link.Load() != linkUp || (!c.cfg.propagate && !m.fleetOpen.Load()) {
		return true // alone, or a local trip that stays local
	}
	now := c.mono()
	if now < time.Duration(m.solo.Load()) {
		return true
	}
	m.asked.Store(int64(now))
	if l := m.lease.Load(); l != nil && l.expires-now > l.ttl/2 {
		return true
	}
	if now >= time.Duration(m.leaseRetry.Load()) {
		m.wantLease()
	}
	return false
}

// keepLocked schedules keep for d from now. It requires m.mu.
func (m *member) keepLocked(d time.Duration) {
	if m.keeper == nil {
		m.keeper = time.AfterFunc(d, m.keep)
		return
	}
	m.keeper.Reset(d)
}

// keep runs a quarter of a lease after the lease was last taken or
// renewed. While the breaker's calls still ask the gate (one did within
// the last lease), it renews the lease, so that the holder probes at its
// next call even when that is more than half a lease away. Once none has
// for a whole lease, it gives the lease back, so that a replica whose
// traffic stopped holds up the fleet's probes for one ProbeTimeout at
// most, and the next replica with a call may take it at once.
func (m *member) keep() {
	l := m.lease.Load()
	if l == nil {
		return
	}
	if m.c.mono()-time.Duration(m.asked.Load()) < l.ttl {
		m.wantLease()
		return
	}
	m.mu.Lock()
	gave := !m.detached && m.lease.CompareAndSwap(l, nil)
	if gave {
		m.release = m.token
	}
	m.mu.Unlock()
	if gave {
		m.c.markDirty(m)
	}
}

// wantLease asks the events goroutine to acquire or extend the lease.
func (m *member) wantLease() {
	if m.leaseBusy.CompareAndSwap(false, true) {
		m.c.markDirty(m)
	}
}
