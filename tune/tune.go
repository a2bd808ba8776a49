// Package tune compares circuit breaker configurations on live traffic
// without putting users at risk: candidate configurations run as shadow
// breakers beside a live one, watch the same calls, never reject any, and
// count what they would have done. A Report per configuration says how
// often each would have opened, how fast it would have detected each
// incident, how many good calls it would have turned away and how many
// failures it would have let through, with a one-line verdict against the
// live configuration; Promote makes a candidate live.
//
//	shadows, err := tune.Attach(payments, []tune.Candidate{
//		{Name: "tighter", Config: tighter},
//		{Name: "looser", Config: looser},
//	})
//	...
//	for _, r := range shadows.Reports() {
//		fmt.Println(r.Verdict)
//	}
//	err = shadows.Promote("tighter")
//
// Split is the classic A/B form, which routes real calls to a second
// breaker; docs/tuning.md explains why shadows are usually the better
// choice, and defines every field of a Report.
//
// The package starts no goroutines and reads no clock: all times are those
// of the live breaker's calls.
package tune

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/breakerlab/circuit"
)

// Live is the breaker that serves the calls. Every *circuit.Breaker[T]
// satisfies it, whatever its T.
type Live interface {
	circuit.View
	// Config returns the breaker's current Config.
	Config() circuit.Config
	// Observe adds a function that receives every call the breaker
	// records or rejects; see circuit.Breaker.Observe.
	Observe(fn func(circuit.Observation)) (remove func())
	// Reconfigure replaces the breaker's Config; see
	// circuit.Breaker.Reconfigure.
	Reconfigure(c circuit.Config) error
}

// Candidate is a configuration to try: Name identifies it in reports and
// in Promote, and Config.Name is ignored.
type Candidate struct {
	Name   string
	Config circuit.Config
}

// Shadows runs candidate configurations as shadow breakers on a live
// breaker's calls. Create one with Attach; the zero value is not usable.
// All methods are safe for concurrent use.
//
// Each shadow is a real *circuit.Breaker built with its candidate's Config
// on a clock of its own that replays the live calls' times: for each call
// the live breaker reports, the shadow is asked to admit it at the call's
// start, and, if it does, is told the live outcome at the call's end. So a
// shadow judges error rates, latencies, CallTimeout, open periods and
// probes by the very rules of the live breaker. A call the shadow would
// have rejected still ran, and its real outcome is known: that is what
// makes RejectedFailed and RejectedSucceeded exact. A call the live breaker
// rejected has no outcome: the shadow admits or rejects it, so that its
// own state moves on, but learns nothing from it.
//
// The live calls are buffered as the live breaker reports them, under one
// mutex per Shadows, and replayed into the shadows (circuit.Breaker.Replay)
// in batches of 64, one lock per shadow per batch, on the goroutine of the
// call that fills the batch; nothing is allocated per call. Reports,
// Promote and Detach, and every transition of the live breaker, replay
// what is buffered first, in the order it was observed, so the reports are
// exact whenever they are read. Calls that overlap are replayed in the
// order they end, and a shadow treats a start earlier than a time it has
// already seen as that time, so with concurrent calls a shadow's decisions
// are approximate by at most the overlap; with sequential calls they are
// exact.
//
// A shadow starts closed with an empty window at the first call observed
// after Attach, whatever state the live breaker is in.
type Shadows struct {
	live    Live
	set     settings
	shadows []*shadow // the candidates in order, fixed at Attach; what each holds is guarded by mu

	// mu guards everything below, the shadows' breakers and records, and
	// the replay clock: every call into a shadow breaker is made with mu
	// held, so its hooks run with mu held too.
	mu       sync.Mutex
	detached bool
	buf      []circuit.Observation // calls observed, not yet replayed (see flush); set.batch at most
	clock    *replayClock
	started  bool // the shadow breakers are built (at the first call)
	liveTr   tracker
	liveSeen bool // liveTr has had a transition: the state read at Attach is stale
	inc      incidents
	first    time.Time // the start of the first call observed
	last     time.Time // the latest time seen: call ends and live transitions
	calls    uint64
	unseen   uint64
	ignored  uint64

	remove      func() // stops the observation; called by Detach, outside mu
	unsubscribe func()
}

// Attach starts shadow breakers for cands on live and returns them.
//
// It returns an error wrapping ErrInvalidConfig, with one
// *circuit.ConfigError (Pkg "tune") per problem, if live is nil (or a nil
// *circuit.Breaker), an option is invalid, a candidate has an empty name,
// a name that is not valid UTF-8, the live breaker's name or the name of
// an earlier candidate, or a Config that circuit.Config.Validate rejects
// (the error names the candidate and the field). No candidates is valid:
// the live report alone.
func Attach(live Live, cands []Candidate, opts ...Option) (*Shadows, error) {
	s := newSettings(opts)
	errs := []error{s.validate()}
	bad := func(field string, value any, rule string) {
		errs = append(errs, &circuit.ConfigError{Pkg: "tune", Field: field, Value: value, Rule: rule})
	}
	if s.counterRouting {
		bad("CounterRouting", true, "applies to NewSplit only: shadows route no calls")
	}
	if live == nil || isNilValue(live) {
		bad("Live", "nil", "must not be nil")
		return nil, joinErrors(errs)
	}
	liveName := live.Name()
	seen := make(map[string]bool, len(cands))
	shadows := make([]*shadow, 0, len(cands))
	for i, c := range cands {
		field := fmt.Sprintf("Candidates[%d].Name", i)
		switch {
		case c.Name == "":
			bad(field, c.Name, "must not be empty")
			continue
		case !utf8.ValidString(c.Name):
			bad(field, c.Name, "must be valid UTF-8")
			continue
		case c.Name == liveName:
			bad(field, c.Name, "must differ from the live breaker's name")
			continue
		case seen[c.Name]:
			bad(field, c.Name, "must be unique: an earlier candidate has it")
			continue
		}
		seen[c.Name] = true
		cfg := c.Config
		cfg.Name = ""
		if err := cfg.Validate(); err != nil {
			errs = append(errs, candidateErrors(c.Name, err)...)
			continue
		}
		shadows = append(shadows, &shadow{cfg: cfg, tr: tracker{name: c.Name}})
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return attach(live, shadows, s), nil
}

// attach starts watching live with the shadows, validated, and settings
// s.
func attach(live Live, shadows []*shadow, s settings) *Shadows {
	if s.batch <= 0 {
		s.batch = batchSize
	}
	sh := &Shadows{live: live, set: s, clock: &replayClock{}, shadows: shadows}
	sh.buf = make([]circuit.Observation, 0, s.batch)
	sh.liveTr = tracker{name: live.Name(), live: true}
	sh.inc = incidents{healthyRun: s.healthyRun, minFailures: s.incidentFailures}
	sh.inc.trackers = append(sh.inc.trackers, &sh.liveTr)
	for _, x := range shadows {
		sh.inc.trackers = append(sh.inc.trackers, &x.tr)
	}
	// Subscribe before reading the state, so that no transition falls
	// between the two; one that came first wins over the state read.
	sh.unsubscribe = live.Subscribe(sh.onLiveTransition)
	m := live.Metrics()
	sh.mu.Lock()
	if !sh.liveSeen {
		sh.liveTr.state = m.State
		if isOpen(m.State) {
			sh.liveTr.openSince = m.StateSince
		}
	}
	sh.mu.Unlock()
	sh.remove = live.Observe(sh.observe)
	return sh
}

// candidateErrors turns the errors of a candidate's Config.Validate into
// errors of this package that name the candidate.
func candidateErrors(name string, err error) []error {
	var out []error
	for _, e := range flatten(err) {
		if ce, ok := e.(*circuit.ConfigError); ok {
			out = append(out, &circuit.ConfigError{Pkg: "tune", Field: fmt.Sprintf("Candidate[%q].Config.%s", name, ce.Field), Value: ce.Value, Rule: ce.Rule})
			continue
		}
		out = append(out, fmt.Errorf("tune: candidate %q: %w", name, e))
	}
	return out
}

// flatten returns the errors joined in err, recursively.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// joinErrors joins the non-nil errors of errs, flattened, or returns nil.
func joinErrors(errs []error) error {
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, flatten(e)...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return errors.Join(out...)
}

// onLiveTransition is the hook subscribed to the live breaker.
func (s *Shadows) onLiveTransition(t circuit.Transition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached {
		return
	}
	s.flush() // the calls observed before it come first
	s.liveSeen = true
	if t.At.After(s.last) {
		s.last = t.At
	}
	s.liveTr.transition(t, &s.inc)
}

// observe is the observer added to the live breaker: it runs on the
// goroutine of each live call, and buffers the call; the call that fills
// the buffer replays it (see flush).
func (s *Shadows) observe(o circuit.Observation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached {
		return
	}
	s.buf = append(s.buf, o)
	if len(s.buf) >= s.set.batch {
		s.flush()
	}
}

// counted applies a live call to the live record and the incidents. It
// requires s.mu.
func (s *Shadows) counted(o *circuit.Observation) {
	if s.calls == 0 {
		s.first = o.Start
	}
	s.calls++
	if o.End.After(s.last) {
		s.last = o.End
	}
	switch {
	case o.Rejected:
		s.unseen++
		s.liveTr.rejectedUnknown++
	case o.Outcome == circuit.Ignored:
		s.ignored++
	case o.Outcome == circuit.Failure:
		if s.liveTr.closedAt(o.Start) {
			s.liveTr.letThrough++
		}
		s.inc.outcome(o.End, true)
	default:
		s.inc.outcome(o.End, false)
	}
}

// Reports returns a Report for the live breaker, then one per candidate
// in the order given to Attach, as of the latest call observed. After
// Detach it returns the reports as they stood then.
func (s *Shadows) Reports() []Report {
	cfg := s.live.Config() // outside mu: a live breaker's lock is never taken under ours
	cfg.Name = ""
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.detached {
		s.flush()
	}
	if s.started && !s.detached {
		// Apply what time alone has done to each shadow by the latest
		// time seen, as the live breaker does when asked its state.
		s.clock.now = s.last
		for _, x := range s.shadows {
			if x.b != nil {
				x.b.State()
				x.settle(&s.inc)
			}
		}
	}
	out := make([]Report, 0, 1+len(s.shadows))
	live := s.liveTr.report(&s.inc, &s.set, s.first, s.last, s.calls, s.unseen, s.ignored)
	live.Config = cfg
	live.Verdict = liveVerdict(live)
	out = append(out, live)
	for _, x := range s.shadows {
		r := x.tr.report(&s.inc, &s.set, s.first, s.last, s.calls, s.unseen, s.ignored)
		r.Config = x.cfg
		r.Verdict = shadowVerdict(r, live)
		if x.err != nil {
			r.Verdict = fmt.Sprintf("%s: not run: %v", r.Name, x.err)
		}
		out = append(out, r)
	}
	return out
}

// Promote makes the named candidate's Config the live breaker's, with one
// call of its Reconfigure (see circuit.Breaker.Reconfigure for what it
// keeps), keeping the live breaker's name. The shadows go on: the
// promoted candidate's shadow then runs the live configuration, and the
// live report's counts go on across the change. It returns an error
// wrapping ErrUnknownCandidate for a name that is not a candidate, or
// Reconfigure's error. Promote works after Detach too.
func (s *Shadows) Promote(name string) error {
	for _, x := range s.shadows { // immutable after Attach
		if x.tr.name == name {
			// The calls before the change are counted before it.
			s.mu.Lock()
			if !s.detached {
				s.flush()
			}
			s.mu.Unlock()
			if err := s.live.Reconfigure(x.cfg); err != nil {
				return fmt.Errorf("tune: promote %q: %w", name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("tune: promote %q: %w", name, ErrUnknownCandidate)
}

// Detach stops observing the live breaker: later calls are counted
// nowhere, and Reports keeps returning the reports as they stood. It may
// be called more than once.
func (s *Shadows) Detach() {
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		return
	}
	s.flush() // what was observed before Detach counts
	s.detached = true
	s.mu.Unlock()
	// Outside mu: removing takes the live breaker's lock. A call already
	// past its observer list is dropped by observe, which checks detached.
	if s.remove != nil { // a Live of the caller's own may return nil
		s.remove()
	}
	if s.unsubscribe != nil {
		s.unsubscribe()
	}
}

// isNilValue reports whether the non-nil interface value v holds a nil
// pointer, map, func or similar, whose first method call would panic.
func isNilValue(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Interface, reflect.Slice:
		return rv.IsNil()
	}
	return false
}
