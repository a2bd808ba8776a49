package circuitredis

import (
	"errors"
	"log/slog"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/redis/go-redis/v9"
)

// The events goroutine sends what the hooks and the probe gates queue:
// announcements, lease acquisitions and releases, and reads of the fleet's
// state. While the link is down it leaves all of it queued; the subscriber
// queues every member again once the link is back.

// events serves queued members until Close.
func (c *Coordinator) events() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			batch := c.dirty
			c.dirty = nil
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, m := range batch {
				c.serve(m)
			}
		}
	}
}

// serve does m's queued work.
func (c *Coordinator) serve(m *member) {
	m.queued.Store(false) // first: work queued from now on queues m again
	if c.link.Load() != linkUp || c.ctx.Err() != nil {
		m.leaseBusy.Store(false)
		return
	}
	m.mu.Lock()
	ann, tok, read, detached := m.announce, m.release, m.readState, m.detached
	m.announce, m.release, m.readState = nil, "", false
	m.mu.Unlock()

	var err error
	switch {
	case ann != nil && !detached:
		err = c.send(m, ann, tok)
	case tok != "":
		err = c.release(m, tok)
	}
	what := "announce"
	if err == nil && read && !detached {
		what, err = "read state", c.read(m)
		read = err != nil
	}
	if err != nil {
		// Kept for the next (re)connection, which queues every member.
		m.mu.Lock()
		if m.announce == nil && !detached {
			m.announce = ann
		}
		if m.release == "" {
			m.release = tok
		}
		m.readState = m.readState || read
		m.mu.Unlock()
		m.leaseBusy.Store(false)
		c.failed(what, err)
		return
	}
	if !detached && m.leaseBusy.Load() {
		c.acquire(m)
	}
}

// send announces ann, releasing the lease token tok in the same script.
func (c *Coordinator) send(m *member, ann *announcement, tok string) error {
	now := c.mono()
	p := payload{V: schemaVersion, Kind: ann.kind, Name: m.name, Replica: c.cfg.replicaID, Instance: c.instance, Reason: ann.reason}
	ctx, cancel := c.op()
	defer cancel()
	switch ann.kind {
	case kindOpen:
		p.OpenMS = (ann.until - now).Milliseconds()
		if p.OpenMS <= 0 {
			// The period is over: nothing to tell, only the lease to free.
			if tok == "" {
				return nil
			}
			return c.release(m, tok)
		}
		return openScript.Run(ctx, c.client, []string{m.keys.state, m.keys.lease}, p.encode(), p.OpenMS, c.channel, tok).Err()
	default:
		if now-ann.at > time.Duration(m.probeTimeout.Load()) {
			// Too late: the lease has expired and another replica may be
			// probing; let its outcome speak instead.
			if tok == "" {
				return nil
			}
			return c.release(m, tok)
		}
		return closeScript.Run(ctx, c.client, m.keys.all(), p.encode(), c.channel, tok).Err()
	}
}

// release gives back the lease token tok of m, announcing it.
func (c *Coordinator) release(m *member, tok string) error {
	p := payload{V: schemaVersion, Kind: kindRelease, Name: m.name, Replica: c.cfg.replicaID, Instance: c.instance}
	ctx, cancel := c.op()
	defer cancel()
	return releaseScript.Run(ctx, c.client, []string{m.keys.lease}, tok, p.encode(), c.channel).Err()
}

// read applies the fleet's open period, if one is in force and another
// replica announced it.
func (c *Coordinator) read(m *member) error {
	ctx, cancel := c.op()
	res, err := readScript.Run(ctx, c.client, []string{m.keys.state}).Slice()
	cancel()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(res) != 2 {
		return nil
	}
	s, _ := res[0].(string)
	ms, _ := res[1].(int64)
	p, err := decodePayload(s)
	if err != nil {
		c.warnOnce("state:"+err.Error(), "circuitredis: ignoring a state key",
			slog.String("key", m.keys.state), slog.String("error", err.Error()))
		return nil
	}
	if p.Instance != c.instance && p.Kind == kindOpen && ms > 0 {
		m.openFleet(time.Duration(ms) * time.Millisecond)
	}
	return nil
}

// openFleet applies the fleet's open period, which has left left. The
// breaker's period is then the fleet's, also when its own, already
// running, lasts longer.
func (m *member) openFleet(left time.Duration) {
	if m.b.OpenUntil(circuit.ReasonFleet, m.c.cfg.clock.Now().Add(left)) || m.b.State() == circuit.Open {
		m.fleetOpen.Store(true)
	}
}

// acquire takes or renews m's probe lease, for as long as a probe may
// run, and schedules keep.
func (c *Coordinator) acquire(m *member) {
	ttl := time.Duration(m.probeTimeout.Load())
	ms := max(ttl.Milliseconds(), 1)
	sent, heard := c.mono(), m.heard.Load()
	ctx, cancel := c.op()
	res, err := acquireScript.Run(ctx, c.client, []string{m.keys.lease}, m.token, ms).Int64Slice()
	cancel()
	m.leaseBusy.Store(false)
	if err != nil {
		if !isLinkError(err) {
			// Refused (an ACL without EVAL, say): rather than reject every
			// probe, the breaker probes alone for a lease's time.
			until := c.mono() + ttl
			m.solo.Store(int64(until))
			m.leaseRetry.Store(int64(until))
		}
		c.failed("acquire lease", err)
		return
	}
	if len(res) != 2 {
		return
	}
	if res[0] != 1 {
		// Another replica holds it: ask again when it expires, unless its
		// outcome comes first (which resets leaseRetry).
		m.lease.Store(nil)
		m.leaseRetry.Store(int64(c.mono() + time.Duration(max(res[1], 1))*time.Millisecond))
		if m.heard.Load() != heard {
			// An announcement (a release, say) came while the command was
			// out, and may have been handled before this refusal: it is
			// the newer news.
			m.leaseRetry.Store(0)
		}
		return
	}
	m.mu.Lock()
	if m.state == circuit.HalfOpen && !m.detached {
		m.lease.Store(&heldLease{expires: sent + ttl, ttl: ttl})
		m.keepLocked(max(ttl/4, time.Millisecond))
		m.mu.Unlock()
		return
	}
	// The breaker left half-open meanwhile: give the lease back.
	m.release = m.token
	m.mu.Unlock()
	c.markDirty(m)
}
