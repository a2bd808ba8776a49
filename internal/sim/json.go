package sim

import (
	"encoding/json"
	"io"
	"time"

	"github.com/breakerlab/circuit"
)

// jsonReport is the shape WriteJSON writes. Durations are in milliseconds
// (numbers, for scripts) or, in the config, strings such as "30s".
type jsonReport struct {
	Scenario         string     `json:"scenario"`
	Seed             uint64     `json:"seed"`
	DurationMs       float64    `json:"durationMs"`
	IntervalMs       float64    `json:"intervalMs"`
	FaultStartMs     *float64   `json:"faultStartMs"`
	FaultEndMs       *float64   `json:"faultEndMs"`
	Config           jsonConfig `json:"config"`
	Runs             []jsonRun  `json:"runs"`
	GoodputRatio     *float64   `json:"goodputRatio"`      // with breaker / no breaker, whole run; null if no breaker's is 0
	FaultGoodRate    *float64   `json:"faultGoodputRatio"` // the same during the fault; null without a fault
	FaultServedRatio *float64   `json:"faultServedRatio"`  // served (fallbacks included) during the fault
	Note             string     `json:"note"`              // how to read the numbers
	// Ramp is the comparison run with the scenario's ramp (Result.Ramped);
	// null without one.
	Ramp *jsonRamp `json:"ramp"`
	// Grouped is the run through a group keyed by tenant
	// (Result.Grouped); absent without tenants.
	Grouped *jsonRun `json:"grouped,omitempty"`
	// Windows of the recovery metrics (ReTripWindow, RecoveryWindow).
	ReTripWindowMs   float64 `json:"reTripWindowMs"`
	RecoveryWindowMs float64 `json:"recoveryWindowMs"`
}

type jsonRamp struct {
	Config jsonConfig `json:"config"`
	Run    jsonRun    `json:"run"`
}

// jsonTenants is the tenant figures of a Summary.
type jsonTenants struct {
	GoodOffered      int     `json:"goodOffered"`
	GoodGoodput      float64 `json:"goodGoodput"`
	GoodFaultGoodput float64 `json:"goodFaultGoodput"`
	GoodRejected     int     `json:"goodRejected"`
	Refused          int     `json:"refused"`
}

type jsonConfig struct {
	Name                string  `json:"Name"`
	ConsecutiveFailures int     `json:"ConsecutiveFailures"`
	ErrorRateThreshold  float64 `json:"ErrorRateThreshold"`
	WindowSize          int     `json:"WindowSize"`
	MinRequests         int     `json:"MinRequests"`
	LatencyThreshold    string  `json:"LatencyThreshold"`
	LatencyPercentile   float64 `json:"LatencyPercentile"`
	OpenTimeout         string  `json:"OpenTimeout"`
	HalfOpenMaxProbes   int     `json:"HalfOpenMaxProbes"`
	SuccessThreshold    int     `json:"SuccessThreshold"`
	CallTimeout         string  `json:"CallTimeout"`
	RampDuration        string  `json:"RampDuration"`
	RampStart           float64 `json:"RampStart"`
}

type jsonRun struct {
	Label       string           `json:"label"`
	Summary     jsonSummary      `json:"summary"`
	Tenants     *jsonTenants     `json:"tenants,omitempty"` // with Scenario.Tenants only
	Transitions []jsonTransition `json:"transitions"`
	Timeline    []jsonInterval   `json:"timeline"`
}

type jsonSummary struct {
	Offered         int      `json:"offered"`
	OK              int      `json:"ok"`
	Late            int      `json:"late"`
	Errors          int      `json:"errors"`
	Fallbacks       int      `json:"fallbacks"`
	QueueTimeouts   int      `json:"queueTimeouts"`
	Shed            int      `json:"shed"`
	Unfinished      int      `json:"unfinished"`
	Calls           int      `json:"dependencyCalls"`
	Retries         int      `json:"retries"`
	Amplification   float64  `json:"callsPerRequest"`
	Goodput         float64  `json:"goodputPerSecond"`
	Served          float64  `json:"servedPerSecond"`
	FaultGoodput    *float64 `json:"faultGoodputPerSecond"`
	FaultServed     *float64 `json:"faultServedPerSecond"`
	P50Ms           float64  `json:"p50Ms"`
	P99Ms           float64  `json:"p99Ms"`
	PeakBusy        int      `json:"peakWorkersBusy"`
	PeakQueue       int      `json:"peakQueue"`
	DetectMs        *float64 `json:"timeToDetectMs"`
	RecoverMs       *float64 `json:"timeToRecoverMs"`
	Opens           int      `json:"opens"`
	FalseOpens      int      `json:"falseOpens"`
	Spared          int      `json:"callsSpared"`
	GoodRejected    int      `json:"goodCallsRejected"`
	BulkheadFull    int      `json:"bulkheadRejections"`
	WorkersInConfig int      `json:"workers"`

	ReTrips             int      `json:"reTrips"`
	RecoveryCalls       int      `json:"recoveryCalls"`
	RecoveryLoad        float64  `json:"recoveryCallsPerSecond"`
	RecoveryPeak        int      `json:"recoveryPeakInFlight"`
	Saturated           int      `json:"saturatedIntervals"`
	CascadesPrevented   int      `json:"cascadesPrevented"`
	FalsePositiveRate   *float64 `json:"falsePositiveRate"`
	MTTRMs              *float64 `json:"meanTimeToRecoveryMs"`
	Outages             int      `json:"outagesRecovered"`
	FallbacksInTime     int      `json:"fallbacksInTime"`
	FallbackSuccessRate *float64 `json:"fallbackSuccessRate"`
}

type jsonTransition struct {
	AtMs   float64 `json:"atMs"`
	From   string  `json:"from"`
	To     string  `json:"to"`
	Reason string  `json:"reason"`
}

type jsonInterval struct {
	StartMs       float64 `json:"startMs"`
	Offered       int     `json:"offered"`
	OK            int     `json:"ok"`
	Served        int     `json:"served"`
	Failed        int     `json:"failed"`
	Fallbacks     int     `json:"fallbacks"`
	Calls         int     `json:"dependencyCalls"`
	PeakBusy      int     `json:"peakWorkersBusy"`
	PeakQueue     int     `json:"peakQueue"`
	P99Ms         float64 `json:"p99Ms"`
	State         string  `json:"state"`
	StateChanged  bool    `json:"stateChanged"`
	QueueTimeouts int     `json:"queueTimeouts"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func msPtr(d time.Duration, ok bool) *float64 {
	if !ok {
		return nil
	}
	v := ms(d)
	return &v
}

// WriteJSON writes res as one indented JSON object: the scenario name,
// seed, the breaker config, and for each run its summary, transitions and
// timeline, and under "ramp" the config and run of the ramp comparison
// (null without one). Times are in milliseconds; a time or rate that does
// not apply (no fault, never detected, no open) is null. It returns the first write error.
func WriteJSON(w io.Writer, res *Result) error {
	out := jsonReport{
		Scenario:     res.Scenario.Name,
		Seed:         res.Seed,
		DurationMs:   ms(res.Scenario.Duration),
		IntervalMs:   ms(res.Interval),
		FaultStartMs: msPtr(res.FaultStart, res.HasFault),
		FaultEndMs:   msPtr(res.FaultEnd, res.HasFault),
		Config:       configJSON(res.Config),
		Note: "goodput counts full answers within the deadline; served adds fallbacks; latencies include errors and fallbacks; " +
			"a re-trip is a trip within reTripWindowMs of a close; recovery counts calls started in the first recoveryWindowMs after the fault",
		ReTripWindowMs:   ms(ReTripWindow),
		RecoveryWindowMs: ms(RecoveryWindow),
	}
	for i := range res.Runs {
		out.Runs = append(out.Runs, runJSON(res, &res.Runs[i]))
	}
	if res.Ramped != nil {
		out.Ramp = &jsonRamp{Config: configJSON(res.RampConfig), Run: runJSON(res, res.Ramped)}
	}
	if res.Grouped != nil {
		g := runJSON(res, res.Grouped)
		out.Grouped = &g
	}
	a, b := &res.Runs[0].Summary, &res.Runs[1].Summary
	out.GoodputRatio = ratio(b.Goodput, a.Goodput)
	if res.HasFault {
		out.FaultGoodRate = ratio(b.FaultGoodput, a.FaultGoodput)
		out.FaultServedRatio = ratio(b.FaultServed, a.FaultServed)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func configJSON(c circuit.Config) jsonConfig {
	return jsonConfig{
		Name: c.Name, ConsecutiveFailures: c.ConsecutiveFailures, ErrorRateThreshold: c.ErrorRateThreshold,
		WindowSize: c.WindowSize, MinRequests: c.MinRequests, LatencyThreshold: c.LatencyThreshold.String(),
		LatencyPercentile: c.LatencyPercentile, OpenTimeout: c.OpenTimeout.String(),
		HalfOpenMaxProbes: c.HalfOpenMaxProbes, SuccessThreshold: c.SuccessThreshold, CallTimeout: c.CallTimeout.String(),
		RampDuration: c.RampDuration.String(), RampStart: c.RampStart,
	}
}

// ratePtr returns v, or nil when it is undefined.
func ratePtr(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

func runJSON(res *Result, run *RunResult) jsonRun {
	s := &run.Summary
	var tenants *jsonTenants
	if res.Scenario.Tenants != nil {
		tenants = &jsonTenants{GoodOffered: s.GoodTenantOffered, GoodGoodput: s.GoodTenantGoodput,
			GoodFaultGoodput: s.GoodTenantFaultGoodput, GoodRejected: s.GoodTenantRejected, Refused: s.Refused}
	}
	jr := jsonRun{
		Tenants:     tenants,
		Label:       run.Label,
		Summary:     summaryJSON(&res.Scenario, res.HasFault, s),
		Transitions: []jsonTransition{},
	}
	for _, t := range run.Transitions {
		jr.Transitions = append(jr.Transitions, jsonTransition{AtMs: ms(t.At), From: t.From.String(), To: t.To.String(), Reason: t.Reason.String()})
	}
	for i := range run.Intervals {
		iv := &run.Intervals[i]
		jr.Timeline = append(jr.Timeline, jsonInterval{
			StartMs: ms(iv.Start), Offered: iv.Offered, OK: iv.OK, Served: iv.Served, Failed: iv.failed(), Fallbacks: iv.Fallbacks,
			Calls: iv.Calls, PeakBusy: iv.PeakBusy, PeakQueue: iv.PeakQueue, P99Ms: ms(iv.P99),
			State: iv.State.String(), StateChanged: iv.Changed, QueueTimeouts: iv.QueueTimeouts,
		})
	}
	return jr
}

// summaryJSON is s in the JSON report's form; the fault figures are null
// without a fault.
func summaryJSON(sc *Scenario, hasFault bool, s *Summary) jsonSummary {
	js := jsonSummary{
		Offered: s.Offered, OK: s.OK, Late: s.Late, Errors: s.Errors, Fallbacks: s.Fallbacks,
		QueueTimeouts: s.QueueTimeouts, Shed: s.Shed, Unfinished: s.Unfinished, Calls: s.Calls,
		Retries: s.Retries, Amplification: s.Amplification(), Goodput: s.Goodput, Served: s.Served,
		FaultGoodput: nil, P50Ms: ms(s.P50), P99Ms: ms(s.P99), PeakBusy: s.PeakBusy, PeakQueue: s.PeakQueue,
		DetectMs: msPtr(s.Detect, s.Detected), RecoverMs: msPtr(s.Recover, s.Recovered),
		Opens: s.Opens, FalseOpens: s.FalseOpens, Spared: s.Spared, GoodRejected: s.GoodRejected, BulkheadFull: s.BulkheadFull, WorkersInConfig: sc.Workers,
		ReTrips: s.ReTrips, RecoveryCalls: s.RecoveryCalls, RecoveryLoad: s.RecoveryLoad, RecoveryPeak: s.RecoveryPeak,
		Saturated: s.Saturated, CascadesPrevented: s.CascadesPrevented,
		FalsePositiveRate: ratePtr(s.FalsePositiveRate()), MTTRMs: msPtr(s.MTTR, s.Recoveries > 0), Outages: s.Recoveries,
		FallbacksInTime: s.FallbacksInTime, FallbackSuccessRate: ratePtr(s.FallbackSuccessRate()),
	}
	if hasFault {
		g, v := s.FaultGoodput, s.FaultServed
		js.FaultGoodput, js.FaultServed = &g, &v
	}
	return js
}

// ratio returns x/y, or nil when y is 0 (JSON has no infinity).
func ratio(x, y float64) *float64 {
	if y == 0 {
		return nil
	}
	v := x / y
	return &v
}
