package bulkhead_test

import (
	"context"
	"testing"

	"github.com/breakerlab/circuit/bulkhead"
)

func BenchmarkAcquireRelease(b *testing.B) {
	bh, _ := bulkhead.New[int](bulkhead.WithMaxConcurrent(1 << 20))
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		release, err := bh.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		release.Release()
	}
}

func BenchmarkExecuteParallel(b *testing.B) {
	bh, _ := bulkhead.New[int](bulkhead.WithMaxConcurrent(1 << 20))
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := bh.Execute(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRejectFull(b *testing.B) {
	bh, _ := bulkhead.New[int](bulkhead.WithMaxConcurrent(1))
	ctx := context.Background()
	release, _ := bh.Acquire(ctx)
	defer release.Release()
	b.ReportAllocs()
	for range b.N {
		if _, err := bh.Acquire(ctx); err != bulkhead.ErrFull {
			b.Fatal(err)
		}
	}
}
