package monitor

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
)

// callback is one WithOnAlert function.
type callback struct {
	fn   func(Alert)
	busy atomic.Bool // a call has not returned yet
}

// dispatch passes each alert to every callback. It requires m.checkMu.
func (m *Monitor) dispatch(alerts []Alert) {
	if len(m.callbacks) == 0 {
		return
	}
	for _, a := range alerts {
		// The deadline exists before any callback starts, so a test that
		// advances a mock clock once a callback has begun always ends the
		// wait.
		ctx, cancel := m.clock.WithDeadline(context.Background(), m.clock.Now().Add(m.cfg.OnAlertTimeout))
		done := make(chan int, len(m.callbacks)) // never blocks a callback's goroutine
		running := make(map[int]bool, len(m.callbacks))
		for i, c := range m.callbacks {
			if !c.busy.CompareAndSwap(false, true) {
				m.logger.Error("monitor: alert callback still blocked, alert skipped",
					slog.Int("callback", i), slog.Any("alert", a))
				continue
			}
			running[i] = true
			go m.call(i, c, a, done)
		}
	wait:
		for len(running) > 0 {
			select {
			case i := <-done:
				delete(running, i)
			case <-ctx.Done():
				for i := range running {
					m.logger.Error("monitor: alert callback timed out, abandoned",
						slog.Int("callback", i), slog.String("timeout", m.cfg.OnAlertTimeout.String()),
						slog.Any("alert", a))
				}
				break wait
			}
		}
		cancel()
	}
}

// call runs callback i on one alert, recovering a panic.
func (m *Monitor) call(i int, c *callback, a Alert, done chan<- int) {
	defer func() {
		if r := recover(); r != nil {
			m.logger.Error("monitor: alert callback panicked",
				slog.Int("callback", i), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
		}
		c.busy.Store(false)
		done <- i
	}()
	c.fn(a)
}
