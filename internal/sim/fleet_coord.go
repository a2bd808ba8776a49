package sim

import (
	"time"

	"github.com/breakerlab/circuit"
)

// coordinator is a model of the fleet coordinator (the real one is a Redis
// module) in virtual time. It hears every replica's transitions at once,
// and its news reaches the replicas FleetScenario.Propagation later:
//
//   - A replica that opens on its own opens a round: every other replica
//     is opened until the same RetryAt (the latest the coordinator has
//     heard of, so that a replica that opened before the news reached it
//     extends the round for all).
//   - In half-open, the first replica whose gate is asked takes the
//     round's lease and is the only one to probe. Its outcome is
//     published: it reopens (a new round) or closes, and the others close
//     with ReasonFleet. Until then every other gate says no. Taking the
//     lease is modelled as instant; a real gate that answers no until its
//     claim returns turns one more call away, and sends no more probes.
//   - With a shared window, counts flushed while the fleet is closed are
//     summed over the last Window; the fleet opens when they meet the
//     breaker's ErrorRateThreshold and MinRequests with counts from at
//     least MinReplicas replicas, for one OpenTimeout.
//
// It is single-goroutine, like the run that owns it.
type coordinator struct {
	s      *fleetSim
	open   bool          // a round is on: the fleet is open or half-open
	until  time.Duration // the round's RetryAt
	holder int           // the replica that holds the round's lease, or -1
	rounds []FleetRound  // the last one is the current round while open

	// The shared window, when shared: flushes of the last Window, oldest
	// first from reports[head], their sums, how many of them each replica
	// made, and how many replicas made any.
	shared          bool
	reports         []flushReport
	head            int
	okSum, failSum  int
	perRep          []int
	reporting       int
	tripRate        float64
	tripMinRequests int
}

type flushReport struct {
	at       time.Duration
	rep      int
	ok, fail int
}

func newCoordinator(s *fleetSim, shared bool) *coordinator {
	c := &coordinator{s: s, holder: -1, shared: shared}
	if shared {
		c.perRep = make([]int, s.fs.Replicas)
		c.tripRate, c.tripMinRequests = s.cfg.ErrorRateThreshold, s.cfg.MinRequests
	}
	return c
}

func (c *coordinator) now() time.Duration { return c.s.clk.elapsed() }

func (c *coordinator) round() *FleetRound { return &c.rounds[len(c.rounds)-1] }

// heard handles replica i's transition t.
func (c *coordinator) heard(i int, t circuit.Transition) {
	if t.Reason == circuit.ReasonFleet || t.Reason == circuit.ReasonReconfigured {
		return // the coordinator's own doing, or no news
	}
	now := c.now()
	switch {
	case t.To == circuit.Open:
		retryAt := t.RetryAt.Sub(epoch)
		switch {
		case !c.open || now >= c.until:
			// The fleet was closed, or the lease holder's probe failed.
			c.begin(now, retryAt, i, t.Reason)
			c.s.events.push(fleetEvent{at: now + c.s.fs.Propagation, kind: fevOpenAll, rep: i, until: retryAt})
		case retryAt > c.until:
			// It opened before the news reached it: the round lasts
			// until its RetryAt, for everyone.
			c.until = retryAt
			c.round().RetryAt = retryAt
			c.s.events.push(fleetEvent{at: now + c.s.fs.Propagation, kind: fevOpenAll, rep: i, until: retryAt})
		case retryAt < c.until:
			c.s.events.push(fleetEvent{at: now + c.s.fs.Propagation, kind: fevOpenOne, rep: i, until: c.until})
		}
	case t.From == circuit.HalfOpen && t.To == circuit.Closed && c.open:
		c.round().Outcome = "closed"
		c.open, c.holder = false, -1
		c.clearWindow()
		c.s.events.push(fleetEvent{at: now + c.s.fs.Propagation, kind: fevCloseAll, rep: i})
	}
}

// begin opens a new round at now until retryAt, opened by replica opener
// (-1 for the shared window) for reason.
func (c *coordinator) begin(now, retryAt time.Duration, opener int, reason circuit.Reason) {
	if c.open {
		c.round().Outcome = "reopened"
	}
	c.open, c.until, c.holder = true, retryAt, -1
	c.rounds = append(c.rounds, FleetRound{Opened: now, Opener: opener, Reason: reason, RetryAt: retryAt, Prober: -1})
	c.clearWindow()
}

// gate is replica i's probe gate: true for the holder of the current
// round's lease, which the first replica to ask takes.
func (c *coordinator) gate(i int) bool {
	if !c.open || c.now() < c.until {
		// Closed: the close is on its way. Not yet half-open: a
		// replica whose own period ended before the fleet's.
		return false
	}
	if c.holder < 0 {
		c.holder = i
		c.round().Prober = i
	}
	return c.holder == i
}

// probed counts a probe that replica i sent.
func (c *coordinator) probed(int) {
	if c.open {
		c.round().Probes++
	}
}

// flush adds replica i's counts to the shared window and trips the fleet
// if the window meets the thresholds.
func (c *coordinator) flush(i, ok, fail int) {
	if c.open || ok+fail == 0 {
		return // the round's probes decide, not the window
	}
	now := c.now()
	for c.head < len(c.reports) && c.reports[c.head].at <= now-c.s.fs.Window {
		c.drop(c.reports[c.head])
		c.head++
	}
	if c.head > 0 && c.head == len(c.reports) {
		c.reports, c.head = c.reports[:0], 0
	}
	c.reports = append(c.reports, flushReport{at: now, rep: i, ok: ok, fail: fail})
	c.okSum += ok
	c.failSum += fail
	if c.perRep[i] == 0 {
		c.reporting++
	}
	c.perRep[i]++

	total := c.okSum + c.failSum
	if c.tripRate == 0 || total < c.tripMinRequests || c.reporting < c.s.fs.MinReplicas ||
		float64(c.failSum) < c.tripRate*float64(total) {
		return
	}
	retryAt := now + c.s.cfg.OpenTimeout
	c.begin(now, retryAt, -1, circuit.ReasonErrorRate)
	c.s.events.push(fleetEvent{at: now + c.s.fs.Propagation, kind: fevOpenAll, rep: -1, until: retryAt})
}

func (c *coordinator) drop(r flushReport) {
	c.okSum -= r.ok
	c.failSum -= r.fail
	c.perRep[r.rep]--
	if c.perRep[r.rep] == 0 {
		c.reporting--
	}
}

// clearWindow empties the shared window: a round's probes judge the
// dependency, and a closed fleet starts counting afresh.
func (c *coordinator) clearWindow() {
	if !c.shared {
		return
	}
	for _, r := range c.reports[c.head:] {
		c.drop(r)
	}
	c.reports, c.head = c.reports[:0], 0
}
