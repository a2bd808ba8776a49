package circuit

import (
	"math/bits"
	"time"
)

// The latency histogram is log-linear: latencies below histExact
// nanoseconds have a bin each, and every octave above is split into histSub
// equal bins. A bin is reported as its midpoint, so a reported percentile
// is within 1/(2*histSub) = 1.56% of the latency it stands for (exact below
// 64ns). It covers every non-negative Duration.
const (
	histSub    = 32
	histExact  = 2 * histSub
	histBins   = histExact + 57*histSub // the top octave starts at 2^62
	histChunks = histBins / histSub
)

// hist counts latencies by bin. Bins are allocated a chunk (one octave) at
// a time, on first use, so that a histogram of service latencies, which
// span a few octaves, stays small. The zero value is empty and usable.
//
// A hist is not safe for concurrent use; the breaker guards it with its
// mutex.
type hist struct {
	chunks []*histChunk // nil until the first add; then histChunks long
}

type histChunk struct {
	total uint64
	bins  [histSub]uint64
}

// histBin returns the bin of a latency; negative latencies count as 0.
func histBin(d time.Duration) int {
	if d < histExact {
		if d < 0 {
			return 0
		}
		return int(d)
	}
	v := uint64(d)
	shift := bits.Len64(v) - 6 // v>>shift is in [32, 64)
	return histExact + (shift-1)*histSub + int(v>>uint(shift)) - histSub
}

// histValue returns the latency a bin stands for: its midpoint.
func histValue(bin int) time.Duration {
	if bin < histExact {
		return time.Duration(bin)
	}
	k := bin - histExact
	shift := uint(k/histSub + 1)
	lo := uint64(k%histSub+histSub) << shift
	return time.Duration(lo + uint64(1)<<(shift-1))
}

// add counts n latencies of bin.
func (h *hist) add(bin int, n uint64) {
	if h.chunks == nil {
		h.chunks = make([]*histChunk, histChunks)
	}
	c := h.chunks[bin/histSub]
	if c == nil {
		c = new(histChunk)
		h.chunks[bin/histSub] = c
	}
	c.total += n
	c.bins[bin%histSub] += n
}

// remove uncounts n latencies of bin, which must have been added.
func (h *hist) remove(bin int, n uint64) {
	c := h.chunks[bin/histSub]
	c.total -= n
	c.bins[bin%histSub] -= n
}

// merge adds (sign > 0) or removes (sign < 0) every count of o.
func (h *hist) merge(o *hist, sign int) {
	for ci, c := range o.chunks {
		if c == nil || c.total == 0 {
			continue
		}
		for i, n := range c.bins {
			if n == 0 {
				continue
			}
			if sign > 0 {
				h.add(ci*histSub+i, n)
			} else {
				h.remove(ci*histSub+i, n)
			}
		}
	}
}

// clear empties h, keeping its chunks for reuse.
func (h *hist) clear() {
	for _, c := range h.chunks {
		if c != nil && c.total != 0 {
			*c = histChunk{}
		}
	}
}

// value returns the midpoint of the bin holding the r-th smallest (1-based)
// latency counted, or 0 if fewer than r are counted. O(histChunks+histSub).
func (h *hist) value(r uint64) time.Duration {
	if r == 0 {
		return 0
	}
	var seen uint64
	for ci, c := range h.chunks {
		if c == nil || seen+c.total < r {
			if c != nil {
				seen += c.total
			}
			continue
		}
		for i, n := range c.bins {
			seen += n
			if seen >= r {
				return histValue(ci*histSub + i)
			}
		}
	}
	return 0
}
