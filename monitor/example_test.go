package monitor_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
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
		fmt.Println("handler:", a)
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
	// handler: warning prolonged-open payments: half-open, not closed for 6m0s (since 1970-01-01T00:04:00Z; limit 5m0s)
	// handler: cleared warning prolonged-open payments: closed again
	// closed 40%, recoveries 1, mean time to recovery 6m0s
}

func ExampleHandler() {
	reg := monitor.NewRegistry()
	pay, _ := circuit.New[int](circuit.WithName("payments"))
	_ = reg.Register(pay)
	pay.Trip(circuit.ReasonManual)

	// In a server: http.Handle("/breakers", monitor.Handler(reg)).
	srv := httptest.NewServer(monitor.Handler(reg))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/?format=json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	var page struct{ Breakers []monitor.Status }
	_ = json.NewDecoder(res.Body).Decode(&page)
	fmt.Println(res.Header.Get("Content-Type"))
	for _, s := range page.Breakers {
		fmt.Println(s.Name, s.State, s.Rejections)
	}
	// Output:
	// application/json
	// payments open 0
}
