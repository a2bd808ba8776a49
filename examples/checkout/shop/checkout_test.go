package shop_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/examples/checkout/shop"
)

// The mock clock runs each timer's func on a goroutine of its own; goleak
// checks that none of them, nor anything else, outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireUnavailable checks that err is the fail-fast error of dep's open
// circuit with the given Retry-After, and returns it.
func requireUnavailable(t *testing.T, err error, dep shop.Dependency, retryAfter time.Duration) *shop.UnavailableError {
	t.Helper()
	var ue *shop.UnavailableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, dep, ue.Dependency)
	assert.Equal(t, retryAfter, ue.RetryAfter)
	assert.ErrorIs(t, err, shop.ErrUnavailable)
	assert.ErrorIs(t, err, circuit.ErrOpen)
	return ue
}

func TestNormalOperation(t *testing.T) {
	h := newHarness(t)
	start := h.clk.Now()
	for i := 1; i <= 5; i++ {
		r, err := h.checkout(i)
		require.NoError(t, err)
		assert.Equal(t, shop.Receipt{
			OrderID:       order(i).ID,
			ReservationID: "res-" + order(i).ID,
			ChargeID:      "ch-" + order(i).ID,
			UserUpdate:    shop.Step{Status: shop.Done},
			Email:         shop.Step{Status: shop.Done},
		}, r)
	}
	assert.Equal(t, allClosed, h.states())
	assert.Empty(t, h.trans())
	assert.Zero(t, h.outbox.Len())
	assert.Equal(t, 5, h.pay.charge.count())
	assert.Equal(t, 5, h.inv.reserve.count())
	assert.Zero(t, h.inv.release.count())
	assert.Equal(t, 5, h.users.record.count())
	assert.Equal(t, 5, h.mail.send.count())
	// The fakes' latencies are what the breakers measured.
	assert.Equal(t, 5*(invLatency+payLatency+usersLatency+mailLatency), h.clk.Now().Sub(start))
	m := h.svc.Breaker(shop.Payment).Metrics()
	assert.Equal(t, uint64(5), m.Successes)
	assert.Equal(t, payLatency, m.AvgLatency)
}

func TestBreakersUseTheirPresets(t *testing.T) {
	h := newHarness(t)
	for dep, name := range shop.Presets() {
		want, err := circuit.Preset(name)
		require.NoError(t, err)
		want.Name = string(dep)
		b, ok := h.svc.Breaker(dep).(interface{ Config() circuit.Config })
		require.True(t, ok, dep)
		assert.Equal(t, want, b.Config(), dep)
	}
	assert.Equal(t, map[shop.Dependency]string{
		shop.Payment: "payment", shop.Inventory: "core", shop.Users: "auth", shop.Email: "analytics",
	}, shop.Presets())
	assert.Nil(t, h.svc.Breaker("search"))
}

// Payment preset: trips when the P95 over the window reaches 2s, once 10
// calls are in. With 10 calls the P95 is the slowest, so one slow charge
// after nine fast ones opens the circuit.
func TestPaymentSlowTripsOnLatency(t *testing.T) {
	h := newHarness(t)
	for i := 1; i <= 9; i++ {
		_, err := h.checkout(i)
		require.NoError(t, err)
	}
	h.pay.charge.set(behavior{latency: 3 * time.Second}) // slow, but under the 10s call timeout

	// The slow charge itself succeeds: the customer paid.
	r, err := h.checkout(10)
	require.NoError(t, err)
	assert.Equal(t, "ch-o-10", r.ChargeID)
	assert.Equal(t, []string{"payment: closed->open (latency)"}, h.trans())
	tr := h.last(t)
	assert.InEpsilon(t, float64(3*time.Second), float64(tr.Metrics.PercentileLatency), 1.0/64, "reported within 1.56%")
	assert.Equal(t, 10, tr.Metrics.WindowRequests)
	assert.Zero(t, tr.Metrics.Failures)
	openedAt := tr.At
	// After the charge, the user update and the email took their time.
	assert.Equal(t, openedAt.Add(usersLatency+mailLatency), h.clk.Now())

	// 17.28s later the reservation takes 20ms, so the rejection comes
	// 17.3s into the 60s open period: retry after ceil(42.7) = 43 s.
	h.clk.Add(17*time.Second + 280*time.Millisecond - usersLatency - mailLatency)
	_, err = h.checkout(11)
	ue := requireUnavailable(t, err, shop.Payment, 43*time.Second)
	assert.Equal(t, openedAt.Add(60*time.Second), ue.Cause.RetryAt)
	assert.Equal(t, circuit.Open, ue.Cause.State)
	assert.EqualError(t, err, "shop: checkout temporarily unavailable, retry after 43 s (payment circuit is open)")
	assert.Equal(t, 10, h.pay.charge.count(), "an open circuit must not call the gateway")
	assert.Equal(t, 1, h.inv.release.count(), "the stock reserved for the refused order is released")
	assert.Equal(t, 10, h.users.record.count(), "nothing after a failed payment runs")
	assert.Zero(t, h.outbox.Len())
	assert.Equal(t, [4]circuit.State{circuit.Open, circuit.Closed, circuit.Closed, circuit.Closed}, h.states())
}

// A gateway that hangs is cut off by the payment preset's 10s call timeout;
// three timeouts in a row open the circuit.
func TestPaymentHangingTimesOut(t *testing.T) {
	h := newHarness(t)
	h.pay.charge.set(behavior{latency: time.Minute})
	for i := 1; i <= 3; i++ {
		before := h.clk.Now()
		_, err := h.checkout(i)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "shop: payment: charge: ")
		assert.NotErrorIs(t, err, shop.ErrUnavailable)
		// The call was given up after the timeout, not after the minute.
		assert.Equal(t, invLatency+10*time.Second, h.clk.Now().Sub(before))
	}
	assert.Equal(t, []string{"payment: closed->open (consecutive-failures)"}, h.trans())
	tr := h.last(t)
	assert.Equal(t, 3, tr.Metrics.ConsecutiveFailures)
	assert.InEpsilon(t, float64(10*time.Second), float64(tr.Metrics.P95Latency), 1.0/64, "reported within 1.56%")
	assert.ErrorIs(t, tr.Metrics.LastFailure, context.DeadlineExceeded)
	assert.Equal(t, 3, h.inv.release.count())

	_, err := h.checkout(4)
	// Opened when the third call ended; now is 20ms later.
	ue := requireUnavailable(t, err, shop.Payment, 60*time.Second)
	assert.Equal(t, tr.At.Add(time.Minute), ue.Cause.RetryAt)
	assert.ErrorIs(t, ue.Cause.Cause, context.DeadlineExceeded, "the OpenError keeps the failure that opened it")
	assert.Equal(t, 3, h.pay.charge.count())
}

// Core preset: trips at a 50% error rate once 20 calls are in. Failing
// every other call never makes 5 in a row, so it is the rate that trips.
func TestInventoryErrorsTripOnErrorRate(t *testing.T) {
	h := newHarness(t)
	h.inv.reserve.setScript(func(n int) behavior {
		if n%2 == 0 {
			return behavior{latency: invLatency, err: errInternal}
		}
		return behavior{latency: invLatency}
	})
	for i := 1; i <= 20; i++ {
		_, err := h.checkout(i)
		if i%2 == 0 {
			require.ErrorIs(t, err, errInternal, i)
			assert.ErrorContains(t, err, "shop: inventory: reserve stock: ")
			assert.NotErrorIs(t, err, shop.ErrUnavailable)
		} else {
			require.NoError(t, err, i)
		}
		if i < 20 {
			assert.Equal(t, circuit.Closed, h.state(shop.Inventory), i)
		}
	}
	assert.Equal(t, []string{"inventory: closed->open (error-rate)"}, h.trans())
	tr := h.last(t)
	assert.Equal(t, 0.5, tr.Metrics.ErrorRate)
	assert.Equal(t, 20, tr.Metrics.WindowRequests)
	assert.Equal(t, 1, tr.Metrics.ConsecutiveFailures)
	assert.Equal(t, 10, h.pay.charge.count(), "a failed reservation charges nobody")

	// Core stays open 30s. Opened at the end of the 20th reservation.
	h.clk.Add(12 * time.Second)
	_, err := h.checkout(21)
	ue := requireUnavailable(t, err, shop.Inventory, 18*time.Second)
	assert.Equal(t, tr.At.Add(30*time.Second), ue.Cause.RetryAt)
	assert.EqualError(t, err, "shop: checkout temporarily unavailable, retry after 18 s (inventory circuit is open)")
	assert.Equal(t, 20, h.inv.reserve.count())
	assert.Equal(t, 10, h.pay.charge.count())
}

// Declined cards and missing stock are answers, not outages: however many
// there are, no circuit opens.
func TestBusinessRefusalsDoNotTrip(t *testing.T) {
	h := newHarness(t)
	h.pay.charge.set(behavior{latency: payLatency, err: errors.Join(shop.ErrDeclined, errors.New("card 4000...0002"))})
	for i := 1; i <= 12; i++ {
		_, err := h.checkout(i)
		require.ErrorIs(t, err, shop.ErrDeclined)
	}
	h.inv.reserve.set(behavior{latency: invLatency, err: shop.ErrOutOfStock})
	for i := 13; i <= 40; i++ {
		_, err := h.checkout(i)
		require.ErrorIs(t, err, shop.ErrOutOfStock)
	}
	assert.Equal(t, allClosed, h.states())
	assert.Empty(t, h.trans())
	assert.Equal(t, uint64(12), h.svc.Breaker(shop.Payment).Metrics().Successes)
	assert.Equal(t, 12, h.inv.release.count(), "each declined order's stock is released")
}

// Analytics preset: 10 failures in a row open the email circuit. Every
// checkout succeeds; the receipts wait in the outbox.
func TestEmailDownCheckoutStillSucceeds(t *testing.T) {
	h := newHarness(t)
	h.mail.send.set(behavior{latency: mailLatency, err: errSMTP})
	for i := 1; i <= 10; i++ {
		r, err := h.checkout(i)
		require.NoError(t, err, i)
		assert.Equal(t, shop.Done, r.UserUpdate.Status)
		assert.Equal(t, shop.Queued, r.Email.Status)
		assert.ErrorIs(t, r.Email.Err, errSMTP)
	}
	assert.Equal(t, []string{"email: closed->open (consecutive-failures)"}, h.trans())
	assert.Equal(t, 10, h.last(t).Metrics.ConsecutiveFailures)

	r, err := h.checkout(11)
	require.NoError(t, err)
	assert.Equal(t, "ch-o-11", r.ChargeID)
	assert.Equal(t, shop.Queued, r.Email.Status)
	assert.ErrorIs(t, r.Email.Err, circuit.ErrOpen)
	assert.Equal(t, 10, h.mail.send.count(), "an open circuit must not call the mailer")

	tasks := h.outbox.Tasks()
	require.Len(t, tasks, 11)
	for i, task := range tasks {
		assert.Equal(t, shop.Task{
			Kind: shop.TaskReceiptEmail, OrderID: order(i + 1).ID, Email: "ada@example.com", AmountCents: 4200,
			Cause: task.Cause,
		}, task)
	}
	assert.Equal(t, errSMTP.Error(), tasks[0].Cause)
	assert.Equal(t, `circuit: breaker "email" is open`, tasks[10].Cause)
	assert.Equal(t, [4]circuit.State{circuit.Closed, circuit.Closed, circuit.Closed, circuit.Open}, h.states())
}

// Users and email fail together: checkouts go on with both steps queued.
// Then the gateway fails too: checkouts fail, then fail fast, their stock
// is given back (queued when the inventory refuses the release), and no
// user update or email is attempted for an unpaid order.
func TestSeveralFailingAtOnce(t *testing.T) {
	h := newHarness(t)
	h.users.record.set(behavior{err: errUsers})
	h.mail.send.set(behavior{err: errSMTP})
	for i := 1; i <= 10; i++ {
		r, err := h.checkout(i)
		require.NoError(t, err, i)
		assert.Equal(t, shop.Queued, r.UserUpdate.Status, i)
		assert.Equal(t, shop.Queued, r.Email.Status, i)
	}
	assert.Equal(t, []string{
		"users: closed->open (consecutive-failures)", // auth: 5 in a row
		"email: closed->open (consecutive-failures)", // analytics: 10 in a row
	}, h.trans())
	assert.Equal(t, 5, h.users.record.count())
	assert.Equal(t, 10, h.mail.send.count())
	assert.Equal(t, 20, h.outbox.Len())

	h.pay.charge.set(behavior{latency: payLatency, err: errGateway})
	h.inv.release.set(behavior{err: errInternal})
	for i := 11; i <= 13; i++ {
		_, err := h.checkout(i)
		require.ErrorIs(t, err, errGateway, i)
	}
	_, err := h.checkout(14)
	requireUnavailable(t, err, shop.Payment, 60*time.Second)
	assert.Equal(t, []string{
		"users: closed->open (consecutive-failures)",
		"email: closed->open (consecutive-failures)",
		"payment: closed->open (consecutive-failures)",
	}, h.trans())
	assert.Equal(t, [4]circuit.State{circuit.Open, circuit.Closed, circuit.Open, circuit.Open}, h.states())

	tasks := h.outbox.Tasks()
	require.Len(t, tasks, 24)
	for i, task := range tasks[20:] {
		assert.Equal(t, shop.TaskReleaseReservation, task.Kind)
		assert.Equal(t, order(11+i).ID, task.OrderID)
		assert.Equal(t, "res-"+order(11+i).ID, task.ReservationID)
		assert.Equal(t, errInternal.Error(), task.Cause)
	}
	assert.Equal(t, 5, h.users.record.count())
	assert.Equal(t, 10, h.mail.send.count())
	assert.Equal(t, 13, h.pay.charge.count())
	// The failed releases count against the inventory too, but 4 failures
	// out of 18 calls are below the core preset's thresholds.
	assert.Equal(t, circuit.Closed, h.state(shop.Inventory))
}

// Payment recovers through half-open: after the 60s timeout one probe at a
// time is let through; a failed probe reopens it for another 60s, and five
// good probes in a row close it.
func TestRecoveryThroughHalfOpen(t *testing.T) {
	h := newHarness(t)
	h.pay.charge.set(behavior{err: errGateway})
	for i := 1; i <= 3; i++ {
		_, err := h.checkout(i)
		require.ErrorIs(t, err, errGateway)
	}
	opened := h.last(t)
	require.Equal(t, circuit.Open, opened.To)
	retryAt := opened.At.Add(time.Minute)

	// 1ms before the timeout ends: still open, retry after 1 s.
	h.clk.Add(retryAt.Sub(h.clk.Now()) - invLatency - time.Millisecond)
	_, err := h.checkout(4)
	requireUnavailable(t, err, shop.Payment, time.Second)
	assert.Equal(t, retryAt.Add(-time.Millisecond), h.clk.Now())

	h.clk.Add(time.Millisecond)
	assert.Equal(t, circuit.HalfOpen, h.state(shop.Payment))
	tr := h.last(t)
	assert.Equal(t, "payment: open->half-open (timeout-elapsed)", h.trans()[1])
	assert.Equal(t, retryAt, tr.At)

	// The first probe fails: open again, for 60s from the failure.
	_, err = h.checkout(5)
	require.ErrorIs(t, err, errGateway)
	tr = h.last(t)
	assert.Equal(t, "payment: half-open->open (probe-failed)", h.trans()[2])
	_, err = h.checkout(6)
	ue := requireUnavailable(t, err, shop.Payment, 60*time.Second)
	assert.Equal(t, tr.At.Add(time.Minute), ue.Cause.RetryAt)

	// The gateway is back; after the timeout, five good probes close it.
	h.pay.charge.set(behavior{latency: payLatency})
	h.clk.Add(time.Minute)
	for i := 7; i <= 11; i++ {
		assert.Equal(t, circuit.HalfOpen, h.state(shop.Payment), i)
		r, err := h.checkout(i)
		require.NoError(t, err, i)
		assert.Equal(t, "ch-"+order(i).ID, r.ChargeID)
	}
	assert.Equal(t, []string{
		"payment: closed->open (consecutive-failures)",
		"payment: open->half-open (timeout-elapsed)",
		"payment: half-open->open (probe-failed)",
		"payment: open->half-open (timeout-elapsed)",
		"payment: half-open->closed (probes-succeeded)",
	}, h.trans())
	assert.Equal(t, allClosed, h.states())
	m := h.svc.Breaker(shop.Payment).Metrics()
	assert.Zero(t, m.WindowRequests, "a recovered breaker starts with an empty window")
	assert.Equal(t, uint64(2), m.Rejections)
	assert.Equal(t, 9, h.pay.charge.count())
}

// While the single payment probe is in flight, another checkout is refused
// at once, and told to retry when the probe's slot is free at the latest:
// its deadline, a ProbeTimeout (the preset's 60 s OpenTimeout) after it
// was admitted.
func TestHalfOpenProbeSlotTaken(t *testing.T) {
	h := newHarness(t)
	h.inv.reserve.set(behavior{}) // no clock moves while the probe is blocked
	h.pay.charge.set(behavior{err: errGateway})
	for i := 1; i <= 3; i++ {
		_, err := h.checkout(i)
		require.ErrorIs(t, err, errGateway)
	}
	h.clk.Add(time.Minute)
	require.Equal(t, circuit.HalfOpen, h.state(shop.Payment))

	entered, release := make(chan struct{}), make(chan struct{})
	h.pay.charge.set(behavior{})
	h.pay.charge.setGate(func() {
		close(entered)
		<-release
	})
	type result struct {
		r   shop.Receipt
		err error
	}
	probe := make(chan result)
	go func() {
		r, err := h.svc.Checkout(context.Background(), order(4))
		probe <- result{r, err}
	}()
	<-entered
	h.pay.charge.setGate(nil)

	_, err := h.checkout(5)
	ue := requireUnavailable(t, err, shop.Payment, time.Minute)
	assert.Equal(t, circuit.HalfOpen, ue.Cause.State)
	assert.False(t, ue.Cause.RetryAt.IsZero())
	assert.EqualError(t, err, "shop: checkout temporarily unavailable, retry after 60 s (payment circuit is half-open)")

	close(release)
	res := <-probe
	require.NoError(t, res.err)
	assert.Equal(t, "ch-o-4", res.r.ChargeID)
	assert.Equal(t, 4, h.pay.charge.count())
	assert.Equal(t, 1, h.svc.Breaker(shop.Payment).Metrics().ConsecutiveSuccesses)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		retryAt time.Time
		want    time.Duration
	}{
		{"held open: no RetryAt", time.Time{}, time.Second},
		{"whole seconds", now.Add(60 * time.Second), 60 * time.Second},
		{"rounds up", now.Add(42*time.Second + 700*time.Millisecond), 43 * time.Second},
		{"one nanosecond over", now.Add(59*time.Second + 1), 60 * time.Second},
		{"less than a second", now.Add(time.Millisecond), time.Second},
		{"now", now, time.Second},
		{"already past", now.Add(-5 * time.Second), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, shop.RetryAfter(&circuit.OpenError{RetryAt: tt.retryAt}, now))
		})
	}
}

func TestNewNamesMissingDependencies(t *testing.T) {
	svc, err := shop.New(shop.Config{Mailer: &fakeMailer{}})
	assert.Nil(t, svc)
	require.Error(t, err)
	for _, field := range []string{"Payment", "Inventory", "Users", "Outbox"} {
		assert.ErrorContains(t, err, "shop: Config."+field+" is nil")
	}
	assert.NotContains(t, err.Error(), "Mailer")
}

func TestCheckoutRejectsBadInput(t *testing.T) {
	h := newHarness(t)
	_, err := h.svc.Checkout(context.Background(), shop.Order{
		ID: "o-1", Items: []shop.Item{{SKU: "", Qty: 0}}, AmountCents: -5,
	})
	require.ErrorIs(t, err, shop.ErrInvalidOrder)
	for _, msg := range []string{
		"UserID is empty", "Email is empty", "Items[0].SKU is empty",
		"Items[0].Qty = 0: must be at least 1", "AmountCents = -5: must be at least 1",
	} {
		assert.ErrorContains(t, err, "shop: invalid order: "+msg)
	}
	assert.NotContains(t, err.Error(), "invalid order: ID is empty")

	//lint:ignore SA1012 checking that a nil context is refused
	_, err = h.svc.Checkout(nil, order(1))
	assert.EqualError(t, err, "shop: Checkout called with a nil context")
	assert.Zero(t, h.inv.reserve.count(), "bad input calls nothing")
}

// An outbox that refuses the task too: the checkout still succeeds (it is
// paid), and the receipt says the step was lost and why.
func TestOutboxRefusalIsReported(t *testing.T) {
	h := newHarness(t)
	errFull := errors.New("queue full")
	svc, err := shop.New(shop.Config{
		Payment: h.pay, Inventory: h.inv, Users: h.users, Mailer: h.mail, Clock: h.clk,
		Outbox: refusingOutbox{errFull},
	})
	require.NoError(t, err)
	h.mail.send.set(behavior{err: errSMTP})
	r, err := svc.Checkout(context.Background(), order(1))
	require.NoError(t, err)
	assert.Equal(t, shop.Done, r.UserUpdate.Status)
	assert.Equal(t, shop.Lost, r.Email.Status)
	assert.ErrorIs(t, r.Email.Err, errSMTP)
	assert.ErrorIs(t, r.Email.Err, errFull)
	assert.Equal(t, "lost", r.Email.Status.String())
}

type refusingOutbox struct{ err error }

func (o refusingOutbox) Enqueue(context.Context, shop.Task) error { return o.err }

// Many checkouts at once, under -race: every checkout succeeds, and every
// failed email is queued exactly once.
func TestConcurrentCheckouts(t *testing.T) {
	h := newHarness(t)
	h.pay.charge.set(behavior{})
	h.inv.reserve.set(behavior{})
	h.users.record.set(behavior{})
	// One email in three fails: never 10 in a row, and 33% is below the
	// analytics preset's 60%, so the circuit stays closed.
	h.mail.send.setScript(func(n int) behavior {
		if n%3 == 0 {
			return behavior{err: errSMTP}
		}
		return behavior{}
	})
	const workers, each = 8, 50
	errs := make(chan error, workers)
	queued := make(chan int, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			q := 0
			for i := 0; i < each; i++ {
				r, err := h.checkout(w*each + i)
				if err != nil {
					errs <- err
					queued <- q
					return
				}
				if r.Email.Status == shop.Queued {
					q++
				}
			}
			errs <- nil
			queued <- q
		}(w)
	}
	total := 0
	for w := 0; w < workers; w++ {
		require.NoError(t, <-errs)
		total += <-queued
	}
	assert.Equal(t, workers*each/3, total)
	assert.Equal(t, total, h.outbox.Len())
	assert.Equal(t, allClosed, h.states())
	assert.Equal(t, uint64(workers*each), h.svc.Breaker(shop.Payment).Metrics().Successes)
}
