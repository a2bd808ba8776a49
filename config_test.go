package circuit_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
)

func TestDefaultConfigIsTheDocumentedOne(t *testing.T) {
	c := circuit.DefaultConfig()
	require.NoError(t, c.Validate())
	assert.Equal(t, 5, c.ConsecutiveFailures)
	assert.Equal(t, 0.5, c.ErrorRateThreshold)
	assert.Equal(t, 100, c.WindowSize)
	assert.Equal(t, 10, c.MinRequests)
	assert.Equal(t, 5*time.Second, c.LatencyThreshold)
	assert.Equal(t, 0.95, c.LatencyPercentile)
	assert.Equal(t, 30*time.Second, c.OpenTimeout)
	assert.Equal(t, 1, c.HalfOpenMaxProbes)
	assert.Equal(t, 3, c.SuccessThreshold)
	assert.Equal(t, time.Duration(0), c.CallTimeout)
}

func TestValidateNamesEveryBadField(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(*circuit.Config)
		value  string
	}{
		{"Name", func(c *circuit.Config) { c.Name = "db\xff" }, `"db\xff"`},
		{"ConsecutiveFailures", func(c *circuit.Config) { c.ConsecutiveFailures = -1 }, "-1"},
		{"ErrorRateThreshold", func(c *circuit.Config) { c.ErrorRateThreshold = -0.1 }, "-0.1"},
		{"ErrorRateThreshold", func(c *circuit.Config) { c.ErrorRateThreshold = 1.5 }, "1.5"},
		{"ErrorRateThreshold", func(c *circuit.Config) { c.ErrorRateThreshold = math.NaN() }, "NaN"},
		{"WindowSize", func(c *circuit.Config) { c.WindowSize = 0 }, "0"},
		{"WindowSize", func(c *circuit.Config) { c.WindowSize = circuit.MaxWindowSize + 1 }, "1048577"},
		{"MinRequests", func(c *circuit.Config) { c.MinRequests = -1 }, "-1"},
		{"MinRequests", func(c *circuit.Config) { c.MinRequests = 101 }, "101"},
		{"LatencyThreshold", func(c *circuit.Config) { c.LatencyThreshold = -time.Second }, "-1s"},
		{"LatencyPercentile", func(c *circuit.Config) { c.LatencyPercentile = 0 }, "0"},
		{"LatencyPercentile", func(c *circuit.Config) { c.LatencyPercentile = 1 }, "1"},
		{"LatencyPercentile", func(c *circuit.Config) { c.LatencyPercentile = math.Inf(1) }, "+Inf"},
		{"OpenTimeout", func(c *circuit.Config) { c.OpenTimeout = 0 }, "0s"},
		{"OpenTimeout", func(c *circuit.Config) { c.OpenTimeout = -time.Second }, "-1s"},
		{"OpenTimeout", func(c *circuit.Config) { c.OpenTimeout = circuit.MaxOpenTimeout + 1 }, "876000h0m0.000000001s"},
		{"HalfOpenMaxProbes", func(c *circuit.Config) { c.HalfOpenMaxProbes = 0 }, "0"},
		{"HalfOpenMaxProbes", func(c *circuit.Config) { c.HalfOpenMaxProbes = circuit.MaxHalfOpenProbes + 1 }, "4097"},
		{"SuccessThreshold", func(c *circuit.Config) { c.SuccessThreshold = 0 }, "0"},
		{"CallTimeout", func(c *circuit.Config) { c.CallTimeout = -1 }, "-1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.field+"="+tt.value, func(t *testing.T) {
			c := circuit.DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, circuit.ErrInvalidConfig)
			var ce *circuit.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
			assert.Contains(t, err.Error(), tt.field+" = "+tt.value)

			// New refuses the same Config with the same error, never panicking.
			b, nerr := circuit.New[int](circuit.WithConfig(c))
			assert.Nil(t, b)
			assert.ErrorIs(t, nerr, circuit.ErrInvalidConfig)
			assert.Contains(t, nerr.Error(), tt.field)
		})
	}
}

func TestValidateReportsAllFieldsAtOnce(t *testing.T) {
	err := circuit.Config{}.Validate()
	require.Error(t, err)
	for _, f := range []string{"WindowSize", "LatencyPercentile", "OpenTimeout", "HalfOpenMaxProbes", "SuccessThreshold"} {
		assert.Contains(t, err.Error(), f)
	}
	assert.NotContains(t, err.Error(), "MinRequests", "MinRequests 0 is valid")
}

func TestPresetsAreValidAndKeepTheName(t *testing.T) {
	names := circuit.PresetNames()
	assert.Equal(t, []string{"analytics", "auth", "core", "payment", "third-party", "tools"}, names)
	for _, n := range names {
		c, err := circuit.Preset(n)
		require.NoError(t, err, n)
		assert.Empty(t, c.Name, "a preset names no breaker")
		require.NoError(t, c.Validate(), n)
		// The name survives a preset in either order, and through WithConfig.
		for _, opts := range [][]circuit.Option{
			{circuit.WithName("quotes"), circuit.WithPreset(n)},
			{circuit.WithPreset(n), circuit.WithName("quotes")},
			{circuit.WithName("quotes"), circuit.WithConfig(c)},
		} {
			b, err := circuit.New[int](opts...)
			require.NoError(t, err, n)
			assert.Equal(t, "quotes", b.Name(), n)
			want := c
			want.Name = "quotes"
			assert.Equal(t, want, b.Config(), n)
		}
	}
	_, err := circuit.New[int](circuit.WithPreset("nope"))
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "Preset = nope")
	assert.Contains(t, err.Error(), "third-party")
	_, err = circuit.Preset("nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"nope"`)
	assert.Contains(t, err.Error(), "payment")
}

func TestNewRejectsFallbackOfAnotherType(t *testing.T) {
	b, err := circuit.New[int](circuit.WithFallback(func(context.Context, error) (string, error) { return "", nil }))
	assert.Nil(t, b)
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	var ce *circuit.ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, "Fallback", ce.Field)
	assert.Contains(t, err.Error(), "int")
	assert.Contains(t, err.Error(), "string")
}

// A classifier or fallback of another result type is an error from New
// naming both types as the user wrote them.
func TestOptionOfAnotherResultType(t *testing.T) {
	_, err := circuit.New[[]byte](circuit.WithClassifier(func(string, error) circuit.Outcome { return circuit.Success }))
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "Classifier = func(string, error) circuit.Outcome")
	assert.Contains(t, err.Error(), "func([]byte, error) circuit.Outcome")
	assert.NotContains(t, err.Error(), "uint8")
	_, err = circuit.New[[]byte](circuit.WithFallback(func(context.Context, error) (int, error) { return 0, nil }))
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "[]byte")
}

// Config reads and writes JSON with durations as strings, round-trips
// exactly, and names the field and value of bad input.
func TestConfigJSON(t *testing.T) {
	c := circuit.DefaultConfig()
	c.Name, c.WindowDuration, c.OpenBackoff, c.OpenJitter = "quotes", 90*time.Second, 2, 0.1
	data, err := json.Marshal(c)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"OpenTimeout":"30s"`)
	assert.Contains(t, string(data), `"WindowDuration":"1m30s"`)
	var back circuit.Config
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, c, back)

	// Decoding onto the defaults changes only what the file says; keys
	// match case-insensitively, as encoding/json's do.
	got := circuit.DefaultConfig()
	require.NoError(t, json.Unmarshal([]byte(`{"OpenTimeout": "1m", "errorRateThreshold": 0.25}`), &got))
	want := circuit.DefaultConfig()
	want.OpenTimeout, want.ErrorRateThreshold = time.Minute, 0.25
	assert.Equal(t, want, got)

	for _, tc := range []struct{ in, wants string }{
		{`{"OpenTimeout": 30}`, `OpenTimeout = 30: must be a duration string such as "30s"`},
		{`{"OpenTimeout": "soon"}`, `OpenTimeout = "soon": must be a duration string`},
		{`{"Bogus": 1}`, `Bogus = 1: unknown field (valid: Name, ConsecutiveFailures`},
		{`{"WindowSize": "ten"}`, `WindowSize = "ten": must be an integer`},
		{`[1]`, `config is not a JSON object`},
	} {
		before := circuit.DefaultConfig()
		err := json.Unmarshal([]byte(tc.in), &before)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.wants, tc.in)
		assert.Equal(t, circuit.DefaultConfig(), before, "%s: a bad file changes nothing", tc.in)
	}
	err = json.Unmarshal([]byte(`{"Bogus": 1, "OpenTimeout": 5}`), &got)
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	assert.Equal(t, 2, strings.Count(err.Error(), "circuit: invalid config:"), "every bad field is named")
}

// Validate names every new field's problem at once.
func TestValidateV1Fields(t *testing.T) {
	c := circuit.DefaultConfig()
	c.WindowDuration, c.OpenBackoff, c.OpenTimeoutMax, c.OpenJitter, c.ProbeTimeout = time.Microsecond, 0.5, time.Second, 1, -1
	err := c.Validate()
	require.ErrorIs(t, err, circuit.ErrInvalidConfig)
	for _, f := range []string{"WindowDuration = 1µs", "OpenBackoff = 0.5", "OpenTimeoutMax = 1s: must be at least OpenTimeout (30s)", "OpenJitter = 1", "ProbeTimeout = -1ns"} {
		assert.Contains(t, err.Error(), f)
	}
	c = circuit.DefaultConfig()
	c.WindowSize = 0
	assert.ErrorContains(t, c.Validate(), "WindowSize = 0: must be at least 1 without a WindowDuration")
	c.WindowDuration = time.Minute
	assert.NoError(t, c.Validate(), "a time window needs no cap")
}
