package monitor

import (
	"testing"
	"time"
)

// TestNextTick: the schedule keeps its phase, and a check that overran
// ticks is followed by one check at once, the other overrun ticks dropped.
func TestNextTick(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	const iv = 15 * time.Second
	for _, tc := range []struct {
		name string
		now  time.Duration // after t0, when the check at t0 ended
		want time.Duration // the next deadline, after t0
	}{
		{"quick check", 0, 15 * time.Second},
		{"just under one interval", 14 * time.Second, 15 * time.Second},
		{"exactly one interval: due now", 15 * time.Second, 15 * time.Second},
		{"overran one tick", 20 * time.Second, 15 * time.Second},
		{"overran two ticks: the later is due now", 31 * time.Second, 30 * time.Second},
		{"overran many", 100 * time.Second, 90 * time.Second},
	} {
		got := nextTick(t0, t0.Add(tc.now), iv)
		if want := t0.Add(tc.want); !got.Equal(want) {
			t.Errorf("%s: nextTick(t0, t0+%s) = t0+%s, want t0+%s", tc.name, tc.now, got.Sub(t0), tc.want)
		}
	}
}
