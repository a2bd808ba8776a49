package bulkhead

import (
	"context"
	"testing"
)

// A slot handed to a waiter at the moment it gives up must not be lost.
// Both of the waiter's channels are ready when it selects, so the select
// picks either at random: over many rounds both outcomes occur, and in
// each the slot ends up with exactly one owner.
func TestHandoffRacingCancel(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var won, gaveUp int
	for range 300 {
		b, err := New[int](WithMaxConcurrent(1), WithMaxQueue(2))
		if err != nil {
			t.Fatal(err)
		}
		l := &b.l
		holder, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		first := &waiter{ready: make(chan struct{}, 1)}
		second := &waiter{ready: make(chan struct{}, 1)}
		l.mu.Lock()
		l.push(first)
		l.push(second)
		l.mu.Unlock()

		holder.Release() // hands the slot to first, whose context is already done
		p, err := l.wait(done, first, done, func() {})

		m := b.Metrics()
		if m.InFlight != 1 {
			t.Fatalf("in flight = %d, want 1: the slot has exactly one owner", m.InFlight)
		}
		if err == nil {
			won++
			if second.granted || m.Queued != 1 {
				t.Fatalf("first kept the slot, yet second was granted (%v) or left the queue (queued %d)", second.granted, m.Queued)
			}
			p.Release()
			if !second.granted {
				t.Fatal("releasing first's slot must hand it to second")
			}
		} else {
			gaveUp++
			if p != (Permit{}) {
				t.Fatalf("a waiter that gave up got a non-zero Permit %+v", p)
			}
			if !second.granted || m.Queued != 0 {
				t.Fatalf("first gave up a granted slot; second must have it (granted %v, queued %d)", second.granted, m.Queued)
			}
			if m.Canceled != 1 || m.Admitted != 2 {
				t.Fatalf("canceled = %d, admitted = %d; want 1 and 2 (the holder and second)", m.Canceled, m.Admitted)
			}
		}
		// second now holds the slot; releasing it empties the bulkhead.
		// The holder's and first's permits are stale and change nothing.
		holder.Release()
		first.permit.Release()
		if m := b.Metrics(); m.InFlight != 1 {
			t.Fatalf("a stale Release freed second's slot: %+v", m)
		}
		second.permit.Release()
		if m := b.Metrics(); m.InFlight != 0 || m.Queued != 0 {
			t.Fatalf("after the last release: %+v", m)
		}
	}
	if won == 0 || gaveUp == 0 {
		t.Fatalf("both outcomes should occur: kept %d, gave up %d", won, gaveUp)
	}
}
