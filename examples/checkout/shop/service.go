// Package shop is the checkout service of the circuit examples: one
// checkout calls four dependencies of different importance, each behind its
// own circuit.Breaker tuned by a preset, and degrades gracefully when they
// fail.
//
//	dependency      importance                 preset     when its circuit is open
//	payment         external, critical         payment    fail fast: "retry after N s"
//	inventory       internal, critical         core       fail fast: "retry after N s"
//	users           important, not blocking    auth       queue the user update
//	email           nice to have               analytics  queue the receipt email
//
// The users breaker takes the auth preset rather than core because the
// call sits on the checkout's latency path while its result is optional: a
// slow user service should be cut off early (500ms P95, 2s call timeout)
// and retried soon (15s), since its work is queued anyway. The email
// breaker takes analytics rather than tools because tools has no call
// timeout and ignores latency, so a hung mail server would hold every
// checkout; analytics bounds the call (10s) and still tolerates a flaky
// mailer (60% errors) before opening.
package shop

import (
	"errors"
	"fmt"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
)

// Dependency names one of the four dependencies; it is also the name of
// its breaker (Transition.Name, Metrics.Name).
type Dependency string

// The four dependencies of a checkout.
const (
	Payment   Dependency = "payment"
	Inventory Dependency = "inventory"
	Users     Dependency = "users"
	Email     Dependency = "email"
)

// presets maps each dependency to the circuit preset its breaker uses; see
// the package doc for why.
var presets = map[Dependency]string{
	Payment:   circuit.PresetPayment,
	Inventory: circuit.PresetCore,
	Users:     circuit.PresetAuth,
	Email:     circuit.PresetAnalytics,
}

// Presets returns, for each dependency, the name of the circuit preset its
// breaker is configured from. The map is a fresh copy on every call.
func Presets() map[Dependency]string {
	m := make(map[Dependency]string, len(presets))
	for d, p := range presets {
		m[d] = p
	}
	return m
}

// Config wires a Service. Every dependency and the Outbox are required.
type Config struct {
	Payment   PaymentGateway
	Inventory InventoryService
	Users     UserService
	Mailer    Mailer
	Outbox    Outbox

	// Clock is the clock of the four breakers, and of the RetryAfter
	// arithmetic; nil means the real clock. Tests pass clock.NewMock().
	Clock clock.Clock
	// OnStateChange, if set, receives every transition of every breaker
	// (Transition.Name tells which), as circuit.WithOnStateChange does.
	OnStateChange func(circuit.Transition)
}

// Service runs checkouts. Create one with New; the zero value is not
// usable. It is safe for concurrent use by multiple goroutines.
type Service struct {
	payment   PaymentGateway
	inventory InventoryService
	users     UserService
	mailer    Mailer
	outbox    Outbox
	clock     clock.Clock

	paymentCB   *circuit.Breaker[string]
	inventoryCB *circuit.Breaker[string]
	usersCB     *circuit.Breaker[struct{}]
	emailCB     *circuit.Breaker[struct{}]
}

// New returns a Service whose four breakers are configured from Presets.
// A nil dependency or Outbox gives an error naming the Config field.
func New(cfg Config) (*Service, error) {
	var errs []error
	for _, f := range []struct {
		name string
		nil  bool
	}{
		{"Payment", cfg.Payment == nil},
		{"Inventory", cfg.Inventory == nil},
		{"Users", cfg.Users == nil},
		{"Mailer", cfg.Mailer == nil},
		{"Outbox", cfg.Outbox == nil},
	} {
		if f.nil {
			errs = append(errs, fmt.Errorf("shop: Config.%s is nil", f.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &Service{
		payment:   cfg.Payment,
		inventory: cfg.Inventory,
		users:     cfg.Users,
		mailer:    cfg.Mailer,
		outbox:    cfg.Outbox,
		clock:     cfg.Clock,
	}
	if s.clock == nil {
		s.clock = clock.New()
	}
	var err error
	notDeclined := func(err error) bool { return !errors.Is(err, ErrDeclined) }
	if s.paymentCB, err = newBreaker[string](Payment, cfg, notDeclined); err != nil {
		return nil, err
	}
	inStock := func(err error) bool { return !errors.Is(err, ErrOutOfStock) }
	if s.inventoryCB, err = newBreaker[string](Inventory, cfg, inStock); err != nil {
		return nil, err
	}
	if s.usersCB, err = newBreaker[struct{}](Users, cfg, nil); err != nil {
		return nil, err
	}
	if s.emailCB, err = newBreaker[struct{}](Email, cfg, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// newBreaker builds dep's breaker from its preset, renamed to dep.
func newBreaker[T any](dep Dependency, cfg Config, isFailure func(error) bool) (*circuit.Breaker[T], error) {
	preset, err := circuit.Preset(presets[dep])
	if err != nil {
		return nil, fmt.Errorf("shop: %s breaker: %w", dep, err)
	}
	b, err := circuit.New[T](
		circuit.WithConfig(preset),
		circuit.WithName(string(dep)),
		circuit.WithClock(cfg.Clock),
		circuit.WithClassifier(func(_ T, err error) circuit.Outcome {
			if err != nil && (isFailure == nil || isFailure(err)) {
				return circuit.Failure
			}
			return circuit.Success
		}),
		circuit.WithOnStateChange(cfg.OnStateChange),
	)
	if err != nil {
		return nil, fmt.Errorf("shop: %s breaker: %w", dep, err)
	}
	return b, nil
}

// Breaker returns the breaker in front of dep, for metrics and
// dashboards, or nil for an unknown dependency.
func (s *Service) Breaker(dep Dependency) circuit.View {
	switch dep {
	case Payment:
		return s.paymentCB
	case Inventory:
		return s.inventoryCB
	case Users:
		return s.usersCB
	case Email:
		return s.emailCB
	}
	return nil
}
