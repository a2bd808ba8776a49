package bulkhead_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/bulkhead"
)

// Every bad value is reported in the module's one shape,
// "bulkhead: invalid config: Field = value: rule", as a
// *circuit.ConfigError that matches ErrInvalidConfig.
func TestNewInvalid(t *testing.T) {
	tests := []struct {
		opts []bulkhead.Option
		want string
	}{
		{nil, "bulkhead: invalid config: MaxConcurrent = 0: must be at least 1"},
		{[]bulkhead.Option{bulkhead.WithMaxConcurrent(-2)}, "bulkhead: invalid config: MaxConcurrent = -2: must be at least 1"},
		{[]bulkhead.Option{bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxQueue(-1)}, "bulkhead: invalid config: MaxQueue = -1: must not be negative"},
		{[]bulkhead.Option{bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxWait(-time.Second)}, "bulkhead: invalid config: MaxWait = -1s: must not be negative"},
		{[]bulkhead.Option{bulkhead.WithMaxQueue(-3), bulkhead.WithMaxWait(-time.Millisecond)},
			"bulkhead: invalid config: MaxConcurrent = 0: must be at least 1\n" +
				"bulkhead: invalid config: MaxQueue = -3: must not be negative\n" +
				"bulkhead: invalid config: MaxWait = -1ms: must not be negative"},
	}
	for _, tt := range tests {
		b, err := bulkhead.New[int](tt.opts...)
		assert.Nil(t, b)
		require.ErrorIs(t, err, bulkhead.ErrInvalidConfig)
		require.ErrorIs(t, err, circuit.ErrInvalidConfig)
		var ce *circuit.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "bulkhead", ce.Pkg)
		assert.Equal(t, tt.want, err.Error())
	}
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1), nil, bulkhead.WithMaxQueue(0), bulkhead.WithMaxWait(0), bulkhead.WithClock(nil))
	require.NoError(t, err)
	assert.NotNil(t, b)
}

func TestNilArguments(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1))
	require.NoError(t, err)
	//lint:ignore SA1012 testing the nil-context guard
	_, err = b.Acquire(nil) //nolint:staticcheck
	assert.ErrorIs(t, err, bulkhead.ErrNilContext)
	_, err = b.Execute(context.Background(), nil)
	assert.ErrorIs(t, err, bulkhead.ErrNilFunc)
	var nb *bulkhead.Bulkhead[int]
	_, err = nb.Acquire(context.Background())
	assert.ErrorIs(t, err, bulkhead.ErrNilBulkhead)
	_, err = nb.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	assert.ErrorIs(t, err, bulkhead.ErrNilBulkhead)
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 1}, b.Metrics(), "refused calls count nowhere")
}

func TestAdmitsUpToLimitThenFull(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(2))
	require.NoError(t, err)
	ctx := context.Background()
	r1, err := b.Acquire(ctx)
	require.NoError(t, err)
	r2, err := b.Acquire(ctx)
	require.NoError(t, err)

	calls := 0
	_, err = b.Execute(ctx, func(context.Context) (int, error) { calls++; return 1, nil })
	require.ErrorIs(t, err, bulkhead.ErrFull)
	assert.Zero(t, calls, "a full bulkhead never calls fn")
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 2, InFlight: 2, Peak: 2, Admitted: 2, Rejected: 1}, b.Metrics())

	r1.Release()
	v, err := b.Execute(ctx, func(context.Context) (int, error) { calls++; return 7, nil })
	require.NoError(t, err)
	assert.Equal(t, 7, v)
	r2.Release()
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 2, InFlight: 0, Peak: 2, Admitted: 3, Rejected: 1}, b.Metrics())
}

func TestContextAlreadyDone(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.Acquire(ctx)
	assert.Equal(t, context.Canceled, err)
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 1}, b.Metrics())
}

func TestExecuteReturnsErrorAndReleasesOnPanic(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1))
	require.NoError(t, err)
	errBoom := errors.New("boom")
	_, err = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
	assert.Equal(t, errBoom, err, "fn's error is returned as is")
	assert.Panics(t, func() {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { panic("bad") })
	})
	assert.Equal(t, 0, b.Metrics().InFlight, "the slot is released when fn panics")
}

// A second Release of one admission does nothing, as with a breaker's
// done: it must not free a slot that another call holds now, whether
// that call got the slot from the pool or from the queue.
func TestReleaseIsIdempotentPerAdmission(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1))
	require.NoError(t, err)
	ctx := context.Background()
	first, err := b.Acquire(ctx)
	require.NoError(t, err)
	first.Release()
	assert.NotPanics(t, first.Release, "a second Release")
	assert.Equal(t, 0, b.Metrics().InFlight)

	// The next admission reuses the record behind first.
	second, err := b.Acquire(ctx)
	require.NoError(t, err)
	first.Release()
	copied := first
	copied.Release()
	m := b.Metrics()
	assert.Equal(t, 1, m.InFlight, "a stale Release freed the slot another call holds")
	_, err = b.Acquire(ctx)
	require.ErrorIs(t, err, bulkhead.ErrFull, "the slot is still taken")

	// A copy releases the admission it was copied from, once.
	again := second
	again.Release()
	second.Release()
	assert.Equal(t, 0, b.Metrics().InFlight)
	var zero bulkhead.Permit
	zero.Release() // what Acquire returns with an error: a no-op
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 1, Peak: 1, Admitted: 2, Rejected: 1}, b.Metrics())
}

func TestReleaseIsIdempotentAcrossAHandover(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxQueue(1))
	require.NoError(t, err)
	holder, err := b.Acquire(context.Background())
	require.NoError(t, err)
	q := newQueue(t, b)
	hold := make(chan struct{})
	q.add(context.Background(), hold)
	holder.Release() // hands the slot to the waiter
	assert.Equal(t, 0, <-q.order)
	holder.Release() // must not take it back from the waiter
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 1, MaxQueue: 1, InFlight: 1, Peak: 1, PeakQueued: 1, Admitted: 2}, b.Metrics())
	close(hold)
	require.NoError(t, <-q.results[0])
	assert.Equal(t, 0, b.Metrics().InFlight)
}

// queue starts Acquire calls on their own goroutines, one at a time, each
// once the previous one is visibly queued, so their order is known.
type queue struct {
	t       *testing.T
	b       *bulkhead.Bulkhead[int]
	results []chan error
	order   chan int // the index of each waiter, as it is admitted
}

func newQueue(t *testing.T, b *bulkhead.Bulkhead[int]) *queue {
	return &queue{t: t, b: b, order: make(chan int, 100)}
}

// add queues one more waiter with ctx; an admitted waiter reports its
// index on q.order and keeps its slot until hold is closed.
func (q *queue) add(ctx context.Context, hold <-chan struct{}) {
	q.t.Helper()
	i := len(q.results)
	res := make(chan error, 1)
	q.results = append(q.results, res)
	want := q.b.Metrics().Queued + 1
	go func() {
		release, err := q.b.Acquire(ctx)
		if err == nil {
			q.order <- i
			<-hold
			release.Release()
		}
		res <- err
	}()
	waitFor(q.t, func() bool { return q.b.Metrics().Queued == want })
}

// waitFor polls cond; it is how a test learns that a goroutine reached a
// point, without sleeping for a fixed time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		runtime.Gosched()
	}
}

func TestFIFOAdmission(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxQueue(4))
	require.NoError(t, err)
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	q := newQueue(t, b)
	hold := make(chan struct{})
	close(hold) // each admitted waiter releases at once, handing on to the next
	for range 4 {
		q.add(context.Background(), hold)
	}
	// The queue is full: a fifth waiter is refused at once.
	_, err = b.Acquire(context.Background())
	require.ErrorIs(t, err, bulkhead.ErrFull)

	release.Release()
	for want := range 4 {
		assert.Equal(t, want, <-q.order)
	}
	for _, r := range q.results {
		require.NoError(t, <-r)
	}
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 1, MaxQueue: 4, Peak: 1, PeakQueued: 4, Admitted: 5, Rejected: 1}, b.Metrics())
}

func TestNewcomerDoesNotOvertakeWaiter(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxQueue(2))
	require.NoError(t, err)
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	q := newQueue(t, b)
	hold := make(chan struct{})
	q.add(context.Background(), hold)
	release.Release() // the slot goes to the waiter, not to the pool
	assert.Equal(t, 0, <-q.order)
	m := b.Metrics()
	assert.Equal(t, 1, m.InFlight)
	assert.Equal(t, 0, m.Queued)
	// A newcomer finds the slot taken and queues behind.
	q.add(context.Background(), hold)
	close(hold)
	assert.Equal(t, 1, <-q.order)
	for _, r := range q.results {
		require.NoError(t, <-r)
	}
}

func TestMaxWaitTimesOut(t *testing.T) {
	mock := clock.NewMock()
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxQueue(2), bulkhead.WithMaxWait(50*time.Millisecond), bulkhead.WithClock(mock))
	require.NoError(t, err)
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	q := newQueue(t, b)
	hold := make(chan struct{})
	q.add(context.Background(), hold) // waits from t=0
	mock.Add(30 * time.Millisecond)
	q.add(context.Background(), hold) // waits from t=30ms

	mock.Add(20 * time.Millisecond) // the first waiter's 50ms are up
	require.ErrorIs(t, <-q.results[0], bulkhead.ErrTimeout)
	waitFor(t, func() bool { return b.Metrics().Queued == 1 })

	// The slot goes to the second waiter, never to the one that gave up.
	release.Release()
	assert.Equal(t, 1, <-q.order)
	close(hold)
	require.NoError(t, <-q.results[1])
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 1, MaxQueue: 2, Peak: 1, PeakQueued: 2, Admitted: 2, TimedOut: 1}, b.Metrics())
	assert.Empty(t, q.order)
	// The admitted waiter's timer was stopped: none is left to run.
	now := mock.Now()
	assert.Equal(t, now, mock.WaitForAllTimers())
}

func TestCanceledWaiterLeavesQueue(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxQueue(3))
	require.NoError(t, err)
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	q := newQueue(t, b)
	hold := make(chan struct{})
	close(hold)
	ctx, cancel := context.WithCancel(context.Background())
	q.add(context.Background(), hold) // 0
	q.add(ctx, hold)                  // 1, gives up
	q.add(context.Background(), hold) // 2

	cancel()
	err = <-q.results[1]
	require.ErrorIs(t, err, context.Canceled)
	assert.EqualError(t, err, "bulkhead: gave up waiting for a slot: context canceled")
	waitFor(t, func() bool { return b.Metrics().Queued == 2 })

	release.Release()
	assert.Equal(t, 0, <-q.order)
	assert.Equal(t, 2, <-q.order)
	require.NoError(t, <-q.results[0])
	require.NoError(t, <-q.results[2])
	assert.Equal(t, bulkhead.Metrics{MaxConcurrent: 1, MaxQueue: 3, Peak: 1, PeakQueued: 3, Admitted: 3, Canceled: 1}, b.Metrics())
}

func TestDeadlineWhileQueued(t *testing.T) {
	mock := clock.NewMock()
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1), bulkhead.WithMaxQueue(1), bulkhead.WithClock(mock))
	require.NoError(t, err)
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	defer release.Release()
	ctx, cancel := mock.WithTimeout(context.Background(), time.Second)
	defer cancel()
	q := newQueue(t, b)
	q.add(ctx, nil)
	mock.Add(time.Second)
	require.ErrorIs(t, <-q.results[0], context.DeadlineExceeded)
	assert.Equal(t, uint64(1), b.Metrics().Canceled)
}

// The limit holds under load: no more than max calls ever run at once, and
// every call ends exactly once.
func TestConcurrentLimitHolds(t *testing.T) {
	const limit, workers, each = 3, 16, 200
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(limit), bulkhead.WithMaxQueue(6))
	require.NoError(t, err)
	var running, over atomic.Int32
	var ok, full atomic.Uint64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
					if running.Add(1) > limit {
						over.Add(1)
					}
					running.Add(-1)
					return 0, nil
				})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, bulkhead.ErrFull):
					full.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, over.Load())
	m := b.Metrics()
	assert.Equal(t, uint64(workers*each), ok.Load()+full.Load())
	assert.Equal(t, ok.Load(), m.Admitted)
	assert.Equal(t, full.Load(), m.Rejected)
	assert.Equal(t, 0, m.InFlight)
	assert.Equal(t, 0, m.Queued)
	assert.LessOrEqual(t, m.Peak, limit)
	assert.LessOrEqual(t, m.PeakQueued, 6)
}

func TestUncontendedAllocatesNothing(t *testing.T) {
	b, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(4))
	require.NoError(t, err)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		release, err := b.Acquire(ctx)
		if err != nil {
			panic(err)
		}
		release.Release()
	})
	assert.Zero(t, allocs, "Acquire+release")
	fn := func(context.Context) (int, error) { return 1, nil }
	allocs = testing.AllocsPerRun(1000, func() {
		if _, err := b.Execute(ctx, fn); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "Execute")
	// Rejection allocates nothing either.
	full, err := bulkhead.New[int](bulkhead.WithMaxConcurrent(1))
	require.NoError(t, err)
	release, err := full.Acquire(ctx)
	require.NoError(t, err)
	defer release.Release()
	allocs = testing.AllocsPerRun(1000, func() {
		if _, err := full.Acquire(ctx); err != bulkhead.ErrFull {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "ErrFull")
}
