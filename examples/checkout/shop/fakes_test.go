package shop_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/examples/checkout/shop"
)

// behavior is what one call of a fake does: take latency (on the mock
// clock, which the breaker measures), then return err.
type behavior struct {
	latency time.Duration
	err     error
}

// fakeCall is one scripted operation of a fake dependency.
type fakeCall struct {
	clk *clock.Mock

	mu     sync.Mutex // guards the fields below
	script func(n int) behavior
	calls  int
	gate   func() // if set, runs inside the call before it returns (blocks a probe)
}

// set makes every later call behave as b.
func (f *fakeCall) set(b behavior) { f.setScript(func(int) behavior { return b }) }

// setScript makes call number n (counted from 1 over the fake's life)
// behave as script(n).
func (f *fakeCall) setScript(script func(n int) behavior) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = script
}

func (f *fakeCall) setGate(gate func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = gate
}

func (f *fakeCall) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// do performs one call. A call slower than ctx's deadline advances the
// clock to the deadline and returns context.DeadlineExceeded: the fake
// decides from ctx.Deadline rather than racing the mock timer, so the
// outcome is deterministic.
func (f *fakeCall) do(ctx context.Context) error {
	f.mu.Lock()
	f.calls++
	b := behavior{}
	if f.script != nil {
		b = f.script(f.calls)
	}
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate()
	}
	if b.latency > 0 {
		now := f.clk.Now()
		if deadline, ok := ctx.Deadline(); ok && !now.Add(b.latency).Before(deadline) {
			f.clk.Add(deadline.Sub(now))
			return fmt.Errorf("fake: %w", context.DeadlineExceeded)
		}
		f.clk.Add(b.latency)
	}
	return b.err
}

type fakePayment struct{ charge fakeCall }

func (f *fakePayment) Charge(ctx context.Context, orderID, _ string, _ int64) (string, error) {
	if err := f.charge.do(ctx); err != nil {
		return "", err
	}
	return "ch-" + orderID, nil
}

type fakeInventory struct{ reserve, release fakeCall }

func (f *fakeInventory) Reserve(ctx context.Context, orderID string, _ []shop.Item) (string, error) {
	if err := f.reserve.do(ctx); err != nil {
		return "", err
	}
	return "res-" + orderID, nil
}

func (f *fakeInventory) Release(ctx context.Context, _ string) error { return f.release.do(ctx) }

type fakeUsers struct{ record fakeCall }

func (f *fakeUsers) RecordPurchase(ctx context.Context, _, _ string, _ int64) error {
	return f.record.do(ctx)
}

type fakeMailer struct{ send fakeCall }

func (f *fakeMailer) SendReceipt(ctx context.Context, _, _ string, _ int64) error {
	return f.send.do(ctx)
}

// Latencies of healthy dependencies.
const (
	payLatency   = 200 * time.Millisecond
	invLatency   = 20 * time.Millisecond
	usersLatency = 30 * time.Millisecond
	mailLatency  = 100 * time.Millisecond
)

var (
	errGateway  = errors.New("gateway: 503 service unavailable")
	errInternal = errors.New("inventory: 500 internal error")
	errUsers    = errors.New("users: connection refused")
	errSMTP     = errors.New("smtp: 421 service not available")
)

// harness is a Service over fakes on one mock clock, recording every
// transition of its breakers.
type harness struct {
	clk    *clock.Mock
	pay    *fakePayment
	inv    *fakeInventory
	users  *fakeUsers
	mail   *fakeMailer
	outbox *shop.MemoryOutbox
	svc    *shop.Service

	mu          sync.Mutex // guards transitions
	transitions []circuit.Transition
}

// newHarness starts with every dependency healthy, at the latencies above.
func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := clock.NewMock()
	h := &harness{
		clk:    clk,
		pay:    &fakePayment{charge: fakeCall{clk: clk}},
		inv:    &fakeInventory{reserve: fakeCall{clk: clk}, release: fakeCall{clk: clk}},
		users:  &fakeUsers{record: fakeCall{clk: clk}},
		mail:   &fakeMailer{send: fakeCall{clk: clk}},
		outbox: &shop.MemoryOutbox{},
	}
	h.pay.charge.set(behavior{latency: payLatency})
	h.inv.reserve.set(behavior{latency: invLatency})
	h.users.record.set(behavior{latency: usersLatency})
	h.mail.send.set(behavior{latency: mailLatency})
	svc, err := shop.New(shop.Config{
		Payment: h.pay, Inventory: h.inv, Users: h.users, Mailer: h.mail, Outbox: h.outbox,
		Clock: clk,
		OnStateChange: func(tr circuit.Transition) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.transitions = append(h.transitions, tr)
		},
	})
	require.NoError(t, err)
	h.svc = svc
	return h
}

func order(i int) shop.Order {
	return shop.Order{
		ID:          fmt.Sprintf("o-%d", i),
		UserID:      "u-1",
		Email:       "ada@example.com",
		Items:       []shop.Item{{SKU: "sku-1", Qty: 2}},
		AmountCents: 4200,
	}
}

func (h *harness) checkout(i int) (shop.Receipt, error) {
	return h.svc.Checkout(context.Background(), order(i))
}

// trans returns the transitions so far as "name: from->to (reason)".
func (h *harness) trans() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.transitions))
	for i, tr := range h.transitions {
		out[i] = fmt.Sprintf("%s: %s->%s (%s)", tr.Name, tr.From, tr.To, tr.Reason)
	}
	return out
}

// last returns the latest transition; the test fails if there is none.
func (h *harness) last(t *testing.T) circuit.Transition {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.NotEmpty(t, h.transitions)
	return h.transitions[len(h.transitions)-1]
}

func (h *harness) state(dep shop.Dependency) circuit.State { return h.svc.Breaker(dep).State() }

// states returns the four states in the order payment, inventory, users, email.
func (h *harness) states() [4]circuit.State {
	return [4]circuit.State{h.state(shop.Payment), h.state(shop.Inventory), h.state(shop.Users), h.state(shop.Email)}
}

var allClosed = [4]circuit.State{circuit.Closed, circuit.Closed, circuit.Closed, circuit.Closed}
