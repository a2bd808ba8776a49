package circuitredis

import (
	"context"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/redis/go-redis/v9"
)

// WithHeartbeat is the test-only knob withHeartbeat.
var WithHeartbeat = withHeartbeat

// Flushes returns how many flush scripts the coordinator has run.
func (c *Coordinator) Flushes() uint64 { return c.flushes.Load() }

// Rounds returns how many flush intervals the coordinator has finished.
func (c *Coordinator) Rounds() uint64 { return c.rounds.Load() }

// Instance returns the coordinator's random instance ID.
func (c *Coordinator) Instance() string { return c.instance }

// Keys are a breaker's key names, as docs/fleet.md lists them.
type Keys = keys

// KeysFor returns the keys of the breaker named name under prefix.
func KeysFor(prefix, name string) Keys { return keysFor(prefix, name) }

// State, Lease and the others name the keys for tests.
func (k keys) State() string  { return k.state }
func (k keys) Lease() string  { return k.lease }
func (k keys) Window() string { return k.window }
func (k keys) Reps() string   { return k.reps }

// ChannelFor returns the channel under prefix.
func ChannelFor(prefix string) string { return channelFor(prefix) }

// Totals are the fleet's counts over the shared window.
type Totals struct {
	Successes, Failures, Slow       int64
	Replicas, Failing, SlowReplicas int64
}

// ReadTotals reads the shared window of the breaker named name, as a
// flush of zero counts does.
func ReadTotals(ctx context.Context, client redis.UniversalClient, prefix, name string, window time.Duration) (Totals, error) {
	k := keysFor(prefix, name)
	res, err := flushScript.Run(ctx, client, []string{k.window, k.reps, k.freps, k.sreps},
		"reader", 0, 0, 0, window.Milliseconds(), sharedBuckets).Int64Slice()
	if err != nil {
		return Totals{}, err
	}
	return Totals{res[0], res[1], res[2], res[3], res[4], res[5]}, nil
}

// Verdict is verdict over exported types.
func Verdict(cfg circuit.Config, t Totals, minReplicas int) (string, bool) {
	return verdict(&cfg, totals{t.Successes, t.Failures, t.Slow, t.Replicas, t.Failing, t.SlowReplicas}, minReplicas)
}

// SlowNeeded is slowNeeded.
var SlowNeeded = slowNeeded

// Accounts are a member's shared-window accounts, alone, for step tables.
type Accounts struct{ m *member }

// NewAccounts starts accounts from a breaker's Metrics at Attach.
func NewAccounts(first circuit.Metrics) Accounts {
	return Accounts{&member{seen: tallyOf(first)}}
}

// Read accounts for a reading of the breaker's Metrics.
func (a Accounts) Read(m circuit.Metrics) { a.m.account(tallyOf(m)) }

// Take returns the counts a flush would send, and forgets them.
func (a Accounts) Take() (successes, failures, slow uint64) {
	p := a.m.takePending()
	return p.succ, p.fail, p.slow
}
