// Package opstest holds the operations test of the module: a small service
// that exports its breakers through both exporters, scraped by a real
// Prometheus server that evaluates the alert rules, against which every
// dashboard query and alert expression is run (see ops_test.go). It is a
// module of its own so that the test's dependencies (the OpenTelemetry
// Prometheus exporter, a YAML parser) reach no user.
package opstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlab/circuit"
	circuitotel "github.com/breakerlab/circuit/otel"
	circuitprom "github.com/breakerlab/circuit/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// The paths the Service serves its metrics on.
const (
	PathProm = "/metrics"      // the prometheus exporter's Collector
	PathOTel = "/otel/metrics" // the otel exporter, through the OpenTelemetry Prometheus exporter
	// PathAdmin is the operator endpoint (see Admin); POST to
	// /admin/breakers/NAME?action=ACTION.
	PathAdmin = "/admin/breakers/{name}"
)

// errDown is the failure of the service's dependencies.
var errDown = errors.New("dependency down")

// Dep is one dependency of the Service: its breaker and the mock clock the
// breaker runs on, which the test moves instead of waiting.
type Dep struct {
	*circuit.Breaker[string]
	Clock *clock.Mock
}

// Service is an example service with four dependencies, each behind a
// breaker, that serves its metrics through both exporters, and the
// runbook's operator endpoint, on a loopback port. Close stops it.
type Service struct {
	Addr                            string // host:port of its HTTP server
	Payments, Flaky, Legacy, Search Dep
	// CoordinatorUp stands in for the health of a fleet coordinator (the
	// redis module's Health().Up): both exporters report it as
	// circuit_breaker_fleet_coordinator_up. Start sets it; the test clears
	// it to bring the coordinator down.
	CoordinatorUp atomic.Bool

	prom *circuitprom.Collector
	otel *circuitotel.Exporter
	mp   *sdkmetric.MeterProvider
	srv  *http.Server
}

// Start builds the breakers, registers them with both exporters (with
// CoordinatorUp as the fleet coordinator's health, true), and serves
// PathProm and PathOTel on 127.0.0.1 at a port the system picks.
//
//   - payments: trips after 3 failures in a row, 30s open, closes after one
//     good probe, 1s latency threshold, with a fallback;
//   - flaky: trips on any failure, 10s open, one good probe closes it;
//   - legacy: misconfigured, with every criterion disabled: it never trips;
//   - search: 1h open, for a health checker to hold open.
func Start() (*Service, error) {
	s := &Service{}
	var err error
	if s.Payments, err = newDep("payments",
		circuit.WithConsecutiveFailures(3), circuit.WithOpenTimeout(30*time.Second), circuit.WithSuccessThreshold(1),
		circuit.WithLatencyThreshold(time.Second),
		circuit.WithFallback(func(context.Context, error) (string, error) { return "queued", nil })); err != nil {
		return nil, err
	}
	if s.Flaky, err = newDep("flaky",
		circuit.WithConsecutiveFailures(1), circuit.WithOpenTimeout(10*time.Second), circuit.WithSuccessThreshold(1)); err != nil {
		return nil, err
	}
	if s.Legacy, err = newDep("legacy",
		circuit.WithConsecutiveFailures(0), circuit.WithErrorRateThreshold(0), circuit.WithLatencyThreshold(0)); err != nil {
		return nil, err
	}
	if s.Search, err = newDep("search", circuit.WithOpenTimeout(time.Hour)); err != nil {
		return nil, err
	}
	views := fixed{s.Payments, s.Flaky, s.Legacy, s.Search}
	s.CoordinatorUp.Store(true)

	if s.prom, err = circuitprom.NewFromSource(views, circuitprom.WithFleetCoordinator(s.CoordinatorUp.Load)); err != nil {
		return nil, err
	}
	promReg := prom.NewRegistry()
	promReg.MustRegister(s.prom)

	otelReg := prom.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(otelReg))
	if err != nil {
		return nil, fmt.Errorf("otel prometheus exporter: %w", err)
	}
	s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	if s.otel, err = circuitotel.RegisterSource(s.mp, views, circuitotel.WithFleetCoordinator(s.CoordinatorUp.Load)); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle(PathProm, promhttp.HandlerFor(promReg, promhttp.HandlerOpts{}))
	mux.Handle(PathOTel, promhttp.HandlerFor(otelReg, promhttp.HandlerOpts{}))
	mux.Handle(PathAdmin, NewAdmin(s.Payments, s.Flaky, s.Legacy, s.Search))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Addr = ln.Addr().String()
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// fixed is the Service's breakers, as the Source both exporters take.
type fixed []circuit.View

func (f fixed) Breakers() []circuit.View { return f }

func newDep(name string, opts ...circuit.Option) (Dep, error) {
	mock := clock.NewMock()
	b, err := circuit.New[string](append([]circuit.Option{circuit.WithName(name), circuit.WithClock(mock)}, opts...)...)
	return Dep{Breaker: b, Clock: mock}, err
}

// Call makes one call through d that takes lat on d's clock and fails if
// fail is set, recording its duration with both exporters' ObserveLatency
// if the breaker admitted it. It returns the breaker's error.
func (s *Service) Call(d Dep, lat time.Duration, fail bool) error {
	_, err := d.Execute(context.Background(), func(ctx context.Context) (string, error) {
		d.Clock.Add(lat)
		s.prom.ObserveLatency(d.Name(), lat)
		s.otel.ObserveLatency(ctx, d.Name(), lat)
		if fail {
			return "", errDown
		}
		return "ok", nil
	})
	return err
}

// Close stops the server and the exporters.
func (s *Service) Close() error {
	err := s.srv.Close()
	return errors.Join(err, s.otel.Unregister(), s.mp.Shutdown(context.Background()))
}
