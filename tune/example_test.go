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
