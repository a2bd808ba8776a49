package sim

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes the report for people: a header describing the
// scenario and the breaker, the timeline of both runs side by side, and
// the summary table. It returns the first write error.
func WriteText(w io.Writer, res *Result) error {
	ew := &errWriter{w: w}
	sc := &res.Scenario
	p := ew.printf
	p("%s\n", WrapText(fmt.Sprintf("scenario %s: %s", sc.Name, sc.Description), 100, ""))
	const indent = "          " // the width of "traffic:  "
	p("traffic:  %s\n", WrapText(trafficLine(res), 100, indent))
	p("breaker:  %s\n", WrapText(FormatConfig(res.Config), 100, indent))
	if res.HasFault {
		p("fault:    %s to %s\n", clockTime(res.FaultStart), clockTime(res.FaultEnd))
	} else {
		p("fault:    none (every open is a false open)\n")
	}
	p("\n")
	writeTimeline(ew, res)
	p("\n")
	writeSummary(ew, res)
	return ew.err
}

func trafficLine(res *Result) string {
	sc := &res.Scenario
	arr := sc.Arrivals
	if arr == "" {
		arr = "poisson"
	}
	s := fmt.Sprintf("%g req/s (%s, seed %d) for %v; %d workers, queue %d", sc.Rate, arr, res.Seed, sc.Duration, sc.Workers, sc.QueueSize)
	if sc.QueueTimeout > 0 {
		s += fmt.Sprintf(" (timeout %v)", sc.QueueTimeout)
	}
	if sc.Deadline > 0 {
		s += fmt.Sprintf("; client deadline %v", sc.Deadline)
	}
	if sc.DependencyShare > 0 && sc.DependencyShare < 1 {
		s += fmt.Sprintf("; %g%% of requests call the dependency, the rest take %v", sc.DependencyShare*100, sc.LocalLatency)
	}
	if sc.CallTimeout > 0 {
		s += fmt.Sprintf("; call timeout %v", sc.CallTimeout)
	}
	if sc.Capacity > 0 {
		s += fmt.Sprintf("; dependency slows beyond %d calls at once", sc.Capacity)
	}
	if sc.Bulkhead > 0 {
		s += fmt.Sprintf("; breaker run: bulkhead of %d", sc.Bulkhead)
	}
	if tn := sc.Tenants; tn != nil {
		s += fmt.Sprintf("; %d tenants, %d failing in the fault", tn.Count, tn.Failing)
	}
	if r := sc.Retry; r != nil {
		s += fmt.Sprintf("; %d attempts, backoff from %v", r.MaxAttempts, r.Backoff)
		if r.BudgetRatio > 0 || r.BudgetMinPerSecond > 0 {
			s += fmt.Sprintf(" (breaker run: budget %g%% + %g/s)", r.BudgetRatio*100, r.BudgetMinPerSecond)
		}
	}
	return s
}

func writeTimeline(ew *errWriter, res *Result) {
	calls := res.Scenario.Retry != nil || res.Scenario.Capacity > 0
	base, brk := &res.Runs[0], &res.Runs[1]
	runCols := func(withState bool) (string, int) {
		h := fmt.Sprintf("%5s %5s", "ok", "fail")
		if withState {
			h += fmt.Sprintf(" %5s", "fb")
		}
		if calls {
			h += fmt.Sprintf(" %5s", "calls")
		}
		h += fmt.Sprintf(" %4s %5s %6s", "busy", "queue", "p99")
		if withState {
			h += fmt.Sprintf("  %-10s", "state")
		}
		return h, len(h)
	}
	bh, bw := runCols(false)
	kh, kw := runCols(true)
	ew.printf("timeline (counts per %v)\n", res.Interval)
	ew.printf("%s\n", strings.TrimRight(fmt.Sprintf("%-13s | %s | %s", "", center(base.Label, bw), center(brk.Label, kw)), " "))
	ew.printf("%s\n", strings.TrimRight(fmt.Sprintf("%5s %7s | %s | %s", "time", "offered", bh, kh), " "))
	for i := range base.Intervals {
		a, b := &base.Intervals[i], &brk.Intervals[i]
		row := func(iv *Interval, withState bool) string {
			s := fmt.Sprintf("%5d %5d", iv.OK, iv.failed())
			if withState {
				s += fmt.Sprintf(" %5d", iv.Fallbacks)
			}
			if calls {
				s += fmt.Sprintf(" %5d", iv.Calls)
			}
			p99 := "-"
			if iv.answers() > 0 {
				p99 = durationString(iv.P99)
			}
			s += fmt.Sprintf(" %4d %5d %6s", iv.PeakBusy, iv.PeakQueue, p99)
			if withState {
				st := iv.State.String()
				if iv.Changed {
					st += "*"
				}
				s += fmt.Sprintf("  %-10s", st)
			}
			return s
		}
		ew.printf("%s\n", strings.TrimRight(fmt.Sprintf("%5s %7d | %s | %s", clockTime(a.Start), a.Offered, row(a, false), row(b, true)), " "))
	}
	deadline := ""
	if res.Scenario.Deadline > 0 {
		deadline = " within the deadline"
	}
	ew.printf("ok: full answers%s; fail: errors, late answers, queue timeouts and shed requests\n", deadline)
	ew.printf("fb: fallbacks for rejected calls; busy, queue: peaks in the interval; p99: of the answers given in it\n")
	ew.printf("state: the breaker's at the end of the interval, * if it changed during it\n")
}

func writeSummary(ew *errWriter, res *Result) {
	a, b := &res.Runs[0].Summary, &res.Runs[1].Summary
	ew.printf("%-34s %14s %14s\n", "summary", res.Runs[0].Label, res.Runs[1].Label)
	row := func(name, x, y string) { ew.printf("%-34s %14s %14s\n", name, x, y) }
	num := func(n int) string { return fmt.Sprint(n) }
	rate := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	row("goodput (full answers/s)", rate(a.Goodput), rate(b.Goodput))
	if res.HasFault {
		row("  during the fault", rate(a.FaultGoodput), rate(b.FaultGoodput))
	}
	row("served, fallbacks included (/s)", rate(a.Served), rate(b.Served))
	if res.HasFault {
		row("  during the fault", rate(a.FaultServed), rate(b.FaultServed))
	}
	row("full answers / fallbacks", fmt.Sprintf("%d / %d", a.OK, a.Fallbacks), fmt.Sprintf("%d / %d", b.OK, b.Fallbacks))
	row("errors / late answers", fmt.Sprintf("%d / %d", a.Errors, a.Late), fmt.Sprintf("%d / %d", b.Errors, b.Late))
	row("p50 latency", durationString(a.P50), durationString(b.P50))
	row("p99 latency", durationString(a.P99), durationString(b.P99))
	row("peak workers busy", fmt.Sprintf("%d/%d", a.PeakBusy, res.Scenario.Workers), fmt.Sprintf("%d/%d", b.PeakBusy, res.Scenario.Workers))
	row("queue timeouts / shed", fmt.Sprintf("%d / %d", a.QueueTimeouts, a.Shed), fmt.Sprintf("%d / %d", b.QueueTimeouts, b.Shed))
	row("dependency calls (per request)", fmt.Sprintf("%d (%.2f)", a.Calls, a.Amplification()), fmt.Sprintf("%d (%.2f)", b.Calls, b.Amplification()))
	if res.Scenario.Retry != nil {
		row("retries", num(a.Retries), num(b.Retries))
	}
	if res.HasFault {
		row("dependency calls/s after the fault", fmt.Sprintf("%.1f", a.RecoveryLoad), fmt.Sprintf("%.1f", b.RecoveryLoad))
	}
	row("saturated intervals (pool full)", num(a.Saturated), num(b.Saturated))
	row("time to detect (first open)", "-", detectText(res, b))
	row("time to recover (closed again)", "-", recoverText(res, b))
	row("opens / false opens", "-", fmt.Sprintf("%d / %d", b.Opens, b.FalseOpens))
	row("false-positive rate (false/opens)", "-", share(b.FalsePositiveRate()))
	row(fmt.Sprintf("re-trips (within %gs of a close)", ReTripWindow.Seconds()), "-", num(b.ReTrips))
	row("MTTR (mean outage, trip to close)", "-", mttrText(b))
	row("cascades prevented (intervals)", "-", num(b.CascadesPrevented))
	row("calls spared", "-", num(b.Spared))
	row("fallback success rate (in time)", "-", share(b.FallbackSuccessRate()))
	if res.Scenario.Bulkhead > 0 {
		row("bulkhead rejections", "-", num(b.BulkheadFull))
	}
	if a.Unfinished+b.Unfinished > 0 {
		row("unfinished at the end", num(a.Unfinished), num(b.Unfinished))
	}
	in := ""
	if res.Scenario.Deadline > 0 {
		in = fmt.Sprintf(" within the %v deadline", res.Scenario.Deadline)
	}
	ew.printf("full answers: from the dependency (or local work)%s; served adds fallbacks%s;\n", in, in)
	ew.printf("latencies include errors and fallbacks; \"during the fault\" counts the requests that arrived in it\n")
	if res.HasFault {
		ew.printf("after the fault: calls started in the first %gs after it ended\n", RecoveryWindow.Seconds())
	}
	if res.Ramped != nil {
		ew.printf("\n")
		writeRampComparison(ew, res)
	}
	if res.Grouped != nil {
		ew.printf("\n")
		writeTenantComparison(ew, res)
	}
}

// writeTenantComparison sets the shared breaker beside a group keyed by
// tenant: what the good tenants get from each.
func writeTenantComparison(ew *errWriter, res *Result) {
	tn := res.Scenario.Tenants
	runs := []*RunResult{&res.Runs[0], &res.Runs[1], res.Grouped}
	good := tn.Count - tn.Failing
	ew.printf("%-36s %12s %14s %15s\n", "tenants", "no breaker", "one breaker", "group by tenant")
	row := func(name string, f func(s *Summary) string) {
		ew.printf("%-36s %12s %14s %15s\n", name, f(&runs[0].Summary), f(&runs[1].Summary), f(&runs[2].Summary))
	}
	goodName := fmt.Sprintf("the %d good tenants", good)
	if good == 1 {
		goodName = "the good tenant"
	}
	row(fmt.Sprintf("goodput of %s (/s)", goodName), func(s *Summary) string { return fmt.Sprintf("%.1f", s.GoodTenantGoodput) })
	row("  during the fault", func(s *Summary) string { return fmt.Sprintf("%.1f", s.GoodTenantFaultGoodput) })
	row("good tenants' calls rejected", func(s *Summary) string { return fmt.Sprint(s.GoodTenantRejected) })
	row(fmt.Sprintf("tenants refused a call (of %d)", tn.Count), func(s *Summary) string { return fmt.Sprint(s.Refused) })
	row("opens (every breaker)", func(s *Summary) string { return fmt.Sprint(s.Opens) })
	row("calls spared", func(s *Summary) string { return fmt.Sprint(s.Spared) })
	failing := fmt.Sprintf("%d failing tenant", tn.Failing)
	if tn.Failing > 1 {
		failing += "s"
	}
	share := "their fair share"
	if tn.Share > 0 {
		share = fmt.Sprintf("%g%%", tn.Share*100)
	}
	ew.printf("%s\n", WrapText(fmt.Sprintf("%d tenants; %s (%s of the requests) whose calls all fail during the fault; "+
		"the same traffic through no breaker, one breaker for every tenant, and a circuit.Group of one breaker per tenant", tn.Count, failing, share), 100, ""))
}

// writeRampComparison sets the breaker run beside the same breaker with
// the scenario's ramp: the numbers the ramp is meant to change.
func writeRampComparison(ew *errWriter, res *Result) {
	a, b := &res.Runs[1].Summary, &res.Ramped.Summary
	rp := res.Scenario.Ramp
	ew.printf("%-34s %14s %14s\n", "the ramp", "as configured", "with ramp")
	row := func(name, x, y string) { ew.printf("%-34s %14s %14s\n", name, x, y) }
	num := func(n int) string { return fmt.Sprint(n) }
	configured := "none"
	if d := res.Config.RampDuration; d > 0 {
		configured = rampText(d, res.Config.RampStart)
	}
	row("ramp", configured, rampText(rp.Duration, rp.Start))
	row("time to detect (first open)", detectText(res, a), detectText(res, b))
	row("false opens", num(a.FalseOpens), num(b.FalseOpens))
	row(fmt.Sprintf("re-trips (within %gs of a close)", ReTripWindow.Seconds()), num(a.ReTrips), num(b.ReTrips))
	if res.HasFault {
		row("dependency calls/s after the fault", fmt.Sprintf("%.1f", a.RecoveryLoad), fmt.Sprintf("%.1f", b.RecoveryLoad))
		row("  peak calls in flight then", num(a.RecoveryPeak), num(b.RecoveryPeak))
	}
	row("time to recover (closed again)", recoverText(res, a), recoverText(res, b))
	row("MTTR (mean outage, trip to close)", mttrText(a), mttrText(b))
	row("errors / fallbacks", fmt.Sprintf("%d / %d", a.Errors, a.Fallbacks), fmt.Sprintf("%d / %d", b.Errors, b.Fallbacks))
	row("goodput (full answers/s)", fmt.Sprintf("%.1f", a.Goodput), fmt.Sprintf("%.1f", b.Goodput))
	ew.printf("the same traffic through the same breaker, the second with RampDuration and RampStart set\n")
}

// rampText describes a ramp as "1m from 10%".
func rampText(d time.Duration, start float64) string {
	ds := durationString(d)
	if d%time.Minute == 0 {
		ds = fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%s from %g%%", ds, start*100)
}

func detectText(res *Result, s *Summary) string {
	switch {
	case !res.HasFault:
		return "-"
	case !s.Detected:
		return "never"
	}
	return durationString(s.Detect.Round(100 * time.Millisecond))
}

func recoverText(res *Result, s *Summary) string {
	switch {
	case !res.HasFault:
		return "-"
	case s.Recovered:
		return durationString(s.Recover.Round(100 * time.Millisecond))
	case s.Detected:
		return "never"
	}
	return "-"
}

func mttrText(s *Summary) string {
	if s.Recoveries == 0 {
		return "-"
	}
	return durationString(s.MTTR.Round(100 * time.Millisecond))
}

// share formats a rate as a percentage, or "-" when it is undefined.
func share(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

// clockTime formats a simulated time as m:ss.
func clockTime(d time.Duration) string {
	s := int(d / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func center(s string, w int) string {
	if len(s) >= w {
		return s
	}
	left := (w - len(s)) / 2
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", w-len(s)-left)
}

// errWriter keeps the first write error so that the report code can print
// freely and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// WrapText breaks s into lines of at most width bytes at spaces (a longer
// word gets a line of its own) and starts every line after the first with
// indent. The first line is taken to start at column len(indent) too: the
// caller prints its own prefix of that length before it.
func WrapText(s string, width int, indent string) string {
	var b strings.Builder
	n := len(indent)
	for i, w := range strings.Fields(s) {
		if i > 0 && n+1+len(w) > width {
			b.WriteString("\n")
			b.WriteString(indent)
			n = len(indent)
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
