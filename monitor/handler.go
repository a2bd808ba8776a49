package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Handler returns an http.Handler that shows every breaker of reg on each
// request, most severe first (see StatusPage): as an HTML status page, or
// as the JSON of a StatusPage when the query has format=json or the Accept
// header asks for application/json and not text/html. format=html forces
// HTML.
//
// The HTML page leads with what is wrong: the active alerts, then one row
// per breaker with its state as a labelled badge (text, never colour
// alone, every label at WCAG AA contrast), its alerts and a flapping
// badge, its transitions in the last 10 minutes, the reason and time of
// its last transition, its last failure, and its error rate and latency
// against the thresholds of its circuit.Config. Alerts, transitions and
// reasons need a monitor: pass WithMonitor. The page has no JavaScript and
// no external assets, refreshes itself every 10 seconds, and escapes
// breaker names and errors. WithSummary adds the service's own figures,
// such as orders lost, in a table above the breakers; WithTuning adds the
// reports of shadow configurations (package tune), a table per live
// breaker below them.
//
// It answers GET and HEAD on any path (mount it where you like), 405 to
// other methods, and 500 to every request if reg is nil or the monitor of
// WithMonitor watches another registry. It is safe for concurrent use.
func Handler(reg *Registry, opts ...HandlerOption) http.Handler {
	s := newPageSettings(opts)
	return &statusHandler{reg: reg, clock: s.clock, monitor: s.monitor, summary: s.summary, tuning: s.tuning}
}

type statusHandler struct {
	reg     *Registry
	clock   Clock
	monitor *Monitor                 // nil: Metrics only
	summary func(time.Time) []Figure // nil: no summary
	tuning  []TuningSource           // nil: no tuning tables
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
	if h.monitor != nil && h.monitor.reg != h.reg {
		// Its alerts and histories are of other breakers, or of other
		// registrations under the same names: showing them would mislead.
		http.Error(w, "monitor: Handler was given a monitor of another registry", http.StatusInternalServerError)
		return
	}
	now := h.clock.Now()
	p := buildPage(h.reg, h.monitor, now)
	p.Summary = append(summaryAt(h.summary, now), h.reg.groupFigures()...)
	p.Tuning = tuningOf(h.tuning)

	var buf bytes.Buffer
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if wantsJSON(r) {
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
