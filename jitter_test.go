package circuit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

// openPeriods trips a breaker n times through failed probes and returns
// the length of each open period.
func openPeriods(t *testing.T, n int, opts ...circuit.Option) []time.Duration {
	t.Helper()
	h := newHarness(t, append([]circuit.Option{circuit.WithOpenTimeout(10 * time.Second), circuit.WithOpenJitter(0.5)}, opts...)...)
	var got []time.Duration
	for range n {
		h.b.Trip(circuit.ReasonManual)
		tr := h.last()
		require.Equal(t, circuit.Open, tr.To)
		got = append(got, tr.RetryAt.Sub(tr.At))
		h.clock.Add(tr.RetryAt.Sub(tr.At))
		h.b.Reset()
	}
	return got
}

func TestJitterSeedRepeats(t *testing.T) {
	a := openPeriods(t, 8, circuit.WithJitterSeed(7))
	b := openPeriods(t, 8, circuit.WithJitterSeed(7))
	assert.Equal(t, a, b, "same seed and name: the same open periods")
	c := openPeriods(t, 8, circuit.WithJitterSeed(8))
	assert.NotEqual(t, a, c, "another seed: other open periods")
	d := openPeriods(t, 8, circuit.WithJitterSeed(7), circuit.WithName("other"))
	assert.NotEqual(t, a, d, "another name: another sequence, so a fleet of names does not move in step")
	for _, p := range a {
		assert.GreaterOrEqual(t, p, 5*time.Second)
		assert.Less(t, p, 15*time.Second)
	}
}
