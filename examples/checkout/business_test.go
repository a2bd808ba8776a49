package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/examples/checkout/shop"
	"github.com/breakerlab/circuit/monitor"
)

func unavailable(d shop.Dependency) error {
	return &shop.UnavailableError{Dependency: d, RetryAfter: time.Second, Cause: &circuit.OpenError{Name: string(d), State: circuit.Open}}
}

// TestLedger drives a ledger through a step table: each row records a
// checkout at a time (or only reads), then checks the snapshot then.
func TestLedger(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	l := newLedger()
	for _, step := range []struct {
		at     time.Duration
		record bool
		err    error
		want   business // LastLost is checked apart
		last   string   // dependency of the last lost checkout, "" if none
	}{
		{at: 0, want: business{Lost: map[shop.Dependency]int{shop.Payment: 0, shop.Inventory: 0}}},
		{at: 0, record: true, want: business{Completed: 1, Lost: map[shop.Dependency]int{shop.Payment: 0, shop.Inventory: 0}, RecentAttempts: 1}},
		{at: time.Minute, record: true, err: unavailable(shop.Payment),
			want: business{Completed: 1, Lost: map[shop.Dependency]int{shop.Payment: 1, shop.Inventory: 0}, AtStakeCents: 3499, RecentAttempts: 2, RecentLost: 1}, last: "payment"},
		{at: 2 * time.Minute, record: true, err: errors.New("shop: payment: charge: declined"),
			want: business{Completed: 1, Failed: 1, Lost: map[shop.Dependency]int{shop.Payment: 1, shop.Inventory: 0}, AtStakeCents: 3499, RecentAttempts: 3, RecentLost: 1}, last: "payment"},
		{at: 3 * time.Minute, record: true, err: unavailable(shop.Inventory),
			want: business{Completed: 1, Failed: 1, Lost: map[shop.Dependency]int{shop.Payment: 1, shop.Inventory: 1}, AtStakeCents: 6998, RecentAttempts: 4, RecentLost: 2}, last: "inventory"},
		// 5 minutes after the first: it leaves the window, the totals stay.
		{at: 5 * time.Minute, want: business{Completed: 1, Failed: 1, Lost: map[shop.Dependency]int{shop.Payment: 1, shop.Inventory: 1}, AtStakeCents: 6998, RecentAttempts: 3, RecentLost: 2}, last: "inventory"},
		{at: 8*time.Minute + time.Second, record: true,
			want: business{Completed: 2, Failed: 1, Lost: map[shop.Dependency]int{shop.Payment: 1, shop.Inventory: 1}, AtStakeCents: 6998, RecentAttempts: 1}, last: "inventory"},
	} {
		now := t0.Add(step.at)
		if step.record {
			l.record(now, step.err)
		}
		got := l.snapshot(now)
		if step.last == "" {
			assert.Nil(t, got.LastLost, "at %v", step.at)
		} else if assert.NotNil(t, got.LastLost, "at %v", step.at) {
			assert.Equal(t, shop.Dependency(step.last), got.LastLost.dep, "at %v", step.at)
		}
		got.LastLost = nil
		assert.Equal(t, step.want, got, "at %v", step.at)
	}
}

// The figures lead with the current loss, flagged only while there is one.
func TestFigures(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	l := newLedger()
	l.record(t0, nil)
	l.record(t0.Add(time.Second), unavailable(shop.Payment))
	l.record(t0.Add(2*time.Second), nil)
	now := t0.Add(time.Minute)
	assert.Equal(t, []monitor.Figure{
		{Label: "Lost to open breakers, last 5m", Value: "33.3% (1 of 3 checkouts)", Alert: true},
		{Label: "Last checkout lost", Value: "59s ago (payment circuit open)"},
		{Label: "Revenue at stake since start", Value: "€34.99 (1 × €34.99)"},
		{Label: "Lost to open breakers since start", Value: "1 (payment 1, inventory 0)"},
		{Label: "Completed since start", Value: "2"},
		{Label: "Failed otherwise since start", Value: "0"},
	}, l.snapshot(now).figures(now))

	later := t0.Add(time.Hour)
	fs := l.snapshot(later).figures(later)
	assert.Equal(t, monitor.Figure{Label: "Lost to open breakers, last 5m", Value: "no checkouts"}, fs[0], "no alert once the window is clear")
	assert.Equal(t, "59m59s ago (payment circuit open)", fs[1].Value)

	empty := newLedger().snapshot(t0).figures(t0)
	assert.Equal(t, "none", empty[1].Value)
}

func TestEuros(t *testing.T) {
	for cents, want := range map[int64]string{0: "€0.00", 5: "€0.05", 3499: "€34.99", 6998: "€69.98", 123456: "€1234.56"} {
		assert.Equal(t, want, euros(cents))
	}
}
