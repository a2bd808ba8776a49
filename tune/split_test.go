package tune_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/tune"
)

func newArm(t *testing.T, clk circuit.Clock, name string, cfg circuit.Config) *circuit.Breaker[int] {
	t.Helper()
	cfg.Name = name
	b, err := circuit.New[int](circuit.WithConfig(cfg), circuit.WithClock(clk))
	require.NoError(t, err)
	return b
}

func TestNewSplitRejectsBadInput(t *testing.T) {
	clk := newStepClock()
	a := newArm(t, clk, "a", quiet())
	b := newArm(t, clk, "b", quiet())
	twin := newArm(t, clk, "a", quiet())
	for _, tc := range []struct {
		name     string
		a, b     *circuit.Breaker[int]
		fraction float64
		opts     []tune.Option
		fields   []string
	}{
		{"nil a", nil, b, 0.5, nil, []string{"A"}},
		{"nil b", a, nil, 0.5, nil, []string{"B"}},
		{"same breaker", a, a, 0.5, nil, []string{"B"}},
		{"same name", a, twin, 0.5, nil, []string{"B"}},
		{"fraction 0", a, b, 0, nil, []string{"Fraction"}},
		{"fraction 1", a, b, 1, nil, []string{"Fraction"}},
		{"fraction NaN", a, b, nan(), nil, []string{"Fraction"}},
		{"options too", a, b, 2, []tune.Option{tune.WithHealthyRun(0)}, []string{"HealthyRun", "Fraction"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tune.NewSplit(tc.a, tc.b, tc.fraction, tc.opts...)
			assert.Nil(t, s)
			assert.Equal(t, tc.fields, fields(configErrors(t, err)))
		})
	}
}

// Counter routing sends exactly the fraction to the second arm, spread
// evenly, and the reports count each arm's own calls.
func TestSplitRoutesByCounter(t *testing.T) {
	clk := newStepClock()
	a := newArm(t, clk, "a", quiet())
	b := newArm(t, clk, "b", quiet())
	s, err := tune.NewSplit(a, b, 0.25, tune.WithCounterRouting())
	require.NoError(t, err)
	defer s.Detach()
	var got []string
	for range 12 {
		_, _ = s.Execute(context.Background(), func(context.Context) (int, error) { clk.Add(time.Millisecond); return 1, nil })
		// The arm that served it is the one whose count moved.
		if b.Metrics().Successes > uint64(countOf(got, "b")) {
			got = append(got, "b")
		} else {
			got = append(got, "a")
		}
	}
	assert.Equal(t, []string{"a", "a", "a", "b", "a", "a", "a", "b", "a", "a", "a", "b"}, got)
	rs := s.Reports()
	require.Len(t, rs, 2)
	assert.Equal(t, "a", rs[0].Name)
	assert.Equal(t, "b", rs[1].Name)
	assert.True(t, rs[0].Live)
	assert.True(t, rs[1].Live)
	assert.Equal(t, uint64(9), rs[0].Calls)
	assert.Equal(t, uint64(3), rs[1].Calls)
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// Random routing sends about the fraction to the second arm.
func TestSplitRoutesAtRandom(t *testing.T) {
	clk := newStepClock()
	a := newArm(t, clk, "a", quiet())
	b := newArm(t, clk, "b", quiet())
	s, err := tune.NewSplit(a, b, 0.2)
	require.NoError(t, err)
	defer s.Detach()
	const n = 5000
	for range n {
		_, _ = s.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	}
	rs := s.Reports()
	assert.Equal(t, uint64(n), rs[0].Calls+rs[1].Calls)
	// 1000 expected, standard deviation about 28: 6 of them either way.
	assert.InDelta(t, 1000, float64(rs[1].Calls), 170)
}

// The arms' reports, worked out by hand: b's stricter config opens and
// rejects, and the verdict can only bound the cost of its rejections.
func TestSplitReports(t *testing.T) {
	clk := newStepClock()
	a := newArm(t, clk, "a", quiet())
	strict := quiet()
	strict.ConsecutiveFailures = 2
	strict.OpenTimeout = time.Minute
	b := newArm(t, clk, "b", strict)
	s, err := tune.NewSplit(a, b, 0.5, tune.WithCounterRouting(), tune.WithIncidentFailures(2))
	require.NoError(t, err)
	defer s.Detach()
	// The calls alternate a, b, a, b...
	for _, e := range []error{nil, nil, errBoom, errBoom, errBoom, errBoom, errBoom, errBoom, nil, nil} {
		_, _ = s.Execute(context.Background(), func(context.Context) (int, error) { clk.Add(time.Second); return 1, e })
	}
	rs := s.Reports()
	ra, rb := rs[0], rs[1]
	assert.Equal(t, uint64(5), ra.Calls)
	assert.Equal(t, uint64(3), ra.FailuresLetThrough)
	assert.Zero(t, ra.Opens)
	assert.Equal(t, uint64(5), rb.Calls)
	assert.Equal(t, 1, rb.Opens)
	assert.Equal(t, uint64(2), rb.FailuresLetThrough)
	assert.Equal(t, uint64(2), rb.RejectedUnknown, "an arm's own rejections have unknown outcomes")
	assert.Zero(t, rb.Rejected)
	assert.Nil(t, rb.FalsePositiveRate)
	assert.Equal(t, 1, rb.Detected)
	assert.Equal(t, "a: the first arm, the baseline (cost per call 0.6000 to 0.6000)", ra.Verdict)
	assert.Equal(t, "b: 200.00 opens per 1000 calls vs 0.00, 40.0% of calls rejected vs 0.0%, 40.0% failures let through vs 60.0%: inconclusive (cost per call 0.4000 to 0.8000 vs 0.6000 to 0.6000: the outcomes of rejected calls are unknown)", rb.Verdict)
}
