package realxs_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// The comparison with Xen's own C client, libxenstore 4.17, on the same
// daemon: tools/xenstored/xsbench.c, built by `make xenstored`.

func xsbench(t testing.TB, d *xstest.Daemon, mode string, n int) time.Duration {
	t.Helper()
	dir, err := xstest.Dir()
	if err != nil {
		t.Skip(xstest.SkipHint)
	}
	bin := filepath.Join(dir, "xsbench")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no %s: rerun `make xenstored` (it fetches libxenstore4)", bin)
	}
	cmd := exec.Command(bin, mode, strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "XENSTORED_PATH="+d.SocketPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xsbench %s: %v\n%s", mode, err, out)
	}
	var ops, ns int64
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &ops, &ns); err != nil {
		t.Fatalf("xsbench output %q: %v", out, err)
	}
	return time.Duration(ns)
}

// goOps runs n operations of mode on c from par goroutines.
func goOps(t testing.TB, c *realxs.Client, mode string, n, par int) time.Duration {
	ctx := context.Background()
	if err := c.Write(ctx, "/gbench/r", []byte("some value")); err != nil {
		t.Fatal(err)
	}
	value := []byte("some value")
	var wg sync.WaitGroup
	errs := make(chan error, par)
	start := time.Now()
	for g := range par {
		wg.Go(func() {
			tpath := fmt.Sprintf("/gbench/t/%d", g)
			for i := g; i < n; i += par {
				var err error
				switch mode {
				case "read":
					_, err = c.Read(ctx, "/gbench/r")
				case "write":
					err = c.Write(ctx, fmt.Sprintf("/gbench/w/%d", i%100), value)
				case "txn":
					err = c.Transact(ctx, func(tx *realxs.Tx) error {
						tx.Read(ctx, tpath)
						return tx.Write(ctx, tpath, []byte("1"))
					})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return took
}

// BenchmarkThroughputVsC compares, on the same daemon, Xen's C client
// (libxenstore through xsbench) with this client one request at a time and
// pipelining 8 requests (the "Done when": the Go client, pipelining
// requests, is at least as fast). A benchmark, not a test: timings depend
// on the machine's load, and the test suite asserts no timing. Run with
// `go test -run '^$' -bench ThroughputVsC ./realxs` after `make xenstored`.
func BenchmarkThroughputVsC(b *testing.B) {
	d, c := startClient(b, xstest.Options{})
	const n = 5000
	rate := func(d time.Duration) float64 { return n / d.Seconds() }
	for i := 0; i < b.N; i++ {
		for _, mode := range []string{"read", "write", "txn"} {
			cd := xsbench(b, d, mode, n)
			seq := goOps(b, c, mode, n, 1)
			pipe := goOps(b, c, mode, n, 8)
			b.Logf("%-5s ops/s: C libxenstore %8.0f | Go one at a time %8.0f | Go pipelined (8) %8.0f (%.2fx C)",
				mode, rate(cd), rate(seq), rate(pipe), rate(pipe)/rate(cd))
			b.ReportMetric(rate(pipe)/rate(cd), mode+"-pipelined/C")
		}
	}
}

func benchC(b *testing.B, mode string) {
	d := xstest.Start(b, xstest.Options{})
	b.ResetTimer()
	took := xsbench(b, d, mode, b.N)
	b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "ns/op(C)")
}

func BenchmarkCClientRead(b *testing.B)        { benchC(b, "read") }
func BenchmarkCClientWrite(b *testing.B)       { benchC(b, "write") }
func BenchmarkCClientTransaction(b *testing.B) { benchC(b, "txn") }
