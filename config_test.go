package circuit_test

import (
	"context"
	"errors"
	"math"
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
