package monitor

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/breakerlab/circuit"
)

// Group is a set of breakers keyed by tenant, endpoint or host, as the
// registry sees it: the breakers worth watching (those that are not
// closed) and its own figures. Every *circuit.Group satisfies it.
type Group interface {
	Breakers() []circuit.View
	Metrics() circuit.GroupMetrics
}

// groupEntry is a registered group and the keys it last listed, by name,
// so that a key listed at two checks in a row is the same registration to
// the monitor.
type groupEntry struct {
	group Group
	keys  map[string]entry // guarded by Registry.mu
}

// RegisterGroup adds g under name. From then on the registry lists, after
// its own breakers, g's breakers that are not closed (what g.Breakers
// returns), so a Monitor checks them and the status page shows them, and
// the page shows g's figures (breakers held, not closed, evictions,
// overflows) in its summary table. A closed key is not listed: a group of
// a million healthy tenants adds one figure, not a million rows.
//
// The cost: every check of a Monitor and every page calls g.Breakers, and
// every page g.Metrics, each of which visits every key of the group.
//
// A key is watched while it is not closed: when it closes it leaves the
// list, and its alerts are cleared ("closed, or evicted"); when it opens
// again the monitor sees a new registration. A key whose name is taken by a registered breaker, or
// by a key of a group registered under an earlier name, is not listed:
// give keys a prefix with circuit.WithKeyName.
//
// It returns an error wrapping ErrDuplicateName if a group is already
// registered under name, and one wrapping ErrInvalidView if g is nil (or a
// nil pointer) or name is empty; the registry is then unchanged.
func (r *Registry) RegisterGroup(name string, g Group) error {
	if g == nil || isNilValue(g) {
		return fmt.Errorf("%w: nil group %q", ErrInvalidView, name)
	}
	if name == "" {
		return fmt.Errorf("%w: empty group name", ErrInvalidView)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.groups[name]; ok {
		return fmt.Errorf("%w: group %q", ErrDuplicateName, name)
	}
	if r.groups == nil {
		r.groups = make(map[string]*groupEntry)
	}
	r.groups[name] = &groupEntry{group: g, keys: map[string]entry{}}
	return nil
}

// UnregisterGroup removes the group registered under name and reports
// whether there was one.
func (r *Registry) UnregisterGroup(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.groups[name]
	delete(r.groups, name)
	return ok
}

// namedGroup is a registered group with its name.
type namedGroup struct {
	*groupEntry
	name string
}

// groupList returns the groups sorted by name.
func (r *Registry) groupList() []namedGroup {
	r.mu.RLock()
	gs := make([]namedGroup, 0, len(r.groups))
	for name, g := range r.groups {
		gs = append(gs, namedGroup{g, name})
	}
	r.mu.RUnlock()
	sort.Slice(gs, func(i, j int) bool { return gs[i].name < gs[j].name })
	return gs
}

// withGroups returns es followed by the keys of every group that are not
// closed, each group's sorted by name, leaving out nil views, empty names
// and names already listed. It calls the groups' Breakers outside the lock.
func (r *Registry) withGroups(es []named) []named {
	gs := r.groupList()
	if len(gs) == 0 {
		return es
	}
	lists := make([][]circuit.View, len(gs))
	for i, g := range gs {
		lists[i] = g.group.Breakers()
	}
	taken := make(map[string]bool, len(es))
	for _, e := range es {
		taken[e.name] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, g := range gs {
		keys := make(map[string]entry, len(lists[i]))
		var add []named
		for _, v := range lists[i] {
			if isNil(v) {
				continue
			}
			name := v.Name()
			if name == "" || taken[name] {
				continue
			}
			taken[name] = true
			e, ok := g.keys[name]
			if !ok || !sameView(e.view, v) {
				r.nextID++
				e = entry{view: v, id: r.nextID}
			}
			keys[name] = e
			add = append(add, named{entry: e, name: name, group: g.name})
		}
		g.keys = keys
		sort.Slice(add, func(i, j int) bool { return add[i].name < add[j].name })
		es = append(es, add...)
	}
	return es
}

// groupFigures returns one status-page figure per registered group, in
// name order. A group whose overflow breaker has been used needs
// attention: its bound is too low for the keys it sees.
func (r *Registry) groupFigures() []Figure {
	var fs []Figure
	for _, g := range r.groupList() {
		m := g.group.Metrics()
		f := Figure{
			Label: "Group " + g.name,
			Value: fmt.Sprintf("%d breakers, %d not closed, %d evicted, %d overflows", m.Breakers, m.NotClosed, m.Evictions, m.Overflows),
		}
		if m.Overflows > 0 {
			f.Value += " (the group is full: raise circuit.WithMaxBreakers)"
			f.Alert = true
		}
		fs = append(fs, f)
	}
	return fs
}

// sameView reports whether a and b are the same breaker. A view of a type
// that cannot be compared is never the same: a new registration, rather
// than a panic.
func sameView(a, b circuit.View) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}
