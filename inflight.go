package circuit

import "time"

// slowCheckpoints is how many checkpoints slowWatch keeps, and
// slowCheckpointsPerThreshold how many it takes per LatencyThreshold: a call
// in flight is counted as slow at most LatencyThreshold/16 late (plus the
// wait for the next look), never early.
const (
	slowCheckpoints             = 32
	slowCheckpointsPerThreshold = 16
)

// slowWatch counts the calls of the current closed period that have been
// in flight for at least LatencyThreshold, without a lock on admission and
// in O(1) amortised per call.
//
// Every admission takes a sequence number (Breaker.admitted). The breaker
// looks, under its lock, at most once per width: admission skips the lock
// only until width after the last look (Breaker.slowCheckAt), and the
// first admission after that takes the lock and looks before taking its
// number. A look takes a checkpoint: the last number handed out so far, and
// a time by which every call numbered since the previous checkpoint was
// admitted, which is the look's time or, if that is later, the previous
// look's plus width (no admission skipped the lock after that). Once a
// checkpoint's time is LatencyThreshold ago, the calls numbered up to it
// that are still in flight have run at least that long: never counted
// early, at most width late. Finished calls are counted per checkpoint
// interval, by their number.
//
// A slowWatch is not safe for concurrent use; the breaker guards it with
// its mutex.
type slowWatch struct {
	threshold time.Duration // LatencyThreshold; 0 turns the watch off
	width     time.Duration // the least time between checkpoints

	lastLook time.Duration // when the last checkpoint was taken

	base    uint64                           // calls numbered up to base do not count: earlier periods, or folded (see baseFin)
	baseFin uint64                           // finished calls numbered in (period start, base]: dropped intervals
	start   uint64                           // the last number handed out before the period began
	cps     *[slowCheckpoints]slowCheckpoint // allocated at the first checkpoint
	head, n int                              // cps[head] is the oldest of n
	finNext uint64                           // finished calls numbered after the newest checkpoint
}

// slowCheckpoint closes the interval of sequence numbers (previous seq, seq].
type slowCheckpoint struct {
	at  time.Duration // when it was taken
	seq uint64        // the last number handed out by then
	fin uint64        // finished calls numbered in its interval
}

func newSlowWatch(threshold time.Duration) slowWatch {
	w := slowWatch{threshold: threshold}
	if threshold > 0 {
		w.width = max(threshold/slowCheckpointsPerThreshold, 1)
	}
	return w
}

// reset starts, at now, a closed period whose calls are numbered after
// seq.
func (w *slowWatch) reset(now time.Duration, seq uint64) {
	w.start, w.base, w.baseFin, w.n, w.head, w.finNext = seq, seq, 0, 0, 0, 0
	w.lastLook = now
}

// finish counts a call numbered seq as finished.
func (w *slowWatch) finish(seq uint64) {
	if w.threshold <= 0 || seq <= w.start {
		return
	}
	if seq <= w.base {
		w.baseFin++
		return
	}
	if w.n == 0 {
		w.finNext++ // numbered after base, before any checkpoint
		return
	}
	// Most calls are short: search from the newest interval back.
	for i := w.n - 1; i >= 0; i-- {
		c := &w.cps[(w.head+i)%slowCheckpoints]
		if seq > c.seq {
			if i == w.n-1 {
				w.finNext++
			} else {
				w.cps[(w.head+i+1)%slowCheckpoints].fin++
			}
			return
		}
	}
	w.cps[w.head].fin++ // in the oldest interval
}

// checkpoint records a look at now, with seq the last number handed out;
// the oldest checkpoint is folded into base when the ring is full. With
// nothing in flight, every call numbered so far has ended: the checkpoints
// can count no slow call any more, so they are dropped, ring and all (an
// idle breaker keeps no ring; one that stays busy keeps its own).
func (w *slowWatch) checkpoint(now time.Duration, seq uint64, inFlight bool) {
	at := min(now, w.lastLook+w.width)
	w.lastLook = now
	if !inFlight {
		w.start, w.base, w.baseFin, w.n, w.head, w.finNext = seq, seq, 0, 0, 0, 0
		w.cps = nil
		return
	}
	if w.cps == nil {
		w.cps = new([slowCheckpoints]slowCheckpoint)
	}
	if w.n == slowCheckpoints {
		old := &w.cps[w.head]
		w.base, w.baseFin = old.seq, w.baseFin+old.fin
		w.head = (w.head + 1) % slowCheckpoints
		w.n--
	}
	w.cps[(w.head+w.n)%slowCheckpoints] = slowCheckpoint{at: at, seq: seq, fin: w.finNext}
	w.n++
	w.finNext = 0
}

// slow returns how many calls of the period have been in flight for at
// least threshold at now, as far as the checkpoints tell.
func (w *slowWatch) slow(now time.Duration) int {
	if w.threshold <= 0 {
		return 0
	}
	// The newest checkpoint taken at least threshold ago bounds the calls
	// that have surely run that long.
	fin, last := w.baseFin, -1
	for i := 0; i < w.n; i++ {
		c := &w.cps[(w.head+i)%slowCheckpoints]
		if now-c.at < w.threshold {
			break
		}
		fin += c.fin
		last = i
	}
	upTo := w.base
	if last >= 0 {
		upTo = w.cps[(w.head+last)%slowCheckpoints].seq
	} else if w.base == w.start {
		return 0
	}
	if in := int64(upTo-w.start) - int64(fin); in > 0 {
		return int(in)
	}
	return 0
}

// watch returns the breaker's slow watch, made on first use: the first
// look of the first closed period (when calls are numbered from 0), or the
// start of a later closed period. It requires b.mu.
func (b *Breaker[T]) watch() *slowWatch {
	if b.slow == nil {
		w := newSlowWatch(b.cfg.LatencyThreshold)
		b.slow = &w
	}
	return b.slow
}
