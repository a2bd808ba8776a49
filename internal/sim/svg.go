package sim

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
)

// Chart geometry, in SVG user units.
const (
	svgWidth   = 960
	svgHeight  = 600
	plotLeft   = 70
	plotRight  = 930
	stripTop   = 100 // the fault and breaker-state strips
	stripH     = 14
	panel1Top  = 158
	panel1Bot  = 340
	panel2Top  = 384
	panel2Bot  = 560
	colorBase  = "#d62728" // no breaker
	colorBrk   = "#1f77b4" // with breaker
	colorOffer = "#888888"
)

// stateColors fill the breaker-state bands.
var stateColors = map[circuit.State]string{
	circuit.Closed:   "#2ca02c",
	circuit.Open:     "#d62728",
	circuit.HalfOpen: "#ff9f1c",
}

// WriteSVG writes a self-contained SVG chart of res: goodput over time for
// both runs (with the offered load), p99 latency over time on a log scale,
// and the breaker's state as colored bands behind both panels and in a
// strip above them, under a strip marking the fault. It returns the first
// write error.
func WriteSVG(w io.Writer, res *Result) error {
	ew := &errWriter{w: w}
	p := ew.printf
	dur := res.Scenario.Duration
	x := func(t time.Duration) float64 {
		return plotLeft + float64(t)/float64(dur)*(plotRight-plotLeft)
	}
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		svgWidth, svgHeight, svgWidth, svgHeight)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="24" font-size="16" font-weight="bold">circuitsim: %s (seed %d)</text>`+"\n", plotLeft, esc(res.Scenario.Name), res.Seed)
	hy := 44
	for _, l := range wrap(trafficLine(res), 130) {
		p(`<text x="%d" y="%d" fill="#444">%s</text>`+"\n", plotLeft, hy, esc(l))
		hy += 15
	}
	p(`<text x="%d" y="%d" fill="#444">breaker: %s</text>`+"\n", plotLeft, hy, esc(FormatConfig(res.Config)))

	// Strips: the fault, then the breaker's state.
	p(`<text x="%d" y="%d" text-anchor="end" fill="#444">fault</text>`+"\n", plotLeft-6, stripTop+11)
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="#eeeeee"/>`+"\n", plotLeft, stripTop, plotRight-plotLeft, stripH)
	if res.HasFault {
		for _, ph := range faultSpans(res) {
			p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#555555"/>`+"\n", x(ph[0]), stripTop, x(ph[1])-x(ph[0]), stripH)
		}
	}
	bands := stateSpans(res.Runs[1].Transitions, dur)
	sy := stripTop + stripH + 4
	p(`<text x="%d" y="%d" text-anchor="end" fill="#444">breaker</text>`+"\n", plotLeft-6, sy+11)
	for _, b := range bands {
		p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x(b.from), sy, math.Max(x(b.to)-x(b.from), 0.5), stripH, stateColors[b.state])
	}

	// Panels.
	good := func(iv *Interval) (float64, bool) {
		return float64(iv.OK) / (iv.End - iv.Start).Seconds(), true
	}
	served := func(iv *Interval) (float64, bool) {
		return float64(iv.Served) / (iv.End - iv.Start).Seconds(), true
	}
	offered := func(iv *Interval) (float64, bool) {
		return float64(iv.Offered) / (iv.End - iv.Start).Seconds(), true
	}
	p99 := func(iv *Interval) (float64, bool) {
		if iv.answers() == 0 {
			return 0, false
		}
		return math.Max(iv.P99.Seconds(), 0.001), true
	}
	// With retries, the load on the dependency is the story: plot it too.
	showCalls := res.Scenario.Retry != nil
	calls := func(iv *Interval) (float64, bool) {
		return float64(iv.Calls) / (iv.End - iv.Start).Seconds(), true
	}
	maxRate := 0.0
	for _, run := range res.Runs {
		for i := range run.Intervals {
			v, _ := offered(&run.Intervals[i])
			maxRate = math.Max(maxRate, v)
			if showCalls {
				v, _ = calls(&run.Intervals[i])
				maxRate = math.Max(maxRate, v)
			}
		}
	}
	rateTop := niceCeil(maxRate * 1.1)
	yRate := func(v float64) float64 { return panel1Bot - v/rateTop*(panel1Bot-panel1Top) }
	latLo, latHi := 0.001, 1.0
	for _, run := range res.Runs {
		for i := range run.Intervals {
			if v, ok := p99(&run.Intervals[i]); ok {
				latHi = math.Max(latHi, v)
			}
		}
	}
	latHi = math.Pow(10, math.Ceil(math.Log10(latHi)))
	yLat := func(v float64) float64 {
		f := (math.Log10(v) - math.Log10(latLo)) / (math.Log10(latHi) - math.Log10(latLo))
		return panel2Bot - f*(panel2Bot-panel2Top)
	}

	title1 := "per second: full answers in time (solid), answers including fallbacks (dashed)"
	if showCalls {
		title1 += ", dependency calls (dotted)"
	}
	for _, panel := range []struct {
		top, bot int
		title    string
	}{{panel1Top, panel1Bot, title1},
		{panel2Top, panel2Bot, "p99 latency per interval (log scale)"}} {
		p(`<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", plotLeft, panel.top-8, esc(panel.title))
		for _, b := range bands {
			if b.state == circuit.Closed {
				continue
			}
			p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="0.12"/>`+"\n",
				x(b.from), panel.top, math.Max(x(b.to)-x(b.from), 0.5), panel.bot-panel.top, stateColors[b.state])
		}
		p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", plotLeft, panel.top, plotRight-plotLeft, panel.bot-panel.top)
		// Time axis.
		step := timeStep(dur)
		for t := time.Duration(0); t <= dur; t += step {
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(t), panel.top, x(t), panel.bot)
			p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s</text>`+"\n", x(t), panel.bot+15, clockTime(t))
		}
	}
	// Goodput axis.
	for i := 0; i <= 4; i++ {
		v := rateTop * float64(i) / 4
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`+"\n", plotLeft, yRate(v), plotRight, yRate(v))
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", plotLeft-6, yRate(v)+4, trimFloat(v))
	}
	// Latency axis.
	for v := latLo; v <= latHi*1.0001; v *= 10 {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`+"\n", plotLeft, yLat(v), plotRight, yLat(v))
		label := fmt.Sprintf("%gs", math.Round(v))
		if v == latLo {
			label = "≤1ms"
		} else if v < 1 {
			label = fmt.Sprintf("%gms", math.Round(v*1000))
		}
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", plotLeft-6, yLat(v)+4, label)
	}

	line := func(ivs []Interval, val func(*Interval) (float64, bool), y func(float64) float64, color, extra string) {
		var pts []string
		if extra == "" {
			extra = `stroke-width="2"`
		}
		flush := func() {
			if len(pts) > 0 {
				p(`<polyline fill="none" stroke="%s" %s points="%s"/>`+"\n", color, extra, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i := range ivs {
			iv := &ivs[i]
			v, ok := val(iv)
			if !ok {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x((iv.Start+iv.End)/2), y(v)))
		}
		flush()
	}
	base, brk := res.Runs[0].Intervals, res.Runs[1].Intervals
	line(base, offered, yRate, colorOffer, `stroke-dasharray="4 3" stroke-width="1.5"`)
	if showCalls {
		line(base, calls, yRate, colorBase, `stroke-dasharray="2 3" stroke-width="1.5"`)
		line(brk, calls, yRate, colorBrk, `stroke-dasharray="2 3" stroke-width="1.5"`)
	}
	line(brk, served, yRate, colorBrk, `stroke-dasharray="6 3" stroke-width="1.5"`)
	line(base, good, yRate, colorBase, "")
	line(brk, good, yRate, colorBrk, "")
	line(base, p99, yLat, colorBase, "")
	line(brk, p99, yLat, colorBrk, "")

	// Legend.
	ly := svgHeight - 8
	lx := plotLeft
	item := func(color, label, dash string, rect bool) {
		if rect {
			p(`<rect x="%d" y="%d" width="14" height="10" fill="%s" fill-opacity="0.6"/>`+"\n", lx, ly-9, color)
		} else {
			p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" %s/>`+"\n", lx, ly-4, lx+18, ly-4, color, dash)
		}
		p(`<text x="%d" y="%d">%s</text>`+"\n", lx+22, ly, esc(label))
		lx += 22 + 7*len(label) + 18
	}
	item(colorBase, res.Runs[0].Label, "", false)
	item(colorBrk, res.Runs[1].Label, "", false)
	item(colorOffer, "offered", `stroke-dasharray="4 3"`, false)
	item(stateColors[circuit.Closed], "closed", "", true)
	item(stateColors[circuit.Open], "open", "", true)
	item(stateColors[circuit.HalfOpen], "half-open", "", true)
	item("#555555", "fault", "", true)
	p("</svg>\n")
	return ew.err
}

// span is a stretch of time in one breaker state.
type span struct {
	from, to time.Duration
	state    circuit.State
}

// stateSpans turns transitions into the spans of each state over [0, end).
func stateSpans(ts []Transition, end time.Duration) []span {
	var out []span
	cur := span{from: 0, state: circuit.Closed}
	for _, t := range ts {
		if t.At >= end {
			break
		}
		if t.At > cur.from {
			cur.to = t.At
			out = append(out, cur)
		}
		cur = span{from: t.At, state: t.To}
	}
	cur.to = end
	return append(out, cur)
}

// faultSpans returns [start, end) of every fault phase.
func faultSpans(res *Result) [][2]time.Duration {
	var out [][2]time.Duration
	ph := res.Scenario.Phases
	for i := range ph {
		if !ph[i].Fault {
			continue
		}
		end := res.Scenario.Duration
		if i+1 < len(ph) {
			end = ph[i+1].Start
		}
		out = append(out, [2]time.Duration{ph[i].Start, end})
	}
	return out
}

// answers counts the answers given in the interval.
func (iv *Interval) answers() int {
	return iv.OK + iv.Late + iv.Errors + iv.Fallbacks + iv.QueueTimeouts + iv.Shed
}

// timeStep picks a tick spacing that gives 5 to 12 ticks.
func timeStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{
		time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
		2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
	} {
		if d/s <= 12 {
			return s
		}
	}
	return 4 * time.Hour
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	m := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if f*m >= v {
			return f * m
		}
	}
	return 10 * m
}

func trimFloat(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") }

// esc makes s safe as SVG text: XML-escaped, with the control characters
// XML 1.0 forbids dropped.
func esc(s string) string {
	return html.EscapeString(strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return -1
		}
		return r
	}, s))
}

// wrap splits s at "; " into lines of at most width bytes where it can.
func wrap(s string, width int) []string {
	var lines []string
	cur := ""
	for _, part := range strings.SplitAfter(s, "; ") {
		if cur != "" && len(cur)+len(part) > width {
			lines = append(lines, strings.TrimSpace(cur))
			cur = ""
		}
		cur += part
	}
	return append(lines, strings.TrimSpace(cur))
}
