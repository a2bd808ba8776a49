package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/breakerlab/circuit/monitor"
)

// handler serves the story's world as it stands: the status page, with the
// business figures above the breakers, on every path but /metrics, which
// serves the business metrics.
func (s *story) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(s.ledger, s.clk))
	mux.Handle("/", monitor.Handler(s.reg, monitor.WithMonitor(s.mon), monitor.WithSummary(func(now time.Time) []monitor.Figure {
		return s.ledger.snapshot(now).figures(now)
	}), monitor.WithTuning(s.shadows)))
	return mux
}

// checkLoopback returns an error unless addr is host:port with a loopback
// host (localhost, 127.0.0.0/8 or ::1): the demo has no authentication, so
// it stays on this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-serve %q: want host:port, such as 127.0.0.1:8080: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-serve %q: host %q is not a loopback address (localhost, 127.0.0.1, ::1)", addr, host)
}

// serve serves h on ln until ctx is done, then shuts down, waiting at most
// 5 seconds for requests in flight. It returns nil after a shutdown.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err // Serve failed on its own
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
