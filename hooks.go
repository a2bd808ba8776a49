package circuit

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// Hook delivery. Transitions are queued under the lock (setState) and
// delivered after it is released, one at a time and in order, by one
// goroutine at a time: the one whose call caused or observed them, unless
// another is already delivering, which then delivers them too. A hook may
// call any method of the breaker, including ones that cause a transition
// (delivered after the hook returns).

type hookEntry struct {
	id uint64
	fn func(Transition)
}

// hookList returns the hooks, nil if none was ever added.
func (b *Breaker[T]) hookList() []hookEntry {
	if p := b.hooks.Load(); p != nil {
		return *p
	}
	return nil
}

// unlockAndDeliver releases b.mu and then, unless another goroutine is
// already at it, delivers the pending transitions on this goroutine.
func (b *Breaker[T]) unlockAndDeliver() {
	if b.dl == nil || len(b.dl.pending) == 0 || b.dl.delivering {
		b.mu.Unlock()
		return
	}
	b.dl.delivering = true
	b.mu.Unlock()
	b.deliver()
}

// deliver runs the hooks for every pending transition, in order, until
// none is left. Only one goroutine delivers at a time (b.dl.delivering).
func (b *Breaker[T]) deliver() {
	var (
		batch []Transition
		hooks []hookEntry // the hooks batch[i] is being delivered to
		i, j  int         // batch[i] is being delivered to hooks[j]
	)
	defer func() {
		// Reached with work left only if hooks[j] called runtime.Goexit.
		// Give the rest back so that the next caller delivers it: batch[i]
		// only to the hooks after the one that exited, then the others to
		// every hook.
		if i < len(batch) {
			b.mu.Lock()
			if j+1 < len(hooks) {
				b.dl.resume = append([]hookEntry(nil), hooks[j+1:]...)
			} else {
				i++
			}
			b.dl.pending = append(batch[i:], b.dl.pending...)
			b.dl.delivering = false
			b.mu.Unlock()
		}
	}()
	for {
		b.mu.Lock()
		batch, i = b.dl.pending, 0
		resume := b.dl.resume
		b.dl.pending, b.dl.resume = nil, nil
		if len(batch) == 0 {
			b.dl.delivering = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		for ; i < len(batch); i++ {
			hooks = b.hookList()
			if i == 0 && resume != nil {
				hooks = resume
			}
			for j = 0; j < len(hooks); j++ {
				b.callHook(hooks[j].fn, batch[i])
			}
		}
	}
}

// callHook runs one hook, recovering a panic so that a broken hook cannot
// break the breaker, the caller whose call delivered the transition, or the
// hooks after it.
func (b *Breaker[T]) callHook(hook func(Transition), t Transition) {
	defer func() {
		if r := recover(); r != nil {
			b.logHookPanic(r)
		}
	}()
	hook(t)
}

// logHookPanic logs a hook's panic. A logger that panics too (the hook
// may have been the logger) is ignored: nothing may escape to the caller.
func (b *Breaker[T]) logHookPanic(r any) {
	defer func() { _ = recover() }()
	l := b.t.logger
	if l == nil {
		l = slog.Default()
	}
	l.Error("circuit: state-change hook panicked",
		slog.String("name", b.name), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
}

// Subscribe adds a hook that receives every transition delivered from now
// on, like WithOnStateChange, and returns a function that removes it. (A
// transition that happened just before Subscribe but is delivered after it
// may be included.) The returned function may be called more than once. A
// nil hook is ignored.
func (b *Breaker[T]) Subscribe(hook func(Transition)) (unsubscribe func()) {
	if hook == nil {
		return func() {}
	}
	b.mu.Lock()
	b.nextHookID++
	id := b.nextHookID
	old := b.hookList()
	hooks := make([]hookEntry, len(old), len(old)+1)
	copy(hooks, old)
	hooks = append(hooks, hookEntry{id: id, fn: hook})
	b.hooks.Store(&hooks)
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		old := b.hookList()
		hooks := make([]hookEntry, 0, len(old))
		for _, h := range old {
			if h.id != id {
				hooks = append(hooks, h)
			}
		}
		b.hooks.Store(&hooks)
	}
}

// logTransition is the hook WithLogger installs. Durations are logged as
// strings with their unit ("1.5s"), whatever the handler.
func logTransition(l *slog.Logger) func(Transition) {
	return func(t Transition) {
		level := slog.LevelInfo
		if t.To == Open || t.To == ForcedOpen {
			level = slog.LevelWarn
		}
		last := ""
		if t.Metrics.LastFailure != nil {
			last = t.Metrics.LastFailure.Error()
		}
		attrs := []slog.Attr{
			slog.String("name", t.Name),
			slog.String("from", t.From.String()),
			slog.String("to", t.To.String()),
			slog.String("reason", t.Reason.String()),
			slog.Int("consecutive_failures", t.Metrics.ConsecutiveFailures),
			slog.Float64("error_rate", t.Metrics.ErrorRate),
			slog.String("p95_latency", t.Metrics.P95Latency.String()),
		}
		if !t.RetryAt.IsZero() {
			attrs = append(attrs, slog.String("retry_at", t.RetryAt.Format(time.RFC3339Nano)),
				slog.String("open_for", t.RetryAt.Sub(t.At).String()))
		}
		attrs = append(attrs, slog.String("last_failure", last))
		l.LogAttrs(context.Background(), level, "circuit breaker state change", attrs...)
	}
}
