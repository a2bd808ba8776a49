package circuit

import (
	"sync"
	"sync/atomic"
	"time"
)

// The expiry service tells open breakers on the real clock that their open
// period is over, so that a rejection need not read the clock (the read is
// most of a rejection's cost). It is shared by every breaker of the
// process: one runtime timer armed for the earliest deadline, whose
// callback marks every period due by then and re-arms itself. So there is
// no goroutine while nothing is due, and one short-lived goroutine per
// firing, however many breakers open at once. It holds only each period's
// small expiry record, never the period, its *OpenError or that error's
// Cause, so a dropped breaker is not kept alive by a pending open period.
var expirer struct {
	mu    sync.Mutex // guards heap and timer
	heap  []*expiry  // min-heap on at
	timer *time.Timer
}

// expirySlack is how far ahead of its deadline a record may be marked when
// the timer fires for an earlier one. Marking early is harmless, since a
// marked period's admission compares the clock with the period's end; it
// lets one firing serve breakers that opened within the same instant.
const expirySlack = time.Millisecond

// expiry is the record of one open period's deadline.
type expiry struct {
	fired atomic.Bool   // set once the deadline may have passed
	at    time.Duration // the deadline, as an offset from procEpoch
	idx   int           // position in expirer.heap; -1 when not in it
}

// procEpoch is the origin of expiry deadlines; only its monotonic reading
// is used.
var procEpoch = time.Now()

// scheduleExpiry returns a record that is marked fired once deadline has
// passed. deadline must carry a monotonic reading.
func scheduleExpiry(deadline time.Time) *expiry {
	e := &expiry{at: deadline.Sub(procEpoch)}
	expirer.mu.Lock()
	defer expirer.mu.Unlock()
	e.idx = len(expirer.heap)
	expirer.heap = append(expirer.heap, e)
	heapUp(e.idx)
	if e.idx == 0 {
		armLocked()
	}
	return e
}

// cancelExpiry removes e, whose period ended early, from the heap.
func cancelExpiry(e *expiry) {
	expirer.mu.Lock()
	defer expirer.mu.Unlock()
	if e.idx < 0 {
		return
	}
	i, last := e.idx, len(expirer.heap)-1
	heapSwap(i, last)
	expirer.heap[last] = nil
	expirer.heap = expirer.heap[:last]
	e.idx = -1
	if i < last {
		heapDown(i)
		heapUp(i)
	}
}

// armLocked arms the timer for the earliest deadline. It requires
// expirer.mu.
func armLocked() {
	if len(expirer.heap) == 0 {
		return
	}
	d := expirer.heap[0].at - time.Since(procEpoch)
	if expirer.timer == nil {
		expirer.timer = time.AfterFunc(d, fireExpiries)
		return
	}
	expirer.timer.Reset(d)
}

// fireExpiries marks every record due within expirySlack and re-arms the
// timer for the next.
func fireExpiries() {
	expirer.mu.Lock()
	defer expirer.mu.Unlock()
	due := time.Since(procEpoch) + expirySlack
	for len(expirer.heap) > 0 && expirer.heap[0].at <= due {
		e := expirer.heap[0]
		e.fired.Store(true)
		last := len(expirer.heap) - 1
		heapSwap(0, last)
		expirer.heap[last] = nil
		expirer.heap = expirer.heap[:last]
		e.idx = -1
		heapDown(0)
	}
	armLocked()
}

func heapSwap(i, j int) {
	h := expirer.heap
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func heapUp(i int) {
	h := expirer.heap
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].at <= h[i].at {
			return
		}
		heapSwap(i, parent)
		i = parent
	}
}

func heapDown(i int) {
	h := expirer.heap
	for {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].at < h[small].at {
			small = l
		}
		if r < len(h) && h[r].at < h[small].at {
			small = r
		}
		if small == i {
			return
		}
		heapSwap(i, small)
		i = small
	}
}
