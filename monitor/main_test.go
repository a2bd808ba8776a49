package monitor_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The monitor's only goroutines are its check loop and its handler calls;
// goleak proves Stop ends the one and that returned handlers end the other.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// newBreaker returns a breaker on mock named name.
func newBreaker(t testing.TB, mock *clock.Mock, name string, opts ...circuit.Option) *circuit.Breaker[int] {
	t.Helper()
	b, err := circuit.New[int](append([]circuit.Option{circuit.WithName(name), circuit.WithClock(mock)}, opts...)...)
	require.NoError(t, err)
	return b
}

// call runs one call through b that takes lat on mock and fails if fail.
func call(b *circuit.Breaker[int], mock *clock.Mock, lat time.Duration, fail bool) error {
	_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
		if lat > 0 {
			mock.Add(lat)
		}
		if fail {
			return 0, errBoom
		}
		return 1, nil
	})
	return err
}

// logBuffer is a log destination safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
