package realxs_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// The benchmarks run against a private oxenstored and skip without one.

func BenchmarkClientRead(b *testing.B) {
	_, c := startClient(b, xstest.Options{})
	ctx := context.Background()
	if err := c.Write(ctx, "/bench/r", []byte("some value")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Read(ctx, "/bench/r"); err != nil {
			b.Fatal(err)
		}
	}
}

// Many goroutines share one client: requests are pipelined on the one
// connection.
func BenchmarkClientReadParallel(b *testing.B) {
	_, c := startClient(b, xstest.Options{})
	ctx := context.Background()
	if err := c.Write(ctx, "/bench/r", []byte("some value")); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Read(ctx, "/bench/r"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkClientWrite(b *testing.B) {
	_, c := startClient(b, xstest.Options{})
	ctx := context.Background()
	value := []byte("some value")
	i := 0
	for b.Loop() {
		if err := c.Write(ctx, fmt.Sprintf("/bench/w/%d", i%100), value); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// One Transact: start, a read, a write, commit.
func BenchmarkClientTransaction(b *testing.B) {
	_, c := startClient(b, xstest.Options{})
	ctx := context.Background()
	if err := c.Write(ctx, "/bench/t", []byte("0")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		err := c.Transact(ctx, func(tx *realxs.Tx) error {
			v, err := tx.Read(ctx, "/bench/t")
			if err != nil {
				return err
			}
			return tx.Write(ctx, "/bench/t", append(v[:0:0], '1'))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
