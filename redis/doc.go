// Package circuitredis makes the circuit breakers of a service's replicas
// act as one fleet, through Redis, without putting Redis on the path of
// any call.
//
// Each replica creates one Coordinator over its own Redis client and
// attaches its breakers; breakers with the same name on different replicas
// then form one fleet breaker:
//
//	coord, err := circuitredis.New(rdb, circuitredis.WithReplicaID(hostname))
//	if err != nil { ... }
//	defer coord.Close()
//	detach, err := coord.Attach(payments) // a *circuit.Breaker[T]
//	if err != nil { ... }
//	defer detach()
//
// When one replica's breaker opens, the others open for the time it has
// left; half-open, the fleet runs only HalfOpenMaxProbes probes, under a
// lease in Redis; with WithSharedWindow, replicas pool their outcomes so
// that a fleet whose replicas each see too few calls to judge still trips.
// Admission and recording never wait for Redis: the coordinator hears the
// breaker through hooks, reads its Metrics once per flush interval, and
// talks to Redis on its own goroutines. When Redis is slow, paused or
// down, every breaker works alone, as it would without a coordinator.
//
// The protocol, the keys and payloads (versioned), the failure modes and
// when not to use a fleet are in docs/fleet.md.
package circuitredis
