package opstest_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/opstest"
	"go.yaml.in/yaml/v3"
)

// The files under test, in the prometheus module.
var (
	rulesFile     = filepath.Join("..", "prometheus", "rules.yml")
	rulesTestFile = filepath.Join("..", "prometheus", "rules_test.yml")
	dashboardFile = filepath.Join("..", "prometheus", "dashboard.json")
)

// The scrape jobs: the same service's breakers through each exporter.
var jobs = []string{"prom", "otel"}

// query is one PromQL expression of the dashboard or the rules.
type query struct {
	id   string // "panel title/refId" or "alert name"
	expr string
}

// dashboardQueries returns every target of every panel, with the
// dashboard's variables set for one job and every breaker.
func dashboardQueries(t *testing.T, job string) []query {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	r := strings.NewReplacer("$job", job, "$name", ".*", "$__rate_interval", "1m")
	var qs []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{p.Title + "/" + tg.RefID, r.Replace(tg.Expr)})
		}
	}
	return qs
}

// alertQueries returns the expression of every alert rule.
func alertQueries(t *testing.T) []query {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var qs []query
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{r.Alert, r.Expr})
		}
	}
	return qs
}

// want is a series a query must return: one whose labels include these,
// with a value that passes ok.
type want struct {
	labels map[string]string
	ok     func(float64) bool
	desc   string // of ok
}

func eq(v float64) (func(float64) bool, string) {
	return func(x float64) bool { return math.Abs(x-v) < 1e-9 }, fmt.Sprintf("= %v", v)
}

func positive() (func(float64) bool, string) {
	return func(x float64) bool { return x > 0 && !math.IsInf(x, 0) }, "> 0 and finite"
}

func above(v float64) (func(float64) bool, string) {
	return func(x float64) bool { return x > v }, fmt.Sprintf("> %v", v)
}

func w(f func() (func(float64) bool, string), labels ...string) want {
	ok, desc := f()
	m := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		m[labels[i]] = labels[i+1]
	}
	return want{m, ok, desc}
}

func is(v float64) func() (func(float64) bool, string) {
	return func() (func(float64) bool, string) { return eq(v) }
}

// near matches a window percentile: the breaker reports it as its
// histogram bin's midpoint, within 1/64 of v.
func near(v float64) func() (func(float64) bool, string) {
	return func() (func(float64) bool, string) {
		return func(x float64) bool { return math.Abs(x-v) <= v/64 }, fmt.Sprintf("within 1/64 of %g", v)
	}
}

func over(v float64) func() (func(float64) bool, string) {
	return func() (func(float64) bool, string) { return above(v) }
}

// expected lists, for every query, the series it must return for each job
// once the scenario of TestOperations has run; absent lists label sets it
// must not return. A query missing here fails the test, so a new panel or
// rule comes with its expectations.
var expected = map[string]struct {
	present []want
	absent  []map[string]string
}{
	"Breakers not closed/A": {present: []want{w(is(1))}}, // search
	"State per breaker/A": {present: []want{
		w(is(1), "name", "search", "state", "open"),
		w(is(1), "name", "payments", "state", "closed"),
		w(is(1), "name", "flaky", "state", "closed"),
		w(is(1), "name", "legacy", "state", "closed"),
	}, absent: []map[string]string{{"name": "payments", "state": "open"}}},
	"Calls by outcome/A": {present: []want{
		w(positive, "name", "payments", "outcome", "success"),
		w(positive, "name", "payments", "outcome", "failure"),
		w(positive, "name", "payments", "outcome", "rejected"),
		w(positive, "name", "legacy", "outcome", "failure"),
		w(is(0), "name", "payments", "outcome", "ignored"),
	}},
	"Rejections/A": {present: []want{w(positive, "name", "payments"), w(is(0), "name", "legacy")}},
	"Error rate against threshold/A": {present: []want{
		w(is(0.5), "name", "legacy"),
		w(is(0), "name", "payments"), // closed again: its window starts afresh
	}},
	"Error rate against threshold/B": {present: []want{w(is(0.5), "name", "payments")},
		absent: []map[string]string{{"name": "legacy"}}}, // disabled
	"Latency against threshold/A": {present: []want{w(positive, "name", "payments")}},
	"Latency against threshold/B": {present: []want{
		w(near(0.02), "name", "legacy"), // a window percentile is reported within 1.56%
		w(is(0), "name", "payments"),    // closed again: its window starts afresh
	}},
	"Latency against threshold/C": {present: []want{w(is(1), "name", "payments")},
		absent: []map[string]string{{"name": "legacy"}}},
	"Transitions by reason/A": {present: []want{
		w(positive, "name", "payments", "from", "closed", "to", "open", "reason", "consecutive-failures"),
		w(positive, "name", "payments", "from", "open", "to", "half-open", "reason", "timeout-elapsed"),
		w(positive, "name", "payments", "from", "half-open", "to", "closed", "reason", "probes-succeeded"),
		w(positive, "name", "flaky", "from", "closed", "to", "open", "reason", "consecutive-failures"),
		w(positive, "name", "search", "from", "closed", "to", "open", "reason", "health-check"),
	}},
	"Fallbacks/A":       {present: []want{w(positive, "name", "payments")}},
	"Calls in window/A": {present: []want{w(is(60), "name", "legacy"), w(is(0), "name", "payments")}},

	"CircuitBreakerStuckOpen": {present: []want{w(is(0), "name", "search", "state", "closed")},
		absent: []map[string]string{{"name": "payments"}, {"name": "flaky"}, {"name": "legacy"}}},
	"CircuitBreakerFlapping": {present: []want{w(over(3), "name", "flaky")},
		absent: []map[string]string{{"name": "payments"}}},
	"CircuitBreakerIneffective": {present: []want{w(is(1), "name", "legacy", "state", "closed")},
		absent: []map[string]string{{"name": "payments"}}},
	// The service's coordinator went down after both jobs saw it up.
	"CircuitBreakerFleetCoordinatorDown": {present: []want{w(is(0))}},
}

// check compares a query's result for one job with its expectations and
// returns what is wrong, or "".
func check(job string, q query, got []sample) string {
	exp, ok := expected[q.id]
	if !ok {
		return fmt.Sprintf("%s: no expectations for this query", q.id)
	}
	var mine []sample
	for _, s := range got {
		if j, ok := s.Labels["job"]; !ok || j == job {
			mine = append(mine, s)
		}
	}
	var problems []string
	for _, w := range exp.present {
		found := false
		for _, s := range mine {
			if matches(s.Labels, w.labels) && w.ok(s.Value) {
				found = true
				break
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("no series %v with value %s", w.labels, w.desc))
		}
	}
	for _, a := range exp.absent {
		for _, s := range mine {
			if matches(s.Labels, a) {
				problems = append(problems, fmt.Sprintf("unexpected series %v", s))
			}
		}
	}
	if len(exp.present) == 0 && len(mine) > 0 {
		problems = append(problems, fmt.Sprintf("want no series, got %v", mine))
	}
	if len(problems) == 0 {
		return ""
	}
	return fmt.Sprintf("%s [%s]\n  %s\n  %s\n  got %v", q.id, job, q.expr, strings.Join(problems, "\n  "), mine)
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestOperations starts the example service and a real Prometheus server
// that scrapes it through both exporters and evaluates the alert rules,
// drives breakers through their states, and then runs every dashboard
// query and every alert expression against the server, for each exporter.
func TestOperations(t *testing.T) {
	svc, err := opstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, rules, map[string]string{
		"prom": "http://" + svc.Addr + opstest.PathProm,
		"otel": "http://" + svc.Addr + opstest.PathOTel,
	})

	// stateSeen waits until both jobs' latest scrape shows d in state s.
	stateSeen := func(d opstest.Dep, s circuit.State) {
		t.Helper()
		q := fmt.Sprintf(`circuit_breaker_state{name=%q, state=%q} == 1`, d.Name(), s)
		eventually(t, 20*time.Second, func() (bool, string) {
			got, err := prom.query(q)
			if err != nil {
				return false, err.Error()
			}
			return len(got) == len(jobs), fmt.Sprintf("%s: %v", q, got)
		})
	}

	// Every series starts at zero in Prometheus before anything happens,
	// so that increase() sees the first transition.
	for _, d := range []opstest.Dep{svc.Payments, svc.Flaky, svc.Legacy, svc.Search} {
		stateSeen(d, circuit.Closed)
	}
	// The fleet coordinator is up, as both exporters report it, and then
	// goes down: the alert expression finds both jobs at 0 below, and
	// alerting finds its alert pending for each.
	eventually(t, 20*time.Second, func() (bool, string) {
		got, err := prom.query(`circuit_breaker_fleet_coordinator_up == 1`)
		if err != nil {
			return false, err.Error()
		}
		return len(got) == len(jobs), fmt.Sprintf("coordinator up: %v", got)
	})
	svc.CoordinatorUp.Store(false)

	// legacy: 60 calls, half of them failing; it never trips.
	for i := 0; i < 60; i++ {
		_ = svc.Call(svc.Legacy, 20*time.Millisecond, i%2 == 0)
	}
	// search: a health checker holds it open.
	svc.Search.Trip(circuit.ReasonHealthCheck)
	// flaky: trips and recovers four times.
	for i := 0; i < 4; i++ {
		_ = svc.Call(svc.Flaky, 10*time.Millisecond, true)
		svc.Flaky.Clock.Add(10 * time.Second)
		_ = svc.Call(svc.Flaky, 10*time.Millisecond, false)
	}
	// payments: open after 3 failures in a row, then rejects (its
	// fallback answers), half-open when its 30s have passed, closed after
	// a good probe.
	for i := 0; i < 10; i++ {
		_ = svc.Call(svc.Payments, 100*time.Millisecond, false)
	}
	for i := 0; i < 3; i++ {
		_ = svc.Call(svc.Payments, 50*time.Millisecond, true)
	}
	_ = svc.Call(svc.Payments, 0, false)
	_ = svc.Call(svc.Payments, 0, false)
	stateSeen(svc.Payments, circuit.Open)
	svc.Payments.Clock.Add(30 * time.Second)
	stateSeen(svc.Payments, circuit.HalfOpen) // a scrape's Metrics moves it
	_ = svc.Call(svc.Payments, 200*time.Millisecond, false)
	stateSeen(svc.Payments, circuit.Closed)

	var queries []struct {
		job string
		q   query
	}
	for _, job := range jobs {
		for _, q := range append(dashboardQueries(t, job), alertQueries(t)...) {
			queries = append(queries, struct {
				job string
				q   query
			}{job, q})
		}
	}
	if len(queries) != 2*(12+4) {
		t.Errorf("%d queries, want 32: update expected", len(queries))
	}
	for _, jq := range queries {
		eventually(t, 20*time.Second, func() (bool, string) {
			got, err := prom.query(jq.q.expr)
			if err != nil {
				return false, err.Error()
			}
			msg := check(jq.job, jq.q, got)
			return msg == "", msg
		})
	}

	t.Run("same names from both exporters", func(t *testing.T) { sameNames(t, prom) })
	t.Run("rules loaded and alerting", func(t *testing.T) { alerting(t, prom) })
	t.Run("runbook queries", func(t *testing.T) { runbookQueries(t, prom) })
	t.Run("promtool check metrics", func(t *testing.T) {
		for _, path := range []string{opstest.PathProm, opstest.PathOTel} {
			checkMetrics(t, "http://"+svc.Addr+path)
		}
	})
}

// sameNames checks that each exporter publishes the same circuit_breaker_
// metric names, each with the same label names (the OpenTelemetry
// exporter's otel_scope_* labels aside).
func sameNames(t *testing.T, prom *server) {
	labelsOf := map[string]map[string]string{} // job -> metric -> label names
	for _, job := range jobs {
		var names []string
		if err := prom.get("/api/v1/label/__name__/values", url.Values{"match[]": {fmt.Sprintf(`{job=%q, __name__=~"circuit_breaker_.+"}`, job)}}, &names); err != nil {
			t.Fatal(err)
		}
		labelsOf[job] = map[string]string{}
		for _, n := range names {
			var labels []string
			if err := prom.get("/api/v1/labels", url.Values{"match[]": {fmt.Sprintf(`{job=%q, __name__=%q}`, job, n)}}, &labels); err != nil {
				t.Fatal(err)
			}
			labels = slices.DeleteFunc(labels, func(l string) bool { return strings.HasPrefix(l, "otel_scope_") })
			sort.Strings(labels)
			labelsOf[job][n] = strings.Join(labels, ",")
		}
	}
	if len(labelsOf["prom"]) < 12 {
		t.Errorf("prom exports only %d circuit_breaker_ series names: %v", len(labelsOf["prom"]), labelsOf["prom"])
	}
	for n, l := range labelsOf["prom"] {
		if o, ok := labelsOf["otel"][n]; !ok || o != l {
			t.Errorf("%s: labels %q through prom, %q (present %v) through otel", n, l, o, ok)
		}
	}
	for n := range labelsOf["otel"] {
		if _, ok := labelsOf["prom"][n]; !ok {
			t.Errorf("%s only through otel", n)
		}
	}
}

// alerting checks that the server loaded every rule, evaluates them
// without error, and has the alerts of the scenario active for both jobs.
func alerting(t *testing.T, prom *server) {
	want := map[string]string{ // alert -> breaker ("": the alert has no name label)
		"CircuitBreakerStuckOpen":            "search",
		"CircuitBreakerFlapping":             "flaky",
		"CircuitBreakerIneffective":          "legacy",
		"CircuitBreakerFleetCoordinatorDown": "",
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		var rules struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := prom.get("/api/v1/rules", nil, &rules); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				n++
				if r.Health != "ok" {
					return false, fmt.Sprintf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
				}
			}
		}
		if n != 4 {
			return false, fmt.Sprintf("%d rules loaded, want 4", n)
		}
		var alerts struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		}
		if err := prom.get("/api/v1/alerts", nil, &alerts); err != nil {
			return false, err.Error()
		}
		active := map[string]bool{}
		for _, a := range alerts.Alerts {
			active[a.Labels["alertname"]+"/"+a.Labels["name"]+"/"+a.Labels["job"]] = true
		}
		for alert, name := range want {
			for _, job := range jobs {
				if !active[alert+"/"+name+"/"+job] {
					return false, fmt.Sprintf("alert %s for %s through %s not active; active: %v", alert, name, job, active)
				}
			}
		}
		if len(active) != len(want)*len(jobs) {
			return false, fmt.Sprintf("active alerts %v, want only %v for each job", active, want)
		}
		return true, ""
	})
}

// runbookQueries runs every promtool query of docs/runbook.md, as the
// runbook gives it, against the server, and checks that each succeeds.
func runbookQueries(t *testing.T, prom *server) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	promtool := tool(t, "promtool")
	re := regexp.MustCompile(`promtool query instant "\$PROM" '([^']+)'`)
	found := re.FindAllStringSubmatch(string(raw), -1)
	if len(found) < 10 {
		t.Fatalf("found %d promtool queries in docs/runbook.md, want at least 10", len(found))
	}
	for _, m := range found {
		out, err := exec.Command(promtool, "query", "instant", prom.url, m[1]).CombinedOutput()
		if err != nil {
			t.Errorf("promtool query instant %q: %v\n%s", m[1], err, out)
		}
	}
}

// checkMetrics runs promtool check metrics on a scrape of url.
func checkMetrics(t *testing.T, url string) {
	promtool := tool(t, "promtool")
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = resp.Body
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics %s: %v\n%s", url, err, out)
	}
}

// TestRuleUnitTests runs the promtool unit tests of the alert rules and
// checks the rules file.
func TestRuleUnitTests(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
