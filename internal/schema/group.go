package schema

import (
	"fmt"
	"sort"

	"github.com/breakerlab/circuit"
)

// Group is a set of breakers keyed by tenant, endpoint or host, as the
// exporters see it: its own figures, and the breakers worth a series of
// their own (those that are not closed). Every *circuit.Group satisfies it.
type Group interface {
	Breakers() []circuit.View
	Metrics() circuit.GroupMetrics
}

// namedGroup is a group and the value of its LabelGroup.
type namedGroup struct {
	name  string
	group Group
}

// DefaultGroupMaxKeys is how many of a group's breakers the exporters
// give series of their own unless WithGroupMaxKeys says otherwise: enough
// for the keys an incident touches, few enough that an outage of the
// whole dependency, which opens every key, adds at most that many series
// per family.
const DefaultGroupMaxKeys = 100

// WithGroup adds g under name: the exporters publish the group families
// with LabelGroup name, and series for g's breakers that are not closed
// (at most Config.GroupMaxKeys of them, most failures first). name must be
// non-empty and unique among the groups, g non-nil.
func WithGroup(name string, g Group) Option {
	return optionFunc(func(c *Config) { c.groups = append(c.groups, namedGroup{name, g}) })
}

// WithGroupMaxKeys sets Config.GroupMaxKeys, at least 1.
func WithGroupMaxKeys(n int) Option {
	return optionFunc(func(c *Config) { c.GroupMaxKeys = n })
}

// checkGroups returns a *circuit.ConfigError from package pkg for each
// bad group and for a GroupMaxKeys below 1.
func (c *Config) checkGroups(pkg string) []error {
	var errs []error
	if c.GroupMaxKeys < 1 {
		errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: "GroupMaxKeys", Value: c.GroupMaxKeys, Rule: "must be at least 1"})
	}
	seen := make(map[string]bool, len(c.groups))
	for i, g := range c.groups {
		switch {
		case g.group == nil:
			errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: fmt.Sprintf("groups[%d]", i), Value: nil, Rule: "must not be nil"})
		case g.name == "":
			errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: fmt.Sprintf("groups[%d].Name", i), Value: `""`, Rule: "must not be empty"})
		case seen[g.name]:
			errs = append(errs, &circuit.ConfigError{Pkg: pkg, Field: fmt.Sprintf("groups[%d].Name", i), Value: fmt.Sprintf("%q", g.name), Rule: "must be unique among the groups"})
		}
		seen[g.name] = true
	}
	return errs
}

// Views returns views followed by, for each group in the order added, its
// breakers that are not closed: at most GroupMaxKeys of them, those with
// the most lifetime failures first (ties by name), so that a million keys
// never become a million series. It costs one Breakers call per group and
// one Metrics snapshot per breaker it returns.
func (c *Config) Views(views []circuit.View) []circuit.View {
	if len(c.groups) == 0 {
		return views
	}
	out := append([]circuit.View(nil), views...)
	for _, g := range c.groups {
		out = append(out, topFailures(g.group.Breakers(), c.GroupMaxKeys)...)
	}
	return out
}

// topFailures returns the n views of vs with the most failures, without
// a snapshot when there are no more than n.
func topFailures(vs []circuit.View, n int) []circuit.View {
	if len(vs) <= n {
		return vs
	}
	type ranked struct {
		v        circuit.View
		name     string
		failures uint64
	}
	rs := make([]ranked, 0, len(vs))
	for _, v := range vs {
		if v != nil {
			m := v.Metrics()
			rs = append(rs, ranked{v, m.Name, m.Failures})
		}
	}
	if len(rs) > n {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].failures != rs[j].failures {
				return rs[i].failures > rs[j].failures
			}
			return rs[i].name < rs[j].name
		})
		rs = rs[:n]
	}
	out := make([]circuit.View, len(rs))
	for i, r := range rs {
		out[i] = r.v
	}
	return out
}

// GroupSamples emits the group families of every group, in the order
// added. Each group's Metrics visits all of its breakers: O(keys) per
// collection.
func (c *Config) GroupSamples(emit Emit) {
	for _, g := range c.groups {
		m := g.group.Metrics()
		emit(GroupBreakers, float64(m.Breakers), g.name)
		emit(GroupNotClosed, float64(m.NotClosed), g.name)
		emit(GroupEvictions, float64(m.Evictions), g.name)
		emit(GroupOverflows, float64(m.Overflows), g.name)
	}
}
