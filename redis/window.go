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
	s, f, l := m.succ.Swap(0), m.fail.Swap(0), m.slow.Swap(0)
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
