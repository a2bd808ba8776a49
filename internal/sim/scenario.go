package sim

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
)

// Scenario describes one simulated service, the traffic it receives, and
// how its one dependency behaves over time. Build one in code, load a
// built-in with Builtin, or parse JSON with ParseScenario; Run validates it.
//
// The service has Workers threads and a FIFO queue of QueueSize requests.
// Each request holds a worker while it calls the dependency (and while it
// waits to retry). A request that waits in the queue longer than
// QueueTimeout is dropped; one that finds the queue full is shed at once.
type Scenario struct {
	Name        string
	Description string

	Duration time.Duration // simulated length of the run; at most 24h
	Interval time.Duration // length of one timeline row; 0 means 10s

	Rate     float64 // mean requests per second
	Arrivals string  // "poisson" (the default, seeded) or "uniform" (evenly spaced)

	Workers      int           // worker pool size, at least 1
	QueueSize    int           // requests that may wait for a worker; 0 means none
	QueueTimeout time.Duration // longest wait in the queue; 0 means no limit
	// Deadline is how long a client waits for an answer. An answer that
	// comes later is late: it does not count as goodput, though the
	// service did the work. 0 means no deadline.
	Deadline time.Duration
	// CallTimeout is the client's own timeout on each dependency call, in
	// both runs. 0 means none. (Config.CallTimeout applies to the breaker
	// run only, as circuit.Execute would apply it.)
	CallTimeout time.Duration
	// DependencyShare is the share of requests that call the dependency,
	// in (0, 1]; 0 means 1, every request. The others do LocalLatency of
	// local work and answer on their own, as long as they get a worker:
	// they are what a cascade takes down along with the dependency.
	DependencyShare float64
	LocalLatency    time.Duration
	// Capacity is how many calls the dependency serves at full speed.
	// Beyond it, it slows down: a call that starts with n calls in flight
	// (itself included) takes n/Capacity times its phase latency. Calls
	// abandoned at the call timeout keep it busy until they would have
	// ended, which is how retries turn a slowdown into a storm. 0 means
	// unlimited.
	Capacity int
	// OverloadFailure, when positive, makes an overloaded dependency fall
	// over: a call that starts with more calls in flight (itself included)
	// than OverloadFailure times the current capacity fails, after the
	// slowed latency. At least 1; it needs Capacity. 0 means an overloaded
	// dependency only slows down.
	OverloadFailure float64

	// Bulkhead, when positive, puts a bulkhead.Bulkhead of that many slots
	// (no queue) in front of the breaker in the breaker run: a call that
	// finds every slot taken gets the fallback at once, so a slow
	// dependency can hold at most that many workers. 0 means none.
	Bulkhead int

	// Retry, when not nil, makes the service retry failed calls.
	Retry *Retry

	// Phases set the dependency's behaviour over time: each lasts from its
	// Start to the next one's. The first must start at 0.
	Phases []Phase

	// Config is the breaker configuration the scenario suggests, used when
	// the user names none; nil means circuit.DefaultConfig(). In JSON it is
	// "preset" (a circuit preset name) and "config" (fields of
	// circuit.Config applied on top of the preset or the defaults).
	Config *circuit.Config

	// Ramp, when not nil, asks for a third run: the breaker run again with
	// its config's RampDuration and RampStart set from Ramp, so the report
	// compares recovery with and without the ramp on the same traffic.
	// The command's -ramp and -ramp-start flags set it too.
	Ramp *Ramp

	// Tenants, when not nil, splits the traffic among tenants, some of
	// which fail, and asks for a third run in which the breaker is a
	// circuit.Group keyed by tenant instead of one shared breaker.
	Tenants *Tenants
}

// Tenants is the traffic of a multi-tenant service: each request comes
// from one of Count tenants. The first Failing of them (tenant 0 to
// Failing-1) send requests whose calls all fail during the fault phases;
// outside the fault phases, and for the other tenants always, calls fare
// as the phase says. The failing tenants send Share of the requests,
// drawn per request from the seed; with Share 0 the tenants take turns,
// request i coming from tenant i mod Count.
type Tenants struct {
	Count   int     // 2 to 10000
	Failing int     // 1 to Count-1
	Share   float64 // in [0, 1): 0 means their fair share, Failing/Count, in turns
}

// Ramp is the recovery ramp (circuit.Config's RampDuration and RampStart)
// of the comparison run.
type Ramp struct {
	Duration time.Duration // positive, at most 1h
	Start    float64       // share of calls admitted when the ramp begins, in [0, 1)
}

// RampConfig returns cfg with sc.Ramp's duration and start, the config of
// the comparison run. It requires sc.Ramp != nil.
func (sc *Scenario) RampConfig(cfg circuit.Config) circuit.Config {
	cfg.RampDuration, cfg.RampStart = sc.Ramp.Duration, sc.Ramp.Start
	return cfg
}

// BreakerConfig returns sc.Config, or circuit.DefaultConfig() when it is
// nil.
func (sc *Scenario) BreakerConfig() circuit.Config {
	if sc.Config != nil {
		return *sc.Config
	}
	return circuit.DefaultConfig()
}

// Phase is a stretch of time in which the dependency's latency and error
// rate are fixed.
type Phase struct {
	Start time.Duration
	// Latency is the median latency of a call. Latencies are log-normal
	// around it with Spread as sigma (0 means every call takes exactly
	// Latency).
	Latency   time.Duration
	Spread    float64
	ErrorRate float64 // share of calls that fail, in [0, 1]
	// Fault marks the phase as an incident the breaker should catch.
	// Time to detect and time to recover are measured from the first
	// fault phase's start and the last one's end; an open in a phase that
	// is not a fault is a false open.
	Fault bool
	// CapacityShare is the share of Scenario.Capacity the dependency has
	// at the phase's start, in [0, 1]; 0 means 1, all of it. With
	// CapacityRamp it grows linearly back to all of it over CapacityRamp:
	// a dependency whose caches and connection pools warm up again. A
	// phase with less than full capacity is not healthy: an open in it is
	// not a false open. Both need Scenario.Capacity.
	CapacityShare float64
	CapacityRamp  time.Duration
}

// capacityShare returns the share of the dependency's capacity available
// at t, which must lie in the phase.
func (ph *Phase) capacityShare(t time.Duration) float64 {
	if ph.CapacityShare == 0 {
		return 1
	}
	if ph.CapacityRamp <= 0 {
		return ph.CapacityShare
	}
	f := math.Min(float64(t-ph.Start)/float64(ph.CapacityRamp), 1)
	return ph.CapacityShare + (1-ph.CapacityShare)*f
}

// Retry is how the service retries a failed call. Both runs retry with the
// same policy (exponential backoff from Backoff); the breaker run also
// checks a retry budget when BudgetRatio or BudgetMinPerSecond is set, and
// never retries a call the breaker rejected.
type Retry struct {
	MaxAttempts        int           // attempts per request, first included; 2 to 10
	Backoff            time.Duration // delay before the first retry; doubles after each
	BudgetRatio        float64       // breaker run: retries allowed per first attempt
	BudgetMinPerSecond float64       // breaker run: retries allowed per second regardless
	BudgetWindow       time.Duration // breaker run: the budget's window; 0 means 10s
}

// Limits that keep a scenario from asking for an absurd run. MaxRunTime
// bounds the cost of what they allow together.
const (
	maxDuration  = 24 * time.Hour
	maxRequests  = 5_000_000 // Rate × Duration
	maxIntervals = 2000
	maxWorkers   = 1_000_000
	maxPhases    = 1000
	maxTenants   = 10000
)

const defaultInterval = 10 * time.Second

//go:embed scenarios/*.json
var builtinFS embed.FS

// BuiltinNames returns the names of the built-in scenarios, sorted.
func BuiltinNames() []string {
	entries, _ := builtinFS.ReadDir("scenarios")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// DefaultScenario is the name of the scenario the command runs by default.
const DefaultScenario = "db-slowdown"

// Builtin returns the named built-in scenario. An unknown name returns an
// error that lists the valid ones.
func Builtin(name string) (Scenario, error) {
	data, err := builtinFS.ReadFile(path.Join("scenarios", name+".json"))
	if err != nil || strings.ContainsAny(name, `/\`) {
		return Scenario{}, fmt.Errorf("sim: unknown scenario %q (valid: %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return ParseScenario(name+".json", data)
}

// ParseScenario reads a scenario from JSON and validates it. Field names
// are the lower-camel forms of Scenario's (matched case-insensitively):
// name, description, duration, interval, rate, arrivals, workers,
// queueSize, queueTimeout, deadline, callTimeout, dependencyShare,
// localLatency, capacity, overloadFailure, bulkhead,
// tenants {count, failing, share}, preset, config
// (an object like ParseConfig's), ramp {duration, start}, retry
// {maxAttempts, backoff, budgetRatio, budgetMinPerSecond, budgetWindow} and
// phases [{start, latency, spread, errorRate, fault, capacityShare,
// capacityRamp}]. Durations are
// strings such as "250ms". Every problem comes back as an *InputError
// naming file, the field and the value (joined when there are several).
func ParseScenario(file string, data []byte) (Scenario, error) {
	if err := checkJSON(data); err != nil {
		return Scenario{}, setFile(err, file)
	}
	var sc Scenario
	var phases []json.RawMessage
	var preset string
	var config json.RawMessage
	fields := map[string]fieldSetter{
		"preset":          stringField(&preset),
		"config":          func(_ string, raw json.RawMessage) error { config = raw; return nil },
		"name":            stringField(&sc.Name),
		"description":     stringField(&sc.Description),
		"duration":        durationField(&sc.Duration),
		"interval":        durationField(&sc.Interval),
		"rate":            floatField(&sc.Rate),
		"arrivals":        stringField(&sc.Arrivals),
		"workers":         intField(&sc.Workers),
		"queueSize":       intField(&sc.QueueSize),
		"queueTimeout":    durationField(&sc.QueueTimeout),
		"deadline":        durationField(&sc.Deadline),
		"callTimeout":     durationField(&sc.CallTimeout),
		"capacity":        intField(&sc.Capacity),
		"dependencyShare": floatField(&sc.DependencyShare),
		"localLatency":    durationField(&sc.LocalLatency),
		"bulkhead":        intField(&sc.Bulkhead),
		"overloadFailure": floatField(&sc.OverloadFailure),
		"tenants": func(p string, raw json.RawMessage) error {
			tn := &Tenants{}
			sc.Tenants = tn
			return decodeObject(p, raw, map[string]fieldSetter{
				"count":   intField(&tn.Count),
				"failing": intField(&tn.Failing),
				"share":   floatField(&tn.Share),
			})
		},
		"ramp": func(p string, raw json.RawMessage) error {
			rp := &Ramp{}
			sc.Ramp = rp
			return decodeObject(p, raw, map[string]fieldSetter{
				"duration": durationField(&rp.Duration),
				"start":    floatField(&rp.Start),
			})
		},
		"retry": func(p string, raw json.RawMessage) error {
			r := &Retry{}
			sc.Retry = r
			return decodeObject(p, raw, map[string]fieldSetter{
				"maxAttempts":        intField(&r.MaxAttempts),
				"backoff":            durationField(&r.Backoff),
				"budgetRatio":        floatField(&r.BudgetRatio),
				"budgetMinPerSecond": floatField(&r.BudgetMinPerSecond),
				"budgetWindow":       durationField(&r.BudgetWindow),
			})
		},
		"phases": func(p string, raw json.RawMessage) error {
			if err := json.Unmarshal(raw, &phases); err != nil || isNull(raw) {
				return &InputError{Field: p, Value: shorten(raw), Problem: "must be a list of phases"}
			}
			return nil
		},
	}
	if err := decodeObject("", data, fields); err != nil {
		return Scenario{}, setFile(err, file)
	}
	var errs []error
	sc.Phases = make([]Phase, len(phases))
	for i, raw := range phases {
		ph := &sc.Phases[i]
		err := decodeObject(fmt.Sprintf("phases[%d]", i), raw, map[string]fieldSetter{
			"start":         durationField(&ph.Start),
			"latency":       durationField(&ph.Latency),
			"spread":        floatField(&ph.Spread),
			"errorRate":     floatField(&ph.ErrorRate),
			"fault":         boolField(&ph.Fault),
			"capacityShare": floatField(&ph.CapacityShare),
			"capacityRamp":  durationField(&ph.CapacityRamp),
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if preset != "" || config != nil {
		base := circuit.DefaultConfig()
		if preset != "" {
			p, err := circuit.Preset(preset)
			if err != nil {
				errs = append(errs, &InputError{Field: "preset", Value: fmt.Sprintf("%q", preset),
					Problem: "unknown preset (valid: " + strings.Join(circuit.PresetNames(), ", ") + ")"})
			}
			base = p
		}
		if config != nil {
			c, err := parseConfig("config", config, base)
			if err != nil {
				errs = append(errs, err)
			}
			base = c
		}
		sc.Config = &base
	}
	if len(errs) == 0 {
		errs = append(errs, sc.validate())
	}
	if err := errors.Join(errs...); err != nil {
		return Scenario{}, setFile(err, file)
	}
	return sc, nil
}

// validate reports every invalid field as an *InputError (joined when
// there are several), with field names as in the JSON form.
func (sc *Scenario) validate() error {
	var errs []error
	bad := func(field string, value any, problem string) {
		v := fmt.Sprint(value)
		if d, ok := value.(time.Duration); ok {
			v = fmt.Sprintf("%q", d.String())
		}
		errs = append(errs, &InputError{Field: field, Value: v, Problem: problem})
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if sc.Duration <= 0 || sc.Duration > maxDuration {
		bad("duration", sc.Duration, fmt.Sprintf("must be positive and at most %v", maxDuration))
	}
	interval := sc.interval()
	switch {
	case interval < 0:
		bad("interval", sc.Interval, "must not be negative (0 means 10s)")
	case interval < time.Millisecond:
		bad("interval", sc.Interval, "must be at least 1ms")
	case sc.Duration > 0 && int64(sc.Duration/interval) > maxIntervals:
		bad("interval", sc.Interval, fmt.Sprintf("too short: duration/interval must be at most %d rows", maxIntervals))
	}
	if !finite(sc.Rate) || sc.Rate <= 0 {
		bad("rate", sc.Rate, "must be a positive number of requests per second")
	} else if sc.Duration > 0 && sc.Rate*sc.Duration.Seconds() > maxRequests {
		bad("rate", sc.Rate, fmt.Sprintf("rate × duration must be at most %d requests", maxRequests))
	}
	switch sc.Arrivals {
	case "", "poisson", "uniform":
	default:
		bad("arrivals", fmt.Sprintf("%q", sc.Arrivals), `must be "poisson" or "uniform"`)
	}
	if sc.Workers < 1 || sc.Workers > maxWorkers {
		bad("workers", sc.Workers, fmt.Sprintf("must be between 1 and %d", maxWorkers))
	}
	if sc.QueueSize < 0 || sc.QueueSize > maxRequests {
		bad("queueSize", sc.QueueSize, fmt.Sprintf("must be between 0 and %d", maxRequests))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"queueTimeout", sc.QueueTimeout}, {"deadline", sc.Deadline}, {"callTimeout", sc.CallTimeout}} {
		if f.d < 0 || f.d > maxDuration {
			bad(f.name, f.d, fmt.Sprintf("must be between 0 (none) and %v", maxDuration))
		}
	}
	if sc.Capacity < 0 {
		bad("capacity", sc.Capacity, "must not be negative (0 means unlimited)")
	}
	if !finite(sc.OverloadFailure) || (sc.OverloadFailure != 0 && sc.OverloadFailure < 1) || sc.OverloadFailure > 1000 {
		bad("overloadFailure", sc.OverloadFailure, "must be 0 (an overloaded dependency only slows down) or between 1 and 1000")
	} else if sc.OverloadFailure > 0 && sc.Capacity == 0 {
		bad("overloadFailure", sc.OverloadFailure, "needs capacity: an unlimited dependency is never overloaded")
	}
	if rp := sc.Ramp; rp != nil {
		if rp.Duration <= 0 || rp.Duration > time.Hour {
			bad("ramp.duration", rp.Duration, "must be positive and at most 1h")
		}
		if !finite(rp.Start) || rp.Start < 0 || rp.Start >= 1 {
			bad("ramp.start", rp.Start, "must be in [0, 1): the share of calls admitted when the ramp begins")
		}
	}
	if tn := sc.Tenants; tn != nil {
		if tn.Count < 2 || tn.Count > maxTenants {
			bad("tenants.count", tn.Count, fmt.Sprintf("must be between 2 and %d", maxTenants))
		}
		if tn.Failing < 1 || tn.Failing >= max(tn.Count, 2) {
			bad("tenants.failing", tn.Failing, "must be at least 1 and less than tenants.count: some tenants fail, some do not")
		}
		if !finite(tn.Share) || tn.Share < 0 || tn.Share >= 1 {
			bad("tenants.share", tn.Share, "must be in [0, 1): the share of requests the failing tenants send (0: their fair share)")
		}
		if _, _, ok := sc.faultWindow(); !ok {
			bad("tenants", "{...}", "needs a fault phase: the failing tenants' calls fail during the fault phases")
		}
	}
	if !finite(sc.DependencyShare) || sc.DependencyShare < 0 || sc.DependencyShare > 1 {
		bad("dependencyShare", sc.DependencyShare, "must be in (0, 1], or 0 for 1")
	}
	if sc.LocalLatency < 0 || sc.LocalLatency > time.Hour {
		bad("localLatency", sc.LocalLatency, "must be between 0 and 1h")
	}
	if sc.Bulkhead < 0 || sc.Bulkhead > maxWorkers {
		bad("bulkhead", sc.Bulkhead, fmt.Sprintf("must be between 0 (none) and %d", maxWorkers))
	}
	if r := sc.Retry; r != nil {
		if r.MaxAttempts < 2 || r.MaxAttempts > 10 {
			bad("retry.maxAttempts", r.MaxAttempts, "must be between 2 and 10 (the first attempt counts)")
		}
		if r.Backoff <= 0 || r.Backoff > time.Hour {
			bad("retry.backoff", r.Backoff, "must be positive and at most 1h")
		}
		if !finite(r.BudgetRatio) || r.BudgetRatio < 0 {
			bad("retry.budgetRatio", r.BudgetRatio, "must be a number >= 0 (0 with budgetMinPerSecond 0 means no budget)")
		}
		if !finite(r.BudgetMinPerSecond) || r.BudgetMinPerSecond < 0 {
			bad("retry.budgetMinPerSecond", r.BudgetMinPerSecond, "must be a number >= 0")
		}
		if r.BudgetWindow < 0 || (r.BudgetWindow > 0 && r.BudgetWindow < time.Millisecond) || r.BudgetWindow > maxDuration {
			bad("retry.budgetWindow", r.BudgetWindow, "must be 0 (10s) or between 1ms and 24h")
		}
	}
	switch {
	case len(sc.Phases) == 0:
		errs = append(errs, &InputError{Field: "phases", Problem: "at least one phase is required"})
	case len(sc.Phases) > maxPhases:
		bad("phases", len(sc.Phases), fmt.Sprintf("at most %d phases", maxPhases))
	}
	for i, ph := range sc.Phases {
		name := func(f string) string { return fmt.Sprintf("phases[%d].%s", i, f) }
		switch {
		case i == 0 && ph.Start != 0:
			bad(name("start"), ph.Start, "the first phase must start at 0")
		case i > 0 && ph.Start <= sc.Phases[i-1].Start:
			bad(name("start"), ph.Start, fmt.Sprintf("must be after the previous phase's start (%v)", sc.Phases[i-1].Start))
		case sc.Duration > 0 && ph.Start >= sc.Duration:
			bad(name("start"), ph.Start, fmt.Sprintf("must be before the end of the run (duration %v)", sc.Duration))
		}
		if ph.Latency <= 0 || ph.Latency > time.Hour {
			bad(name("latency"), ph.Latency, "must be positive and at most 1h")
		}
		if !finite(ph.Spread) || ph.Spread < 0 || ph.Spread > 3 {
			bad(name("spread"), ph.Spread, "must be between 0 and 3 (the sigma of a log-normal)")
		}
		if !finite(ph.ErrorRate) || ph.ErrorRate < 0 || ph.ErrorRate > 1 {
			bad(name("errorRate"), ph.ErrorRate, "must be between 0 and 1")
		}
		if !finite(ph.CapacityShare) || ph.CapacityShare < 0 || ph.CapacityShare > 1 {
			bad(name("capacityShare"), ph.CapacityShare, "must be in (0, 1], or 0 for 1 (full capacity)")
		} else if ph.CapacityShare > 0 && sc.Capacity == 0 {
			bad(name("capacityShare"), ph.CapacityShare, "needs capacity: an unlimited dependency has no share to lose")
		}
		switch {
		case ph.CapacityRamp < 0 || ph.CapacityRamp > maxDuration:
			bad(name("capacityRamp"), ph.CapacityRamp, fmt.Sprintf("must be between 0 (none) and %v", maxDuration))
		case ph.CapacityRamp > 0 && (ph.CapacityShare == 0 || ph.CapacityShare == 1):
			bad(name("capacityRamp"), ph.CapacityRamp, "needs a capacityShare below 1 to grow from")
		}
	}
	return errors.Join(errs...)
}

func (sc *Scenario) interval() time.Duration {
	if sc.Interval == 0 {
		return defaultInterval
	}
	return sc.Interval
}

// faultWindow returns the start of the first fault phase and the end of
// the last one; ok is false when no phase is a fault.
func (sc *Scenario) faultWindow() (start, end time.Duration, ok bool) {
	for i, ph := range sc.Phases {
		if !ph.Fault {
			continue
		}
		if !ok {
			start, ok = ph.Start, true
		}
		end = sc.Duration
		if i+1 < len(sc.Phases) {
			end = sc.Phases[i+1].Start
		}
	}
	return start, end, ok
}

// faultTail is how long after the last fault phase ends its slowest calls
// may still be reporting: the 99.9th percentile of the slowest fault
// phase's latency (log-normal: the median times e^(3 sigma)), at most the
// run's duration. An open in that tail is still the fault's doing.
func (sc *Scenario) faultTail() time.Duration {
	var tail time.Duration
	for _, p := range sc.Phases {
		if !p.Fault {
			continue
		}
		d := float64(p.Latency) * math.Exp(3*p.Spread)
		if d >= float64(sc.Duration) {
			return sc.Duration
		}
		tail = max(tail, time.Duration(d))
	}
	return tail
}

// healthyAt reports whether the dependency is healthy at t: in a phase
// that is not a fault, with all of its capacity.
func (sc *Scenario) healthyAt(t time.Duration) bool {
	ph := sc.phaseAt(t)
	return !ph.Fault && ph.capacityShare(t) == 1
}

// phaseAt returns the phase in force at t. It requires valid phases.
func (sc *Scenario) phaseAt(t time.Duration) *Phase {
	i := sort.Search(len(sc.Phases), func(i int) bool { return sc.Phases[i].Start > t }) - 1
	return &sc.Phases[max(i, 0)]
}
