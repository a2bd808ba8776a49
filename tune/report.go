package tune

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
)

// Report is what one breaker did, or would have done, with the calls
// observed since Attach (or NewSplit): a plain value, safe to keep,
// compare and marshal. Its JSON has the snake_case names of the field tags
// and durations as strings such as "1m30s", like circuit.Config's.
//
// Every count is of calls the live breaker saw. Outcomes are the live
// breaker's classification: a candidate's CallTimeout and LatencyThreshold
// change its own state machine, not whether a call counts as a failure
// here. docs/tuning.md defines every field at length.
type Report struct {
	// Name is the candidate's name, or the breaker's for a live report.
	Name string `json:"name"`
	// Live is true for the report of a breaker that served the calls: the
	// live breaker of Attach, or an arm of a Split.
	Live bool `json:"live"`
	// Config is the configuration judged, with an empty Name: for a live
	// breaker, the one it has now (after Promote, the promoted one).
	Config circuit.Config `json:"config"`
	// State is the breaker's state as of Until.
	State circuit.State `json:"state"`

	// Since is the start of the first observed call and Until the end of
	// the latest one, on the live breaker's clock: the span the report
	// covers. Both are zero before the first call.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`

	// Calls counts the calls observed; Unseen those the live breaker
	// rejected, whose outcome nobody knows; Ignored those it counted
	// Ignored (such as cancelled by the caller), which say nothing of the
	// dependency. The three are the same in every report of a Shadows.
	Calls   uint64 `json:"calls"`
	Unseen  uint64 `json:"unseen"`
	Ignored uint64 `json:"ignored"`

	// Opens counts transitions into Open (and, live, ForcedOpen), reopens
	// from half-open included; RecentOpens lists the times of the latest
	// MaxRecent, oldest first. TimeOpen is the time spent not closed
	// (open, half-open, held open) between Since and Until.
	Opens       int           `json:"opens"`
	RecentOpens []time.Time   `json:"recent_opens"`
	TimeOpen    time.Duration `json:"time_open"`

	// Incidents counts the incidents of the shared stream of known
	// outcomes (the same in every report of a Shadows): an incident's
	// onset is a failure after WithHealthyRun successes in a row (or at
	// the start), it ends at the first success of the next such run, and
	// it counts once it has had WithIncidentFailures failures. Detected
	// counts those during which this breaker opened, or was open at the
	// onset; the time to detect is from the onset to that open (0 if it
	// was open already), and MeanTimeToDetect and MaxTimeToDetect are
	// over the detected ones. RecentIncidents lists the latest MaxRecent,
	// oldest first.
	Incidents        int           `json:"incidents"`
	Detected         int           `json:"detected"`
	MeanTimeToDetect time.Duration `json:"mean_time_to_detect"`
	MaxTimeToDetect  time.Duration `json:"max_time_to_detect"`
	RecentIncidents  []Incident    `json:"recent_incidents"`

	// Rejected counts the calls the breaker would have rejected (open,
	// half-open with every probe slot taken, or ramping) whose outcome is
	// known, because the live breaker admitted them: exactly
	// RejectedFailed (protection) plus RejectedSucceeded (lost goodput).
	// RejectedUnknown counts the other rejections, of calls the live
	// breaker rejected too or counted Ignored. A live report's rejections
	// are all unknown: Rejected, RejectedFailed and RejectedSucceeded are
	// 0 and RejectedUnknown counts them.
	Rejected          uint64 `json:"rejected"`
	RejectedFailed    uint64 `json:"rejected_failed"`
	RejectedSucceeded uint64 `json:"rejected_succeeded"`
	RejectedUnknown   uint64 `json:"rejected_unknown"`
	// FalsePositiveRate is RejectedSucceeded / Rejected, or nil (JSON
	// null) when Rejected is 0, as it always is in a live report.
	FalsePositiveRate *float64 `json:"false_positive_rate"`
	// AdmittedUnseen counts the calls the live breaker rejected that this
	// one would have admitted: their outcome is unknown, so they are in
	// no other count but Calls and Unseen. 0 in a live report.
	AdmittedUnseen uint64 `json:"admitted_unseen"`
	// FailuresLetThrough counts the failures the breaker admitted while
	// closed (probes are not counted): harm it did not prevent.
	FailuresLetThrough uint64 `json:"failures_let_through"`

	// Cost is GoodRejectedCost × RejectedSucceeded +
	// FailureLetThroughCost × FailuresLetThrough (see the options): the
	// known cost of the configuration over the calls the live breaker
	// admitted. A live breaker rejected none of those, so its cost is its
	// failures let through.
	Cost float64 `json:"cost"`
	// Verdict is one line comparing the configuration with the live one
	// (for a Split, the second arm with the first), such as "cand-a: 3
	// fewer opens, 20 more good calls rejected, 60 fewer failures let
	// through: better by cost 40 (80 vs 120)".
	Verdict string `json:"verdict"`
}

// Incident is one incident of the shared stream, as one breaker met it.
type Incident struct {
	Onset time.Time `json:"onset"` // the first failure
	End   time.Time `json:"end"`   // the first success of the healthy run that ended it; zero while it lasts
	// Detected is true if the breaker opened during the incident or was
	// open at its onset, and TimeToDetect is from the onset to then.
	Detected     bool          `json:"detected"`
	TimeToDetect time.Duration `json:"time_to_detect"`
}

// report builds tr's Report. Verdict is left to the caller. It requires
// the owner's lock.
func (tr *tracker) report(inc *incidents, w *settings, first, last time.Time, calls, unseen, ignored uint64) Report {
	r := Report{
		Name:               tr.name,
		Live:               tr.live,
		State:              tr.state,
		Since:              utcOrZero(first),
		Until:              utcOrZero(last),
		Calls:              calls,
		Unseen:             unseen,
		Ignored:            ignored,
		Opens:              tr.opens,
		RecentOpens:        tr.recentOpens(),
		TimeOpen:           tr.openTime(first, last),
		Incidents:          inc.n,
		Detected:           tr.detections,
		MaxTimeToDetect:    tr.detectMax,
		RecentIncidents:    inc.recent(tr),
		Rejected:           tr.rejectedFailed + tr.rejectedSucceeded,
		RejectedFailed:     tr.rejectedFailed,
		RejectedSucceeded:  tr.rejectedSucceeded,
		RejectedUnknown:    tr.rejectedUnknown,
		AdmittedUnseen:     tr.admittedUnseen,
		FailuresLetThrough: tr.letThrough,
	}
	if tr.detections > 0 {
		r.MeanTimeToDetect = tr.detectTotal / time.Duration(tr.detections)
	}
	if r.Rejected > 0 {
		fpr := float64(r.RejectedSucceeded) / float64(r.Rejected)
		r.FalsePositiveRate = &fpr
	}
	r.Cost = w.goodRejectedCost*float64(r.RejectedSucceeded) + w.failureLetThroughCost*float64(r.FailuresLetThrough)
	return r
}

// shadowVerdict compares candidate c with live report l.
func shadowVerdict(c, l Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %s, %s: ", c.Name,
		change(int64(c.Opens)-int64(l.Opens), "opens"),
		change(int64(c.RejectedSucceeded)-int64(l.RejectedSucceeded), "good calls rejected"),
		change(int64(c.FailuresLetThrough)-int64(l.FailuresLetThrough), "failures let through"))
	switch d := c.Cost - l.Cost; {
	case d < 0:
		fmt.Fprintf(&b, "better by cost %s", num(-d))
	case d > 0:
		fmt.Fprintf(&b, "worse by cost %s", num(d))
	default:
		b.WriteString("same cost")
	}
	fmt.Fprintf(&b, " (%s vs %s)", num(c.Cost), num(l.Cost))
	if c.AdmittedUnseen > 0 {
		fmt.Fprintf(&b, "; it would also have admitted %d calls the live breaker rejected (outcome unknown)", c.AdmittedUnseen)
	}
	return b.String()
}

// liveVerdict is the verdict of the live report, the baseline.
func liveVerdict(l Report) string {
	return fmt.Sprintf("%s: the live configuration, the baseline (cost %s)", l.Name, num(l.Cost))
}

// change phrases a difference in a count: "3 more opens", "3 fewer
// opens", "as many opens".
func change(d int64, what string) string {
	switch {
	case d > 0:
		return fmt.Sprintf("%d more %s", d, what)
	case d < 0:
		return fmt.Sprintf("%d fewer %s", -d, what)
	}
	return "as many " + what
}

// num formats a cost to at most two decimals, without trailing zeros.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

// The wire form of a Report and an Incident embeds the plain struct and
// declares the duration fields again, as strings, at the top level, where
// they hide the embedded ones of the same JSON names.

// MarshalJSON encodes r under its snake_case field names, with durations
// as strings such as "1m30s" that UnmarshalJSON reads back exactly.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without the methods, so no recursion
	return json.Marshal(struct {
		plain
		TimeOpen         string `json:"time_open"`
		MeanTimeToDetect string `json:"mean_time_to_detect"`
		MaxTimeToDetect  string `json:"max_time_to_detect"`
	}{plain(r), r.TimeOpen.String(), r.MeanTimeToDetect.String(), r.MaxTimeToDetect.String()})
}

// UnmarshalJSON decodes what MarshalJSON encodes. A duration that
// time.ParseDuration rejects is an error naming its field.
func (r *Report) UnmarshalJSON(data []byte) error {
	type plain Report
	var v struct {
		plain
		TimeOpen         string `json:"time_open"`
		MeanTimeToDetect string `json:"mean_time_to_detect"`
		MaxTimeToDetect  string `json:"max_time_to_detect"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	out := Report(v.plain)
	for _, f := range []struct {
		name, text string
		dst        *time.Duration
	}{
		{"time_open", v.TimeOpen, &out.TimeOpen},
		{"mean_time_to_detect", v.MeanTimeToDetect, &out.MeanTimeToDetect},
		{"max_time_to_detect", v.MaxTimeToDetect, &out.MaxTimeToDetect},
	} {
		if err := parseDuration(f.name, f.text, f.dst); err != nil {
			return err
		}
	}
	*r = out
	return nil
}

// MarshalJSON encodes i with its duration as a string, like Report's.
func (i Incident) MarshalJSON() ([]byte, error) {
	type plain Incident
	return json.Marshal(struct {
		plain
		TimeToDetect string `json:"time_to_detect"`
	}{plain(i), i.TimeToDetect.String()})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (i *Incident) UnmarshalJSON(data []byte) error {
	type plain Incident
	var v struct {
		plain
		TimeToDetect string `json:"time_to_detect"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	out := Incident(v.plain)
	if err := parseDuration("time_to_detect", v.TimeToDetect, &out.TimeToDetect); err != nil {
		return err
	}
	*i = out
	return nil
}

// parseDuration parses a duration field of the JSON; an absent one ("")
// is 0.
func parseDuration(field, text string, dst *time.Duration) error {
	if text == "" {
		*dst = 0
		return nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return fmt.Errorf("tune: JSON field %s: %w", field, err)
	}
	*dst = d
	return nil
}
