package tune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/breakerlab/circuit"
)

// Split is the classic A/B test: it routes each call to one of two
// breakers over the same dependency, the second with the candidate
// configuration, and reports on both like Attach reports on a live
// breaker. Create one with NewSplit; the zero value is not usable. All
// methods are safe for concurrent use.
//
// Shadows (Attach) are usually the better tool: with a Split, real users
// meet the candidate's mistakes, each arm judges only its share of the
// traffic (so smaller samples, and incidents that differ between arms),
// and every rejection's outcome is unknown in both arms, so the cost of a
// configuration can only be bounded; docs/tuning.md has the details.
type Split[T any] struct {
	a, b     *circuit.Breaker[T]
	fraction float64
	counter  bool
	n        atomic.Uint64 // calls routed, for counter routing
	wa, wb   *Shadows      // each arm's reports, as a live breaker without candidates
}

// NewSplit returns a Split that routes fraction of the calls to b and the
// rest to a: at random, or, with WithCounterRouting, by a counter. It
// returns an error wrapping ErrInvalidConfig, with one
// *circuit.ConfigError (Pkg "tune") per problem, if a or b is nil, they
// are the same breaker or have the same name, fraction is not in the open
// interval (0, 1), or an option is invalid.
//
// The reports count every call of a and b from now on, including calls
// made through them directly rather than through the Split.
func NewSplit[T any](a, b *circuit.Breaker[T], fraction float64, opts ...Option) (*Split[T], error) {
	s := newSettings(opts)
	errs := []error{s.validate()}
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "tune", Field: field, Value: value, Rule: rule})
	}
	switch {
	case a == nil:
		bad("A", "nil", "must not be nil")
	case b == nil:
		bad("B", "nil", "must not be nil")
	case a == b:
		bad("B", b.Name(), "must be another breaker than A")
	case a.Name() == b.Name():
		bad("B", b.Name(), "must have another name than A, so that the reports can be told apart")
	}
	if math.IsNaN(fraction) || fraction <= 0 || fraction >= 1 {
		bad("Fraction", fraction, "must be in the open interval (0, 1): an arm with no calls has nothing to report")
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return &Split[T]{
		a: a, b: b, fraction: fraction, counter: s.counterRouting,
		wa: attach(a, nil, s),
		wb: attach(b, nil, s),
	}, nil
}

// Execute routes the call to one arm and returns that breaker's
// Execute(ctx, fn): its result, its error, its rejection.
func (s *Split[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	if s.toB() {
		return s.b.Execute(ctx, fn)
	}
	return s.a.Execute(ctx, fn)
}

// toB decides whether the next call goes to the second arm.
func (s *Split[T]) toB() bool {
	if !s.counter {
		return rand.Float64() < s.fraction
	}
	// Call i (from 1) goes to b when it carries the count of b's calls,
	// floor(i*fraction), past a whole number.
	i := s.n.Add(1)
	return math.Floor(float64(i)*s.fraction) > math.Floor(float64(i-1)*s.fraction)
}

// Reports returns the report of the first arm, then of the second, whose
// Verdict compares it with the first per call, since the arms see
// different numbers of calls.
func (s *Split[T]) Reports() []Report {
	ra := s.wa.Reports()[0]
	rb := s.wb.Reports()[0]
	ra.Verdict = fmt.Sprintf("%s: the first arm, the baseline (cost per call %s)", ra.Name, costRange(ra, &s.wa.set))
	rb.Verdict = splitVerdict(rb, ra, &s.wb.set)
	return []Report{ra, rb}
}

// Detach stops both reports, like Shadows.Detach; Execute goes on
// routing. It may be called more than once.
func (s *Split[T]) Detach() {
	s.wa.Detach()
	s.wb.Detach()
}

// costBounds returns the cost per call of an arm if every call it rejected
// would have failed (lo) and if every one would have succeeded (hi): in an
// A/B test the outcome of a rejection is unknown.
func costBounds(r Report, w *settings) (lo, hi float64) {
	if r.Calls == 0 {
		return 0, 0
	}
	n := float64(r.Calls)
	lo = w.failureLetThroughCost * float64(r.FailuresLetThrough) / n
	return lo, lo + w.goodRejectedCost*float64(r.RejectedUnknown)/n
}

func costRange(r Report, w *settings) string {
	lo, hi := costBounds(r, w)
	return fmt.Sprintf("%.4f to %.4f", lo, hi)
}

// splitVerdict compares arm b with arm a, per call.
func splitVerdict(b, a Report, w *settings) string {
	if a.Calls == 0 || b.Calls == 0 {
		return b.Name + ": no verdict yet: an arm has had no calls"
	}
	per := func(n uint64, r Report) float64 { return float64(n) / float64(r.Calls) }
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %.2f opens per 1000 calls vs %.2f, %.1f%% of calls rejected vs %.1f%%, %.1f%% failures let through vs %.1f%%: ",
		b.Name, 1000*per(uint64(b.Opens), b), 1000*per(uint64(a.Opens), a),
		100*per(b.RejectedUnknown, b), 100*per(a.RejectedUnknown, a),
		100*per(b.FailuresLetThrough, b), 100*per(a.FailuresLetThrough, a))
	blo, bhi := costBounds(b, w)
	alo, ahi := costBounds(a, w)
	switch {
	case bhi < alo:
		sb.WriteString("better")
	case blo > ahi:
		sb.WriteString("worse")
	default:
		sb.WriteString("inconclusive")
	}
	fmt.Fprintf(&sb, " (cost per call %s vs %s: the outcomes of rejected calls are unknown)", costRange(b, w), costRange(a, w))
	return sb.String()
}
