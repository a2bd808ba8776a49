package shop

import (
	"errors"
	"fmt"
)

// ErrInvalidOrder is wrapped by the error Checkout returns for an order
// that fails Validate. No dependency is called for such an order.
var ErrInvalidOrder = errors.New("shop: invalid order")

// Order is what the customer asked to buy.
type Order struct {
	ID          string // unique; also the payment's idempotency key
	UserID      string
	Email       string // where the receipt goes
	Items       []Item
	AmountCents int64 // the total to charge, in cents
}

// Item is one line of an order.
type Item struct {
	SKU string
	Qty int
}

// Validate reports every problem with the order, each naming the field and
// its value, joined into one error that wraps ErrInvalidOrder; nil if the
// order is well formed.
func (o Order) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOrder}, args...)...))
	}
	if o.ID == "" {
		bad("ID is empty")
	}
	if o.UserID == "" {
		bad("UserID is empty")
	}
	if o.Email == "" {
		bad("Email is empty")
	}
	if len(o.Items) == 0 {
		bad("Items is empty")
	}
	for i, it := range o.Items {
		if it.SKU == "" {
			bad("Items[%d].SKU is empty", i)
		}
		if it.Qty < 1 {
			bad("Items[%d].Qty = %d: must be at least 1", i, it.Qty)
		}
	}
	if o.AmountCents < 1 {
		bad("AmountCents = %d: must be at least 1", o.AmountCents)
	}
	return errors.Join(errs...)
}
