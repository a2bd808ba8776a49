package circuit

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// naivePercentile is the definition: the ceil(p*n)-th smallest sample.
func naivePercentile(samples []time.Duration, p float64) time.Duration {
	s := slices.Clone(samples)
	slices.Sort(s)
	return s[rank(p, len(s))-1]
}

func TestRank(t *testing.T) {
	tests := []struct {
		p    float64
		n    int
		want int
	}{
		{0.95, 100, 95}, {0.95, 20, 19}, {0.95, 1, 1}, {0.95, 10, 10},
		{0.5, 10, 5}, {0.5, 11, 6}, {0.99, 100, 99}, {0.01, 100, 1}, {0.001, 10, 1},
		{0.9, 10, 9}, {0.3, 10, 3}, {0.7, 10, 7},
	}
	for _, tt := range tests {
		if got := rank(tt.p, tt.n); got != tt.want {
			t.Errorf("rank(%v, %d) = %d, want %d", tt.p, tt.n, got, tt.want)
		}
	}
}

func TestWindowRingEvictsOldest(t *testing.T) {
	w := newWindow(3, time.Second)
	steps := []struct {
		lat      time.Duration
		failed   bool
		n, fails int
		slow     int
		sum      time.Duration
	}{
		{2 * time.Second, true, 1, 1, 1, 2 * time.Second},
		{time.Millisecond, false, 2, 1, 1, 2*time.Second + time.Millisecond},
		{time.Second, true, 3, 2, 2, 3*time.Second + time.Millisecond},
		{time.Millisecond, false, 3, 1, 1, time.Second + 2*time.Millisecond}, // evicts the 2s failure
		{time.Millisecond, false, 3, 1, 1, time.Second + 2*time.Millisecond}, // evicts the 1ms success
		{time.Millisecond, false, 3, 0, 0, 3 * time.Millisecond},             // evicts the 1s failure
	}
	for i, s := range steps {
		w.add(s.lat, s.failed)
		if w.n != s.n || w.failures != s.fails || w.slow != s.slow || w.sum != s.sum {
			t.Fatalf("step %d: n=%d failures=%d slow=%d sum=%v, want %d %d %d %v", i, w.n, w.failures, w.slow, w.sum, s.n, s.fails, s.slow, s.sum)
		}
	}
	if got := w.latencies(nil); !slices.Equal(got, []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}) {
		t.Errorf("latencies = %v", got)
	}
	w.reset()
	if w.n != 0 || w.failures != 0 || w.slow != 0 || w.sum != 0 || w.errorRate() != 0 || w.avgLatency() != 0 {
		t.Errorf("reset left %+v", w)
	}
	if len(w.latencies(nil)) != 0 {
		t.Error("reset window still yields latencies")
	}
}

func TestLatenciesAreOldestFirst(t *testing.T) {
	w := newWindow(4, 0)
	for i := 1; i <= 6; i++ {
		w.add(time.Duration(i), false)
	}
	if got := w.latencies(nil); !slices.Equal(got, []time.Duration{3, 4, 5, 6}) {
		t.Errorf("latencies = %v, want [3 4 5 6]", got)
	}
}

// The O(1) slow-count test must agree with sorting, for every window size,
// fill level, percentile and threshold.
func TestPercentileAtLeastAgreesWithSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 2000; trial++ {
		size := 1 + r.IntN(40)
		threshold := time.Duration(1 + r.IntN(100))
		p := []float64{0.5, 0.9, 0.95, 0.99, 0.01, r.Float64()*0.98 + 0.01}[r.IntN(6)]
		w := newWindow(size, threshold)
		for i := 0; i < 1+r.IntN(3*size); i++ {
			w.add(time.Duration(r.IntN(120)), r.IntN(2) == 0)
			want := naivePercentile(w.latencies(nil), p) >= threshold
			if got := w.percentileAtLeast(p); got != want {
				t.Fatalf("size %d p %v threshold %v samples %v: percentileAtLeast = %v, sorting says %v",
					size, p, threshold, w.latencies(nil), got, want)
			}
		}
	}
}

func TestPercentileAgreesWithSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 3000; trial++ {
		n := 1 + r.IntN(200)
		s := make([]time.Duration, n)
		spread := 1 + r.IntN(50) // small spreads make many duplicates
		for i := range s {
			s[i] = time.Duration(r.IntN(spread))
		}
		switch trial % 3 {
		case 1:
			slices.Sort(s)
		case 2:
			slices.Sort(s)
			slices.Reverse(s)
		}
		p := r.Float64()*0.999 + 0.0005
		want := naivePercentile(s, p)
		if got := percentile(slices.Clone(s), p); got != want {
			t.Fatalf("percentile(%v, %v) = %v, want %v", s, p, got, want)
		}
	}
	if percentile(nil, 0.95) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}

func TestWindowWithoutThresholdCountsNoSlowSamples(t *testing.T) {
	w := newWindow(2, 0)
	w.add(time.Hour, false)
	if w.slow != 0 || w.percentileAtLeast(0.5) {
		t.Error("a window with no threshold must never report slow")
	}
}
