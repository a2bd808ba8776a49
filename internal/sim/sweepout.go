package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/breakerlab/circuit"
)

// shown returns how many entries a report of the top entries shows: all of
// them when top is 0 or more than there are.
func (r *SweepResult) shown(top int) int {
	if top <= 0 || top > len(r.Ranking) {
		return len(r.Ranking)
	}
	return top
}

// WriteSweepText writes the sweep's ranking for people: a header with the
// scenario and the cost, the first top candidates (all when top is 0), one
// a row, the recommended one marked, and what the columns mean. It returns
// the first write error.
func WriteSweepText(w io.Writer, res *SweepResult, top int) error {
	ew := &errWriter{w: w}
	p := ew.printf
	sc := &res.Scenario
	p("sweep of %s: %d configurations, the same traffic (seed %d, %v) through each\n",
		sc.Name, len(res.Ranking), res.Seed, sc.Duration)
	if res.HasFault {
		p("fault:  %s to %s\n", clockTime(res.FaultStart), clockTime(res.FaultEnd))
	} else {
		p("fault:  none (every open is a false open)\n")
	}
	p("cost:   %s × good calls rejected + failed requests, lowest first\n", costNumber(res.RejectWeight))
	p("\n")
	const row = "%-5s %8s %9s %7s %7s %6s %8s  %s\n"
	p(row, "rank", "cost", "rejected", "failed", "detect", "false", "recover", "configuration")
	n := res.shown(top)
	shell := res.shell()
	for i := range res.Ranking[:n] {
		e := &res.Ranking[i]
		rank := strconv.Itoa(e.Rank)
		if i == 0 {
			rank += "*"
		}
		s := &e.Summary
		p(row, rank, costNumber(e.Cost), strconv.Itoa(s.GoodRejected), strconv.Itoa(s.FailedRequests()),
			detectText(shell, s), strconv.Itoa(s.FalseOpens), recoverText(shell, s), e.Name)
	}
	if n < len(res.Ranking) {
		p("(%d more not shown)\n", len(res.Ranking)-n)
	}
	nb := &res.NoBreaker
	p(row, "-", costNumber(nb.Cost(res.RejectWeight)), "0", strconv.Itoa(nb.FailedRequests()), "-", "-", "-", "no breaker, for reference")
	p("\n")
	rec := res.Recommended()
	tie := "the lowest cost"
	if t := res.Tied(); t > 1 {
		tie = fmt.Sprintf("the lowest cost, tied with %d more", t-1)
	}
	p("%s\n", WrapText(fmt.Sprintf("* recommended: %s, %s", rec.Name, tie), 100, "  "))
	p("  %s\n", WrapText(FormatConfig(rec.Config), 100, "  "))
	if nb.Cost(res.RejectWeight) <= rec.Cost {
		p("  no breaker costs no more: none of these configurations pays for itself on this scenario\n")
	}
	deadline := ""
	if sc.Deadline > 0 {
		deadline = " within the " + sc.Deadline.String() + " deadline"
	}
	p("%s\n", WrapText("rejected: good calls rejected, calls the breaker turned away that would have been full answers"+
		deadline+"; failed: errors, late answers, queue timeouts, shed requests and late fallbacks; "+
		"detect: from the fault's start to the first open; false: trips while the dependency was healthy; "+
		"recover: from the fault's end until closed again; equal costs share a rank, in the order tried: "+
		"the base, the presets, then the grid", 100, ""))
	return ew.err
}

// shell is a Result with the fields detectText and recoverText read.
func (r *SweepResult) shell() *Result {
	return &Result{Scenario: r.Scenario, FaultStart: r.FaultStart, FaultEnd: r.FaultEnd, HasFault: r.HasFault}
}

// costNumber writes a cost as a whole number when it is one, else to one
// decimal.
func costNumber(c float64) string {
	if c == math.Trunc(c) && math.Abs(c) < 1e15 {
		return strconv.FormatFloat(c, 'f', 0, 64)
	}
	return strconv.FormatFloat(c, 'f', 1, 64)
}

// jsonSweep is the shape WriteSweepJSON writes: the fields it shares with
// jsonReport mean the same.
type jsonSweep struct {
	Scenario       string           `json:"scenario"`
	Seed           uint64           `json:"seed"`
	DurationMs     float64          `json:"durationMs"`
	FaultStartMs   *float64         `json:"faultStartMs"`
	FaultEndMs     *float64         `json:"faultEndMs"`
	RejectWeight   float64          `json:"rejectWeight"`
	Cost           string           `json:"cost"`
	Configurations int              `json:"configurations"` // in the sweep; Ranking holds the first top
	Recommended    string           `json:"recommended"`
	Tied           int              `json:"tiedForLowest"`
	NoBreaker      jsonSweepRun     `json:"noBreaker"`
	Ranking        []jsonSweepEntry `json:"ranking"`
	Note           string           `json:"note"`
}

type jsonSweepRun struct {
	Cost           float64     `json:"cost"`
	GoodRejected   int         `json:"goodCallsRejected"`
	FailedRequests int         `json:"failedRequests"`
	Summary        jsonSummary `json:"summary"`
}

type jsonSweepEntry struct {
	Rank        int            `json:"rank"`
	Recommended bool           `json:"recommended"`
	Name        string         `json:"name"`
	Config      circuit.Config `json:"config"`
	jsonSweepRun
}

// WriteSweepJSON writes the sweep as one indented JSON object: the
// scenario, seed, reject weight and cost formula, the run without a
// breaker, and the first top candidates in rank order (all when top is 0),
// each with its rank, name, full config (as ParseConfig reads it, so that
// it can be saved and used with -config), cost, the cost's two terms and
// its summary as WriteJSON writes one. Times are in milliseconds, null
// where they do not apply. It returns the first write error.
func WriteSweepJSON(w io.Writer, res *SweepResult, top int) error {
	rec := res.Recommended()
	out := jsonSweep{
		Scenario:       res.Scenario.Name,
		Seed:           res.Seed,
		DurationMs:     ms(res.Scenario.Duration),
		FaultStartMs:   msPtr(res.FaultStart, res.HasFault),
		FaultEndMs:     msPtr(res.FaultEnd, res.HasFault),
		RejectWeight:   res.RejectWeight,
		Cost:           "rejectWeight × goodCallsRejected + failedRequests",
		Configurations: len(res.Ranking),
		Recommended:    rec.Name,
		Tied:           res.Tied(),
		NoBreaker:      sweepRunJSON(res, &res.NoBreaker),
		Ranking:        []jsonSweepEntry{},
		Note: "goodCallsRejected: calls the breaker rejected that would have been full answers within the deadline; " +
			"failedRequests: errors, late answers, queue timeouts, shed requests and late fallbacks; " +
			"ranked by cost, ties in the order tried (the base, the presets, then the grid)",
	}
	for i := range res.Ranking[:res.shown(top)] {
		e := &res.Ranking[i]
		out.Ranking = append(out.Ranking, jsonSweepEntry{
			Rank: e.Rank, Recommended: i == 0, Name: e.Name, Config: e.Config,
			jsonSweepRun: sweepRunJSON(res, &e.Summary),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func sweepRunJSON(res *SweepResult, s *Summary) jsonSweepRun {
	return jsonSweepRun{Cost: s.Cost(res.RejectWeight), GoodRejected: s.GoodRejected, FailedRequests: s.FailedRequests(),
		Summary: summaryJSON(&res.Scenario, res.HasFault, s)}
}
