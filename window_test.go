package circuit

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

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

// Every latency is reported within 1/64 of itself, and bins are ordered
// like the latencies they hold.
func TestHistogramRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(d time.Duration) {
		t.Helper()
		got := histValue(histBin(d))
		if d < histExact {
			if got != d {
				t.Fatalf("histValue(histBin(%d)) = %d, want exact", d, got)
			}
			return
		}
		if rel := math.Abs(float64(got)-float64(d)) / float64(d); rel > 1.0/64 {
			t.Fatalf("%v is reported as %v: relative error %.4f over 1/64", d, got, rel)
		}
	}
	for d := time.Duration(0); d < 5000; d++ {
		check(d)
	}
	for i := 0; i < 200000; i++ {
		check(time.Duration(r.Int64N(math.MaxInt64)) >> r.IntN(63))
	}
	check(math.MaxInt64)
	prev := -1
	for d := time.Duration(1); d > 0 && d < math.MaxInt64/3; d = d*3/2 + 1 {
		b := histBin(d)
		if b < prev || b >= histBins {
			t.Fatalf("histBin(%v) = %d after %d (of %d bins)", d, b, prev, histBins)
		}
		prev = b
	}
	if histBin(math.MaxInt64) != histBins-1 {
		t.Errorf("the largest Duration is in bin %d, want the last, %d", histBin(math.MaxInt64), histBins-1)
	}
}

// refOutcome is one outcome of the reference window.
type refOutcome struct {
	at, lat time.Duration
	failed  bool
}

// refWindow is the definition of what a window holds at now: the last
// size outcomes (size > 0) that are younger than age (age > 0), or, with
// no size, every outcome whose bucket is among the newest 11.
func refWindow(all []refOutcome, size int, age, now time.Duration) []refOutcome {
	var held []refOutcome
	for _, o := range all {
		switch {
		case age <= 0:
		case size > 0:
			if now-o.at >= age {
				continue
			}
		default:
			width := (age + windowBuckets - 1) / windowBuckets
			if now/width-o.at/width > windowBuckets {
				continue
			}
		}
		held = append(held, o)
	}
	if size > 0 && len(held) > size {
		held = held[len(held)-size:]
	}
	return held
}

// The window agrees with the definition in every layout: counts, failures,
// slow samples, the exact mean, and percentiles as histogram midpoints.
func TestWindowAgreesWithDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 3000; trial++ {
		size := []int{0, 1, 3, 10, 40}[r.IntN(5)]
		age := time.Duration(r.IntN(4)) * 7 * time.Millisecond
		if size == 0 && age == 0 {
			age = time.Duration(1+r.IntN(50)) * time.Millisecond
		}
		slowAt := time.Duration(r.IntN(3)) * 50 * time.Millisecond
		w := newWindow(size, age, slowAt)
		var all []refOutcome
		var now time.Duration
		for step := 0; step < 60; step++ {
			now += time.Duration(r.IntN(4)) * time.Duration(r.IntN(3000)) * time.Microsecond
			if r.IntN(5) == 0 {
				w.expire(now)
			} else {
				o := refOutcome{at: now, lat: time.Duration(r.IntN(200)) * time.Millisecond / time.Duration(1+r.IntN(1000)), failed: r.IntN(3) == 0}
				all = append(all, o)
				w.add(now, o.lat, o.failed)
			}
			w.expire(now)
			held := refWindow(all, size, age, now)
			fails, slow := 0, 0
			sum := new(big.Int)
			lats := make([]time.Duration, len(held))
			for i, o := range held {
				if o.failed {
					fails++
				}
				if slowAt > 0 && o.lat >= slowAt {
					slow++
				}
				sum.Add(sum, big.NewInt(int64(o.lat)))
				lats[i] = o.lat
			}
			if w.n != len(held) || w.failures != fails || w.slow != slow {
				t.Fatalf("trial %d step %d (size %d age %v): n=%d failures=%d slow=%d, want %d %d %d",
					trial, step, size, age, w.n, w.failures, w.slow, len(held), fails, slow)
			}
			wantAvg := time.Duration(0)
			if len(held) > 0 {
				wantAvg = time.Duration(sum.Div(sum, big.NewInt(int64(len(held)))).Int64())
			}
			if got := w.avgLatency(); got != wantAvg {
				t.Fatalf("trial %d step %d: avgLatency %v, want %v", trial, step, got, wantAvg)
			}
			slices.Sort(lats)
			for _, p := range []float64{0.5, 0.95, 0.99, 0.01} {
				want := time.Duration(0)
				if len(lats) > 0 {
					want = histValue(histBin(lats[rank(p, len(lats))-1]))
				}
				if got := w.percentile(p); got != want {
					t.Fatalf("trial %d step %d: percentile(%v) = %v, want %v", trial, step, p, got, want)
				}
				if slowAt > 0 && len(lats) > 0 {
					if got, want := w.percentileAtLeast(p), lats[rank(p, len(lats))-1] >= slowAt; got != want {
						t.Fatalf("trial %d step %d: percentileAtLeast(%v) = %v, want %v", trial, step, p, got, want)
					}
				}
			}
		}
		w.reset()
		if w.n != 0 || w.failures != 0 || w.slow != 0 || w.avgLatency() != 0 || w.percentile(0.5) != 0 {
			t.Fatalf("reset left n=%d failures=%d slow=%d", w.n, w.failures, w.slow)
		}
	}
}

// A time window with no cap keeps 11 buckets however many outcomes arrive,
// and an outcome leaves no earlier than WindowDuration and no later than
// one bucket after.
func TestBucketWindowBounds(t *testing.T) {
	w := newWindow(0, 10*time.Second, 0)
	for i := 0; i < 100000; i++ {
		w.add(time.Duration(i)*time.Millisecond, time.Millisecond, false)
	}
	if len(w.buckets) != windowBuckets+1 {
		t.Fatalf("%d buckets", len(w.buckets))
	}
	w = newWindow(0, 10*time.Second, 0)
	w.add(1500*time.Millisecond, time.Millisecond, true) // bucket [1s, 2s)
	for _, step := range []struct {
		now  time.Duration
		held int
	}{
		{11499 * time.Millisecond, 1}, // 9.999s old
		{11500 * time.Millisecond, 1}, // 10s old: still held, never early
		{11999 * time.Millisecond, 1}, // within one bucket of late
		{12000 * time.Millisecond, 0}, // 10.5s old: gone
	} {
		w.expire(step.now)
		if w.n != step.held {
			t.Fatalf("at %v: %d held, want %d", step.now, w.n, step.held)
		}
	}
}

// The mean of huge latencies does not overflow.
func TestWindowMeanOfHugeLatencies(t *testing.T) {
	w := newWindow(1<<20, 0, 0)
	huge := time.Duration(math.MaxInt64 - 7)
	for i := 0; i < 1000; i++ {
		w.add(0, huge, false)
	}
	if got := w.avgLatency(); got != huge {
		t.Fatalf("mean of 1000 x %v = %v", huge, got)
	}
	w.add(0, 0, false)
	if got, want := w.avgLatency(), time.Duration(new(big.Int).Div(new(big.Int).Mul(big.NewInt(int64(huge)), big.NewInt(1000)), big.NewInt(1001)).Int64()); got != want {
		t.Fatalf("mean = %v, want %v", got, want)
	}
}

func TestWindowWithoutThresholdCountsNoSlowSamples(t *testing.T) {
	w := newWindow(2, 0, 0)
	w.add(0, time.Hour, false)
	if w.slow != 0 || w.percentileAtLeast(0.5) {
		t.Error("a window with no threshold must never report slow")
	}
}
