package monitor

import (
	"fmt"
	"time"
)

// Figure is one of a service's own numbers on its status page, such as
// "Checkouts lost, last 5m" = "3 of 40 (7.5%)". The page shows Label and
// Value as text, escaped, in the order given; Alert marks a figure that
// needs attention, shown in bold with an "attention" label (text, never
// colour alone). The zero Figure is an empty row.
type Figure struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Alert bool   `json:"alert"`
}

// WithSummary puts the figures that fn returns on the status page, as a
// small table above the breakers, and in the JSON as StatusPage.Summary.
// The page calls fn on every request, with the time on the page's clock
// (see WithClock), and never while holding a lock of its own; fn must be
// safe for concurrent use. If fn panics, the page is still served, with
// one alert figure saying so in place of the summary: the breakers matter
// most when the service is in trouble. A nil fn is the same as no
// WithSummary; a later WithSummary replaces an earlier one.
func WithSummary(fn func(now time.Time) []Figure) HandlerOption {
	return handlerOptionFunc(func(s *pageSettings) { s.summary = fn })
}

// summaryAt calls fn, turning a panic into a figure that reports it.
func summaryAt(fn func(time.Time) []Figure, now time.Time) (fs []Figure) {
	if fn == nil {
		return []Figure{}
	}
	defer func() {
		if v := recover(); v != nil {
			fs = []Figure{{Label: "Summary", Value: fmt.Sprintf("unavailable: the summary function panicked: %v", v), Alert: true}}
		}
	}()
	fs = fn(now)
	if fs == nil {
		fs = []Figure{}
	}
	return fs
}
