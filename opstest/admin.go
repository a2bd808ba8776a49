package opstest

import (
	"fmt"
	"net/http"

	"github.com/breakerlab/circuit"
)

// Admin is the operator endpoint docs/runbook.md tells a service to mount:
// POST /admin/breakers/{name}?action=A, with A one of
//
//   - trip: open the breaker now (reason manual); it recovers through its
//     open period and probes as usual;
//   - hold: hold it open (ForcedOpen): every call is rejected until release
//     or reset, whatever time passes;
//   - disable: switch it off (Disabled): every call goes through and is
//     still counted, nothing trips it, until release or reset;
//   - release: end a hold or a disable the careful way: open it, so that
//     it recovers through its open period and probes;
//   - half-open: end an open period now, so probes start (reason
//     health-recovered, as a health checker would);
//   - reset: close it now, from any state, and clear its window (reason
//     reset).
//
// It answers 200 with the breaker's state after the action, 404 for an
// unknown breaker, 400 for an unknown action and 405 for another method.
// It is safe for concurrent use. The circuit package gives the operations;
// only the endpoint is the service's.
type Admin struct {
	breakers map[string]circuit.Controller
}

// NewAdmin returns an Admin over the given breakers, by name.
func NewAdmin(breakers ...circuit.Controller) *Admin {
	a := &Admin{breakers: map[string]circuit.Controller{}}
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
		b.Trip(circuit.ReasonManual)
	case "hold":
		b.ForceOpen()
	case "disable":
		b.Disable()
	case "release":
		if s := b.State(); s == circuit.ForcedOpen || s == circuit.Disabled {
			b.Reset()
			b.Trip(circuit.ReasonManual)
		}
	case "half-open":
		b.EndOpen(circuit.ReasonHealthRecovered)
	case "reset":
		b.Reset()
	default:
		http.Error(w, fmt.Sprintf("unknown action %q (want trip, hold, disable, release, half-open or reset)", action), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%s %s\n", name, b.State())
}
