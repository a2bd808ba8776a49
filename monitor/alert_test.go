package monitor_test

import (
	"encoding/json"
	"testing"

	"github.com/breakerlab/circuit/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKindAndSeverityText(t *testing.T) {
	for _, k := range []monitor.Kind{monitor.ProlongedOpen, monitor.Flapping, monitor.IneffectiveProtection} {
		b, err := json.Marshal(k)
		require.NoError(t, err)
		var back monitor.Kind
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, k, back)
	}
	assert.Equal(t, "kind(7)", monitor.Kind(7).String())
	assert.Equal(t, "severity(-1)", monitor.Severity(-1).String())
	var k monitor.Kind
	assert.EqualError(t, k.UnmarshalText([]byte("loud")), `monitor: unknown alert kind "loud"`)

	for _, s := range []monitor.Severity{monitor.Warning, monitor.Critical} {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back monitor.Severity
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back)
	}
	var s monitor.Severity
	assert.EqualError(t, s.UnmarshalText([]byte("meh")), `monitor: unknown severity "meh"`)

	a := monitor.Alert{Breaker: "pay", Kind: monitor.Flapping, Severity: monitor.Warning, Message: "m"}
	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"Kind":"flapping","Severity":"warning"`)
}
