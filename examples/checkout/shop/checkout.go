package shop

import (
	"context"
	"errors"
	"fmt"

	"github.com/breakerlab/circuit"
)

// Status says what became of a non-blocking step of a checkout.
type Status int

// The fates of a non-blocking step.
const (
	// Done: the dependency did it during the checkout.
	Done Status = iota
	// Queued: the dependency failed or its circuit was open, so the work
	// went to the Outbox.
	Queued
	// Lost: the dependency failed and the Outbox refused the task too.
	Lost
)

// String returns "done", "queued" or "lost".
func (s Status) String() string {
	switch s {
	case Done:
		return "done"
	case Queued:
		return "queued"
	case Lost:
		return "lost"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Step is the outcome of a non-blocking step.
type Step struct {
	Status Status
	// Err is nil when Done; why the step was deferred when Queued; and that
	// error joined with the Outbox's when Lost.
	Err error
}

// Receipt describes a successful checkout: the order is paid and its stock
// reserved, whatever became of the non-blocking steps.
type Receipt struct {
	OrderID       string
	ReservationID string
	ChargeID      string
	UserUpdate    Step
	Email         Step
}

// Checkout reserves the order's stock, charges the customer, then records
// the purchase with the user service and emails the receipt.
//
// It fails only when a critical step fails: an invalid order (ErrInvalidOrder,
// nothing called), stock refused (ErrOutOfStock), payment declined
// (ErrDeclined), a critical circuit open (*UnavailableError, which also
// matches ErrUnavailable and circuit.ErrOpen), or a critical dependency's
// own error, wrapped with its name. When the payment fails after the stock
// was reserved, the reservation is released, or queued for release if the
// inventory cannot take it now. A failing or open user service or mailer
// never fails the checkout: the work is queued in the Outbox and reported
// in the Receipt. A nil ctx is an error.
func (s *Service) Checkout(ctx context.Context, o Order) (Receipt, error) {
	if ctx == nil {
		return Receipt{}, errors.New("shop: Checkout called with a nil context")
	}
	if err := o.Validate(); err != nil {
		return Receipt{}, err
	}
	r := Receipt{OrderID: o.ID}

	resID, err := s.inventoryCB.Execute(ctx, func(ctx context.Context) (string, error) {
		return s.inventory.Reserve(ctx, o.ID, o.Items)
	})
	if err != nil {
		return Receipt{}, s.criticalError(Inventory, "reserve stock", err)
	}
	r.ReservationID = resID

	chargeID, err := s.paymentCB.Execute(ctx, func(ctx context.Context) (string, error) {
		return s.payment.Charge(ctx, o.ID, o.UserID, o.AmountCents)
	})
	if err != nil {
		// A timed-out charge may still have gone through; a real service
		// reconciles it by order ID (the idempotency key) before selling the
		// stock again. The example releases at once to stay short.
		s.release(ctx, o.ID, resID)
		return Receipt{}, s.criticalError(Payment, "charge", err)
	}
	r.ChargeID = chargeID

	// Paid: from here on nothing may fail the checkout.
	r.UserUpdate = s.nonBlocking(ctx, s.usersCB, Task{
		Kind: TaskUserUpdate, OrderID: o.ID, UserID: o.UserID, AmountCents: o.AmountCents,
	}, func(ctx context.Context) error {
		return s.users.RecordPurchase(ctx, o.UserID, o.ID, o.AmountCents)
	})
	r.Email = s.nonBlocking(ctx, s.emailCB, Task{
		Kind: TaskReceiptEmail, OrderID: o.ID, Email: o.Email, AmountCents: o.AmountCents,
	}, func(ctx context.Context) error {
		return s.mailer.SendReceipt(ctx, o.Email, o.ID, o.AmountCents)
	})
	return r, nil
}

// criticalError turns the error of a critical step into Checkout's error:
// a rejection becomes an *UnavailableError with its Retry-After, anything
// else is wrapped with the step's name.
func (s *Service) criticalError(dep Dependency, step string, err error) error {
	var oe *circuit.OpenError
	if errors.As(err, &oe) {
		return &UnavailableError{
			Dependency: dep,
			RetryAfter: RetryAfter(oe, s.clock.Now()),
			Cause:      oe,
		}
	}
	return fmt.Errorf("shop: %s: %s: %w", dep, step, err)
}

// release gives back the stock of an order that could not be paid. It runs
// even if ctx is done (the caller leaving must not leak the reservation),
// and queues the release if the inventory cannot take it now.
func (s *Service) release(ctx context.Context, orderID, resID string) {
	ctx = context.WithoutCancel(ctx)
	_, err := s.inventoryCB.Execute(ctx, func(ctx context.Context) (string, error) {
		return "", s.inventory.Release(ctx, resID)
	})
	if err != nil {
		// Nowhere to report a lost release but the Outbox itself; a durable
		// Outbox does not refuse, and reservations expire on their own.
		_ = s.outbox.Enqueue(ctx, Task{
			Kind: TaskReleaseReservation, OrderID: orderID, ReservationID: resID, Cause: err.Error(),
		})
	}
}

// nonBlocking runs call through b; if it fails or b refuses it, the task
// goes to the Outbox instead.
func (s *Service) nonBlocking(ctx context.Context, b *circuit.Breaker[struct{}], t Task, call func(context.Context) error) Step {
	_, err := b.Execute(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, call(ctx)
	})
	if err == nil {
		return Step{Status: Done}
	}
	t.Cause = err.Error()
	if qerr := s.outbox.Enqueue(context.WithoutCancel(ctx), t); qerr != nil {
		return Step{Status: Lost, Err: errors.Join(err, fmt.Errorf("shop: outbox: %w", qerr))}
	}
	return Step{Status: Queued, Err: err}
}
