package retry_test

import (
	"context"
	"testing"

	"github.com/breakerlab/circuit/retry"
)

func TestSuccessWithSharedPolicyAllocatesNothing(t *testing.T) {
	p, err := retry.New[int]()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	if allocs := testing.AllocsPerRun(1000, func() {
		if _, err := p.Execute(ctx, fn); err != nil {
			panic(err)
		}
	}); allocs != 0 {
		t.Fatalf("Execute on first-attempt success allocates %v times, want 0", allocs)
	}
}

func BenchmarkExecuteSuccess(b *testing.B) {
	p, _ := retry.New[int]()
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for range b.N {
		_, _ = p.Execute(ctx, fn)
	}
}

func BenchmarkDoSuccess(b *testing.B) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for range b.N {
		_, _ = retry.Do(ctx, fn, retry.WithMaxAttempts(3))
	}
}
