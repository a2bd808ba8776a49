// Package circuithttp puts a circuit breaker on an HTTP client or server in
// one line, with the standard library alone.
//
// On the client side, NewTransport wraps an http.RoundTripper with a
// breaker per host (or per any key of the request), so that one bad
// upstream never opens the breaker of the others:
//
//	t, err := circuithttp.NewTransport(http.DefaultTransport)
//	...
//	client := &http.Client{Transport: t}
//
// On the server side, NewHandler wraps an http.Handler with a breaker that
// sheds load with 503 and a Retry-After header while the service, or a
// dependency it reports through Reject, is failing.
//
// The design, and how it composes with retry and bulkhead, is in
// docs/http.md.
package circuithttp
