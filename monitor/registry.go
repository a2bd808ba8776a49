package monitor

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/breakerlab/circuit"
)

// Errors returned by the registry and the monitor. Each returned error
// wraps one of these and names the breaker it concerns.
var (
	// ErrDuplicateName: Register was given a breaker whose name is taken.
	ErrDuplicateName = errors.New("monitor: duplicate breaker name")
	// ErrInvalidView: Register was given a nil view or one with an empty name.
	ErrInvalidView = errors.New("monitor: invalid breaker")
	// ErrUnknownBreaker: Report was asked about a breaker the monitor has
	// no history for.
	ErrUnknownBreaker = errors.New("monitor: unknown breaker")
)

// Registry holds breakers of any result type by name, so that a monitor,
// a status page or an exporter can see all of them.
//
// A Registry is safe for concurrent use by multiple goroutines. The zero
// value is an empty registry ready to use; a Registry must not be copied
// after first use. It never calls a breaker while holding its lock.
type Registry struct {
	mu      sync.RWMutex     // guards entries, groups (and their keys) and nextID
	entries map[string]entry // by name
	groups  map[string]*groupEntry
	nextID  uint64
}

// entry is a registered view. id tells apart two registrations under the
// same name, so the monitor notices a breaker replaced between checks.
type entry struct {
	view circuit.View
	id   uint64
}

// NewRegistry returns an empty registry. It is the same as new(Registry).
func NewRegistry() *Registry { return new(Registry) }

// Register adds v under v.Name(). It returns an error wrapping
// ErrDuplicateName if a breaker of that name is already registered, and
// one wrapping ErrInvalidView if v is nil (or a nil pointer) or its name is
// empty; the registry is then unchanged.
func (r *Registry) Register(v circuit.View) error {
	if isNil(v) {
		return fmt.Errorf("%w: nil view", ErrInvalidView)
	}
	name := v.Name()
	if name == "" {
		return fmt.Errorf("%w: empty name (set one with circuit.WithName)", ErrInvalidView)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.entries[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateName, name)
	}
	if r.entries == nil {
		r.entries = make(map[string]entry)
	}
	r.nextID++
	r.entries[name] = entry{view: v, id: r.nextID}
	return nil
}

// isNil reports whether v is nil or holds a nil pointer, map, func or
// similar, any of which would panic on the first method call.
func isNil(v circuit.View) bool { return v == nil || isNilValue(v) }

// isNilValue reports whether the non-nil interface value v holds a nil
// pointer, map, func or similar.
func isNilValue(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Interface, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

// Unregister removes the breaker registered under name and reports
// whether there was one.
func (r *Registry) Unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.entries[name]
	delete(r.entries, name)
	return ok
}

// Get returns the breaker registered under name, or nil and false.
func (r *Registry) Get(name string) (circuit.View, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	return e.view, ok
}

// Len returns the number of registered breakers.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.entries)
}

// Breakers returns the registered breakers sorted by name, then the keys
// of each registered group that are not closed (see RegisterGroup). The
// slice is the caller's; later registrations do not change it.
func (r *Registry) Breakers() []circuit.View {
	es := r.list()
	vs := make([]circuit.View, len(es))
	for i, e := range es {
		vs[i] = e.view
	}
	return vs
}

// Snapshot returns the Metrics of every registered breaker, sorted by
// name, then of each registered group's keys that are not closed. Each snapshot is consistent in itself; they are taken one after
// another, outside the registry's lock.
func (r *Registry) Snapshot() []circuit.Metrics {
	es := r.list()
	ms := make([]circuit.Metrics, len(es))
	for i, e := range es {
		ms[i] = e.view.Metrics()
	}
	return ms
}

// named is an entry with its name, and the group that listed it ("" for
// a registered breaker).
type named struct {
	entry
	name  string
	group string
}

// list returns the entries sorted by name, then the groups' keys that
// are not closed.
func (r *Registry) list() []named {
	r.mu.RLock()
	es := make([]named, 0, len(r.entries))
	for name, e := range r.entries {
		es = append(es, named{entry: e, name: name})
	}
	r.mu.RUnlock()
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	return r.withGroups(es)
}
