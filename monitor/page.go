package monitor

import (
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"time"

	"github.com/breakerlab/circuit"
)

// stateCount is one entry of the page's summary line.
type stateCount struct {
	State string
	N     int
}

// stateCounts counts the breakers per state: closed, half-open and open
// always, then any other state present, by its text form.
func stateCounts(bs []Status) []stateCount {
	counts := map[circuit.State]int{circuit.Closed: 0, circuit.HalfOpen: 0, circuit.Open: 0}
	for _, b := range bs {
		counts[b.state]++
	}
	states := make([]circuit.State, 0, len(counts))
	for s := range counts {
		states = append(states, s)
	}
	order := func(s circuit.State) int { // the three known ones first, in this order
		switch s {
		case circuit.Closed:
			return -3
		case circuit.HalfOpen:
			return -2
		case circuit.Open:
			return -1
		}
		return int(s)
	}
	sort.Slice(states, func(i, j int) bool { return order(states[i]) < order(states[j]) })
	out := make([]stateCount, len(states))
	for i, s := range states {
		out[i] = stateCount{State: s.String(), N: counts[s]}
	}
	return out
}

// alertCounts returns the number of active alerts, of critical ones and
// of warnings.
func alertCounts(bs []Status) (all, critical, warning int) {
	for _, b := range bs {
		for _, a := range b.Alerts {
			all++
			switch a.Severity {
			case Critical:
				critical++
			case Warning:
				warning++
			}
		}
	}
	return all, critical, warning
}

// stateClass is the CSS class of a state's badge: its text form for the
// states the style sheet knows, "unknown" (grey, still labelled with its
// text) for any other.
func stateClass(s Status) string {
	switch s.state {
	case circuit.Closed, circuit.Open, circuit.HalfOpen:
		return s.State
	}
	return "unknown"
}

// severityClass is the CSS class of a severity label or of a row.
func severityClass(s Severity) string {
	switch s {
	case Critical, Warning:
		return s.String()
	}
	return "unknown"
}

// seconds formats seconds as a duration, such as "960ms".
func seconds(sec float64) string {
	return time.Duration(sec * float64(time.Second)).Round(100 * time.Microsecond).String()
}

// pct formats a share such as 0.4 as "40.0%".
func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// pctShort formats a threshold such as 0.5 as "50%".
func pctShort(f float64) string { return strconv.FormatFloat(100*f, 'f', -1, 64) + "%" }

// percentileLabel names a latency percentile, such as "p95" for 0.95.
func percentileLabel(p float64) string { return "p" + strconv.FormatFloat(100*p, 'f', -1, 64) }

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"pct":         pct,
	"pctShort":    pctShort,
	"seconds":     seconds,
	"percentile":  percentileLabel,
	"stamp":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"agoFrom":     func(now time.Time, t *time.Time) string { return ago(now.Sub(*t)) },
	"stateClass":  stateClass,
	"sevClass":    severityClass,
	"stateCounts": stateCounts,
	"alertCounts": func(bs []Status) []int { a, c, w := alertCounts(bs); return []int{a, c, w} },
	"rowClass": func(s Status) string {
		w := worst(s)
		if w < 0 {
			return ""
		}
		return severityClass(w)
	},
	"atOrOver": func(v, limit float64) bool { return limit > 0 && v >= limit },
	"dur":      func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"fpr": func(f *float64) string {
		if f == nil {
			return ""
		}
		return pct(*f)
	},
	"cost": func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="10">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Circuit breakers</title>
<style>
body { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1f2328; background: #ffffff; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
h2 { font-size: 1.05rem; margin: 0 0 .4rem; }
p.summary { margin: 0 0 1rem; color: #59636e; }
section.alerts { margin: 0 0 1.2rem; }
section.alerts ul { list-style: none; margin: 0; padding: 0; }
section.alerts li { padding: .25rem 0; }
table { border-collapse: collapse; min-width: 44rem; }
th, td { padding: .45rem .7rem; border-bottom: 1px solid #d1d9e0; text-align: left; white-space: nowrap; vertical-align: middle; }
th { white-space: normal; vertical-align: bottom; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: #59636e; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.num { text-align: right; }
.name { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
td.failure { max-width: 16rem; overflow: hidden; text-overflow: ellipsis; }
tr.critical td:first-child { box-shadow: inset 4px 0 #a40e26; }
tr.warning td:first-child { box-shadow: inset 4px 0 #f2c744; }
.state { display: inline-block; min-width: 5.5rem; padding: .1rem .6rem; border-radius: 1rem; font-weight: 600; text-align: center; }
.state.closed { background: #1a7f37; color: #ffffff; }
.state.open { background: #cf222e; color: #ffffff; }
.state.half-open { background: #9a6700; color: #ffffff; }
.state.unknown { background: #59636e; color: #ffffff; }
.sev, .badge { display: inline-block; padding: 0 .45rem; border-radius: .25rem; font-size: .75rem; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; }
.sev.critical { background: #a40e26; color: #ffffff; }
.sev.warning { background: #f2c744; color: #1f2328; }
.sev.unknown { background: #59636e; color: #ffffff; }
.badge.flapping { background: #8250df; color: #ffffff; }
.ago, .limit, .none, p.note, p.empty { color: #59636e; }
.over { font-weight: 700; }
table.figures { min-width: 0; margin: 0 0 1.2rem; }
table.figures th { text-transform: none; letter-spacing: 0; font-size: .95rem; font-weight: 400; vertical-align: middle; }
table.figures th.attention { box-shadow: inset 4px 0 #a40e26; }
.badge.attention { background: #a40e26; color: #ffffff; }
section.tuning { margin: 1.6rem 0 0; }
table.tuning { margin: 0 0 1.2rem; }
table.tuning caption { text-align: left; font-weight: 600; padding: 0 0 .4rem; }
table.tuning tbody th { text-transform: none; letter-spacing: 0; font-size: .95rem; font-weight: 400; color: #1f2328; vertical-align: middle; max-width: 14rem; overflow-wrap: anywhere; }
table.tuning td.verdict { white-space: normal; min-width: 18rem; max-width: 30rem; }
.badge.live { background: #59636e; color: #ffffff; }
</style>
</head>
<body>
<h1>Circuit breakers</h1>
{{- $counts := alertCounts .Breakers}}
<p class="summary">{{len .Breakers}} breakers: {{range $i, $c := stateCounts .Breakers}}{{if $i}}, {{end}}{{$c.N}} {{$c.State}}{{end}}
{{- if .Monitored}} &middot; {{index $counts 0}} active alerts ({{index $counts 1}} critical, {{index $counts 2}} warning){{end}} &middot; generated {{stamp .GeneratedAt}}</p>
{{if .Summary}}<section class="figures">
<h2>Service</h2>
<table class="figures">
<tbody>
{{range .Summary}}<tr><th scope="row"{{if .Alert}} class="attention"{{end}}>{{.Label}}</th><td{{if .Alert}} class="over"{{end}}>{{.Value}}{{if .Alert}} <span class="badge attention">attention</span>{{end}}</td></tr>
{{end}}</tbody>
</table>
</section>
{{end}}
{{- if .Monitored}}<section class="alerts">
<h2>Active alerts</h2>
{{if index $counts 0}}<ul>
{{range .Breakers}}{{$b := .}}{{range .Alerts}}<li class="{{sevClass .Severity}}"><span class="sev {{sevClass .Severity}}">{{.Severity}}</span> <span class="name">{{$b.Name}}</span> {{.Kind}}: {{.Message}} <span class="ago">(raised {{.For}} ago)</span></li>
{{end}}{{end}}</ul>
{{else}}<p class="note">No active alerts.</p>
{{end}}</section>
{{else}}<p class="note">Alerts, recent transitions and reasons are not shown: this page has no monitor (monitor.WithMonitor).</p>
{{end}}
{{- if .Breakers}}<table>
<thead><tr><th>Name</th><th>State</th><th>Alerts</th><th class="num">Transitions<br>last 10m</th><th>Last<br>transition</th><th class="num">Error rate</th><th class="num">Latency</th><th>Last failure</th></tr></thead>
<tbody>
{{range .Breakers}}{{$b := .}}<tr class="{{rowClass .}}" data-name="{{.Name}}">
<td class="name">{{.Name}}{{if .Flapping}} <span class="badge flapping">flapping</span>{{end}}</td>
<td><span class="state {{stateClass .}}">{{.State}}</span> <span class="ago">for {{.For}}</span></td>
<td>{{range $i, $a := .Alerts}}{{if $i}}<br>{{end}}<span class="sev {{sevClass .Severity}}">{{.Severity}}</span> {{.Kind}}{{else}}<span class="none">{{if $.Monitored}}none{{else}}&ndash;{{end}}</span>{{end}}</td>
<td class="num">{{if $.Monitored}}{{.RecentTransitions}}{{else}}<span class="none">&ndash;</span>{{end}}</td>
<td>{{if .LastTransitionAt}}{{.LastReason}} <span class="ago">{{agoFrom $.GeneratedAt .LastTransitionAt}} ago</span>{{else}}<span class="none">&ndash;</span>{{end}}</td>
<td class="num">{{if .WindowRequests}}<span{{if .Thresholds}}{{if atOrOver .ErrorRate .Thresholds.ErrorRate}} class="over"{{end}}{{end}}>{{pct .ErrorRate}}</span>{{else}}<span class="none">&ndash;</span>{{end}}{{with .Thresholds}} <span class="limit">/ {{if .ErrorRate}}{{pctShort .ErrorRate}}{{else}}off{{end}}</span>{{end}} <span class="limit">({{.WindowRequests}} calls{{with .Thresholds}}{{if lt $b.WindowRequests .MinRequests}}, min {{.MinRequests}}{{end}}{{end}})</span></td>
<td class="num">{{if .Thresholds}}{{percentile .Thresholds.LatencyPercentile}} {{if .WindowRequests}}<span{{if atOrOver .PercentileLatencySeconds .Thresholds.LatencySeconds}} class="over"{{end}}>{{seconds .PercentileLatencySeconds}}</span>{{else}}<span class="none">&ndash;</span>{{end}} <span class="limit">/ {{if .Thresholds.LatencySeconds}}{{seconds .Thresholds.LatencySeconds}}{{else}}off{{end}}</span>{{else}}p95 {{if .WindowRequests}}{{seconds .P95LatencySeconds}}{{else}}<span class="none">&ndash;</span>{{end}}{{end}}</td>
<td class="failure" title="{{.LastFailure}}">{{if .LastFailure}}{{.LastFailure}}{{with .LastFailureAt}} <span class="ago">{{agoFrom $.GeneratedAt .}} ago</span>{{end}}{{else}}<span class="none">&ndash;</span>{{end}}</td>
</tr>
{{end}}</tbody>
</table>{{else}}<p class="empty">No breakers registered.</p>{{end}}
{{- if .Tuning}}
<section class="tuning">
<h2>Tuning</h2>
<p class="note">What each configuration did with the same calls, or would have done: candidates run as shadows beside the live breaker and reject nothing. Rejections of unknown outcome are calls the live breaker rejected or did not judge.</p>
{{range .Tuning}}<table class="tuning">
<caption>Configurations of <span class="name">{{.Breaker}}</span>{{with .Error}} <span class="badge attention">attention</span> {{.}}{{end}}</caption>
<thead><tr><th scope="col">Configuration</th><th scope="col" class="num">Opens</th><th scope="col" class="num">Time open</th><th scope="col" class="num">Incidents detected</th><th scope="col" class="num">Mean time<br>to detect</th><th scope="col" class="num">Rejected:<br>failed / good</th><th scope="col" class="num">False<br>positives</th><th scope="col" class="num">Rejected,<br>outcome unknown</th><th scope="col" class="num">Failures<br>let through</th><th scope="col" class="num">Cost</th><th scope="col">Verdict</th></tr></thead>
<tbody>
{{range .Reports}}<tr data-config="{{.Name}}">
<th scope="row" class="name">{{.Name}}{{if .Live}} <span class="badge live">live</span>{{end}}</th>
<td class="num">{{.Opens}}</td>
<td class="num">{{dur .TimeOpen}}</td>
<td class="num">{{.Detected}} of {{.Incidents}}</td>
<td class="num">{{if .Detected}}{{dur .MeanTimeToDetect}}{{else}}<span class="none">&ndash;</span>{{end}}</td>
<td class="num">{{if .Live}}<span class="none">unknown</span>{{else}}{{.RejectedFailed}} / {{.RejectedSucceeded}}{{end}}</td>
<td class="num">{{with fpr .FalsePositiveRate}}{{.}}{{else}}<span class="none">&ndash;</span>{{end}}</td>
<td class="num">{{.RejectedUnknown}}</td>
<td class="num">{{.FailuresLetThrough}}</td>
<td class="num">{{cost .Cost}}</td>
<td class="verdict">{{.Verdict}}</td>
</tr>
{{end}}</tbody>
</table>
{{end}}</section>
{{- end}}
</body>
</html>
`))
