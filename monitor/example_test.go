package monitor_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/monitor"
)

func ExampleRegistry() {
	reg := monitor.NewRegistry()
	pay, _ := circuit.New[int](circuit.WithName("payments"))
	search, _ := circuit.New[[]string](circuit.WithName("search")) // any result type
	_ = reg.Register(search)
	_ = reg.Register(pay)
	pay.Trip(circuit.ReasonManual)

	dup, _ := circuit.New[int](circuit.WithName("payments"))
	fmt.Println(reg.Register(dup))
	for _, m := range reg.Snapshot() {
		fmt.Println(m.Name, m.State)
	}
	// Output:
	// monitor: duplicate breaker name: "payments"
	// payments open
	// search closed
}

func ExampleMonitor_Check() {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	pay, _ := circuit.New[int](circuit.WithName("payments"), circuit.WithClock(mock))
	_ = reg.Register(pay)

	m, _ := monitor.New(reg, monitor.WithClock(mock), monitor.WithOnAlert(func(a monitor.Alert) {
		fmt.Println("alert:", a)
	}))
	m.Check() // starts the history

	mock.Add(4 * time.Minute)
	pay.Trip(circuit.ReasonManual)
	mock.Add(6 * time.Minute) // open, then half-open: not closed for 6m
	m.Check()
	m.Check() // raised once
	pay.Reset()
	m.Check()

	r, _ := m.Report("payments")
	fmt.Printf("closed %.0f%%, recoveries %d, mean time to recovery %s\n",
		100*r.ShareInState[circuit.Closed], r.Recoveries, r.MeanTimeToRecovery)
	// Output:
	// alert: warning prolonged-open payments: half-open, not closed for 6m0s (since 1970-01-01T00:04:00Z; limit 5m0s)
	// alert: cleared warning prolonged-open payments: closed again
	// closed 40%, recoveries 1, mean time to recovery 6m0s
}

func ExampleHandler() {
	reg := monitor.NewRegistry()
	pay, _ := circuit.New[int](circuit.WithName("payments"))
	search, _ := circuit.New[int](circuit.WithName("search"))
	_ = reg.Register(pay)
	_ = reg.Register(search)
	mon, _ := monitor.New(reg)
	mon.Check() // the monitor watches from its first check
	pay.Trip(circuit.ReasonManual)

	// In a server: http.Handle("/breakers", monitor.Handler(reg, monitor.WithMonitor(mon))).
	srv := httptest.NewServer(monitor.Handler(reg, monitor.WithMonitor(mon)))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/?format=json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	var page monitor.StatusPage
	_ = json.NewDecoder(res.Body).Decode(&page)
	fmt.Println(res.Header.Get("Content-Type"))
	for _, s := range page.Breakers { // most severe first
		fmt.Println(s.Name, s.State, s.LastReason, s.RecentTransitions, s.Thresholds.ErrorRate)
	}
	// Output:
	// application/json
	// payments open manual 1 0.5
	// search closed  0 0.5
}

// A breaker flapping 100 times in 50 seconds costs two lines a minute
// when the monitor's transition log is on.
func ExampleConfig_transitionLog() {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	b, _ := circuit.New[int](circuit.WithName("search"), circuit.WithClock(mock))
	_ = reg.Register(b)
	cfg := monitor.DefaultConfig()
	cfg.TransitionLogInterval = time.Minute
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}))
	m, _ := monitor.New(reg, monitor.WithConfig(cfg), monitor.WithClock(mock), monitor.WithLogger(logger))
	m.Check()

	for i := 0; i < 50; i++ {
		b.Trip(circuit.ReasonManual)
		mock.Add(500 * time.Millisecond)
		b.Reset()
		mock.Add(500 * time.Millisecond)
	}
	mock.Add(10 * time.Second)
	m.Check()
	// Output:
	// level=WARN msg="monitor: breaker transition" breaker=search from=closed to=open reason=manual at=1970-01-01T00:00:00.000Z
	// level=WARN msg="monitor: breaker transitions summarised" breaker=search transitions=99 interval=1m0s first_at=1970-01-01T00:00:00.500Z last_at=1970-01-01T00:00:49.500Z state=closed reasons.manual=49 reasons.reset=50
}

// A service puts its own figures on its status page, above the breakers.
func ExampleWithSummary() {
	reg := monitor.NewRegistry()
	pay, _ := circuit.New[int](circuit.WithName("payments"))
	_ = reg.Register(pay)
	var lost atomic.Int64 // counted by the service as it refuses orders
	lost.Add(3)
	summary := func(time.Time) []monitor.Figure {
		n := lost.Load()
		return []monitor.Figure{{Label: "Orders lost to open breakers", Value: fmt.Sprint(n), Alert: n > 0}}
	}

	srv := httptest.NewServer(monitor.Handler(reg, monitor.WithSummary(summary)))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/?format=json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	var page monitor.StatusPage
	_ = json.NewDecoder(res.Body).Decode(&page)
	for _, f := range page.Summary {
		fmt.Printf("%s: %s (alert %t)\n", f.Label, f.Value, f.Alert)
	}
	// Output:
	// Orders lost to open breakers: 3 (alert true)
}

// ExampleRegistry_RegisterGroup adds a group keyed by tenant: the registry
// lists, after its own breakers, the tenants whose breakers are not
// closed, and only while they are not.
func ExampleRegistry_RegisterGroup() {
	reg := monitor.NewRegistry()
	pay, _ := circuit.New[int](circuit.WithName("payments"))
	_ = reg.Register(pay)
	tenants, _ := circuit.NewGroup[string, int](
		circuit.WithKeyName(func(t string) string { return "tenant/" + t }))
	_ = reg.RegisterGroup("tenants", tenants)
	for _, t := range []string{"acme", "globex", "initech"} {
		tenants.Get(t)
	}
	tenants.Get("globex").Trip(circuit.ReasonManual)

	for _, m := range reg.Snapshot() {
		fmt.Println(m.Name, m.State)
	}
	tenants.Get("globex").Reset()
	fmt.Println(len(reg.Breakers()), "listed once globex closed")
	// Output:
	// payments closed
	// tenant/globex open
	// 1 listed once globex closed
}
