package sim

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestVirtualClockReadsOnlyWhatTheLoopSets(t *testing.T) {
	c := newVirtualClock()
	start := c.Now()
	if c.elapsed() != 0 {
		t.Fatalf("elapsed at start = %v, want 0", c.elapsed())
	}
	c.set(1500 * time.Millisecond)
	if got := c.Since(start); got != 1500*time.Millisecond {
		t.Errorf("Since(start) = %v, want 1.5s", got)
	}
	if got := c.Until(start.Add(2 * time.Second)); got != 500*time.Millisecond {
		t.Errorf("Until(start+2s) = %v, want 500ms", got)
	}
	if got := c.Now().Sub(start); got != 1500*time.Millisecond {
		t.Errorf("Now()-start = %v, want 1.5s", got)
	}
	before := c.Now()
	if after := c.Now(); !after.Equal(before) {
		t.Errorf("Now moved from %v to %v without set", before, after)
	}
}

func TestVirtualClockTimersPanicWithTheirName(t *testing.T) {
	c := newVirtualClock()
	cases := map[string]func(){
		"After":        func() { c.After(time.Second) },
		"AfterFunc":    func() { c.AfterFunc(time.Second, func() {}) },
		"Sleep":        func() { c.Sleep(time.Second) },
		"Tick":         func() { c.Tick(time.Second) },
		"Ticker":       func() { c.Ticker(time.Second) },
		"Timer":        func() { c.Timer(time.Second) },
		"WithTimeout":  func() { c.WithTimeout(context.Background(), time.Second) },
		"WithDeadline": func() { c.WithDeadline(context.Background(), c.Now()) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, "virtualClock."+name) {
					t.Errorf("panic = %v, want one naming virtualClock.%s", r, name)
				}
			}()
			f()
		})
	}
}
