package sim_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

// Three tenants take turns (request i from tenant i mod 3), one request a
// second at 0s..9s, one worker, every call 100ms. Tenants 0 and 1 fail
// during the fault (0s to 6s); tenant 2 never does. The breaker trips at a
// 50% error rate over at least 2 outcomes, stays open 2s, closes on one
// good probe. Worked out by hand:
//
// One breaker for all:
//
//	0s t0, 1s t1  fail; the second trips it at 1.1s (open until 3.1s)
//	2s t2, 3s t0  rejected (t2 is good: one of its calls refused)
//	4s t1         the probe (half-open since 3.1s) fails at 4.1s: open until 6.1s
//	5s t2, 6s t0  rejected
//	7s t1         the probe (healthy by now) succeeds at 7.1s: closed
//	8s t2, 9s t0  succeed
//	t2 gets 1 full answer of 3; 2 of its calls rejected; tenants 0 and 2 refused
//
// A group keyed by tenant:
//
//	t0: 0s fails, 3s fails: trips at 3.1s (until 5.1s); 6s probe succeeds, 9s succeeds
//	t1: 1s fails, 4s fails: trips at 4.1s (until 6.1s); 7s probe succeeds
//	t2: 2s, 5s, 8s succeed: its breaker never sees a failure
//	no call is rejected; t2 gets 3 full answers of 3
func TestTenantsHandComputed(t *testing.T) {
	res := threeTenants(t)
	if res.Grouped == nil {
		t.Fatal("no grouped run")
	}
	type figures struct {
		offered, ok, rejected, refused, opens, spared int
		goodput, faultGoodput                         float64
	}
	pick := func(s sim.Summary) figures {
		return figures{s.GoodTenantOffered, int(s.GoodTenantGoodput*10 + 0.5), s.GoodTenantRejected, s.Refused, s.Opens, s.Spared,
			s.GoodTenantGoodput, s.GoodTenantFaultGoodput}
	}
	for _, c := range []struct {
		run  *sim.RunResult
		want figures
	}{
		// Goodput over 10s; in the fault window (6s) t2 sent 2 requests.
		{&res.Runs[0], figures{3, 3, 0, 0, 0, 0, 0.3, 2.0 / 6}},
		{&res.Runs[1], figures{3, 1, 2, 2, 2, 4, 0.1, 0}},
		{res.Grouped, figures{3, 3, 0, 0, 2, 0, 0.3, 2.0 / 6}},
	} {
		if got := pick(c.run.Summary); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.run.Label, got, c.want)
		}
	}
	wantShared := []sim.Transition{
		{At: 1100 * ms, From: circuit.Closed, To: circuit.Open, Reason: circuit.ReasonErrorRate},
		{At: 3100 * ms, From: circuit.Open, To: circuit.HalfOpen, Reason: circuit.ReasonTimeoutElapsed},
		{At: 4100 * ms, From: circuit.HalfOpen, To: circuit.Open, Reason: circuit.ReasonProbeFailed},
		{At: 6100 * ms, From: circuit.Open, To: circuit.HalfOpen, Reason: circuit.ReasonTimeoutElapsed},
		{At: 7100 * ms, From: circuit.HalfOpen, To: circuit.Closed, Reason: circuit.ReasonProbesSucceeded},
	}
	if got := res.Runs[1].Transitions; len(got) != len(wantShared) {
		t.Errorf("shared transitions = %+v\nwant %+v", got, wantShared)
	} else {
		for i := range got {
			if got[i] != wantShared[i] {
				t.Errorf("shared transition %d = %+v, want %+v", i, got[i], wantShared[i])
			}
		}
	}
	trips := map[time.Duration]bool{}
	for _, tr := range res.Grouped.Transitions {
		if tr.To == circuit.Open {
			trips[tr.At] = true
		}
	}
	if len(trips) != 2 || !trips[3100*ms] || !trips[4100*ms] {
		t.Errorf("group trips at %v, want 3.1s (tenant 0) and 4.1s (tenant 1)", trips)
	}
}

// threeTenants runs the scenario of TestTenantsHandComputed.
func threeTenants(t *testing.T) *sim.Result {
	t.Helper()
	sc := sim.Scenario{
		Name: "tenants", Duration: 10 * time.Second, Interval: 5 * time.Second,
		Rate: 1, Arrivals: "uniform", Workers: 1,
		Tenants: &sim.Tenants{Count: 3, Failing: 2},
		Phases: []sim.Phase{
			{Start: 0, Latency: 100 * ms, Fault: true},
			{Start: 6 * time.Second, Latency: 100 * ms},
		},
	}
	cfg := circuit.Config{
		Name: "tiny", ErrorRateThreshold: 0.5, MinRequests: 2, WindowSize: 10, LatencyPercentile: 0.95,
		OpenTimeout: 2 * time.Second, HalfOpenMaxProbes: 1, SuccessThreshold: 1,
	}
	res, err := sim.Run(sc, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The report ends with the three runs side by side, and the JSON carries
// the grouped run and each run's tenant figures.
func TestTenantsReport(t *testing.T) {
	res := threeTenants(t)
	var text bytes.Buffer
	if err := sim.WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{ // the hand-computed figures of TestTenantsHandComputed
		"tenants                                no breaker    one breaker group by tenant\n",
		"goodput of the good tenant (/s)               0.3            0.1             0.3\n",
		"good tenants' calls rejected                    0              2               0\n",
		"tenants refused a call (of 3)                   0              2               0\n",
		"opens (every breaker)                           0              2               2\n",
		"; 3 tenants, 2 failing in the fault",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := sim.WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Runs []struct {
			Tenants *struct{ GoodRejected, Refused int }
		}
		Grouped *struct {
			Label   string
			Tenants *struct{ GoodOffered, GoodRejected int }
		}
	}
	if err := json.Unmarshal(js.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Runs) != 2 || v.Runs[1].Tenants == nil || v.Runs[1].Tenants.GoodRejected != 2 || v.Runs[1].Tenants.Refused != 2 {
		t.Errorf("JSON runs = %+v, want the shared breaker's 2 rejected, 2 refused", v.Runs)
	}
	if g := v.Grouped; g == nil || g.Label != "group by tenant" || g.Tenants == nil || g.Tenants.GoodOffered != 3 || g.Tenants.GoodRejected != 0 {
		t.Errorf("JSON grouped = %+v, want the group run with 3 good requests, none rejected", g)
	}
}

// Without Tenants, the grouped run does not exist and the tenant figures
// are zero, so no other scenario's report changes.
func TestNoTenantsNoGroupedRun(t *testing.T) {
	sc, cfg := shortSlowdown()
	res, err := sim.Run(sc, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Grouped != nil {
		t.Error("a grouped run without tenants")
	}
	if s := res.Runs[1].Summary; s.GoodTenantOffered != 0 || s.Refused != 0 {
		t.Errorf("tenant figures without tenants: %+v", s)
	}
}

// The share of requests from failing tenants follows Share.
func TestTenantShare(t *testing.T) {
	sc := sim.Scenario{
		Name: "share", Duration: 100 * time.Second, Rate: 100, Workers: 100,
		Tenants: &sim.Tenants{Count: 10, Failing: 1, Share: 0.3},
		Phases:  []sim.Phase{{Start: 0, Latency: 10 * ms, Fault: true}},
	}
	res, err := sim.Run(sc, circuit.DefaultConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Runs[0].Summary
	if got := 1 - float64(s.GoodTenantOffered)/float64(s.Offered); got < 0.28 || got > 0.32 {
		t.Errorf("failing tenants sent %.3f of the requests, want 0.3 ± 0.02", got)
	}
	if got := float64(s.Errors) / float64(s.Offered); got < 0.28 || got > 0.32 {
		t.Errorf("error share %.3f without a breaker, want the failing tenants' 0.3 ± 0.02", got)
	}
}
