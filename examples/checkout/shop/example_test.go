package shop_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit/examples/checkout/shop"
)

// stub is every dependency at once, answering at once.
type stub struct {
	payErr  error
	mailErr error
}

func (s *stub) Charge(_ context.Context, orderID, _ string, _ int64) (string, error) {
	if s.payErr != nil {
		return "", s.payErr
	}
	return "ch-" + orderID, nil
}

func (s *stub) Reserve(_ context.Context, orderID string, _ []shop.Item) (string, error) {
	return "res-" + orderID, nil
}

func (s *stub) Release(context.Context, string) error { return nil }

func (s *stub) RecordPurchase(context.Context, string, string, int64) error { return nil }

func (s *stub) SendReceipt(context.Context, string, string, int64) error { return s.mailErr }

func newOrder(id string) shop.Order {
	return shop.Order{
		ID: id, UserID: "u-1", Email: "ada@example.com",
		Items: []shop.Item{{SKU: "book", Qty: 1}}, AmountCents: 1999,
	}
}

// The mail server is down: every checkout still succeeds, and the receipts
// wait in the outbox. After 10 failures in a row the email circuit opens
// and the mailer is no longer called at all.
func ExampleService_Checkout() {
	deps := &stub{mailErr: errors.New("smtp: 421 service not available")}
	outbox := &shop.MemoryOutbox{}
	svc, err := shop.New(shop.Config{
		Payment: deps, Inventory: deps, Users: deps, Mailer: deps, Outbox: outbox,
		Clock: clock.NewMock(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 1; i <= 11; i++ {
		r, err := svc.Checkout(context.Background(), newOrder(fmt.Sprint("o-", i)))
		if err != nil {
			fmt.Println(err)
			return
		}
		if i == 1 || i == 11 {
			fmt.Printf("%s: paid by %s, user update %s, email %s (%v)\n",
				r.OrderID, r.ChargeID, r.UserUpdate.Status, r.Email.Status, r.Email.Err)
		}
	}
	fmt.Println("email circuit:", svc.Breaker(shop.Email).State())
	fmt.Println("queued:", outbox.Len())
	// Output:
	// o-1: paid by ch-o-1, user update done, email queued (smtp: 421 service not available)
	// o-11: paid by ch-o-11, user update done, email queued (circuit: breaker "email" is open)
	// email circuit: open
	// queued: 11
}

// The payment gateway fails three times in a row, so its circuit opens for
// 60s. 15s later a checkout is refused at once, with a Retry-After.
func ExampleUnavailableError() {
	clk := clock.NewMock()
	deps := &stub{payErr: errors.New("gateway: 503")}
	svc, err := shop.New(shop.Config{
		Payment: deps, Inventory: deps, Users: deps, Mailer: deps, Outbox: &shop.MemoryOutbox{},
		Clock: clk,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 1; i <= 3; i++ {
		_, err := svc.Checkout(context.Background(), newOrder(fmt.Sprint("o-", i)))
		fmt.Println(err)
	}
	clk.Add(15 * time.Second)
	_, err = svc.Checkout(context.Background(), newOrder("o-4"))
	fmt.Println(err)
	var ue *shop.UnavailableError
	if errors.As(err, &ue) {
		fmt.Printf("HTTP 503, Retry-After: %.0f\n", ue.RetryAfter.Seconds())
	}
	// Output:
	// shop: payment: charge: gateway: 503
	// shop: payment: charge: gateway: 503
	// shop: payment: charge: gateway: 503
	// shop: checkout temporarily unavailable, retry after 45 s (payment circuit is open)
	// HTTP 503, Retry-After: 45
}
