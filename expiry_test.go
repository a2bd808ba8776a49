package circuit

import (
	"testing"
	"time"
)

// However many open periods end together, the expiry service holds one
// timer, and one firing marks every period that is due: no goroutine per
// period, and only the small records are held. Before it, each period had
// a time.AfterFunc whose callback ran on a goroutine of its own and held
// the period (and its error's Cause) until it fired.
func TestExpiryServiceBatches(t *testing.T) {
	const n = 20000
	past := time.Now().Add(-time.Second) // due already
	far := time.Now().Add(time.Hour)
	expirer.mu.Lock()
	timerBefore := expirer.timer
	expirer.mu.Unlock()

	due := make([]*expiry, n)
	for i := range due {
		due[i] = scheduleExpiry(past.Add(time.Duration(i)))
	}
	later := scheduleExpiry(far)
	canceled := scheduleExpiry(far.Add(time.Minute))
	cancelExpiry(canceled)
	cancelExpiry(canceled) // twice: no effect

	expirer.mu.Lock()
	if timerBefore != nil && expirer.timer != timerBefore {
		t.Error("scheduling replaced the service's timer instead of re-arming it")
	}
	if expirer.timer == nil {
		t.Error("no timer armed")
	}
	expirer.mu.Unlock()

	fireExpiries() // what the timer runs; it may also have run already
	for i, e := range due {
		if !e.fired.Load() {
			t.Fatalf("record %d of %d, due, not marked by one firing", i, n)
		}
	}
	if later.fired.Load() || canceled.fired.Load() {
		t.Error("a record not yet due, or canceled, was marked")
	}
	expirer.mu.Lock()
	for _, e := range expirer.heap {
		if e == canceled {
			t.Error("a canceled record is still held")
		}
		for _, d := range due[:10] {
			if e == d {
				t.Error("a fired record is still held")
			}
		}
	}
	expirer.mu.Unlock()
	cancelExpiry(later)
}

// The heap keeps its order through any mix of schedules and cancels.
func TestExpiryHeapOrder(t *testing.T) {
	base := time.Now().Add(time.Hour)
	var recs []*expiry
	for i := 0; i < 500; i++ {
		recs = append(recs, scheduleExpiry(base.Add(time.Duration((i*7919)%500)*time.Millisecond)))
	}
	for i := 0; i < len(recs); i += 3 {
		cancelExpiry(recs[i])
	}
	expirer.mu.Lock()
	h := expirer.heap
	for i := range h {
		if h[i].idx != i {
			t.Fatalf("heap[%d].idx = %d", i, h[i].idx)
		}
		if i > 0 && h[(i-1)/2].at > h[i].at {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	expirer.mu.Unlock()
	for _, r := range recs {
		cancelExpiry(r)
	}
}

// The slow watch keeps counting a hung call after the checkpoint that
// covers it has been folded away, however many checkpoints follow.
func TestSlowWatchFolding(t *testing.T) {
	w := newSlowWatch(16 * time.Millisecond) // width 1ms
	w.reset(0, 0)
	var seq uint64
	admit := func() uint64 { seq++; return seq }
	hung := admit()
	fast := admit()
	for i := 1; i <= 100; i++ {
		now := time.Duration(i) * time.Millisecond
		w.checkpoint(now, seq, true)
		w.finish(admit()) // a call admitted and finished at once
		if i == 3 {
			w.finish(fast)
		}
		want := 0
		if now-time.Millisecond >= w.threshold { // the checkpoint after both admissions is at 1ms
			want = 1
		}
		if got := w.slow(now); got != want {
			t.Fatalf("at %v: %d slow in flight, want %d", now, got, want)
		}
	}
	w.finish(hung)
	if got := w.slow(time.Second); got != 0 {
		t.Fatalf("after the hung call ended: %d slow in flight", got)
	}
}
