package circuit

import (
	"sync/atomic"
	"unsafe"
)

// A contended rejectCounter spreads over rejectStripes counters, and
// stripe picks one with stripeBits bits of a hash.
const (
	stripeBits    = 3
	rejectStripes = 1 << stripeBits
)

// rejectCounter counts a breaker's rejections. Every rejection writes it,
// and an open breaker under load rejects on every CPU at once: with one
// shared counter, its cache line would move between the CPUs on every
// rejection, which made a rejection on two CPUs four times dearer than on
// one. So it counts in one word until two rejections collide on it (a
// compare-and-swap fails), and from then on in stripes, each on lines of
// its own (pairs of lines, since x86 processors fetch lines in adjacent
// pairs). A goroutine picks its stripe from the address of its stack,
// which no two live goroutines share, mixed with a salt; when two
// goroutines still collide on a stripe, the salt moves on, which deals
// every goroutine a new stripe. The sum is exact; only how well the
// goroutines spread is left to chance.
//
// A breaker allocates its counter when it first rejects a call (16 bytes),
// and the stripes (about 1 KiB) only under contention, so the keys of a
// Group that open one caller at a time stay small.
type rejectCounter struct {
	base    atomic.Uint64
	stripes atomic.Pointer[rejectStripeSet]
}

// rejectStripeSet is the striped form of a rejectCounter: the salt on
// lines of its own, read on every count, then the stripes.
type rejectStripeSet struct {
	salt atomic.Uint64 // mixed into the choice of stripe; written only on a collision
	_    [2*cacheLine - 8]byte
	s    [rejectStripes]struct {
		n atomic.Uint64
		_ [2*cacheLine - 8]byte
	}
}

// newRejectStripeSet returns stripes salted by their own address, so that
// the same goroutines do not collide in every breaker.
func newRejectStripeSet() *rejectStripeSet {
	s := new(rejectStripeSet)
	s.salt.Store(uint64(uintptr(unsafe.Pointer(s))) >> 10)
	return s
}

// add counts a rejection, and returns where it went (for undo) and a
// count that grows by one with every rejection counted there.
func (c *rejectCounter) add() (int, uint64) {
	s := c.stripes.Load()
	if s == nil {
		n := c.base.Load()
		if c.base.CompareAndSwap(n, n+1) {
			return -1, n + 1
		}
		c.stripes.CompareAndSwap(nil, newRejectStripeSet())
		s = c.stripes.Load()
	}
	salt := s.salt.Load()
	i := stripe(salt)
	n := s.s[i].n.Load()
	if s.s[i].n.CompareAndSwap(n, n+1) {
		return i, n + 1
	}
	// Another goroutine counts on this stripe too: deal new stripes,
	// once per collision however many goroutines saw it.
	s.salt.CompareAndSwap(salt, salt+1)
	return i, s.s[i].n.Add(1)
}

// undo takes back a rejection that add counted at i.
func (c *rejectCounter) undo(i int) {
	if i < 0 {
		c.base.Add(^uint64(0))
		return
	}
	c.stripes.Load().s[i].n.Add(^uint64(0))
}

// load returns the number of rejections.
func (c *rejectCounter) load() uint64 {
	if c == nil {
		return 0
	}
	n := c.base.Load()
	if s := c.stripes.Load(); s != nil {
		for i := range s.s {
			n += s.s[i].n.Load()
		}
	}
	return n
}

// stripe picks the calling goroutine's stripe from its stack address and
// salt, without writing anything shared. Goroutine stacks are multiples of
// 2 KiB and usually neighbours, so the address in units of 2 KiB, mixed
// with the salt, goes through a Fibonacci hash, which spreads neighbouring
// values over all the stripes. A stack that moves (grows) may change
// stripes, which only moves where later counts go.
func stripe(salt uint64) int {
	var local byte
	x := uint64(uintptr(unsafe.Pointer(&local)))>>11 ^ salt*0xbf58476d1ce4e5b9
	return int((x * 0x9e3779b97f4a7c15) >> (64 - stripeBits))
}

// rejectCounter returns the breaker's rejection counter, allocating it
// the first time. It requires b.mu.
func (b *Breaker[T]) rejectCounter() *rejectCounter {
	if b.rej == nil {
		b.rej = new(rejectCounter)
	}
	return b.rej
}
