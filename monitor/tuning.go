package monitor

import (
	"fmt"

	"github.com/breakerlab/circuit/tune"
)

// TuningSource is where the status page reads tuning reports from: a
// *tune.Shadows and a *tune.Split[T] are both one. Reports must be safe
// for concurrent use and return the live (or first) breaker's report
// first.
type TuningSource interface {
	Reports() []tune.Report
}

// Tuning is one TuningSource's reports as the status page shows them.
type Tuning struct {
	// Breaker is the name of the first report: the live breaker's, or the
	// first arm's of a split.
	Breaker string `json:"breaker"`
	// Reports are the source's reports, in its order. Never nil.
	Reports []tune.Report `json:"reports"`
	// Error says why there are no reports, when the source panicked.
	Error string `json:"error,omitempty"`
}

// WithTuning puts the reports of each source on the status page, one
// table per source below the breakers, and in the JSON as
// StatusPage.Tuning, in the order given. The page calls Reports on every
// request, never while holding a lock of its own. If a source panics, the
// page is still served, with the panic in that source's Error. Nil
// sources are ignored; a later WithTuning replaces an earlier one.
func WithTuning(sources ...TuningSource) HandlerOption {
	return handlerOptionFunc(func(s *pageSettings) {
		s.tuning = nil
		for _, src := range sources {
			if src != nil {
				s.tuning = append(s.tuning, src)
			}
		}
	})
}

// tuningOf reads every source, turning a panic into an Error.
func tuningOf(sources []TuningSource) []Tuning {
	out := make([]Tuning, 0, len(sources))
	for _, src := range sources {
		out = append(out, readTuning(src))
	}
	return out
}

func readTuning(src TuningSource) (t Tuning) {
	defer func() {
		if v := recover(); v != nil {
			t = Tuning{Reports: []tune.Report{}, Error: fmt.Sprintf("unavailable: the tuning source panicked: %v", v)}
		}
	}()
	rs := src.Reports()
	if rs == nil {
		rs = []tune.Report{}
	}
	t = Tuning{Reports: rs}
	if len(rs) > 0 {
		t.Breaker = rs[0].Name
	}
	return t
}
