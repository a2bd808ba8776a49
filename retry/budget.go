package retry

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/breakerlab/circuit"
)

// budgetBuckets is how many buckets a Budget's window is cut into: counts
// expire one bucket (a tenth of the window) at a time.
const budgetBuckets = 10

// MinBudgetWindow is the shortest window NewBudget accepts.
const MinBudgetWindow = time.Millisecond

// Budget caps retries at a share of recent first attempts, so that when a
// dependency fails, a fleet of clients retrying it adds at most that share
// of load instead of multiplying it by the number of attempts. Share one
// Budget among every call to the same dependency (WithBudget).
//
// Over the last window, it allows ratio*F + minPerSecond*W retries, where
// F is the number of first attempts recorded and W the window in seconds;
// the minimum lets a quiet client still retry now and then. Counts are kept
// in ten buckets and expire a tenth of the window at a time, so "the last
// window" is between 0.9 and 1 window long.
//
// A Budget is safe for concurrent use. The zero value is not usable;
// create one with NewBudget.
type Budget struct {
	ratio        float64
	minPerSecond float64
	window       time.Duration
	step         time.Duration // window / budgetBuckets
	clock        Clock
	epoch        time.Time

	mu       sync.Mutex // guards the fields below
	head     int64      // the current bucket, in steps since epoch
	firsts   [budgetBuckets]uint64
	retries  [budgetBuckets]uint64
	sumFirst uint64 // sum of firsts
	sumRetry uint64 // sum of retries
}

// BudgetOption configures a Budget in NewBudget. The one there is is
// WithClock; a nil BudgetOption is ignored.
type BudgetOption interface {
	applyBudget(*budgetSettings)
}

type budgetSettings struct {
	clock Clock
}

// NewBudget returns a Budget that allows ratio retries per first attempt
// (0.2 for 20%) plus minPerSecond retries per second, over a sliding
// window, read on the clock of WithClock (the real clock by default). A
// negative, infinite or NaN ratio or minimum, or a window shorter than
// MinBudgetWindow, returns nil and an error that matches ErrInvalidConfig
// and holds a *circuit.ConfigError for each bad field (Ratio,
// MinPerSecond, Window).
func NewBudget(ratio, minPerSecond float64, window time.Duration, opts ...BudgetOption) (*Budget, error) {
	var s budgetSettings
	for _, o := range opts {
		if o != nil {
			o.applyBudget(&s)
		}
	}
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "retry", Field: field, Value: value, Rule: rule})
	}
	if !(ratio >= 0) || math.IsInf(ratio, 1) {
		bad("Ratio", ratio, "must be a finite number >= 0")
	}
	if !(minPerSecond >= 0) || math.IsInf(minPerSecond, 1) {
		bad("MinPerSecond", minPerSecond, "must be a finite number >= 0")
	}
	if window < MinBudgetWindow {
		bad("Window", window, fmt.Sprintf("must be at least %v", MinBudgetWindow))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	clk := s.clock
	if clk == nil {
		clk = realClock{}
	}
	return &Budget{
		ratio:        ratio,
		minPerSecond: minPerSecond,
		window:       window,
		step:         window / budgetBuckets,
		clock:        clk,
		epoch:        clk.Now(),
	}, nil
}

// RecordAttempt records a first attempt (not a retry) made now. A
// Policy's Execute calls it once per call.
func (b *Budget) RecordAttempt() {
	b.mu.Lock()
	i := b.advance(b.clock.Now())
	b.firsts[i]++
	b.sumFirst++
	b.mu.Unlock()
}

// TryRetry spends one retry and reports true if the window's allowance
// (ratio*first attempts + minPerSecond*window seconds) is not used up, and
// reports false, spending nothing, if it is.
func (b *Budget) TryRetry() bool {
	_, ok := b.spend()
	return ok
}

// spend is TryRetry that also returns the bucket the retry was booked in,
// for refund.
func (b *Budget) spend() (bucket int64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.advance(b.clock.Now())
	if float64(b.sumRetry+1) > b.allowance() {
		return 0, false
	}
	b.retries[i]++
	b.sumRetry++
	return b.head, true
}

// refund gives back a retry spent in bucket that did not happen. A retry
// whose bucket has already left the window needs no refund.
func (b *Budget) refund(bucket int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.clock.Now())
	if b.head-bucket >= budgetBuckets {
		return
	}
	if i := bucket % budgetBuckets; b.retries[i] > 0 {
		b.retries[i]--
		b.sumRetry--
	}
}

// BudgetMetrics is a snapshot of a Budget's window.
type BudgetMetrics struct {
	FirstAttempts uint64  // first attempts recorded in the window
	Retries       uint64  // retries spent in the window
	Allowance     float64 // retries the window allows: ratio*FirstAttempts + minPerSecond*window seconds
}

// Metrics returns the counts of the current window, taken under one lock
// so that they agree with one another.
func (b *Budget) Metrics() BudgetMetrics {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.clock.Now())
	return BudgetMetrics{FirstAttempts: b.sumFirst, Retries: b.sumRetry, Allowance: b.allowance()}
}

// allowance requires b.mu.
func (b *Budget) allowance() float64 {
	return b.ratio*float64(b.sumFirst) + b.minPerSecond*b.window.Seconds()
}

// advance moves the window to now, expiring buckets that fell out of it,
// and returns the index of the current bucket. A clock that goes back
// keeps the current bucket. It requires b.mu.
func (b *Budget) advance(now time.Time) int {
	idx := int64(now.Sub(b.epoch) / b.step)
	if idx > b.head {
		if idx-b.head >= budgetBuckets {
			b.firsts, b.retries = [budgetBuckets]uint64{}, [budgetBuckets]uint64{}
			b.sumFirst, b.sumRetry = 0, 0
		} else {
			for h := b.head + 1; h <= idx; h++ {
				i := h % budgetBuckets
				b.sumFirst -= b.firsts[i]
				b.sumRetry -= b.retries[i]
				b.firsts[i], b.retries[i] = 0, 0
			}
		}
		b.head = idx
	}
	return int(b.head % budgetBuckets)
}
