package shop

import (
	"context"
	"errors"
)

// Business outcomes that the dependencies report. They are answers, not
// outages, so the breakers count them as successes: a run of declined cards
// must never open the payment circuit and turn every other customer away.
var (
	// ErrDeclined is wrapped by a PaymentGateway error when the gateway
	// refused the charge (card declined, insufficient funds).
	ErrDeclined = errors.New("shop: payment declined")

	// ErrOutOfStock is wrapped by an InventoryService error when an item
	// cannot be reserved in the quantity asked for.
	ErrOutOfStock = errors.New("shop: out of stock")
)

// PaymentGateway charges customers. It is an external, critical dependency:
// without it there is no checkout.
//
// Charge must be idempotent on orderID, so that a charge whose outcome is
// unknown (a timeout) can be retried or reconciled without charging twice.
// An error wrapping ErrDeclined is a business refusal, not an outage.
// Implementations must be safe for concurrent use.
type PaymentGateway interface {
	Charge(ctx context.Context, orderID, userID string, amountCents int64) (chargeID string, err error)
}

// InventoryService reserves stock. It is an internal, critical dependency: selling
// what is not in stock is worse than not selling.
//
// An error wrapping ErrOutOfStock is a business refusal, not an outage.
// Release undoes a reservation whose order could not be paid; releasing a
// reservation twice must be harmless. Implementations must be safe for
// concurrent use.
type InventoryService interface {
	Reserve(ctx context.Context, orderID string, items []Item) (reservationID string, err error)
	Release(ctx context.Context, reservationID string) error
}

// UserService keeps the customer's order history and loyalty points. It is
// important but not blocking: when it is down the update is queued in the
// Outbox and the checkout still succeeds. Implementations must be safe for
// concurrent use.
type UserService interface {
	RecordPurchase(ctx context.Context, userID, orderID string, amountCents int64) error
}

// Mailer sends the receipt email. It is nice to have: when it is down the
// email is queued in the Outbox and the checkout still succeeds.
// Implementations must be safe for concurrent use.
type Mailer interface {
	SendReceipt(ctx context.Context, to, orderID string, amountCents int64) error
}
