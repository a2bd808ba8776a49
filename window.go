package circuit

import (
	"math"
	"math/bits"
	"time"
)

// windowBuckets is how many buckets a time window of WindowDuration is cut
// into. The window keeps one more, the one being filled, so an outcome
// counts for at least WindowDuration and at most WindowDuration plus one
// bucket (WindowDuration/10): never early, at most one bucket late.
const windowBuckets = 10

// window holds the outcomes a breaker judges by, with running totals so
// that every question the hot path asks is O(1), and a latency histogram so
// that percentiles cost O(bins), never O(outcomes).
//
// It has two layouts. With a size (Config.WindowSize > 0) it is a ring of
// the last size outcomes; with an age as well (Config.WindowDuration > 0)
// the ring also drops outcomes older than age, exactly on time. With an
// age and no size it is a ring of time buckets, which bounds memory however
// many calls arrive.
//
// A window is not safe for concurrent use; the breaker guards it with its
// mutex.
type window struct {
	slowAt time.Duration // the latency criterion's threshold; 0 counts nothing as slow
	age    time.Duration // Config.WindowDuration; 0 means outcomes never age out

	// The outcome ring, when size > 0: slot i holds an outcome's latency,
	// whether it failed and (with an age) when it was recorded.
	size   int
	lat    []time.Duration
	failed []bool
	at     []time.Duration
	next   int // slot the next outcome is written to

	// The bucket ring, when size == 0: bucket j%len(buckets) holds the
	// outcomes recorded in [j*width, (j+1)*width).
	width   time.Duration
	buckets []bucket
	cur     int64 // the index j of the newest bucket

	totals
	h hist // latencies of every outcome held
}

// totals are the running sums over a set of outcomes.
type totals struct {
	n        int
	failures int
	slow     int
	sum      sum128
}

type bucket struct {
	totals
	h hist
}

// sum128 is an exact sum of non-negative durations: a full window of
// 2^20 latencies of centuries each cannot overflow it.
type sum128 struct{ hi, lo uint64 }

func (s *sum128) add(d time.Duration) {
	var c uint64
	s.lo, c = bits.Add64(s.lo, uint64(d), 0)
	s.hi += c
}

func (s *sum128) sub(d time.Duration) {
	var b uint64
	s.lo, b = bits.Sub64(s.lo, uint64(d), 0)
	s.hi -= b
}

// div returns s/n. The mean of n durations is a Duration, so s < n*2^64 and
// the quotient fits.
func (s sum128) div(n int) time.Duration {
	q, _ := bits.Div64(s.hi, s.lo, uint64(n))
	return time.Duration(q)
}

func newWindow(size int, age, slowAt time.Duration) *window {
	w := &window{slowAt: slowAt, age: age, size: size}
	if size > 0 {
		w.lat = make([]time.Duration, size)
		w.failed = make([]bool, size)
		if age > 0 {
			w.at = make([]time.Duration, size)
		}
		return w
	}
	w.width = (age + windowBuckets - 1) / windowBuckets
	w.buckets = make([]bucket, windowBuckets+1)
	return w
}

func (w *window) isSlow(lat time.Duration) bool { return w.slowAt > 0 && lat >= w.slowAt }

// add records one outcome that ended at now. lat must not be negative.
func (w *window) add(now, lat time.Duration, failed bool) {
	if w.age > 0 {
		w.expire(now)
	}
	bin, slow := histBin(lat), w.isSlow(lat)
	if w.size > 0 {
		if w.n == w.size {
			w.drop(w.next)
		}
		w.lat[w.next] = lat
		w.failed[w.next] = failed
		if w.at != nil {
			w.at[w.next] = now
		}
		w.next++
		if w.next == w.size {
			w.next = 0
		}
	} else {
		b := &w.buckets[w.cur%int64(len(w.buckets))]
		b.count(lat, failed, slow)
		b.h.add(bin, 1)
	}
	w.count(lat, failed, slow)
	w.h.add(bin, 1)
}

func (t *totals) count(lat time.Duration, failed, slow bool) {
	t.n++
	t.sum.add(lat)
	if failed {
		t.failures++
	}
	if slow {
		t.slow++
	}
}

// drop removes the outcome in ring slot i from the totals.
func (w *window) drop(i int) {
	lat := w.lat[i]
	w.n--
	w.sum.sub(lat)
	if w.failed[i] {
		w.failures--
	}
	if w.isSlow(lat) {
		w.slow--
	}
	w.h.remove(histBin(lat), 1)
}

// expire drops the outcomes that have aged out by now. It costs O(1)
// amortised: each outcome, and each bucket, is dropped once.
func (w *window) expire(now time.Duration) {
	if w.age <= 0 {
		return
	}
	if w.size > 0 {
		for w.n > 0 {
			oldest := w.next - w.n
			if oldest < 0 {
				oldest += w.size
			}
			if now-w.at[oldest] < w.age {
				return
			}
			w.drop(oldest)
		}
		return
	}
	j := int64(now / w.width)
	if j <= w.cur {
		return
	}
	// Buckets cur+1..j start empty; clearing at most len(buckets) of them
	// empties the ring.
	from := max(w.cur+1, j-int64(len(w.buckets))+1)
	for k := from; k <= j; k++ {
		b := &w.buckets[k%int64(len(w.buckets))]
		if b.n > 0 {
			w.n -= b.n
			w.failures -= b.failures
			w.slow -= b.slow
			w.sum.sub128(b.sum)
			w.h.merge(&b.h, -1)
			b.totals = totals{}
			b.h.clear()
		}
	}
	w.cur = j
}

func (s *sum128) sub128(o sum128) {
	var b uint64
	s.lo, b = bits.Sub64(s.lo, o.lo, 0)
	s.hi = s.hi - o.hi - b
}

// reset empties the window without allocating.
func (w *window) reset() {
	if w == nil {
		return
	}
	w.next = 0
	w.totals = totals{}
	w.h.clear()
	for i := range w.buckets {
		w.buckets[i].totals = totals{}
		w.buckets[i].h.clear()
	}
}

// errorRate is failures/outcomes, 0 when empty.
func (w *window) errorRate() float64 {
	if w == nil || w.n == 0 {
		return 0
	}
	return float64(w.failures) / float64(w.n)
}

// avgLatency is the mean latency held, 0 when empty.
func (w *window) avgLatency() time.Duration {
	if w == nil || w.n == 0 {
		return 0
	}
	return w.sum.div(w.n)
}

// rank is the 1-based nearest rank of percentile p among n samples:
// ceil(p*n), clamped to [1, n]. The small epsilon keeps a product such as
// 0.95*100 that floating point lands a hair above 95 from rounding up to 96.
func rank(p float64, n int) int {
	r := int(math.Ceil(p*float64(n) - 1e-9))
	if r < 1 {
		r = 1
	}
	if r > n {
		r = n
	}
	return r
}

// percentileAtLeast reports whether the p-percentile of the held latencies
// is at least slowAt, exactly and in O(1): the rank-r smallest of n samples
// is >= slowAt exactly when at least n-r+1 samples are >= slowAt.
func (w *window) percentileAtLeast(p float64) bool {
	if w.slow == 0 {
		return false // the common case, and no rank to compute
	}
	return w.slow >= w.n-rank(p, w.n)+1
}

// percentile returns the p-percentile of the held latencies as its
// histogram bin's midpoint, 0 when empty.
func (w *window) percentile(p float64) time.Duration {
	if w == nil || w.n == 0 {
		return 0
	}
	return w.h.value(uint64(rank(p, w.n)))
}

// The questions asked of a window that may not exist yet (nil: no outcome
// recorded so far) answer as an empty window does.

// held expires what has aged out by now and returns the outcomes held and
// the slow ones among them.
func (w *window) held(now time.Duration) (n, slow int) {
	if w == nil {
		return 0, 0
	}
	w.expire(now)
	return w.n, w.slow
}

// outcomes returns the outcomes held.
func (w *window) outcomes() int {
	if w == nil {
		return 0
	}
	return w.n
}
