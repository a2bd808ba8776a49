package circuitredis_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/breakerlab/circuit"
	circuitredis "github.com/breakerlab/circuit/redis"
	"github.com/redis/go-redis/v9"
)

// Attach a breaker to the fleet. The coordinator connects in the
// background and never stands between a call and the dependency: here
// Redis cannot be reached, so the breaker simply works alone.
func ExampleCoordinator_Attach() {
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: "/nonexistent/redis.sock"})
	defer rdb.Close()
	coord, err := circuitredis.New(rdb,
		circuitredis.WithReplicaID("pod-1"),
		circuitredis.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer coord.Close()

	payments, err := circuit.New[string](circuit.WithName("payments"))
	if err != nil {
		panic(err)
	}
	detach, err := coord.Attach(payments)
	if err != nil {
		panic(err)
	}
	defer detach()

	v, err := payments.Execute(context.Background(), func(ctx context.Context) (string, error) {
		return "paid", nil
	})
	fmt.Println(v, err)
	fmt.Println("fleet up:", coord.Up())
	// Output:
	// paid <nil>
	// fleet up: false
}

// The options are checked together; every bad one is a
// *circuit.ConfigError.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	_, err := circuitredis.New(rdb,
		circuitredis.WithSharedWindow(time.Second),
		circuitredis.WithFlushInterval(time.Second),
		circuitredis.WithMinReplicas(0),
	)
	fmt.Println(err)
	// Output:
	// circuitredis: invalid config: SharedWindow = 1s: must be at least twice the flush interval (1s)
	// circuitredis: invalid config: MinReplicas = 0: must be at least 1
}
