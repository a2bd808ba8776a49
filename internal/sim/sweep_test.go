package sim_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

func builtin(t testing.TB, name string) sim.Scenario {
	t.Helper()
	sc, err := sim.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// neverTrips has every criterion off: its breaker never opens, so its run
// is the run without a breaker, and so is its cost.
func neverTrips() circuit.Config {
	c := circuit.DefaultConfig()
	c.ConsecutiveFailures, c.ErrorRateThreshold, c.LatencyThreshold = 0, 0, 0
	return c
}

// On flaky (8% random errors, no fault) a breaker that trips on any one
// failure opens again and again for nothing, and loses to one that never
// opens there (auth: 0 false opens, docs/simulator.md), even listed first,
// where a tie would have gone its way.
func TestSweepTooSensitiveLosesOnFlaky(t *testing.T) {
	touchy := circuit.DefaultConfig()
	touchy.ConsecutiveFailures = 1
	auth, _ := circuit.Preset(circuit.PresetAuth)
	res, err := sim.Sweep(builtin(t, "flaky"), []sim.Candidate{
		{Name: "touchy", Config: touchy},
		{Name: "sensible", Config: auth},
	}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	best, worst := res.Ranking[0], res.Ranking[1]
	if best.Name != "sensible" || res.Recommended().Name != "sensible" || best.Rank != 1 || worst.Rank != 2 {
		t.Fatalf("ranking: %s (rank %d), then %s (rank %d); want sensible first", best.Name, best.Rank, worst.Name, worst.Rank)
	}
	if s := worst.Summary; s.FalseOpens == 0 || s.GoodRejected < 1000 || worst.Cost <= best.Cost {
		t.Errorf("touchy: %d false opens, %d good calls rejected, cost %g against %g; want many, many, and more",
			s.FalseOpens, s.GoodRejected, worst.Cost, best.Cost)
	}
	if s := best.Summary; s.Opens != 0 || s.GoodRejected != 0 || best.Cost != res.NoBreaker.Cost(1) {
		t.Errorf("sensible: %d opens, %d good calls rejected, cost %g; want none, none, and no breaker's %g",
			s.Opens, s.GoodRejected, best.Cost, res.NoBreaker.Cost(1))
	}
	if best.Index != 1 || worst.Index != 0 {
		t.Errorf("indexes %d, %d; want the positions given, 1 and 0", best.Index, worst.Index)
	}
}

// On error-burst (60% errors for two minutes) a breaker that opens saves
// more failures than the good calls it gives up, so it beats one that
// never opens at weight 1. The weight moves the answer the way it says:
// when a good call rejected costs a million failed ones, never opening
// wins, and at 0 only failures count.
func TestSweepRejectWeight(t *testing.T) {
	sc := builtin(t, "error-burst")
	cands := []sim.Candidate{{Name: "never", Config: neverTrips()}, {Name: "default", Config: circuit.DefaultConfig()}}
	for _, c := range []struct {
		weight float64
		first  string
	}{{0, "default"}, {1, "default"}, {sim.MaxRejectWeight, "never"}} {
		res, err := sim.Sweep(sc, cands, 1, c.weight)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Recommended().Name; got != c.first {
			t.Errorf("weight %g: recommended %s, want %s", c.weight, got, c.first)
		}
		for _, e := range res.Ranking {
			s := e.Summary
			if want := c.weight*float64(s.GoodRejected) + float64(s.FailedRequests()); e.Cost != want {
				t.Errorf("weight %g, %s: cost %g, want %g", c.weight, e.Name, e.Cost, want)
			}
			if e.Name == "never" && (s.Opens != 0 || e.Cost != res.NoBreaker.Cost(c.weight)) {
				t.Errorf("weight %g: never opened %d times, cost %g; want 0 and no breaker's %g",
					c.weight, s.Opens, e.Cost, res.NoBreaker.Cost(c.weight))
			}
		}
	}
}

// Equal costs share a rank and keep the order given, whichever it is.
func TestSweepTiesKeepTheOrderGiven(t *testing.T) {
	sc := builtin(t, "flaky")
	sc.Duration = 2 * time.Minute
	a, b := circuit.DefaultConfig(), circuit.DefaultConfig()
	b.Name = "same thresholds"
	touchy := circuit.DefaultConfig()
	touchy.ConsecutiveFailures = 1
	for _, order := range [][]string{{"a", "b"}, {"b", "a"}} {
		byName := map[string]circuit.Config{"a": a, "b": b}
		cands := []sim.Candidate{{Name: "touchy", Config: touchy},
			{Name: order[0], Config: byName[order[0]]}, {Name: order[1], Config: byName[order[1]]}}
		res, err := sim.Sweep(sc, cands, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var ranks []int
		for _, e := range res.Ranking {
			got, ranks = append(got, e.Name), append(ranks, e.Rank)
		}
		if want := append(append([]string{}, order...), "touchy"); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ranks, []int{1, 1, 3}) {
			t.Errorf("order %v: ranking %v, ranks %v; want %v, [1 1 3]", order, got, ranks, want)
		}
		if res.Tied() != 2 {
			t.Errorf("Tied = %d, want 2", res.Tied())
		}
	}
}

// Every candidate sees the same traffic, and its summary is exactly the
// breaker run's of sim.Run with its config: the sweep is Run, many times.
func TestSweepSameTrafficAsRun(t *testing.T) {
	sc := builtin(t, "db-slowdown")
	g, err := sim.ParseGrid("LatencyThreshold=0,500ms;OpenTimeout=5s,30s")
	if err != nil {
		t.Fatal(err)
	}
	cands, err := sim.Candidates(sc.BreakerConfig(), g)
	if err != nil {
		t.Fatal(err)
	}
	const seed = 3
	res, err := sim.Sweep(sc, cands, seed, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ranking) != len(cands) {
		t.Fatalf("%d ranked, %d candidates", len(res.Ranking), len(cands))
	}
	offered := res.NoBreaker.Offered
	if offered == 0 {
		t.Fatal("no traffic")
	}
	seen := map[int]bool{}
	for _, e := range res.Ranking {
		seen[e.Index] = true
		if e.Summary.Offered != offered {
			t.Errorf("%s: %d requests offered, the run without a breaker %d", e.Name, e.Summary.Offered, offered)
		}
		if e.Candidate != cands[e.Index] {
			t.Errorf("entry %q has index %d, which is %q", e.Name, e.Index, cands[e.Index].Name)
		}
		alone := sc
		alone.Ramp = nil // a third run, which changes nothing in the other two
		run, err := sim.Run(alone, e.Config, seed)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(e.Summary, run.Runs[1].Summary) {
			t.Errorf("%s: the sweep's summary differs from Run's:\nsweep %+v\nrun   %+v", e.Name, e.Summary, run.Runs[1].Summary)
		}
		if e == res.Ranking[0] && !reflect.DeepEqual(res.NoBreaker, run.Runs[0].Summary) {
			t.Errorf("the sweep's run without a breaker differs from Run's")
		}
	}
	if len(seen) != len(cands) {
		t.Errorf("%d distinct candidates ranked, want %d", len(seen), len(cands))
	}
}

// The same sweep prints the same, whatever the number of goroutines.
func TestSweepDeterministic(t *testing.T) {
	sc := builtin(t, "flapping") // many transitions
	g, err := sim.ParseGrid("ErrorRateThreshold=0.2,0.5;OpenTimeout=5s,30s")
	if err != nil {
		t.Fatal(err)
	}
	cands, err := sim.Candidates(sc.BreakerConfig(), g)
	if err != nil {
		t.Fatal(err)
	}
	render := func() string {
		res, err := sim.Sweep(sc, cands, 7, 1)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := sim.WriteSweepText(&b, res, 0); err != nil {
			t.Fatal(err)
		}
		if err := sim.WriteSweepJSON(&b, res, 0); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	first := render()
	if again := render(); again != first {
		t.Errorf("two sweeps printed different reports, first at line %d", firstDiff(first, again))
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if one := render(); one != first {
		t.Errorf("a sweep on one goroutine printed another report, first at line %d", firstDiff(first, one))
	}
}

func firstDiff(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

func TestSweepErrors(t *testing.T) {
	sc := builtin(t, "flaky")
	ok := []sim.Candidate{{Name: "base", Config: circuit.DefaultConfig()}}
	badCfg := circuit.DefaultConfig()
	badCfg.MinRequests = 500
	many := make([]sim.Candidate, sim.MaxSweep+1)
	for i := range many {
		many[i] = ok[0]
	}
	// A day at 50 requests a second: 4.3 million calls a run, about 3s
	// each by the cost model; 30 of them is over a minute.
	day := sc
	day.Duration, day.Rate, day.Interval = 24*time.Hour, 50, time.Hour
	costly := make([]sim.Candidate, 30)
	for i := range costly {
		costly[i] = ok[0]
	}
	badSc := sc
	badSc.Workers = 0
	cases := []struct {
		name   string
		sc     sim.Scenario
		cands  []sim.Candidate
		weight float64
		want   []string
	}{
		{"no candidates", sc, nil, 1, []string{"candidates", "none"}},
		{"negative weight", sc, ok, -1, []string{"reject weight = -1", "between 0 and 1e+06"}},
		{"NaN weight", sc, ok, math.NaN(), []string{"reject weight = NaN"}},
		{"infinite weight", sc, ok, math.Inf(1), []string{"reject weight = +Inf"}},
		{"too many", sc, many, 1, []string{"candidates = 1001", "MaxSweep"}},
		{"invalid config", sc, []sim.Candidate{ok[0], {Name: "big min", Config: badCfg}}, 1,
			[]string{"MinRequests = 500", `(configuration "big min")`}},
		{"predicted cost", day, costly, 1, []string{"candidates = 30", "limit of 1m0s (MaxRunTime)", "4.3 million calls"}},
		{"invalid scenario", badSc, ok, 1, []string{"workers = 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := sim.Sweep(c.sc, c.cands, 1, c.weight)
			if err == nil {
				t.Fatalf("no error; %d ranked", len(res.Ranking))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The text report shows the first top candidates, marks the first, and
// says how many it left out; the JSON holds the same ones, each with a
// config that ParseConfig reads back to the candidate's.
func TestWriteSweep(t *testing.T) {
	sc := builtin(t, "db-slowdown")
	g, err := sim.ParseGrid("OpenTimeout=5s,10s,60s")
	if err != nil {
		t.Fatal(err)
	}
	cands, err := sim.Candidates(sc.BreakerConfig(), g)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Sweep(sc, cands, 1, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := sim.WriteSweepText(&text, res, 3); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	rec := res.Recommended()
	for _, want := range []string{
		"sweep of db-slowdown: 10 configurations, the same traffic (seed 1, 5m0s) through each",
		"fault:  1:00 to 4:00",
		"cost:   2.5 × good calls rejected + failed requests, lowest first",
		"rank      cost  rejected  failed  detect  false  recover  configuration",
		"(7 more not shown)",
		"no breaker, for reference",
		"* recommended: " + rec.Name + ", the lowest cost",
		sim.FormatConfig(rec.Config)[:40],
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 0 && l[0] >= '0' && l[0] <= '9' {
			rows = append(rows, l)
		}
	}
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "1* ") || strings.Contains(rows[1]+rows[2], "*") {
		t.Errorf("rows %q: want 3, the first marked", rows)
	}
	if !strings.HasSuffix(rows[0], "  "+rec.Name) {
		t.Errorf("first row %q does not end with the recommended %q", rows[0], rec.Name)
	}

	var js bytes.Buffer
	if err := sim.WriteSweepJSON(&js, res, 3); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Scenario       string
		RejectWeight   float64
		Configurations int
		Recommended    string
		NoBreaker      struct{ Cost float64 }
		Ranking        []struct {
			Rank              int
			Recommended       bool
			Name              string
			Cost              float64
			GoodCallsRejected int
			FailedRequests    int
			Config            json.RawMessage
			Summary           struct {
				FalseOpens     int
				TimeToDetectMs *float64
			}
		}
	}
	if err := json.Unmarshal(js.Bytes(), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js.String())
	}
	if v.Scenario != "db-slowdown" || v.RejectWeight != 2.5 || v.Configurations != 10 || v.Recommended != rec.Name ||
		len(v.Ranking) != 3 || v.NoBreaker.Cost != res.NoBreaker.Cost(2.5) {
		t.Fatalf("JSON header = %+v", v)
	}
	for i, e := range v.Ranking {
		want := res.Ranking[i]
		if e.Name != want.Name || e.Rank != want.Rank || e.Recommended != (i == 0) || e.Cost != want.Cost ||
			e.GoodCallsRejected != want.Summary.GoodRejected || e.FailedRequests != want.Summary.FailedRequests() ||
			e.Summary.FalseOpens != want.Summary.FalseOpens || (e.Summary.TimeToDetectMs != nil) != want.Summary.Detected {
			t.Errorf("JSON ranking[%d] = %+v, want %+v", i, e, want)
		}
		cfg, err := sim.ParseConfig("ranking", e.Config, circuit.Config{})
		if err != nil || cfg != want.Config {
			t.Errorf("ranking[%d].config reads back as %+v (%v), want %+v", i, cfg, err, want.Config)
		}
	}
}

// With OpenJitter the runs still repeat: the breakers draw their jitter
// from the seed (circuit.WithJitterSeed), so a sweep and a fleet run give
// the same result twice, and the jitter does change the result.
func TestJitterRepeatsWithTheSeed(t *testing.T) {
	sc := builtin(t, "flapping")
	plain := circuit.DefaultConfig()
	jitter := plain
	jitter.OpenJitter = 0.5
	cands := []sim.Candidate{{Name: "plain", Config: plain}, {Name: "jitter", Config: jitter}}
	sweep := func() *sim.SweepResult {
		res, err := sim.Sweep(sc, cands, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if a, b := sweep(), sweep(); !reflect.DeepEqual(a, b) {
		t.Error("two sweeps with jitter and the same seed differ")
	}

	fleet := func(c circuit.Config) *sim.FleetResult {
		res, err := sim.RunFleet(sim.DefaultFleetScenario(), c, 3)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	fa, fb := fleet(jitter), fleet(jitter)
	if !reflect.DeepEqual(fa, fb) {
		t.Error("two fleet runs with jitter and the same seed differ")
	}
	if reflect.DeepEqual(fleet(plain).Runs, fa.Runs) {
		t.Error("the jitter did not reach the breakers: the runs equal those without it")
	}
}
