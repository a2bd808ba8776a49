package circuit

import (
	"sync"
	"testing"
)

// The striped counter's sum is exact whatever stripes the goroutines land
// on, and undo takes back exactly one count.
func TestRejectCounterSum(t *testing.T) {
	var c rejectCounter
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
		t.Fatalf("load() = %d, want %d", got, want)
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
			seen <- stripe()
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
