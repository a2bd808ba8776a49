package circuithttp

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
)

// ParseRetryAfter reads a Retry-After header value (RFC 9110, section
// 10.2.3) as of now: either delta-seconds ("120") or an HTTP-date ("Wed,
// 21 Oct 2015 07:28:00 GMT", and the two obsolete forms http.ParseTime
// accepts). It returns the time the server asked to wait until and true,
// or false for an empty, negative, or malformed value. A date in the past
// gives a time before now; the caller decides what that means.
func ParseRetryAfter(value string, now time.Time) (time.Time, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return time.Time{}, false
	}
	if value[0] >= '0' && value[0] <= '9' {
		secs, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return time.Time{}, false
			}
			secs = math.MaxUint64 // all digits, too many of them: "forever"
		}
		// Saturate rather than overflow; the caller caps it anyway.
		if secs > uint64(circuit.MaxOpenTimeout/time.Second) {
			secs = uint64(circuit.MaxOpenTimeout / time.Second)
		}
		return now.Add(time.Duration(secs) * time.Second), true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// retryAfterUntil returns until when a response's Retry-After asks a
// breaker to stay open, capped at max from now, and whether it asks at all.
func retryAfterUntil(h http.Header, now time.Time, max time.Duration) (time.Time, bool) {
	v := h["Retry-After"]
	if len(v) == 0 {
		return time.Time{}, false
	}
	until, ok := ParseRetryAfter(v[0], now)
	if !ok || !until.After(now) {
		return time.Time{}, false
	}
	if limit := now.Add(max); until.After(limit) {
		until = limit
	}
	return until, true
}

// retryAfterSeconds is the Retry-After value for a wait of d: whole
// seconds, rounded up so that a client never comes back early, and at
// least 1, since 0 would invite an immediate retry of a rejected request.
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}
