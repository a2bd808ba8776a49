// Package benchmarks compares the overhead of github.com/breakerlab/circuit
// with other Go circuit breakers on identical workloads (compare_test.go),
// and measures the fleet coordinator (github.com/breakerlab/circuit/redis)
// against sony/gobreaker's DistributedCircuitBreaker on a real redis-server
// (fleet_test.go). It holds only benchmarks and the tests of their
// harness; run.sh runs them and prints benchstat tables with one column per
// library.
//
// It is a separate module so that the peers it imports never become
// dependencies of the circuit module itself.
package benchmarks
