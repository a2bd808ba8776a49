// Command checkout runs a short, deterministic story of a checkout service
// whose dependencies fail one after another, and prints what each breaker
// did and what the business lost: checkouts completed, checkouts lost to
// open breakers (by dependency), the revenue at stake (lost checkouts ×
// the €34.99 every order is worth in the story), and the share of the
// last 5 minutes' checkouts that were lost. Two other configurations of
// the email breaker watch its calls as shadows (package tune), and the
// summary says what they would have done. Time is a mock clock that the
// fake dependencies advance by their latency, so the output is the same on
// every run.
//
//	go run ./examples/checkout
//
// With -serve, it then serves the end of the story for a person to look
// at, on a loopback address, until interrupted:
//
//	go run ./examples/checkout -serve 127.0.0.1:8080
//
//	/          the monitor's status page, with the business figures above
//	           the breakers and the shadows' reports below them
//	           (/?format=json for its JSON)
//	/metrics   the business metrics in the Prometheus text format
//
// The page's clock is the story's mock clock, so its times are virtual
// (the story starts at 1970-01-01 00:00 UTC) and stand still. -until 4
// stops the story while the payment circuit is open and checkouts are
// being lost, the moment the page is for:
//
//	go run ./examples/checkout -until 4 -serve 127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/examples/checkout/shop"
	"github.com/breakerlab/circuit/monitor"
	"github.com/breakerlab/circuit/tune"
)

func main() {
	addr := flag.String("serve", "", "after the story, serve the status page and /metrics on this loopback `address`, such as 127.0.0.1:8080")
	until := flag.Int("until", chapters, "stop the story after this `chapter`, such as 4 to serve the page mid-incident")
	flag.Parse()
	if err := mainErr(os.Stdout, *addr, *until); err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}

// mainErr tells the story to w up to chapter until and, if addr is not
// empty, serves it there until interrupted.
func mainErr(w io.Writer, addr string, until int) error {
	if addr != "" {
		if err := checkLoopback(addr); err != nil {
			return err
		}
	}
	s, err := tell(w, until)
	if err != nil || addr == "" {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nServing the status page at http://%s/ and the metrics at http://%s/metrics; Ctrl-C stops.\n", ln.Addr(), ln.Addr())
	return serve(ctx, ln, s.handler())
}

// dep is a scripted dependency: each call takes latency on the mock clock
// and returns err. It implements all four dependency interfaces; the demo
// uses one per dependency.
type dep struct {
	clk *clock.Mock

	mu      sync.Mutex // guards latency, err, calls
	latency time.Duration
	err     error
	calls   int
}

func (d *dep) set(latency time.Duration, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.latency, d.err = latency, err
}

func (d *dep) call(ctx context.Context) error {
	d.mu.Lock()
	d.calls++
	latency, err := d.latency, d.err
	d.mu.Unlock()
	now := d.clk.Now()
	if deadline, ok := ctx.Deadline(); ok && !now.Add(latency).Before(deadline) {
		d.clk.Add(deadline.Sub(now))
		return context.DeadlineExceeded
	}
	if latency > 0 {
		d.clk.Add(latency)
	}
	return err
}

func (d *dep) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}

func (d *dep) Charge(ctx context.Context, orderID, _ string, _ int64) (string, error) {
	return "ch-" + orderID, d.call(ctx)
}

func (d *dep) Reserve(ctx context.Context, orderID string, _ []shop.Item) (string, error) {
	return "res-" + orderID, d.call(ctx)
}

func (d *dep) Release(context.Context, string) error { return nil }

func (d *dep) RecordPurchase(ctx context.Context, _, _ string, _ int64) error { return d.call(ctx) }

func (d *dep) SendReceipt(ctx context.Context, _, _ string, _ int64) error { return d.call(ctx) }

// story holds the demo's world: a service over scripted dependencies.
type story struct {
	w     io.Writer
	clk   *clock.Mock
	start time.Time
	svc   *shop.Service
	out   *shop.MemoryOutbox
	next  int // number of the next order

	pay, inv, users, mail *dep

	ledger  *ledger           // the business view of the checkouts
	reg     *monitor.Registry // the four breakers, for the status page
	mon     *monitor.Monitor  // checked at each chapter, for the status page
	shadows *tune.Shadows     // other thresholds for the email breaker, tried on its calls

	mu      sync.Mutex // guards pending
	pending []circuit.Transition
}

// chapters is the number of chapters of the story.
const chapters = 5

// run tells the whole story to w.
func run(w io.Writer) error {
	_, err := tell(w, chapters)
	return err
}

// tell tells the story to w up to the end of chapter until (1 to
// chapters), then its summary, and returns its world as it is then.
func tell(w io.Writer, until int) (*story, error) {
	if until < 1 || until > chapters {
		return nil, fmt.Errorf("-until %d: the story has chapters 1 to %d", until, chapters)
	}
	clk := clock.NewMock()
	s := &story{w: w, clk: clk, start: clk.Now(), out: &shop.MemoryOutbox{}, next: 1, ledger: newLedger(), reg: monitor.NewRegistry()}
	s.pay = &dep{clk: clk, latency: 200 * time.Millisecond}
	s.inv = &dep{clk: clk, latency: 20 * time.Millisecond}
	s.users = &dep{clk: clk, latency: 30 * time.Millisecond}
	s.mail = &dep{clk: clk, latency: 100 * time.Millisecond}
	svc, err := shop.New(shop.Config{
		Payment: s.pay, Inventory: s.inv, Users: s.users, Mailer: s.mail, Outbox: s.out,
		Clock: clk,
		OnStateChange: func(t circuit.Transition) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.pending = append(s.pending, t)
		},
	})
	if err != nil {
		return nil, err
	}
	s.svc = svc
	for _, d := range []shop.Dependency{shop.Payment, shop.Inventory, shop.Users, shop.Email} {
		if err := s.reg.Register(svc.Breaker(d)); err != nil {
			return nil, err
		}
	}
	if s.mon, err = monitor.New(s.reg, monitor.WithClock(clk)); err != nil {
		return nil, err
	}
	if s.shadows, err = shadowEmail(svc); err != nil {
		return nil, err
	}
	// Checked at each chapter and at the end: the first check subscribes
	// to the breakers' transitions, so the page knows their exact times.
	s.mon.Check()

	fmt.Fprintln(w, "Checkout service: four dependencies, each behind its own breaker (virtual time).")
	for _, d := range []shop.Dependency{shop.Payment, shop.Inventory, shop.Users, shop.Email} {
		fmt.Fprintf(w, "  %-9s preset %s\n", d, shop.Presets()[d])
	}

	acts := []struct {
		title string
		play  func()
	}{
		{"All healthy", func() { s.checkouts(3) }},
		{"The mail server and the user service go down: their work is queued, checkouts go on", func() {
			s.mail.set(100*time.Millisecond, errors.New("smtp: 421 service not available"))
			s.users.set(0, errors.New("users: connection refused"))
			s.checkouts(11)
		}},
		{"The payment gateway slows to 3 s (its preset allows 2 s at P95)", func() {
			s.pay.set(3*time.Second, nil)
			s.checkouts(2)
		}},
		{"20 s later, customers try again", func() {
			s.clk.Add(20 * time.Second)
			s.checkouts(1)
		}},
		{"Everything recovers; the open timeouts run out and probes go through", func() {
			s.pay.set(200*time.Millisecond, nil)
			s.mail.set(100*time.Millisecond, nil)
			s.users.set(30*time.Millisecond, nil)
			s.clk.Add(40 * time.Second)
			s.transitions()
			s.checkouts(5)
		}},
	}
	for i, a := range acts[:until] {
		s.chapter(fmt.Sprintf("%d. %s", i+1, a.title))
		a.play()
	}

	s.chapter("Summary")
	kinds := map[shop.TaskKind]int{}
	for _, t := range s.out.Tasks() {
		kinds[t.Kind]++
	}
	fmt.Fprintf(w, "  outbox: %d receipt emails, %d user updates, %d releases to replay\n",
		kinds[shop.TaskReceiptEmail], kinds[shop.TaskUserUpdate], kinds[shop.TaskReleaseReservation])
	fmt.Fprintf(w, "  calls made: payment %d, inventory %d, users %d, email %d\n",
		s.pay.count(), s.inv.count(), s.users.count(), s.mail.count())
	fmt.Fprintf(w, "  %-9s  %-9s  %9s  %8s  %10s  %11s\n", "breaker", "state", "successes", "failures", "rejections", "transitions")
	for _, d := range []shop.Dependency{shop.Payment, shop.Inventory, shop.Users, shop.Email} {
		m := s.svc.Breaker(d).Metrics()
		fmt.Fprintf(w, "  %-9s  %-9s  %9d  %8d  %10d  %11d\n", d, m.State, m.Successes, m.Failures, m.Rejections, m.Transitions)
	}
	fmt.Fprintln(w, "  shadows of the email breaker (they watched every email call and rejected none):")
	for _, r := range s.shadows.Reports() {
		fmt.Fprintln(w, "    "+r.Verdict)
	}
	for _, line := range s.ledger.snapshot(s.clk.Now()).lines() {
		fmt.Fprintln(w, "  "+line)
	}
	s.mon.Check()
	return s, nil
}

// shadowEmail tries two other thresholds on the email breaker's calls, as
// shadows that reject none: the mail server's outage is the test of them.
func shadowEmail(svc *shop.Service) (*tune.Shadows, error) {
	live, ok := svc.Breaker(shop.Email).(tune.Live)
	if !ok {
		return nil, errors.New("the email breaker cannot be shadowed")
	}
	lenient, strict := live.Config(), live.Config()
	lenient.ConsecutiveFailures = 20
	strict.ConsecutiveFailures = 5
	return tune.Attach(live, []tune.Candidate{
		{Name: "20 in a row", Config: lenient},
		{Name: "5 in a row", Config: strict},
	})
}

// at formats t as virtual time since the start.
func (s *story) at(t time.Time) string { return fmt.Sprintf("T+%7.3fs", t.Sub(s.start).Seconds()) }

func (s *story) chapter(title string) {
	s.mon.Check()
	fmt.Fprintf(s.w, "\n%s  %s\n", s.at(s.clk.Now()), title)
}

// checkouts runs n orders, printing for each the transitions it caused
// and then its outcome, at the time it completed.
func (s *story) checkouts(n int) {
	for ; n > 0; n-- {
		o := shop.Order{
			ID: fmt.Sprintf("o-%d", s.next), UserID: "u-7", Email: "ada@example.com",
			Items: []shop.Item{{SKU: "kettle", Qty: 1}}, AmountCents: orderValueCents,
		}
		s.next++
		before := s.clk.Now()
		r, err := s.svc.Checkout(context.Background(), o)
		took := s.clk.Now().Sub(before)
		s.ledger.record(s.clk.Now(), err)
		s.transitions()
		var ue *shop.UnavailableError
		switch {
		case errors.As(err, &ue):
			fmt.Fprintf(s.w, "%s  %-5s refused in %v: %v -> HTTP 503, Retry-After: %.0f\n",
				s.at(s.clk.Now()), o.ID, took, err, ue.RetryAfter.Seconds())
		case err != nil:
			fmt.Fprintf(s.w, "%s  %-5s failed in %v: %v\n", s.at(s.clk.Now()), o.ID, took, err)
		default:
			fmt.Fprintf(s.w, "%s  %-5s paid in %v (%s); user update %s%s, email %s%s\n",
				s.at(s.clk.Now()), o.ID, took, r.ChargeID, r.UserUpdate.Status, why(r.UserUpdate), r.Email.Status, why(r.Email))
		}
	}
}

func why(st shop.Step) string {
	if st.Err == nil {
		return ""
	}
	if errors.Is(st.Err, circuit.ErrOpen) {
		return " (circuit open, not called)"
	}
	return " (" + st.Err.Error() + ")"
}

// transitions prints the transitions reported since the last call, oldest
// first (each breaker reports its own in order; across breakers they are
// sorted by time). A breaker whose timeout has run out reports half-open
// when asked, so ask every breaker first.
func (s *story) transitions() {
	for _, d := range []shop.Dependency{shop.Payment, shop.Inventory, shop.Users, shop.Email} {
		s.svc.Breaker(d).State()
	}
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].At.Before(pending[j].At) })
	for _, t := range pending {
		detail := ""
		switch t.Reason {
		case circuit.ReasonLatency:
			detail = fmt.Sprintf(", P95 %v over %d calls", t.Metrics.PercentileLatency.Round(time.Millisecond), t.Metrics.WindowRequests)
		case circuit.ReasonConsecutiveFailures:
			detail = fmt.Sprintf(", %d in a row", t.Metrics.ConsecutiveFailures)
		case circuit.ReasonErrorRate:
			detail = fmt.Sprintf(", %.0f%% of %d calls", 100*t.Metrics.ErrorRate, t.Metrics.WindowRequests)
		}
		fmt.Fprintf(s.w, "%s  ** %s circuit %s -> %s (%s%s)\n", s.at(t.At), t.Name, t.From, t.To, t.Reason, detail)
	}
}
