// Package benchmarks compares the overhead of github.com/breakerlab/circuit
// with other Go circuit breakers on identical workloads. It holds only
// benchmarks (compare_test.go); run.sh runs them and prints a benchstat
// table with one column per library.
//
// It is a separate module so that the peers it imports never become
// dependencies of the circuit module itself.
package benchmarks
