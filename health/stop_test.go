package health_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/health"
)

// fakeBreaker is a circuit.Controller that fails the test if it is used
// once sealed, so that a test can prove a stopped watcher leaves it alone.
type fakeBreaker struct {
	t           *testing.T
	mu          sync.Mutex // guards the fields below
	sealed      bool
	state       circuit.State
	transitions uint64
	opens       int
	halfOpens   int
}

func (f *fakeBreaker) use(method string) {
	if f.sealed {
		f.t.Errorf("%s called on the breaker after Stop returned", method)
	}
}

func (f *fakeBreaker) seal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sealed = true
}

func (f *fakeBreaker) Name() string { return "fake" }

func (f *fakeBreaker) State() circuit.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("State")
	return f.state
}

func (f *fakeBreaker) Metrics() circuit.Metrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("Metrics")
	return circuit.Metrics{Name: "fake", State: f.state, Transitions: f.transitions}
}

func (f *fakeBreaker) Subscribe(func(circuit.Transition)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("Subscribe")
	return func() {}
}

func (f *fakeBreaker) Trip(reason circuit.Reason) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("Trip")
	if reason != circuit.ReasonHealthCheck {
		f.t.Errorf("Trip(%v), want health-check", reason)
	}
	if f.state == circuit.Open {
		return false
	}
	f.state = circuit.Open
	f.transitions++
	f.opens++
	return true
}

func (f *fakeBreaker) EndOpen(reason circuit.Reason) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("EndOpen")
	if reason != circuit.ReasonHealthRecovered {
		f.t.Errorf("EndOpen(%v), want health-recovered", reason)
	}
	if f.state != circuit.Open {
		return false
	}
	f.state = circuit.HalfOpen
	f.transitions++
	f.halfOpens++
	return true
}

func (f *fakeBreaker) OpenUntil(circuit.Reason, time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("OpenUntil")
	f.t.Error("the watcher must never open a breaker until a given time")
	return false
}

func (f *fakeBreaker) ForceOpen() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("ForceOpen")
	f.t.Error("the watcher must never hold a breaker open")
	return false
}

func (f *fakeBreaker) Disable() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("Disable")
	f.t.Error("the watcher must never disable a breaker")
	return false
}

func (f *fakeBreaker) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.use("Reset")
	f.t.Error("the watcher must never Reset a breaker")
}

// Many goroutines run CheckNow while the ticker runs too, and Stop lands in
// the middle: once Stop has returned, the breaker is never touched again,
// and every CheckNow reports ErrStopped.
func TestStopUnderConcurrentChecks(t *testing.T) {
	f := &fakeBreaker{t: t}
	mock := clock.NewMock()
	var n atomic.Int64
	check := func(context.Context) error {
		// Two down, two up: both the threshold and recovery get exercised.
		if n.Add(1)%4 < 2 {
			return errors.New("down")
		}
		return nil
	}
	w, err := health.Watch(f, check, health.WithClock(mock), health.WithInterval(interval),
		health.WithUnhealthyThreshold(2), health.WithRecovery(2))
	if err != nil {
		t.Fatal(err)
	}

	const workers = 4
	applied := make(chan struct{}, 1000)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := w.CheckNow(context.Background())
				if errors.Is(err, health.ErrStopped) {
					return
				}
				if err != nil {
					t.Errorf("CheckNow: %v", err)
					return
				}
				select {
				case applied <- struct{}{}:
				default:
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		<-applied
		if i%20 == 0 {
			mock.Add(interval) // a scheduled check joins in
		}
	}
	w.Stop()
	f.seal()
	wg.Wait()
	if _, err := w.CheckNow(context.Background()); !errors.Is(err, health.ErrStopped) {
		t.Fatalf("CheckNow after Stop: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opens == 0 || f.halfOpens == 0 {
		t.Fatalf("opens %d, half-opens %d: the hammer did not exercise both actions", f.opens, f.halfOpens)
	}
}

// A check that returns after Stop has returned is never applied, however
// the race between its result and Stop falls. The check itself calls Stop
// (allowed: checks run on goroutines of their own) and seals the breaker
// before it returns its verdict.
func TestResultAfterStopIsDiscarded(t *testing.T) {
	for i := 0; i < 50; i++ {
		f := &fakeBreaker{t: t}
		var w *health.Watcher
		ready := make(chan struct{})
		check := func(context.Context) error {
			<-ready
			w.Stop()
			f.seal()
			return errors.New("down")
		}
		var err error
		w, err = health.Watch(f, check, health.WithClock(clock.NewMock()), health.WithUnhealthyThreshold(1))
		if err != nil {
			t.Fatal(err)
		}
		close(ready)
		if _, err := w.CheckNow(context.Background()); !errors.Is(err, health.ErrStopped) {
			t.Fatalf("CheckNow: %v, want ErrStopped", err)
		}
		for w.CheckRunning() {
			runtime.Gosched()
		}
	}
}
