package opstest

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/breakerlab/circuit"
)

// Admin is the operator endpoint docs/runbook.md tells a service to mount:
// POST /admin/breakers/{name}?action=A, with A one of
//
//   - trip: open the breaker now (reason manual); it recovers through its
//     timeout and probes as usual;
//   - hold: open it and keep it open: each time its timeout moves it to
//     half-open, it is opened again (reason manual). Made of today's
//     operations, the hold is not airtight: when a call is what finds the
//     timeout over, that one call is admitted as a probe before the hook
//     reopens the breaker, so at most one call per OpenTimeout reaches the
//     dependency (its outcome is discarded). To stop every call, switch the
//     call path off in the service;
//   - release: stop holding; it recovers through its timeout and probes;
//   - half-open: end an open period now, so probes start (reason
//     health-recovered, as a health checker would);
//   - reset: close it now and clear its windows (reason reset).
//
// It answers 200 with the breaker's state after the action, 404 for an
// unknown breaker, 400 for an unknown action and 405 for another method.
// It is safe for concurrent use. The circuit package gives the operations;
// only the endpoint and the hold are the service's.
type Admin struct {
	breakers map[string]circuit.Controller

	mu   sync.Mutex        // guards held
	held map[string]func() // name -> unsubscribe of its hold hook
}

// NewAdmin returns an Admin over the given breakers, by name.
func NewAdmin(breakers ...circuit.Controller) *Admin {
	a := &Admin{breakers: map[string]circuit.Controller{}, held: map[string]func(){}}
	for _, b := range breakers {
		a.breakers[b.Name()] = b
	}
	return a
}

// ServeHTTP runs one action; see Admin.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	name := r.PathValue("name")
	b, ok := a.breakers[name]
	if !ok {
		http.Error(w, fmt.Sprintf("no breaker %q", name), http.StatusNotFound)
		return
	}
	switch action := r.URL.Query().Get("action"); action {
	case "trip":
		b.ForceOpen(circuit.ReasonManual)
	case "hold":
		a.hold(b)
		b.ForceOpen(circuit.ReasonManual)
	case "release":
		a.release(name)
	case "half-open":
		b.ForceHalfOpen(circuit.ReasonHealthRecovered)
	case "reset":
		a.release(name)
		b.Reset()
	default:
		http.Error(w, fmt.Sprintf("unknown action %q (want trip, hold, release, half-open or reset)", action), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%s %s\n", name, b.State())
}

// hold makes b reopen whenever it goes half-open, until release.
func (a *Admin) hold(b circuit.Controller) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[b.Name()] != nil {
		return
	}
	// A hook may call the breaker's methods; the reopening is delivered
	// after it returns.
	a.held[b.Name()] = b.Subscribe(func(t circuit.Transition) {
		if t.To == circuit.HalfOpen {
			b.ForceOpen(circuit.ReasonManual)
		}
	})
}

func (a *Admin) release(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if stop := a.held[name]; stop != nil {
		stop()
		delete(a.held, name)
	}
}
