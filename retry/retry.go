// Package retry calls a function again when it fails, waiting longer each
// time (exponential, linear or fixed backoff with jitter), and knows when
// not to: it never retries a circuit breaker's rejection (circuit.ErrOpen)
// or context.Canceled, it stops as soon as the context ends, and an
// optional shared Budget caps retries at a share of first attempts so a
// fleet of clients cannot multiply the load on a failing dependency.
//
// The call shape is the module's: build a value once with New(opts...),
// which returns an error naming every invalid option, then run functions
// through it with Execute(ctx, fn), as with circuit.New and
// Breaker.Execute:
//
//	p, err := retry.New[Quote](retry.WithMaxAttempts(4))
//	...
//	q, err := p.Execute(ctx, func(ctx context.Context) (Quote, error) {
//		return breaker.Execute(ctx, fetchQuote)
//	})
//
// Do is the one shortcut, for a call made once: it builds the Policy and
// executes fn in one step.
//
// Put retry outermost, around a bulkhead and a breaker: see
// docs/composition.md.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/breakerlab/circuit"
)

// Policy runs functions with retries: a validated set of options, built
// once with New and shared by any number of calls to Execute, like a
// breaker. T is the result type of the functions it runs. It is immutable
// and safe for concurrent use; the zero value is not usable.
type Policy[T any] struct {
	s     settings
	clock Clock

	randMu sync.Mutex // guards s.rand, which is not safe for concurrent use
}

// New returns a Policy with the defaults (3 attempts, exponential backoff
// from 100ms, at most 60s, +-10% jitter, every error but a rejection or
// cancellation retried) changed by opts. If a value is invalid it returns
// nil and an error that matches ErrInvalidConfig and holds one
// *circuit.ConfigError per bad field.
func New[T any](opts ...Option) (*Policy[T], error) {
	s := defaults()
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	p := &Policy[T]{s: s, clock: s.clock}
	if p.clock == nil {
		p.clock = realClock{}
	}
	return p, nil
}

// MaxAttempts returns the most times a call under p runs fn.
func (p *Policy[T]) MaxAttempts() int { return p.s.maxAttempts }

// Delay returns the wait before retry number retry (1 for the first
// retry, which follows the first attempt): the strategy's delay capped at
// the max delay, with jitter applied, never negative and never above the
// max delay. A retry below 1 is treated as 1. With jitter, each call draws
// a new value, uniformly over the jitter range cut at the max delay, so
// that delays at the cap stay spread out instead of piling up on it.
func (p *Policy[T]) Delay(retry int) time.Duration {
	d := p.baseDelay(retry)
	switch {
	case d <= 0:
		return 0
	case p.s.fullJitter:
		d = time.Duration(p.float64() * float64(d))
	case p.s.jitter > 0:
		lo := float64(d) * (1 - p.s.jitter)
		hi := min(float64(d)*(1+p.s.jitter), float64(p.s.maxDelay))
		d = time.Duration(lo + p.float64()*(hi-lo))
	}
	return min(max(d, 0), p.s.maxDelay)
}

// baseDelay is the strategy's delay before jitter, capped at the max delay
// without overflowing.
func (p *Policy[T]) baseDelay(retry int) time.Duration {
	retry = max(retry, 1)
	base, limit := p.s.baseDelay, p.s.maxDelay
	if base <= 0 || limit <= 0 {
		return 0
	}
	if base >= limit {
		return limit
	}
	switch p.s.backoff {
	case Exponential:
		shift := retry - 1
		if shift >= 62 || base > limit>>shift {
			return limit
		}
		return min(base<<shift, limit)
	case Linear:
		if time.Duration(retry) > limit/base {
			return limit
		}
		return min(base*time.Duration(retry), limit)
	}
	return base
}

// float64 draws from [0, 1).
func (p *Policy[T]) float64() float64 {
	if p.s.rand == nil {
		return rand.Float64()
	}
	p.randMu.Lock()
	defer p.randMu.Unlock()
	return p.s.rand.Float64()
}

// Do calls fn until it succeeds or retrying stops, with the options opts
// (see New for the defaults), and returns fn's result. It is New then
// Execute, for a call made once; a Policy built once and shared costs
// less per call. Invalid options return New's error without calling fn.
func Do[T any](ctx context.Context, fn func(context.Context) (T, error), opts ...Option) (T, error) {
	p, err := New[T](opts...)
	if err != nil {
		var zero T
		return zero, err
	}
	return p.Execute(ctx, fn)
}

// Execute calls fn until it succeeds or p says to stop, waiting p.Delay
// between attempts on p's clock, and returns fn's result.
//
// A success returns fn's value and a nil error. Otherwise the error is an
// *Error that says how many attempts were made and why they stopped, and
// unwraps to the last attempt's error. Retrying stops, in this order of
// precedence, when the error matches circuit.ErrOpen (a breaker rejection:
// returned at once, never retried) or context.Canceled; when ctx is done;
// when the WithRetryIf predicate refuses the error; when the attempts are
// used up; or when the Budget refuses (ErrBudgetExhausted is then
// reachable with errors.Is). A ctx that ends during a backoff stops the
// wait at once; the timer is stopped and no goroutine is left behind.
//
// A nil ctx, p or fn returns ErrNilContext, ErrNilPolicy or ErrNilFunc
// without calling fn. A ctx already done returns an *Error with 0
// attempts. A panic in fn is not recovered. When the first attempt
// succeeds, Execute allocates nothing.
func (p *Policy[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	switch {
	case ctx == nil:
		return zero, ErrNilContext
	case p == nil:
		return zero, ErrNilPolicy
	case fn == nil:
		return zero, ErrNilFunc
	}
	if err := ctx.Err(); err != nil {
		return zero, &Error{Attempts: 0, Err: err, Reason: ReasonContextDone}
	}
	if p.s.budget != nil {
		p.s.budget.RecordAttempt()
	}
	for attempt := 1; ; attempt++ {
		v, err := fn(ctx)
		if err == nil {
			return v, nil
		}
		if e := p.stop(ctx, attempt, err); e != nil {
			return zero, e
		}
		// The budget is checked before the backoff, so that a spent
		// budget fails at once, and refunded if the context ends during
		// the backoff and the retry never happens.
		var spent int64
		if p.s.budget != nil {
			var ok bool
			if spent, ok = p.s.budget.spend(); !ok {
				return zero, &Error{Attempts: attempt, Err: err, Reason: ReasonBudgetExhausted, Cause: ErrBudgetExhausted}
			}
		}
		if e := p.wait(ctx, attempt, err); e != nil {
			if p.s.budget != nil {
				p.s.budget.refund(spent)
			}
			return zero, e
		}
	}
}

// stop decides whether attempt, which failed with err, is the last one.
// It allocates the returned error only when it stops.
func (p *Policy[T]) stop(ctx context.Context, attempt int, err error) *Error {
	var reason Reason
	var cause error
	switch {
	case errors.Is(err, circuit.ErrOpen):
		reason = ReasonBreakerOpen
	case errors.Is(err, context.Canceled):
		reason = ReasonCanceled
	case ctx.Err() != nil:
		reason, cause = ReasonContextDone, ctx.Err()
	case p.s.retryIf != nil && !p.s.retryIf(err):
		reason = ReasonNotRetryable
	case attempt >= p.s.maxAttempts:
		reason = ReasonMaxAttempts
	default:
		return nil
	}
	return &Error{Attempts: attempt, Err: err, Reason: reason, Cause: cause}
}

// wait sleeps for the delay before the retry that follows attempt, or
// until ctx ends. The timer (a context with the delay as its timeout, the
// one timer a Clock offers) starts before the OnRetry hook runs, so that a
// hook that advances a mock clock wakes the wait.
func (p *Policy[T]) wait(ctx context.Context, attempt int, err error) *Error {
	d := p.Delay(attempt)
	if d <= 0 {
		if p.s.onRetry != nil {
			p.s.onRetry(attempt, err, 0)
		}
	} else {
		timer, stop := p.clock.WithTimeout(ctx, d)
		defer stop()
		if p.s.onRetry != nil {
			p.s.onRetry(attempt, err, d)
		}
		<-timer.Done()
	}
	// timer ends for both reasons; only ctx says which it was.
	if cerr := ctx.Err(); cerr != nil {
		return &Error{Attempts: attempt, Err: err, Reason: ReasonContextDone, Cause: cerr}
	}
	return nil
}
