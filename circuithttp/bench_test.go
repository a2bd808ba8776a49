package circuithttp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/circuithttp"
)

// memBase is an in-memory base transport that allocates nothing, so that
// what a benchmark or an allocation test measures is the breaker's own
// cost.
type memBase struct{ resp *http.Response }

func (m memBase) RoundTrip(*http.Request) (*http.Response, error) { return m.resp, nil }

func newMemBase() memBase {
	return memBase{&http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}}
}

// TestTransportAllocs: a Transport adds no allocation to a request, for a
// host whose breaker exists (the first request to a host builds one).
func TestTransportAllocs(t *testing.T) {
	tr := newTransport(t, newMemBase())
	req, _ := http.NewRequest(http.MethodGet, "http://api.test/v1/items", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := tr.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("RoundTrip allocates %v times per request, want 0", allocs)
	}
}

// BenchmarkRoundTrip compares, in one run, over an in-memory round trip:
// the base alone; a plain Breaker.Execute around it; a Group Get by host
// plus Execute (the cost the Transport is held to, within 1.2x); the same
// with Allow/Done instead of Execute; and the Transport. Run with -count 6 and benchstat; the ratio that matters is
// (transport - base) / (group - base).
func BenchmarkRoundTrip(b *testing.B) {
	var base http.RoundTripper = newMemBase() // called through the interface, as the Transport does
	req, _ := http.NewRequest(http.MethodGet, "http://api.test/v1/items", nil)
	ctx := context.Background()
	roundTrip := func(context.Context) (*http.Response, error) { return base.RoundTrip(req) }
	classify := circuit.WithClassifier(circuithttp.DefaultClassifier)

	b.Run("base", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := base.RoundTrip(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("execute", func(b *testing.B) {
		br, err := circuit.New[*http.Response](classify)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := br.Execute(ctx, roundTrip); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("group", func(b *testing.B) {
		g, err := circuit.NewGroup[string, *http.Response](circuit.WithBreakerOptions(classify))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := g.Get(circuithttp.KeyByHost(req)).Execute(ctx, roundTrip); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("group-allow", func(b *testing.B) { // the two-step form the Transport does not use
		g, err := circuit.NewGroup[string, *http.Response](circuit.WithBreakerOptions(classify))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			permit, err := g.Get(circuithttp.KeyByHost(req)).Allow()
			if err != nil {
				b.Fatal(err)
			}
			resp, err := base.RoundTrip(req)
			permit.Done(resp, err)
		}
	})
	b.Run("transport", func(b *testing.B) {
		tr, err := circuithttp.NewTransport(base)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := tr.RoundTrip(req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTransportParallel is the Transport under RunParallel, over 16
// hosts (run with -cpu 1,2).
func BenchmarkTransportParallel(b *testing.B) {
	tr, err := circuithttp.NewTransport(newMemBase())
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, 16)
	for i := range reqs {
		reqs[i], _ = http.NewRequest(http.MethodGet, "http://host"+string(rune('a'+i))+".test/", nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := tr.RoundTrip(reqs[i%len(reqs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
