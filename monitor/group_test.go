package monitor_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newGroup returns a group of breakers on mock, at most max of them, each
// named "tenant-" and its key.
func newGroup(t *testing.T, mock *clock.Mock, max int) *circuit.Group[string, int] {
	t.Helper()
	g, err := circuit.NewGroup[string, int](
		circuit.WithBreakerOptions(circuit.WithClock(mock)),
		circuit.WithKeyName(func(k string) string { return "tenant-" + k }),
		circuit.WithMaxBreakers(max))
	require.NoError(t, err)
	return g
}

func names(vs []circuit.View) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Name())
	}
	return out
}

// TestRegistryGroupListsKeysNotClosed: the registry lists its own breakers,
// then the group's keys that are not closed, by name; a name a breaker
// already has is left out.
func TestRegistryGroupListsKeysNotClosed(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	require.NoError(t, reg.Register(newBreaker(t, mock, "api")))
	require.NoError(t, reg.Register(newBreaker(t, mock, "tenant-c")))
	g := newGroup(t, mock, 100)
	require.NoError(t, reg.RegisterGroup("tenants", g))
	for _, k := range []string{"a", "b", "c", "d"} {
		g.Get(k)
	}
	assert.Equal(t, []string{"api", "tenant-c"}, names(reg.Breakers()), "every key closed")

	g.Get("d").Trip(circuit.ReasonManual)
	g.Get("b").Trip(circuit.ReasonManual)
	g.Get("c").Trip(circuit.ReasonManual) // hidden by the breaker named tenant-c
	assert.Equal(t, []string{"api", "tenant-c", "tenant-b", "tenant-d"}, names(reg.Breakers()))
	assert.Len(t, reg.Snapshot(), 4)
	assert.Equal(t, 2, reg.Len(), "Len counts registered breakers only")

	g.Get("b").Reset()
	assert.Equal(t, []string{"api", "tenant-c", "tenant-d"}, names(reg.Breakers()))

	assert.True(t, reg.UnregisterGroup("tenants"))
	assert.False(t, reg.UnregisterGroup("tenants"))
	assert.Equal(t, []string{"api", "tenant-c"}, names(reg.Breakers()))
}

func TestRegisterGroupRejectsBadInput(t *testing.T) {
	reg := monitor.NewRegistry()
	g := newGroup(t, clock.NewMock(), 10)
	require.NoError(t, reg.RegisterGroup("tenants", g))
	assert.True(t, errors.Is(reg.RegisterGroup("tenants", g), monitor.ErrDuplicateName))
	assert.True(t, errors.Is(reg.RegisterGroup("", g), monitor.ErrInvalidView))
	assert.True(t, errors.Is(reg.RegisterGroup("x", nil), monitor.ErrInvalidView))
	var nilGroup *circuit.Group[string, int]
	assert.True(t, errors.Is(reg.RegisterGroup("x", nilGroup), monitor.ErrInvalidView))
}

// TestMonitorGroupKey: an open key is checked like a breaker, and its alert
// clears, as closed rather than unregistered, when it closes and leaves the
// list.
func TestMonitorGroupKey(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	g := newGroup(t, mock, 100)
	require.NoError(t, reg.RegisterGroup("tenants", g))
	m := newMonitor(t, reg, mock) // ProlongedOpen 5m
	g.Get("a").ForceOpen()
	require.Empty(t, m.Check())
	mock.Add(5*time.Minute + time.Second)
	alerts := m.Check()
	require.Len(t, alerts, 1)
	assert.Equal(t, "tenant-a", alerts[0].Breaker)
	assert.Equal(t, monitor.ProlongedOpen, alerts[0].Kind)

	g.Get("a").Reset()
	cleared := m.Check()
	require.Len(t, cleared, 1)
	assert.True(t, cleared[0].Cleared)
	assert.Contains(t, cleared[0].Message, "group tenants lists only its keys that are not closed")
}

// TestStatusPageGroupFigures: the page shows one figure per group, which
// needs attention once the group has overflowed, and the open keys.
func TestStatusPageGroupFigures(t *testing.T) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	g := newGroup(t, mock, 1)
	require.NoError(t, reg.RegisterGroup("tenants", g))
	g.Get("a").Trip(circuit.ReasonManual) // open: never evicted
	g.Get("b")                            // no room: the overflow breaker

	res := get(t, monitor.Handler(reg, monitor.WithClock(mock)), "/?format=json")
	defer res.Body.Close()
	var p monitor.StatusPage
	require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
	assert.Equal(t, []monitor.Figure{{
		Label: "Group tenants",
		Value: "1 breakers, 1 not closed, 0 evicted, 1 overflows (the group is full: raise circuit.WithMaxBreakers)",
		Alert: true,
	}}, p.Summary)
	var listed []string
	for _, b := range p.Breakers {
		listed = append(listed, b.Name)
	}
	assert.Equal(t, []string{"tenant-a", "overflow"}, listed)
}
