package circuit

import (
	"sync"
	"testing"
)

// The counter's sum is exact whatever stripes the goroutines land on,
// before and after it starts striping, and undo takes back exactly one
// count where add put it.
func TestRejectCounterSum(t *testing.T) {
	for _, striped := range []bool{false, true} {
		var c rejectCounter
		if striped {
			c.stripes.Store(newRejectStripeSet())
		}
		const goroutines, each = 16, 1000
		var wg sync.WaitGroup
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					i, _ := c.add()
					if j%10 == 0 {
						c.undo(i)
					}
				}
			}()
		}
		wg.Wait()
		if got, want := c.load(), uint64(goroutines*each*9/10); got != want {
			t.Fatalf("striped from the start %v: load() = %d, want %d", striped, got, want)
		}
		if striped && c.base.Load() != 0 {
			t.Fatalf("a striped counter counted %d in its base word", c.base.Load())
		}
	}
	// Alone, the counter stays one word: add's count is the total.
	var c rejectCounter
	for j := uint64(1); j <= 100; j++ {
		if i, n := c.add(); i != -1 || n != j {
			t.Fatalf("add() #%d = %d, %d; want -1, %d", j, i, n, j)
		}
	}
	if c.stripes.Load() != nil {
		t.Fatal("an uncontended counter allocated stripes")
	}
	var none *rejectCounter
	if got := none.load(); got != 0 {
		t.Fatalf("nil counter: load() = %d, want 0", got)
	}
}

// Goroutines spread over the stripes: 64 of them, each blocked with a
// stack of its own, use more than one stripe. (All on one stripe would
// mean the hash ignores the stack address, and the counter is one shared
// line again.)
func TestRejectCounterSpreads(t *testing.T) {
	const goroutines = 64
	seen := make(chan int, goroutines)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen <- stripe(0)
			<-release // keep this stack alive, so the next goroutine gets another
		}()
	}
	stripes := map[int]bool{}
	for range goroutines {
		i := <-seen
		if i < 0 || i >= rejectStripes {
			t.Fatalf("stripe() = %d, want 0..%d", i, rejectStripes-1)
		}
		stripes[i] = true
	}
	close(release)
	wg.Wait()
	if len(stripes) < rejectStripes/2 {
		t.Fatalf("64 live goroutines used %d of %d stripes, want at least %d", len(stripes), rejectStripes, rejectStripes/2)
	}
}

// A new salt deals a goroutine a new stripe: over 64 salts one goroutine
// sees most stripes, so two goroutines that collide are parted.
func TestStripeMovesWithSalt(t *testing.T) {
	seen := map[int]bool{}
	for salt := range uint64(64) {
		seen[stripe(salt)] = true
	}
	if len(seen) < rejectStripes/2 {
		t.Fatalf("64 salts dealt %d of %d stripes, want at least %d", len(seen), rejectStripes, rejectStripes/2)
	}
}
