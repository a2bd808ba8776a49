package circuit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Group is a set of breakers, one per key (a tenant, an endpoint, a host),
// built on first use from one template, so that one bad key never opens
// the breaker of the others. Create one with NewGroup; the zero value is
// not usable. All methods are safe for concurrent use.
//
// Memory is bounded: a group holds at most MaxBreakers breakers. Closed
// breakers idle for IdleTimeout (no call recorded, none in flight, no
// ramp) may be evicted, least recently active first; a breaker that is
// open, half-open, held open, disabled or ramping is never evicted, since
// forgetting it would send traffic to a failing key at once. When the
// group is full and nothing can be evicted, a new key shares one overflow
// breaker (GroupMetrics.Overflows counts such calls). Eviction is done on
// Get, amortised: no goroutine is started.
//
// With a parent (WithGroupParent), every call through Execute also passes
// through the parent breaker, which sees the outcomes of every key: a
// whole dependency going down opens the parent, one bad key opens only its
// own breaker. A key's rejection is not judged by the parent: it ends the
// parent's call as Ignored, never a failure nor a success, and the caller
// gets the key's *OpenError.
type Group[K comparable, T any] struct {
	t      *template[T] // shared by every breaker of the group
	name   func(K) string
	max    int
	idle   time.Duration
	parent *Breaker[T]
	clock  Clock
	// overName is the overflow breaker's name.
	overName string

	m     sync.Map     // K -> *Breaker[T]
	count atomic.Int64 // breakers in m

	mu        sync.Mutex // guards the fields below, and serialises sweeps
	overflow  *Breaker[T]
	lastSweep time.Time // when idle breakers were last swept out

	evictions atomic.Uint64
	overflows atomic.Uint64
}

// GroupOption configures a Group in NewGroup.
type GroupOption interface {
	applyGroup(*groupSettings)
}

type groupSettings struct {
	template []Option
	overName string
	name     any // func(K) string
	max      int
	idle     time.Duration
	parent   any // *Breaker[T]
	errs     []error
}

type groupOptionFunc func(*groupSettings)

func (f groupOptionFunc) applyGroup(s *groupSettings) { f(s) }

// Group defaults.
const (
	// DefaultMaxBreakers is a group's MaxBreakers unless set.
	DefaultMaxBreakers = 10000
	// DefaultIdleTimeout is a group's IdleTimeout unless set.
	DefaultIdleTimeout = 10 * time.Minute
)

// WithBreakerOptions sets the options every breaker of the group is built
// with (its name is set by the group; see WithKeyName).
func WithBreakerOptions(opts ...Option) GroupOption {
	return groupOptionFunc(func(s *groupSettings) { s.template = append(s.template, opts...) })
}

// WithKeyName sets how a key becomes its breaker's name. The default is
// fmt.Sprint(key). K must be the group's key type, or NewGroup returns an
// error naming both types.
func WithKeyName[K comparable](name func(K) string) GroupOption {
	return groupOptionFunc(func(s *groupSettings) { s.name = name })
}

// WithOverflowName sets the name of the group's overflow breaker, the one
// that keys finding no room share; "overflow" unless set. Give each group a
// different one when several are exported or registered together.
func WithOverflowName(name string) GroupOption {
	return groupOptionFunc(func(s *groupSettings) { s.overName = name })
}

// WithMaxBreakers sets how many breakers the group holds at most (the
// overflow breaker aside). At least 1; DefaultMaxBreakers unless set.
func WithMaxBreakers(n int) GroupOption { return groupOptionFunc(func(s *groupSettings) { s.max = n }) }

// WithIdleTimeout sets how long a closed breaker must have seen no call
// before it may be evicted. Positive; DefaultIdleTimeout unless set.
func WithIdleTimeout(d time.Duration) GroupOption {
	return groupOptionFunc(func(s *groupSettings) { s.idle = d })
}

// WithGroupParent makes every call through Group.Execute also pass through
// parent, which then sees the outcomes of every key. Its T must be the
// group's T.
func WithGroupParent[T any](parent *Breaker[T]) GroupOption {
	return groupOptionFunc(func(s *groupSettings) { s.parent = parent })
}

// NewGroup returns an empty group. Invalid options (MaxBreakers below 1, a
// non-positive IdleTimeout, a key name function or parent of another type,
// a template that New refuses) are reported, all of them, as one error
// wrapping ErrInvalidConfig.
func NewGroup[K comparable, T any](opts ...GroupOption) (*Group[K, T], error) {
	s := groupSettings{max: DefaultMaxBreakers, idle: DefaultIdleTimeout, overName: "overflow"}
	for _, o := range opts {
		if o != nil {
			o.applyGroup(&s)
		}
	}
	errs := s.errs
	if s.max < 1 {
		errs = append(errs, &ConfigError{Field: "MaxBreakers", Value: s.max, Rule: "must be at least 1"})
	}
	if s.idle <= 0 {
		errs = append(errs, &ConfigError{Field: "IdleTimeout", Value: s.idle, Rule: "must be positive"})
	}
	name, err := assertFunc[K, func(K) string](s.name, "KeyName", "func(%s) string")
	if err != nil {
		errs = append(errs, err)
	}
	var parent *Breaker[T]
	if s.parent != nil {
		p, ok := s.parent.(*Breaker[T])
		if !ok || p == nil {
			errs = append(errs, &ConfigError{Field: "Parent", Value: fmt.Sprintf("%T", s.parent),
				Rule: "must be a non-nil *circuit.Breaker[" + typeName[T]() + "]"})
		}
		parent = p
	}
	// The template must build a breaker: validated once, here, and shared.
	probe, err := New[T](s.template...)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if name == nil {
		name = func(k K) string { return fmt.Sprint(k) }
	}
	return &Group[K, T]{t: probe.t, name: name, max: s.max, idle: s.idle, parent: parent, clock: probe.t.clock, overName: s.overName}, nil
}

// Get returns key's breaker, building it on first use. When the group is
// full and no breaker can be evicted, it returns the group's overflow
// breaker, shared by every such key.
func (g *Group[K, T]) Get(key K) *Breaker[T] {
	if b, ok := g.m.Load(key); ok {
		return b.(*Breaker[T])
	}
	return g.create(key)
}

// create builds key's breaker, outside any lock (the name function is
// user code), and stores it unless another goroutine did first.
func (g *Group[K, T]) create(key K) *Breaker[T] {
	g.sweepIdle()
	if g.count.Load() >= int64(g.max) && !g.makeRoom() {
		g.overflows.Add(1)
		return g.overflowBreaker()
	}
	b := g.t.newBreaker(g.name(key))
	if prev, loaded := g.m.LoadOrStore(key, b); loaded {
		return prev.(*Breaker[T])
	}
	g.count.Add(1)
	return b
}

// overflowBreaker returns the shared breaker of keys that found no room.
func (g *Group[K, T]) overflowBreaker() *Breaker[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.overflow == nil {
		g.overflow = g.t.newBreaker(g.overName)
	}
	return g.overflow
}

// sweepIdle evicts every evictable breaker, at most once per IdleTimeout,
// so that the group shrinks back when keys go quiet even below the bound.
// A new key pays for it: O(n) once per IdleTimeout.
func (g *Group[K, T]) sweepIdle() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	if g.lastSweep.IsZero() {
		g.lastSweep = now
		return
	}
	if now.Sub(g.lastSweep) < g.idle {
		return
	}
	g.lastSweep = now
	g.m.Range(func(k, v any) bool {
		b := v.(*Breaker[T])
		if _, ok := b.evictable(g.idle); ok && g.m.CompareAndDelete(k, b) {
			g.count.Add(-1)
			g.evictions.Add(1)
		}
		return true
	})
}

// makeRoom evicts closed idle breakers, least recently active first, down
// to nine tenths of the bound, and reports whether there is room for one
// more. One sweep pays for a tenth of the bound's insertions.
func (g *Group[K, T]) makeRoom() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.count.Load() < int64(g.max) {
		return true // another goroutine made room
	}
	type victim struct {
		key  K
		b    *Breaker[T]
		last time.Duration
	}
	var victims []victim
	g.m.Range(func(k, v any) bool {
		b := v.(*Breaker[T])
		if last, ok := b.evictable(g.idle); ok {
			victims = append(victims, victim{k.(K), b, last})
		}
		return true
	})
	sort.Slice(victims, func(i, j int) bool { return victims[i].last < victims[j].last })
	target := int64(g.max) - int64(g.max)/10 - 1
	for _, v := range victims {
		if g.count.Load() <= target {
			break
		}
		if g.m.CompareAndDelete(v.key, v.b) {
			g.count.Add(-1)
			g.evictions.Add(1)
		}
	}
	return g.count.Load() < int64(g.max)
}

// evictable reports whether b is closed with no ramp, nothing in flight,
// and no call recorded for idle, and if so when it was last active.
func (b *Breaker[T]) evictable(idle time.Duration) (last time.Duration, ok bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.period.Load()
	if p.state != Closed || p.until != 0 || b.admitted.Load() != b.finished {
		return 0, false
	}
	return b.lastCall, now-b.lastCall >= idle
}

// Execute runs fn through key's breaker (and the parent's, if any), like
// Breaker.Execute.
func (g *Group[K, T]) Execute(ctx context.Context, key K, fn func(context.Context) (T, error)) (T, error) {
	b := g.Get(key)
	if g.parent == nil {
		return b.Execute(ctx, fn)
	}
	var keyErr error
	v, err := g.parent.Execute(ctx, func(ctx context.Context) (T, error) {
		v, err := b.Execute(ctx, fn)
		if errors.Is(err, ErrOpen) {
			// The key's rejection says nothing about the dependency: end
			// the parent's call as Ignored (an error matching
			// context.Canceled always is), and answer with the rejection.
			keyErr = err
			return v, errKeyRejected
		}
		return v, err
	})
	if keyErr != nil {
		return v, keyErr
	}
	return v, err
}

// GroupMetrics is a snapshot of a group as a whole.
type GroupMetrics struct {
	Breakers  int    // breakers held, the overflow breaker aside
	NotClosed int    // of which open, half-open, held open or disabled
	Evictions uint64 // breakers evicted since the group was built
	Overflows uint64 // Gets that found no room and returned the overflow breaker
}

// Metrics returns a snapshot of the group. It visits every breaker: O(n).
func (g *Group[K, T]) Metrics() GroupMetrics {
	m := GroupMetrics{Evictions: g.evictions.Load(), Overflows: g.overflows.Load()}
	g.m.Range(func(_, v any) bool {
		m.Breakers++
		if v.(*Breaker[T]).State() != Closed {
			m.NotClosed++
		}
		return true
	})
	return m
}

// Breakers returns the group's breakers that are not closed, and the
// overflow breaker if it exists: what an exporter or a status page should
// show of a group of a million keys, most of which are closed. It
// satisfies the exporters' Source interface.
func (g *Group[K, T]) Breakers() []View {
	var out []View
	g.m.Range(func(_, v any) bool {
		if b := v.(*Breaker[T]); b.State() != Closed {
			out = append(out, b)
		}
		return true
	})
	g.mu.Lock()
	if g.overflow != nil {
		out = append(out, g.overflow)
	}
	g.mu.Unlock()
	return out
}

// errKeyRejected ends a parent's call whose key rejected it: it matches
// context.Canceled, so the parent ignores the call.
var errKeyRejected = fmt.Errorf("circuit: the key's breaker rejected the call: %w", context.Canceled)
