package tune_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/tune"
)

// Two candidate configurations watch a live breaker through an outage
// without rejecting a single call, and report what they would have done.
func ExampleAttach() {
	mock := clock.NewMock()
	live, _ := circuit.New[string](circuit.WithName("payments"), circuit.WithClock(mock),
		circuit.WithConsecutiveFailures(5), circuit.WithOpenTimeout(10*time.Second))

	tighter := live.Config()
	tighter.ConsecutiveFailures = 2
	looser := live.Config()
	looser.ConsecutiveFailures = 10
	shadows, err := tune.Attach(live, []tune.Candidate{
		{Name: "tighter", Config: tighter},
		{Name: "looser", Config: looser},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer shadows.Detach()

	down := errors.New("connection refused")
	calls := func(n int, err error) {
		for range n {
			_, _ = live.Execute(context.Background(), func(context.Context) (string, error) {
				mock.Add(50 * time.Millisecond)
				return "ok", err
			})
		}
	}
	calls(20, nil)
	calls(2, down) // a blip
	calls(20, nil)
	calls(12, down) // an outage
	mock.Add(10 * time.Second)
	calls(20, nil)

	rs := shadows.Reports()
	for _, r := range rs {
		fmt.Println(r.Verdict)
	}
	t := rs[1]
	fmt.Printf("%s would have rejected %d calls the live breaker served: %d failures, %d good calls (false positives %.0f%%)\n",
		t.Name, t.Rejected, t.RejectedFailed, t.RejectedSucceeded, 100**t.FalsePositiveRate)
	// Output:
	// payments: the live configuration, the baseline (cost 7)
	// tighter: as many opens, 20 more good calls rejected, 5 fewer failures let through: worse by cost 15 (22 vs 7)
	// looser: 1 fewer opens, as many good calls rejected, as many failures let through: same cost (7 vs 7); it would also have admitted 7 calls the live breaker rejected (outcome unknown)
	// tighter would have rejected 25 calls the live breaker served: 5 failures, 20 good calls (false positives 80%)
}

// An A/B split sends a quarter of the calls to a breaker with the
// candidate configuration; its users meet the candidate's mistakes.
func ExampleNewSplit() {
	mock := clock.NewMock()
	a, _ := circuit.New[string](circuit.WithName("search-a"), circuit.WithClock(mock), circuit.WithConsecutiveFailures(5))
	b, _ := circuit.New[string](circuit.WithName("search-b"), circuit.WithClock(mock), circuit.WithConsecutiveFailures(2))
	split, err := tune.NewSplit(a, b, 0.25, tune.WithCounterRouting())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer split.Detach()

	down := errors.New("timeout")
	for i := range 40 {
		var err error
		if i >= 20 && i < 32 {
			err = down
		}
		_, _ = split.Execute(context.Background(), func(context.Context) (string, error) {
			mock.Add(100 * time.Millisecond)
			return "results", err
		})
	}
	for _, r := range split.Reports() {
		fmt.Printf("%s: %d calls, %d rejected, %d failures let through\n", r.Name, r.Calls, r.RejectedUnknown, r.FailuresLetThrough)
	}
	fmt.Println(split.Reports()[1].Verdict)
	// Output:
	// search-a: 30 calls, 10 rejected, 5 failures let through
	// search-b: 10 calls, 3 rejected, 2 failures let through
	// search-b: 100.00 opens per 1000 calls vs 33.33, 30.0% of calls rejected vs 33.3%, 20.0% failures let through vs 16.7%: inconclusive (cost per call 0.2000 to 0.5000 vs 0.1667 to 0.5000: the outcomes of rejected calls are unknown)
}
