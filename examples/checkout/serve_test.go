package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/breakerlab/circuit/monitor"
)

func fetch(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// TestServedStory: what -serve shows at the end of the story. The status
// page carries the business figures above the four breakers, in HTML and
// JSON, and /metrics the same numbers for Prometheus.
func TestServedStory(t *testing.T) {
	s, err := tell(io.Discard, chapters)
	require.NoError(t, err)
	srv := httptest.NewServer(s.handler())
	defer srv.Close()

	res, page := fetch(t, srv.URL+"/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, page, `<tr><th scope="row" class="attention">Lost to open breakers, last 5m</th><td class="over">9.1% (2 of 22 checkouts) <span class="badge attention">attention</span></td></tr>`)
	assert.Contains(t, page, `<tr><th scope="row">Revenue at stake since start</th><td>€69.98 (2 × €34.99)</td></tr>`)
	assert.Less(t, strings.Index(page, `class="figures"`), strings.Index(page, `data-name="payment"`), "figures above the breakers")
	assert.Contains(t, page, "4 breakers: 4 closed, 0 half-open, 0 open &middot; 0 active alerts")
	assert.Contains(t, page, `<caption>Configurations of <span class="name">email</span></caption>`, "the shadows' reports")
	assert.Less(t, strings.Index(page, `data-name="payment"`), strings.Index(page, `class="tuning"`), "below the breakers")

	res, js := fetch(t, srv.URL+"/?format=json")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var p monitor.StatusPage
	require.NoError(t, json.Unmarshal([]byte(js), &p))
	assert.Equal(t, []monitor.Figure{
		{Label: "Lost to open breakers, last 5m", Value: "9.1% (2 of 22 checkouts)", Alert: true},
		{Label: "Last checkout lost", Value: "42s ago (payment circuit open)"},
		{Label: "Revenue at stake since start", Value: "€69.98 (2 × €34.99)"},
		{Label: "Lost to open breakers since start", Value: "2 (payment 2, inventory 0)"},
		{Label: "Completed since start", Value: "20"},
		{Label: "Failed otherwise since start", Value: "0"},
	}, p.Summary)
	assert.True(t, p.Monitored)
	require.Len(t, p.Breakers, 4)
	for _, b := range p.Breakers {
		if b.Name == "payment" {
			assert.Equal(t, 3, b.RecentTransitions, "the monitor saw the payment circuit open, probe and close")
			assert.Equal(t, "probes-succeeded", b.LastReason)
		}
	}

	require.Len(t, p.Tuning, 1)
	assert.Equal(t, "email", p.Tuning[0].Breaker)
	require.Len(t, p.Tuning[0].Reports, 3)
	assert.Equal(t, s.shadows.Reports(), p.Tuning[0].Reports)

	res, metrics := fetch(t, srv.URL+"/metrics")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, storyMetrics, metrics)
}

// TestServedMidIncident: -until 4 stops the story while the payment
// circuit is open, and the page says what is being lost.
func TestServedMidIncident(t *testing.T) {
	s, err := tell(io.Discard, 4)
	require.NoError(t, err)
	srv := httptest.NewServer(s.handler())
	defer srv.Close()

	var p monitor.StatusPage
	_, js := fetch(t, srv.URL+"/?format=json")
	require.NoError(t, json.Unmarshal([]byte(js), &p))
	require.NotEmpty(t, p.Summary)
	assert.Equal(t, monitor.Figure{Label: "Lost to open breakers, last 5m", Value: "11.8% (2 of 17 checkouts)", Alert: true}, p.Summary[0])
	assert.Equal(t, monitor.Figure{Label: "Last checkout lost", Value: "0s ago (payment circuit open)"}, p.Summary[1])
	states := map[string]string{}
	for _, b := range p.Breakers {
		states[b.Name] = b.State
	}
	assert.Equal(t, map[string]string{"payment": "open", "inventory": "closed", "users": "half-open", "email": "open"}, states)

	_, metrics := fetch(t, srv.URL+"/metrics")
	assert.Contains(t, metrics, "checkout_orders_total{result=\"completed\"} 15\n")
}

// The story has chapters 1 to 5; -until outside them is an error, said
// before any of the story is told.
func TestUntil(t *testing.T) {
	for _, until := range []int{-1, 0, 6} {
		var out strings.Builder
		err := mainErr(&out, "", until)
		assert.EqualError(t, err, fmt.Sprintf("-until %d: the story has chapters 1 to 5", until))
		assert.Empty(t, out.String())
	}
	var out strings.Builder
	require.NoError(t, mainErr(&out, "", 1))
	assert.Contains(t, out.String(), "1. All healthy")
	assert.NotContains(t, out.String(), "2. The mail server")
	assert.Contains(t, out.String(), "checkouts: 3 completed, 0 lost to open breakers")
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8080", "localhost:0", "[::1]:9000", "127.1.2.3:80"} {
		assert.NoError(t, checkLoopback(ok), ok)
	}
	for addr, want := range map[string]string{
		"0.0.0.0:8080":     `-serve "0.0.0.0:8080": host "0.0.0.0" is not a loopback address (localhost, 127.0.0.1, ::1)`,
		":8080":            `-serve ":8080": host "" is not a loopback address`,
		"example.com:80":   `host "example.com" is not a loopback address`,
		"127.0.0.1":        `-serve "127.0.0.1": want host:port, such as 127.0.0.1:8080: address 127.0.0.1: missing port in address`,
		"[2001:db8::1]:80": `host "2001:db8::1" is not a loopback address`,
	} {
		err := checkLoopback(addr)
		if assert.Error(t, err, addr) {
			assert.Contains(t, err.Error(), want)
		}
	}
	// mainErr refuses before telling the story.
	var out strings.Builder
	assert.ErrorContains(t, mainErr(&out, "0.0.0.0:8080", chapters), "not a loopback address")
	assert.Empty(t, out.String())
}

// TestServe: serve answers on its listener until its context is done,
// then returns nil, and the port is closed.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") }))
	}()
	url := "http://" + ln.Addr().String() + "/"
	_, got := fetch(t, url)
	assert.Equal(t, "hello", got)

	cancel()
	require.NoError(t, <-done)
	http.DefaultClient.CloseIdleConnections()
	_, err = http.Get(url)
	assert.Error(t, err, "closed after shutdown")
}
