package circuit

import (
	"math"
	"time"
)

// window is the pair of ring buffers a breaker judges by: the outcome
// (failed or not) and the latency of each of the last len(lat) calls, with
// running totals so that every question the hot path asks is O(1).
//
// A window is not safe for concurrent use; the breaker guards it with its
// mutex.
type window struct {
	lat    []time.Duration // latency ring
	failed []bool          // outcome ring, same indexing as lat
	next   int             // slot the next sample is written to
	n      int             // samples held, at most len(lat)

	failures int           // failed samples held
	sum      time.Duration // sum of held latencies
	slow     int           // held latencies >= slowAt
	slowAt   time.Duration // threshold the slow count uses; 0 counts none
}

func newWindow(size int, slowAt time.Duration) window {
	return window{lat: make([]time.Duration, size), failed: make([]bool, size), slowAt: slowAt}
}

// add records one sample, evicting the oldest when the ring is full.
func (w *window) add(lat time.Duration, failed bool) {
	if w.n == len(w.lat) {
		old := w.lat[w.next]
		w.sum -= old
		if w.slowAt > 0 && old >= w.slowAt {
			w.slow--
		}
		if w.failed[w.next] {
			w.failures--
		}
	} else {
		w.n++
	}
	w.lat[w.next] = lat
	w.failed[w.next] = failed
	w.sum += lat
	if w.slowAt > 0 && lat >= w.slowAt {
		w.slow++
	}
	if failed {
		w.failures++
	}
	w.next++
	if w.next == len(w.lat) {
		w.next = 0
	}
}

// reset empties the window without allocating. The rings' stale contents
// are never read: only the n most recent slots are.
func (w *window) reset() {
	w.next, w.n, w.failures, w.sum, w.slow = 0, 0, 0, 0, 0
}

// errorRate is failures/samples, 0 when empty.
func (w *window) errorRate() float64 {
	if w.n == 0 {
		return 0
	}
	return float64(w.failures) / float64(w.n)
}

// avgLatency is the mean held latency, 0 when empty.
func (w *window) avgLatency() time.Duration {
	if w.n == 0 {
		return 0
	}
	return w.sum / time.Duration(w.n)
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
// is at least slowAt, in O(1): the rank-r smallest of n samples is >= slowAt
// exactly when at least n-r+1 samples are >= slowAt.
func (w *window) percentileAtLeast(p float64) bool {
	if w.n == 0 || w.slowAt <= 0 {
		return false
	}
	return w.slow >= w.n-rank(p, w.n)+1
}

// latencies appends the held latencies to dst, oldest first.
func (w *window) latencies(dst []time.Duration) []time.Duration {
	start := w.next - w.n
	if start < 0 {
		start += len(w.lat)
	}
	for i := 0; i < w.n; i++ {
		j := start + i
		if j >= len(w.lat) {
			j -= len(w.lat)
		}
		dst = append(dst, w.lat[j])
	}
	return dst
}

// percentile returns the nearest-rank p-percentile of samples, reordering
// samples in place. It runs in expected O(n) (quickselect) so Metrics stays
// cheap on large windows. It returns 0 for no samples.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	return selectKth(samples, rank(p, len(samples))-1)
}

// selectKth returns the k-th smallest (0-based) element of s, partially
// reordering s. Median-of-three pivots keep sorted and reversed input fast.
func selectKth(s []time.Duration, k int) time.Duration {
	lo, hi := 0, len(s)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Order s[lo], s[mid], s[hi] and use the median as the pivot.
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[mid] {
			s[hi], s[mid] = s[mid], s[hi]
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		// Now s[lo..j] <= pivot <= s[i..hi], and s[j+1..i-1] == pivot.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}
