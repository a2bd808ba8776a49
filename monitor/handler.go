package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
)

// Status is one breaker as the status page and its JSON show it.
type Status struct {
	Name                string     `json:"name"`
	State               string     `json:"state"`                // "closed", "open" or "half-open"
	Since               time.Time  `json:"since"`                // when the current state began
	For                 string     `json:"for"`                  // how long ago that was, rounded to the second
	ErrorRate           float64    `json:"error_rate"`           // over the window, 0..1
	WindowRequests      int        `json:"window_requests"`      // outcomes in the window
	P95LatencySeconds   float64    `json:"p95_latency_seconds"`  // over the window
	AvgLatencySeconds   float64    `json:"avg_latency_seconds"`  // over the window
	Successes           uint64     `json:"successes"`            // lifetime
	Failures            uint64     `json:"failures"`             // lifetime
	Rejections          uint64     `json:"rejections"`           // lifetime
	Fallbacks           uint64     `json:"fallbacks"`            // lifetime
	Transitions         uint64     `json:"transitions"`          // lifetime
	ConsecutiveFailures int        `json:"consecutive_failures"` // in the current state
	LastFailure         string     `json:"last_failure,omitempty"`
	LastFailureAt       *time.Time `json:"last_failure_at,omitempty"`
}

// page is the document both formats are made from.
type page struct {
	GeneratedAt time.Time `json:"generated_at"`
	Breakers    []Status  `json:"breakers"`
}

// Handler returns an http.Handler that shows every breaker of reg on each
// request, sorted by name: as an HTML status page (one row per breaker,
// the state in color, error rate, P95 latency, and since when it is in
// that state), or as JSON when the query has format=json or the Accept
// header asks for application/json and not text/html. format=html forces
// HTML. The page has no JavaScript and no external assets, refreshes
// itself every 10 seconds, and escapes breaker names and errors.
//
// It answers GET and HEAD on any path (mount it where you like), 405 to
// other methods, and 500 to every request if reg is nil. Of the options
// only WithClock applies: the clock that "since" is measured on (the real
// one by default). It is safe for concurrent use.
func Handler(reg *Registry, opts ...Option) http.Handler {
	s := newSettings(opts)
	return &statusHandler{reg: reg, clock: s.clock}
}

type statusHandler struct {
	reg   *Registry
	clock clock.Clock
}

func (h *statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "monitor: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.reg == nil {
		http.Error(w, "monitor: Handler was given a nil registry", http.StatusInternalServerError)
		return
	}
	asJSON := wantsJSON(r)
	now := h.clock.Now()
	p := page{GeneratedAt: now.UTC(), Breakers: []Status{}}
	for _, m := range h.reg.Snapshot() {
		p.Breakers = append(p.Breakers, statusOf(m, now))
	}

	var buf bytes.Buffer
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if asJSON {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			http.Error(w, "monitor: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
	} else {
		if err := pageTemplate.Execute(&buf, p); err != nil {
			http.Error(w, "monitor: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// Enforces what the page promises: no scripts, nothing fetched.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	if r.Method == http.MethodGet {
		_, _ = w.Write(buf.Bytes())
	}
}

// wantsJSON applies the format query parameter, then the Accept header.
func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "html":
		return false
	}
	json, html := false, false
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case "application/json":
			json = true
		case "text/html":
			html = true
		}
	}
	return json && !html
}

func statusOf(m circuit.Metrics, now time.Time) Status {
	s := Status{
		Name:                m.Name,
		State:               m.State.String(),
		Since:               m.StateSince.UTC(),
		For:                 ago(now.Sub(m.StateSince)),
		ErrorRate:           m.ErrorRate,
		WindowRequests:      m.WindowRequests,
		P95LatencySeconds:   m.P95Latency.Seconds(),
		AvgLatencySeconds:   m.AvgLatency.Seconds(),
		Successes:           m.Successes,
		Failures:            m.Failures,
		Rejections:          m.Rejections,
		Fallbacks:           m.Fallbacks,
		Transitions:         m.Transitions,
		ConsecutiveFailures: m.ConsecutiveFailures,
	}
	if m.LastFailure != nil {
		s.LastFailure = m.LastFailure.Error()
	}
	if !m.LastFailureAt.IsZero() {
		t := m.LastFailureAt.UTC()
		s.LastFailureAt = &t
	}
	return s
}

// ago formats a non-negative duration rounded to the second, such as "5m3s".
func ago(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"ms": func(sec float64) string {
		return time.Duration(sec * float64(time.Second)).Round(100 * time.Microsecond).String()
	},
	"stamp": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 UTC") },
	"class": func(s string) string {
		switch s {
		case "closed", "open", "half-open":
			return s
		}
		return "unknown"
	},
	"count": func(bs []Status, s string) int {
		n := 0
		for _, b := range bs {
			if b.State == s {
				n++
			}
		}
		return n
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="10">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Circuit breakers</title>
<style>
body { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1f2328; background: #fff; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
p.summary { margin: 0 0 1.2rem; color: #59636e; }
table { border-collapse: collapse; min-width: 44rem; }
th, td { padding: .45rem .9rem; border-bottom: 1px solid #d1d9e0; text-align: left; white-space: nowrap; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: #59636e; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.num { text-align: right; }
td.name { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.state { display: inline-block; min-width: 5.5rem; padding: .1rem .6rem; border-radius: 1rem; font-weight: 600; text-align: center; color: #fff; }
.state.closed { background: #1a7f37; }
.state.open { background: #cf222e; }
.state.half-open { background: #bf8700; }
.state.unknown { background: #59636e; }
td .ago, td.none { color: #59636e; }
p.empty { color: #59636e; }
</style>
</head>
<body>
<h1>Circuit breakers</h1>
<p class="summary">{{len .Breakers}} breakers: {{count .Breakers "closed"}} closed, {{count .Breakers "half-open"}} half-open, {{count .Breakers "open"}} open &middot; generated {{stamp .GeneratedAt}}</p>
{{if .Breakers}}<table>
<thead><tr><th>Name</th><th>State</th><th class="num">Error rate</th><th class="num">Requests</th><th class="num">P95</th><th>Since</th></tr></thead>
<tbody>
{{range .Breakers}}<tr class="{{class .State}}" data-name="{{.Name}}">
<td class="name">{{.Name}}</td>
<td><span class="state {{class .State}}">{{.State}}</span></td>
{{if .WindowRequests}}<td class="num">{{pct .ErrorRate}}</td>
<td class="num">{{.WindowRequests}}</td>
<td class="num">{{ms .P95LatencySeconds}}</td>{{else}}<td class="num none">&ndash;</td>
<td class="num">0</td>
<td class="num none">&ndash;</td>{{end}}
<td>{{stamp .Since}} <span class="ago">({{.For}} ago)</span></td>
</tr>
{{end}}</tbody>
</table>{{else}}<p class="empty">No breakers registered.</p>{{end}}
</body>
</html>
`))
