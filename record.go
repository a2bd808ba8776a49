package circuit

import (
	"context"
	"errors"
	"time"
)

// finish classifies a returned call and records its outcome.
func (b *Breaker[T]) finish(tk ticket, start time.Duration, result T, err error) {
	end := b.now()
	kind := Success
	if err != nil || b.t.classifier != nil {
		kind = b.classify(tk, start, result, err)
	}
	if kind == Failure && err == nil {
		err = ErrResultFailed
	}
	// A call that outlived its CallTimeout failed, whatever it returned;
	// only the caller's own cancellation stays unjudged. record judges it
	// under the lock, by the Config that judges the rest of the outcome;
	// errors.Is may call the error's own Is method, so it runs here.
	timeoutApplies := kind != Failure && (err == nil || !errors.Is(err, context.Canceled))
	b.record(tk, start, end, kind, err, timeoutApplies)
}

// classify decides how a returned call counts. It runs outside the lock,
// since the classifier is user code; a classifier that panics is treated
// like a panicking call (see abort), so the call is still booked and its
// probe slot released.
func (b *Breaker[T]) classify(tk ticket, start time.Duration, result T, err error) Outcome {
	if err != nil && errors.Is(err, context.Canceled) {
		return Ignored
	}
	if b.t.classifier == nil {
		if err == nil {
			return Success
		}
		return Failure
	}
	returned := false
	defer func() {
		if !returned {
			b.abort(tk, start, recover())
		}
	}()
	o := b.t.classifier(result, err)
	returned = true
	switch o {
	case Success, Ignored:
		return o
	}
	return Failure
}

// abort records a call that did not return normally: r is the value of a
// panic, which is recorded as a failure and re-raised, or nil for
// runtime.Goexit, which is recorded as Ignored (the call neither failed nor
// succeeded). Either way a probe slot is released at once.
func (b *Breaker[T]) abort(tk ticket, start time.Duration, r any) {
	if r == nil {
		b.record(tk, start, b.now(), Ignored, nil, false)
		return
	}
	b.record(tk, start, b.now(), Failure, &PanicError{Value: r}, false)
	panic(r)
}

// record books the outcome of a call admitted with tk, which started at
// start and ended at end; timeoutApplies says that the outcome is a
// Failure if the call took at least the CallTimeout in force.
func (b *Breaker[T]) record(tk ticket, start, end time.Duration, kind Outcome, err error, timeoutApplies bool) {
	b.mu.Lock()
	kind, err = b.recordLocked(tk, start, end, kind, err, timeoutApplies)
	b.unlockAndDeliver()
	if obs := b.observers.Load(); obs != nil {
		b.observeRecorded(*obs, start, end, kind, err)
	}
}

// recordLocked books the outcome of a call admitted with tk, as
// record describes, and returns the outcome and error booked: a
// Failure with context.DeadlineExceeded if the CallTimeout judged it. It
// requires b.mu. record and Replay share it, so that a replayed
// outcome is booked by the very rules of a real one.
func (b *Breaker[T]) recordLocked(tk ticket, start, end time.Duration, kind Outcome, err error, timeoutApplies bool) (Outcome, error) {
	lat := max(end-start, 0)
	if c := b.cfg.CallTimeout; timeoutApplies && c > 0 && lat >= c {
		kind = Failure
		if err == nil {
			err = context.DeadlineExceeded
		}
	}
	if b.slow != nil {
		b.slow.finish(tk.seq) // first: a call that has ended is not in flight
	}
	now := b.advance(end)
	b.finished++
	b.lastCall = now
	if c := b.cfg.LatencyThreshold; c > 0 && lat >= c && kind != Ignored {
		b.slowCalls++
	}
	switch kind {
	case Success:
		b.successes++
		b.lastSuccAt = now
	case Failure:
		b.failures++
		b.lastFailure = err
		b.lastFailAt = now
	default:
		b.ignored++
	}
	if p := b.period.Load(); tk.gen == p.gen {
		if tk.slot >= 0 {
			b.probes.release(tk.slot)
		}
		if kind != Ignored {
			switch p.state {
			case Closed:
				b.recordClosed(now, lat, kind == Failure)
			case Disabled:
				b.count(now, lat, kind == Failure)
			case HalfOpen:
				b.recordProbe(now, lat, kind == Failure)
			}
		}
	}
	return kind, err
}

// count adds an outcome to the window and the consecutive counts. It
// requires b.mu.
func (b *Breaker[T]) count(now, lat time.Duration, failed bool) {
	if b.win == nil {
		b.win = newWindow(b.cfg.WindowSize, b.cfg.WindowDuration, b.cfg.LatencyThreshold)
	}
	b.win.add(now, lat, failed)
	if failed {
		b.consecFail++
		b.consecSucc = 0
	} else {
		b.consecSucc++
		b.consecFail = 0
	}
}

// recordClosed counts an outcome and trips the breaker if a criterion
// holds. It requires b.mu.
func (b *Breaker[T]) recordClosed(now, lat time.Duration, failed bool) {
	b.count(now, lat, failed)
	c := b.cfg
	enough := b.win.n >= c.MinRequests
	switch {
	case c.ConsecutiveFailures > 0 && b.consecFail >= c.ConsecutiveFailures:
		b.setState(Open, now, ReasonConsecutiveFailures)
	case c.ErrorRateThreshold > 0 && enough && b.win.errorRate() >= c.ErrorRateThreshold:
		b.setState(Open, now, ReasonErrorRate)
	case c.LatencyThreshold > 0 && enough && b.win.percentileAtLeast(c.LatencyPercentile):
		b.setState(Open, now, ReasonLatency)
	}
}

// recordProbe books the outcome of a probe. It requires b.mu.
func (b *Breaker[T]) recordProbe(now, lat time.Duration, failed bool) {
	switch {
	case failed:
		b.setState(Open, now, ReasonProbeFailed)
	case b.cfg.LatencyThreshold > 0 && lat >= b.cfg.LatencyThreshold:
		b.setState(Open, now, ReasonLatency)
	default:
		b.consecSucc++
		if b.consecSucc >= b.cfg.SuccessThreshold {
			b.setState(Closed, now, ReasonProbesSucceeded)
		}
	}
}
