package circuit_test

// State and Reason: their names and their text and JSON forms.

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestStateStrings(t *testing.T) {
	assert.Equal(t, "closed", circuit.Closed.String())
	assert.Equal(t, "open", circuit.Open.String())
	assert.Equal(t, "half-open", circuit.HalfOpen.String())
	assert.Equal(t, "state(7)", circuit.State(7).String())
	assert.Equal(t, "error-rate", circuit.ReasonErrorRate.String())
	assert.Equal(t, "probe-timeout", circuit.ReasonProbeTimeout.String())
	assert.Equal(t, "reason(99)", circuit.Reason(99).String())
	text, err := circuit.HalfOpen.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "half-open", string(text))
}

func TestStateAndReasonRoundTripThroughJSON(t *testing.T) {
	type doc struct {
		State  circuit.State
		Reason circuit.Reason
	}
	for s := circuit.Closed; s <= circuit.HalfOpen; s++ {
		for r := circuit.ReasonConsecutiveFailures; r <= circuit.ReasonHealthRecovered; r++ {
			data, err := json.Marshal(doc{s, r})
			require.NoError(t, err)
			var back doc
			require.NoError(t, json.Unmarshal(data, &back), string(data))
			assert.Equal(t, doc{s, r}, back)
		}
	}
	var s circuit.State
	err := json.Unmarshal([]byte(`"ajar"`), &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"ajar"`)
	var r circuit.Reason
	assert.Error(t, json.Unmarshal([]byte(`"because"`), &r))
}
