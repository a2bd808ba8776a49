package monitor_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit/monitor"
)

func benchRegistry(b *testing.B, n int) (*monitor.Registry, *clock.Mock) {
	mock := clock.NewMock()
	reg := monitor.NewRegistry()
	for i := 0; i < n; i++ {
		br := newBreaker(b, mock, fmt.Sprintf("dep-%03d", i))
		for j := 0; j < 100; j++ {
			_ = call(br, mock, 0, j%10 == 0)
		}
		if err := reg.Register(br); err != nil {
			b.Fatal(err)
		}
	}
	return reg, mock
}

// BenchmarkCheck is one check of 100 breakers that raises nothing.
func BenchmarkCheck(b *testing.B) {
	reg, mock := benchRegistry(b, 100)
	m, err := monitor.New(reg, monitor.WithClock(mock))
	if err != nil {
		b.Fatal(err)
	}
	m.Check()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(m.Check()) != 0 {
			b.Fatal("unexpected alert")
		}
	}
}

// BenchmarkStatusPage renders the HTML page for 100 breakers.
func BenchmarkStatusPage(b *testing.B) {
	reg, mock := benchRegistry(b, 100)
	h := monitor.Handler(reg, monitor.WithClock(mock))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkStatusPageMonitored renders the HTML page for 100 breakers with
// a monitor: alerts, recent transitions and reasons, sorted by severity.
func BenchmarkStatusPageMonitored(b *testing.B) {
	reg, mock := benchRegistry(b, 100)
	m, err := monitor.New(reg, monitor.WithClock(mock))
	if err != nil {
		b.Fatal(err)
	}
	m.Check()
	h := monitor.Handler(reg, monitor.WithMonitor(m))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
