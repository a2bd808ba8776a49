package circuitredis

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/breakerlab/circuit"
)

// The shared window. Every flush interval the flusher goroutine adds each
// closed breaker's counts since the last flush to the fleet's window in
// Redis, and gets back the fleet's totals over it, in one script; a
// replica whose totals meet its breaker's thresholds trips the breaker
// with circuit.ReasonFleet and announces the open. Counts are sent at most
// once: those of a flush that failed, or that fell in an outage, are
// dropped rather than sent late (the breaker judged them alone meanwhile).
//
// The counts come from the breaker's Metrics, whose lifetime Successes,
// Failures and SlowCalls only grow, read at each flush and at each
// transition (in the hook, so that what the closed breaker recorded is
// told from what it recorded in another state): the calls themselves run
// no coordinator code. Outcomes between two readings count when the first
// found the breaker closed and at most one transition lies between them
// (the one that left Closed: the outcomes that tripped it count). A
// reading from before the latest one accounted for, which a hook and the
// flusher racing can produce, adds nothing. Each call is slow or not by
// the LatencyThreshold in force when the breaker recorded it, so after a
// Reconfigure the window mixes both thresholds for one window, as it mixes
// replicas whose Configs differ.

// tally is what the shared window reads of a breaker's Metrics.
type tally struct {
	succ, fail, slow uint64 // Successes, Failures, SlowCalls: lifetime, they only grow
	trans            uint64 // Transitions
	closed           bool   // State == Closed
}

func tallyOf(m circuit.Metrics) tally {
	return tally{succ: m.Successes, fail: m.Failures, slow: m.SlowCalls, trans: m.Transitions, closed: m.State == circuit.Closed}
}

// account adds to m.pending what the closed breaker recorded between the
// latest reading accounted for and s, and makes s the latest.
func (m *member) account(s tally) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	last := m.seen
	if s.trans < last.trans || s.succ < last.succ || s.fail < last.fail || s.slow < last.slow {
		return // read before last (readings are ordered by the breaker's lock)
	}
	if last.closed && s.trans-last.trans <= 1 {
		m.pending.succ += s.succ - last.succ
		m.pending.fail += s.fail - last.fail
		m.pending.slow += s.slow - last.slow
	}
	m.seen = s
}

// takePending returns the counts to flush and forgets them.
func (m *member) takePending() tally {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	p := m.pending
	m.pending = tally{}
	return p
}

// dropPending forgets the counts not yet flushed.
func (m *member) dropPending() { m.takePending() }

// totals are the fleet's counts over the shared window.
type totals struct {
	successes, failures, slow       int64
	replicas, failing, slowReplicas int64 // distinct replicas that reported outcomes, failures, slow calls
}

// flusher flushes every interval until Close.
func (c *Coordinator) flusher() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.flushInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		for _, m := range c.snapshot() {
			c.flush(m)
		}
		c.rounds.Add(1)
	}
}

// flush sends m's counts and judges the fleet's totals.
func (c *Coordinator) flush(m *member) {
	m.account(tallyOf(m.b.Metrics()))
	p := m.takePending()
	s, f, l := p.succ, p.fail, p.slow
	if s+f == 0 || c.link.Load() != linkUp {
		return
	}
	ctx, cancel := c.op()
	res, err := flushScript.Run(ctx, c.client, m.window(),
		c.cfg.replicaID, s, f, l, c.cfg.window.Milliseconds(), sharedBuckets).Int64Slice()
	cancel()
	if err != nil {
		c.failed("flush", err)
		return
	}
	c.flushes.Add(1)
	if len(res) != 6 {
		return
	}
	t := totals{successes: res[0], failures: res[1], slow: res[2], replicas: res[3], failing: res[4], slowReplicas: res[5]}
	reason, trip := verdict(m.cfg.Load(), t, c.cfg.minReplicas)
	if !trip {
		return
	}
	m.mu.Lock()
	closed := m.state == circuit.Closed && !m.detached
	m.mu.Unlock()
	if !closed {
		return
	}
	m.selfTrip.Store(true)
	if !m.b.Trip(circuit.ReasonFleet) {
		m.selfTrip.Store(false)
		return
	}
	c.cfg.logger.LogAttrs(context.Background(), slog.LevelInfo, "circuitredis: the shared window tripped the fleet",
		slog.String("name", m.name), slog.String("replica", c.cfg.replicaID), slog.String("criterion", reason),
		slog.Int64("successes", t.successes), slog.Int64("failures", t.failures), slog.Int64("slow", t.slow),
		slog.Int64("replicas", t.replicas), slog.Int64("failing_replicas", t.failing), slog.Int64("slow_replicas", t.slowReplicas))
}

// window returns the keys of m's shared window, in flushScript's order.
func (m *member) window() []string {
	return []string{m.keys.window, m.keys.reps, m.keys.freps, m.keys.sreps}
}

// verdict applies a breaker's Config to the fleet's totals, as the breaker
// applies it to its own window: once the window holds MinRequests
// outcomes, the error rate trips it at ErrorRateThreshold, and the latency
// criterion when the nearest-rank LatencyPercentile of the outcomes is
// slow (at least LatencyThreshold), which is when at least
// n - ceil(p*n) + 1 of them are. Each criterion also needs minReplicas
// distinct replicas to have seen the failures, or the slow calls. It
// returns the criterion that holds.
func verdict(cfg *circuit.Config, t totals, minReplicas int) (string, bool) {
	n := t.successes + t.failures
	if n <= 0 || n < int64(cfg.MinRequests) {
		return "", false
	}
	if cfg.ErrorRateThreshold > 0 && t.failing >= int64(minReplicas) &&
		float64(t.failures)/float64(n) >= cfg.ErrorRateThreshold {
		return circuit.ReasonErrorRate.String(), true
	}
	if cfg.LatencyThreshold > 0 && t.slowReplicas >= int64(minReplicas) &&
		t.slow >= slowNeeded(n, cfg.LatencyPercentile) {
		return circuit.ReasonLatency.String(), true
	}
	return "", false
}

// slowNeeded is how many of n latencies must be slow for the nearest-rank
// p-th percentile to be: n - ceil(p*n) + 1, with p*n taken with the core's
// tolerance of 1e-9 (0.95*100 is 95).
func slowNeeded(n int64, p float64) int64 {
	rank := int64(math.Ceil(p*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return n - rank + 1
}
