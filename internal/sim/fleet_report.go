package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
)

// WriteFleetText writes the fleet report for people: what was simulated,
// a table with a row per mode, and a paragraph reading it. It returns the
// first write error.
func WriteFleetText(w io.Writer, res *FleetResult) error {
	ew := &errWriter{w: w}
	p := ew.printf
	fs := &res.Scenario
	const indent = "             " // the width of "coordinator: "
	p("%s\n", WrapText(fmt.Sprintf("fleet: %d replicas of a service call one dependency, each through a breaker of its own; "+
		"the dependency is down from %s to %s.", fs.Replicas, clockTime(fs.FaultStart), clockTime(fs.FaultEnd)), 100, ""))
	p("traffic:     %s\n", WrapText(fmt.Sprintf("%g req/s per replica (poisson, seed %d) for %v; every call takes %v",
		fs.Rate, res.Seed, fs.Duration, fs.Latency), 100, indent))
	p("breaker:     %s\n", WrapText(FormatConfig(res.Config), 100, indent))
	p("coordinator: %s\n", WrapText(coordinatorLine(res), 100, indent))
	p("\n")
	p("%-12s %12s %10s %9s %7s %12s %12s %14s\n",
		"mode", "failed calls", "first open", "all open", "probes", "probes/round", "closed after", "rejected after")
	for i := range res.Runs {
		r := &res.Runs[i]
		perRound := "-"
		if r.HalfOpens > 0 {
			perRound = fmt.Sprintf("%.1f", r.ProbesPerRound)
		}
		p("%-12s %12d %10s %9s %7d %12s %12s %14d\n", r.Mode, r.FailedCalls,
			optDuration(r.FirstOpen, r.Opened), optDuration(r.AllOpen, r.AllOpened), r.Probes, perRound,
			optDuration(r.ClosedAfter, r.Closed), r.RejectedAfter)
	}
	p("\n%s\n", WrapText(FleetReading(res), 100, ""))
	return ew.err
}

func coordinatorLine(res *FleetResult) string {
	fs := &res.Scenario
	s := fmt.Sprintf("in fleet modes an open or a close reaches the other replicas %v later, and one replica probes per "+
		"half-open round; fleet+window also sums the counts flushed every %v over %v",
		fs.Propagation, fs.Flush, fs.Window)
	if res.Config.ErrorRateThreshold == 0 {
		return s + ", but the breaker has no error-rate criterion to trip it on"
	}
	return s + fmt.Sprintf(" and trips the fleet at %g%% errors (min %d calls from %d replicas)",
		res.Config.ErrorRateThreshold*100, res.Config.MinRequests, fs.MinReplicas)
}

// optDuration formats d for the table, or "never" when !ok.
func optDuration(d time.Duration, ok bool) string {
	if !ok {
		return "never"
	}
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// FleetReading returns a paragraph that reads the table: what coordination
// changed, mode against mode, in the result's own numbers.
func FleetReading(res *FleetResult) string {
	alone, fleet, shared := &res.Runs[PerReplica], &res.Runs[Coordinated], &res.Runs[SharedWindow]
	n, cfg := res.Scenario.Replicas, res.Config
	var b strings.Builder
	add := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	if !alone.Opened && !fleet.Opened && !shared.Opened {
		add("No breaker opened in any mode, nor did the shared window: there was too little traffic to meet the "+
			"thresholds, and the %d replicas made all %d of their calls to the dead dependency.", n, alone.FailedCalls)
		return b.String()
	}
	add("Alone, the %d breakers let %d calls through to the dead dependency (%.1f per replica); "+
		"with the coordinator %d, and with the shared window too %d. ",
		n, alone.FailedCalls, float64(alone.FailedCalls)/float64(n), fleet.FailedCalls, shared.FailedCalls)

	switch {
	case alone.AllOpened:
		add("The last replica opened %s after the first alone, %s after it with the coordinator (the propagation delay is %v). ",
			spread(alone), spread(fleet), res.Scenario.Propagation)
	case alone.Opened:
		add("Alone, some replicas never opened (too little traffic to fail %s); with the coordinator the last "+
			"opened %s after the first. ", tripWord(cfg), spread(fleet))
	default:
		add("No breaker opened on its own. ")
	}
	switch {
	case shared.Opened && !fleet.Opened:
		add("The shared window opened the whole fleet %s into the fault. ", optDuration(shared.FirstOpen, true))
	case shared.Opened && shared.FirstOpen < fleet.FirstOpen:
		add("The shared window opened the fleet %s into the fault, before any breaker opened on its own (%s). ",
			optDuration(shared.FirstOpen, true), optDuration(fleet.FirstOpen, true))
	}

	// Compare per-replica breakers with the coordinated mode that acted.
	co, label := fleet, "with the coordinator"
	if !fleet.Opened {
		co, label = shared, "with the shared window"
	}
	if alone.HalfOpens > 0 && co.HalfOpens > 0 {
		add("While it was down the dependency got %.1f probes per half-open round alone, %.1f %s; ",
			alone.ProbesPerRound, co.ProbesPerRound, label)
	}
	add("%d probes in all alone, %d %s. ", alone.Probes, co.Probes, label)

	last := func(r *FleetRun) string {
		if !r.Closed {
			return "a breaker was still not closed when the run ended"
		}
		return "the last breaker closed " + optDuration(r.ClosedAfter, true) + " later"
	}
	if alone.Opens == 0 {
		add("After it recovered, %s %s; %d calls were turned away meanwhile", label, last(co), co.RejectedAfter)
	} else {
		add("After it recovered, alone %s; %s, %s. They turned away %d and %d calls meanwhile",
			last(alone), label, last(co), alone.RejectedAfter, co.RejectedAfter)
	}
	if co.RejectedAfter > alone.RejectedAfter {
		add(": every replica waits while the one prober")
		if k := cfg.SuccessThreshold; k > 1 {
			add(" passes %d probes with its own traffic", k)
		} else {
			add(" sends its probe with its own traffic")
		}
	}
	add(".")
	return b.String()
}

func spread(r *FleetRun) string {
	if !r.AllOpened {
		return "never"
	}
	return optDuration(r.AllOpen-r.FirstOpen, true)
}

func tripWord(c circuit.Config) string {
	if c.ConsecutiveFailures > 0 {
		return fmt.Sprintf("%d in a row", c.ConsecutiveFailures)
	}
	return fmt.Sprintf("%d calls", c.MinRequests)
}

// jsonFleet is the shape WriteFleetJSON writes. Durations are in
// milliseconds; a time that never came is null.
type jsonFleet struct {
	Replicas      int            `json:"replicas"`
	Rate          float64        `json:"ratePerReplica"`
	Seed          uint64         `json:"seed"`
	DurationMs    float64        `json:"durationMs"`
	FaultStartMs  float64        `json:"faultStartMs"`
	FaultEndMs    float64        `json:"faultEndMs"`
	LatencyMs     float64        `json:"latencyMs"`
	PropagationMs float64        `json:"propagationMs"`
	FlushMs       float64        `json:"flushMs"`
	WindowMs      float64        `json:"windowMs"`
	MinReplicas   int            `json:"minReplicas"`
	Config        circuit.Config `json:"config"`
	Runs          []jsonFleetRun `json:"runs"`
	Reading       string         `json:"reading"`
}

type jsonFleetRun struct {
	Mode           string           `json:"mode"`
	Requests       int              `json:"requests"`
	Calls          int              `json:"calls"`
	FailedCalls    int              `json:"failedCalls"`
	Rejected       int              `json:"rejected"`
	RejectedAfter  int              `json:"rejectedAfterFault"`
	FirstOpenMs    *float64         `json:"firstOpenMs"` // from the fault's start
	AllOpenMs      *float64         `json:"allOpenMs"`   // from the fault's start
	Probes         int              `json:"probes"`
	FaultProbes    int              `json:"probesInFault"`
	HalfOpens      int              `json:"halfOpensInFault"`
	HalfOpenReps   int              `json:"halfOpenReplicas"`
	ProbesPerRound *float64         `json:"probesPerRound"`
	ClosedAfterMs  *float64         `json:"closedAfterMs"` // from the fault's end
	Opens          int              `json:"opens"`
	FleetOpens     int              `json:"fleetOpens"`
	Rounds         []jsonFleetRound `json:"rounds,omitempty"`
}

type jsonFleetRound struct {
	OpenedMs  float64 `json:"openedMs"`
	Opener    int     `json:"opener"` // -1: the shared window
	Reason    string  `json:"reason"`
	RetryAtMs float64 `json:"retryAtMs"`
	Prober    int     `json:"prober"` // -1: none
	Probes    int     `json:"probes"`
	Outcome   string  `json:"outcome"`
}

// WriteFleetJSON writes res as one JSON object, for scripts: the
// scenario, the breaker's Config, a run per mode with every FleetRun
// field (and the coordinator's rounds), and the reading.
func WriteFleetJSON(w io.Writer, res *FleetResult) error {
	fs := &res.Scenario
	out := jsonFleet{
		Replicas: fs.Replicas, Rate: fs.Rate, Seed: res.Seed,
		DurationMs: ms(fs.Duration), FaultStartMs: ms(fs.FaultStart), FaultEndMs: ms(fs.FaultEnd),
		LatencyMs: ms(fs.Latency), PropagationMs: ms(fs.Propagation), FlushMs: ms(fs.Flush), WindowMs: ms(fs.Window),
		MinReplicas: fs.MinReplicas, Config: res.Config, Reading: FleetReading(res),
	}
	for i := range res.Runs {
		r := &res.Runs[i]
		jr := jsonFleetRun{
			Mode: r.Mode.String(), Requests: r.Requests, Calls: r.Calls, FailedCalls: r.FailedCalls,
			Rejected: r.Rejected, RejectedAfter: r.RejectedAfter,
			FirstOpenMs: msPtr(r.FirstOpen, r.Opened), AllOpenMs: msPtr(r.AllOpen, r.AllOpened),
			Probes: r.Probes, FaultProbes: r.FaultProbes, HalfOpens: r.HalfOpens, HalfOpenReps: r.HalfOpenReplicas,
			ClosedAfterMs: msPtr(r.ClosedAfter, r.Closed), Opens: r.Opens, FleetOpens: r.FleetOpens,
		}
		if r.HalfOpens > 0 {
			v := r.ProbesPerRound
			jr.ProbesPerRound = &v
		}
		for _, rd := range r.Rounds {
			jr.Rounds = append(jr.Rounds, jsonFleetRound{
				OpenedMs: ms(rd.Opened), Opener: rd.Opener, Reason: rd.Reason.String(), RetryAtMs: ms(rd.RetryAt),
				Prober: rd.Prober, Probes: rd.Probes, Outcome: rd.Outcome,
			})
		}
		out.Runs = append(out.Runs, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
