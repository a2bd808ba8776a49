package monitor_test

import (
	"log/slog"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
)

// TestOptionKinds: the status page takes only the options that mean
// something to it, so a Monitor-only option passed to Handler is a
// compile error rather than silently ignored; WithClock serves both.
func TestOptionKinds(t *testing.T) {
	isOption := func(o any) bool { _, ok := o.(monitor.Option); return ok }
	isHandlerOption := func(o any) bool { _, ok := o.(monitor.HandlerOption); return ok }
	for name, o := range map[string]any{
		"WithConfig":  monitor.WithConfig(monitor.DefaultConfig()),
		"WithOnAlert": monitor.WithOnAlert(func(monitor.Alert) {}),
		"WithLogger":  monitor.WithLogger(slog.Default()),
	} {
		assert.True(t, isOption(o), name)
		assert.False(t, isHandlerOption(o), "%s is Monitor-only", name)
	}
	withMonitor := monitor.WithMonitor(nil)
	assert.True(t, isHandlerOption(withMonitor))
	assert.False(t, isOption(withMonitor), "WithMonitor is for the status page only")
	withSummary := monitor.WithSummary(nil)
	assert.True(t, isHandlerOption(withSummary))
	assert.False(t, isOption(withSummary), "WithSummary is for the status page only")
	withClock := monitor.WithClock(clock.NewMock())
	assert.True(t, isOption(withClock))
	assert.True(t, isHandlerOption(withClock))
}
