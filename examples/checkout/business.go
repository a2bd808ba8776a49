package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/breakerlab/circuit/examples/checkout/shop"
	"github.com/breakerlab/circuit/monitor"
)

// orderValueCents is what one order is worth in the story: every customer
// buys one kettle at €34.99. Revenue at stake is the number of checkouts
// lost to open breakers times this value.
const orderValueCents = 3499

// recentWindow is how far back the "current" share of lost checkouts
// looks: long enough to hold a few checkouts at 3 a.m., short enough that
// a recovery shows within minutes.
const recentWindow = 5 * time.Minute

// recentText names recentWindow for people, as "5m".
var recentText = fmt.Sprintf("%dm", int(recentWindow/time.Minute))

// criticalDeps are the dependencies whose open circuit loses a checkout;
// the others only defer work to the outbox.
var criticalDeps = []shop.Dependency{shop.Payment, shop.Inventory}

// ledger counts checkouts the way a checkout team watches them. It is safe
// for concurrent use: the status page and the metrics read it while the
// service writes it.
type ledger struct {
	mu        sync.Mutex // guards every field below
	completed int
	failed    int
	lost      map[shop.Dependency]int // refused because its circuit was open
	recent    []attempt               // the attempts of the last recentWindow, oldest first
	lastLost  *attempt                // nil until a checkout is lost
}

// attempt is one checkout as the recent window and the last loss keep it.
type attempt struct {
	at   time.Time
	lost bool
	dep  shop.Dependency // whose open circuit lost it, if lost
}

func newLedger() *ledger { return &ledger{lost: make(map[shop.Dependency]int)} }

// record counts a checkout that ended at at with err (nil if paid). A
// checkout refused by an open circuit (*shop.UnavailableError) is lost to
// an open breaker; any other error is a failure.
func (l *ledger) record(at time.Time, err error) {
	a := attempt{at: at}
	var ue *shop.UnavailableError
	if errors.As(err, &ue) {
		a.lost, a.dep = true, ue.Dependency
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case a.lost:
		l.lost[a.dep]++
		l.lastLost = &a
	case err != nil:
		l.failed++
	default:
		l.completed++
	}
	// Dropping from the front keeps memory to the window: append copies
	// only the live attempts when it reallocates.
	l.recent = append(inWindow(l.recent, at), a)
}

// inWindow returns the attempts of as that ended after now-recentWindow.
func inWindow(as []attempt, now time.Time) []attempt {
	i := 0
	for i < len(as) && !as[i].at.After(now.Add(-recentWindow)) {
		i++
	}
	return as[i:]
}

// business is a snapshot of the ledger at a time.
type business struct {
	Completed, Failed int
	Lost              map[shop.Dependency]int // every critical dependency, 0 if none lost
	AtStakeCents      int64                   // lost checkouts × orderValueCents
	// RecentAttempts and RecentLost count the checkouts of the last
	// recentWindow, and those lost to open breakers among them.
	RecentAttempts, RecentLost int
	// LastLost is the last checkout lost to an open breaker; nil if none.
	LastLost *attempt
}

// snapshot returns the ledger's figures at now.
func (l *ledger) snapshot(now time.Time) business {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := business{Completed: l.completed, Failed: l.failed, Lost: make(map[shop.Dependency]int)}
	for _, d := range criticalDeps {
		b.Lost[d] = l.lost[d]
	}
	b.AtStakeCents = int64(b.lost()) * orderValueCents
	for _, a := range inWindow(l.recent, now) {
		b.RecentAttempts++
		if a.lost {
			b.RecentLost++
		}
	}
	if l.lastLost != nil {
		last := *l.lastLost
		b.LastLost = &last
	}
	return b
}

// lost is the number of checkouts lost to open breakers.
func (b business) lost() int {
	n := 0
	for _, c := range b.Lost {
		n += c
	}
	return n
}

// recentShare is the share of the recent checkouts that were lost, 0
// when there were none.
func (b business) recentShare() float64 {
	if b.RecentAttempts == 0 {
		return 0
	}
	return float64(b.RecentLost) / float64(b.RecentAttempts)
}

// lostByDep lists the lost checkouts per critical dependency, such as
// "payment 2, inventory 0".
func (b business) lostByDep() string {
	parts := make([]string, len(criticalDeps))
	for i, d := range criticalDeps {
		parts[i] = fmt.Sprintf("%s %d", d, b.Lost[d])
	}
	return strings.Join(parts, ", ")
}

// euros formats cents as "€1234.56".
func euros(cents int64) string { return fmt.Sprintf("€%d.%02d", cents/100, cents%100) }

// lines is the business summary the story prints at its end.
func (b business) lines() []string {
	return []string{
		fmt.Sprintf("checkouts: %d completed, %d lost to open breakers (%s), %d failed otherwise",
			b.Completed, b.lost(), b.lostByDep(), b.Failed),
		fmt.Sprintf("revenue at stake: %s (%d lost × %s per order)", euros(b.AtStakeCents), b.lost(), euros(orderValueCents)),
		fmt.Sprintf("lost in the last %s: %d of %d checkouts (%.1f%%)", recentText, b.RecentLost, b.RecentAttempts, 100*b.recentShare()),
	}
}

// figures is the business view on the status page at now, most urgent
// first: what is being lost right now, then the totals since the start.
func (b business) figures(now time.Time) []monitor.Figure {
	last := "none"
	if b.LastLost != nil {
		last = fmt.Sprintf("%v ago (%s circuit open)", now.Sub(b.LastLost.at).Round(time.Second), b.LastLost.dep)
	}
	share := "no checkouts"
	if b.RecentAttempts > 0 {
		share = fmt.Sprintf("%.1f%% (%d of %d checkouts)", 100*b.recentShare(), b.RecentLost, b.RecentAttempts)
	}
	return []monitor.Figure{
		{Label: "Lost to open breakers, last " + recentText, Value: share, Alert: b.RecentLost > 0},
		{Label: "Last checkout lost", Value: last},
		{Label: "Revenue at stake since start", Value: fmt.Sprintf("%s (%d × %s)", euros(b.AtStakeCents), b.lost(), euros(orderValueCents))},
		{Label: "Lost to open breakers since start", Value: fmt.Sprintf("%d (%s)", b.lost(), b.lostByDep())},
		{Label: "Completed since start", Value: fmt.Sprint(b.Completed)},
		{Label: "Failed otherwise since start", Value: fmt.Sprint(b.Failed)},
	}
}
