package circuithttp_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/circuithttp"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	date := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time // zero: not ok
	}{
		{"120", now.Add(120 * time.Second)},
		{" 5 ", now.Add(5 * time.Second)},
		{"0", now},
		{"99999999999999999999999", now.Add(circuit.MaxOpenTimeout.Truncate(time.Second))}, // saturates
		{"Wed, 21 Oct 2015 07:28:00 GMT", date},                                            // IMF-fixdate
		{"Wednesday, 21-Oct-15 07:28:00 GMT", date},                                        // RFC 850, obsolete
		{"Wed Oct 21 07:28:00 2015", date},                                                 // asctime, obsolete
		{"Wed, 21 Oct 2015 06:00:00 GMT", now.Add(-time.Hour)},
		{"", time.Time{}},
		{"-1", time.Time{}},
		{"1.5", time.Time{}},
		{"12abc", time.Time{}},
		{"soon", time.Time{}},
		{"21 Oct 2015", time.Time{}},
	} {
		got, ok := circuithttp.ParseRetryAfter(tc.in, now)
		require.Equal(t, !tc.want.IsZero(), ok, "%q", tc.in)
		require.True(t, tc.want.Equal(got), "%q: got %v, want %v", tc.in, got, tc.want)
	}
}
