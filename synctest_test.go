//go:build go1.25

package circuit_test

// testing/synctest needs Go 1.25 while go.mod says go 1.22: the build
// constraint keeps this file out of older toolchains' builds.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/breakerlab/circuit"
)

// TestSynctestWithTheDefaultClock shows that time-dependent behaviour is
// testable without a fake clock: inside a synctest bubble, a breaker on the
// default (real) clock runs on the bubble's fake time, so a CallTimeout
// fires and the open period ends exactly when the test says, at once. (A
// time.Sleep in a bubble waits on fake time: it is how a synctest test
// moves the clock, not a real wait. An Example cannot host this: synctest.Test
// needs a *testing.T.)
//
// It runs in a fresh process of the test binary: synctest needs the
// synchronous timer channels of Go 1.23+, which a go 1.22 module's test
// binary gets only with GODEBUG=asynctimerchan=0. (A breaker created in a
// bubble does not use the process's shared expiry timer, which runs on real
// time: it reads the bubble's clock instead.)
func TestSynctestWithTheDefaultClock(t *testing.T) {
	const child = "CIRCUIT_SYNCTEST_CHILD"
	if os.Getenv(child) == "" {
		godebug := "asynctimerchan=0"
		if v := os.Getenv("GODEBUG"); v != "" {
			godebug = v + "," + godebug
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestSynctestWithTheDefaultClock$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), child+"=1", "GODEBUG="+godebug)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestSynctestWithTheDefaultClock") {
			t.Fatalf("in a fresh process: %v\n%s", err, out)
		}
		return
	}

	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		ok := func(context.Context) (int, error) { return 1, nil }
		b, err := circuit.New[int](circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(time.Minute),
			circuit.WithSuccessThreshold(1), circuit.WithCallTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}

		// A call that hangs is ended by CallTimeout, one second later on
		// the bubble's clock, and trips the breaker.
		start := time.Now()
		_, err = b.Execute(ctx, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hung call: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("the hung call took %v of bubble time, want CallTimeout (1s)", d)
		}
		if got := b.State(); got != circuit.Open {
			t.Fatalf("after the timed-out call: %v, want open", got)
		}

		// Just before the open period ends the breaker still rejects ...
		time.Sleep(time.Minute - time.Nanosecond)
		if _, err := b.Execute(ctx, ok); !errors.Is(err, circuit.ErrOpen) {
			t.Fatalf("a minute minus 1ns after opening: %v, want ErrOpen", err)
		}
		// ... and once it has, a probe is admitted and closes it.
		time.Sleep(time.Nanosecond)
		synctest.Wait() // let the expiry timer, due now, mark the period over
		if v, err := b.Execute(ctx, ok); v != 1 || err != nil {
			t.Fatalf("probe a minute after opening = (%d, %v), want (1, nil)", v, err)
		}
		if got := b.State(); got != circuit.Closed {
			t.Fatalf("after the probe: %v, want closed", got)
		}
	})
}
