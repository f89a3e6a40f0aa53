package checker

import (
	fp "github.com/xbcheck/xbcheck/internal/fingerprint"
	"math/rand/v2"
	"runtime/debug"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDelta: the difference of two states decodes back to the second, for
// states differing nowhere, everywhere, at the ends and in scattered bytes
// (runs joined across one equal byte, split at two).
func TestDelta(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 2000; trial++ {
		size := 1 + r.IntN(600) // past 8*fp.MaxDiffWords too
		base := make([]byte, size)
		for i := range base {
			base[i] = byte(r.IntN(4))
		}
		x := append([]byte(nil), base...)
		switch trial % 4 {
		case 0: // equal
		case 1:
			for i := range x {
				x[i]++
			}
		default:
			for k := r.IntN(12); k >= 0; k-- {
				x[r.IntN(size)] = byte(r.IntN(256))
			}
			x[0], x[size-1] = 7, 9
		}
		encs := [][]byte{appendDelta([]byte{0xAA}, base, x)}
		if size <= 8*fp.MaxDiffWords {
			// A mask with words that do not differ codes the same.
			encs = append(encs, appendDeltaWords([]byte{0xAA}, base, x, ^uint64(0)>>(64-(size+7)/8)))
		}
		for _, enc := range encs {
			got := append([]byte(nil), base...)
			if n := applyDelta(got, enc[1:]); n != len(enc)-1 {
				t.Fatalf("trial %d: used %d of %d bytes", trial, n, len(enc)-1)
			}
			if diff := cmp.Diff(x, got); diff != "" {
				t.Fatalf("trial %d: decoded differs (-want +got):\n%s", trial, diff)
			}
		}
	}
}

// TestFrontierRuns: states stored in runs come back in order, whole, chunk
// by chunk, with every chunk's base position right.
func TestFrontierRuns(t *testing.T) {
	const size = 40
	r := rand.New(rand.NewPCG(5, 6))
	var want [][]byte
	var runs []*run
	for ri := 0; ri < 5; ri++ {
		ru := &run{}
		n := []int{0, 1, chunkStates, chunkStates + 1, 3*chunkStates + 17}[ri]
		st := make([]byte, size)
		for i := 0; i < n; i++ {
			st[r.IntN(size)] = byte(r.IntN(256))
			ru.add(st)
			want = append(want, append([]byte(nil), st...))
		}
		runs = append(runs, ru)
	}
	f := newFrontier(runs)
	if f.n != len(want) {
		t.Fatalf("frontier of %d states, want %d", f.n, len(want))
	}
	var got [][]byte
	f.each(size, func(st []byte) { got = append(got, append([]byte(nil), st...)) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("states differ (-want +got):\n%s", diff)
	}
	buf := make([]byte, chunkStates*size)
	for _, c := range f.chunks {
		n := c.r.decode(c.j, size, buf)
		if diff := cmp.Diff(want[c.base], buf[:size]); diff != "" {
			t.Fatalf("chunk at %d of %d states: first state differs:\n%s", c.base, n, diff)
		}
	}
}

// TestCheckRestoresGC: a check runs the collector at checkGCPercent when
// the process has the default, and puts the default back; a GOGC the
// process set is kept.
func TestCheckRestoresGC(t *testing.T) {
	m := newToy(1, 1)
	p := Property{Name: "true", Kind: Invariant, State: func([]byte) bool { return true }}
	var during int
	opt := Options{Progress: func(Progress) {}, ProgressEvery: time.Hour}
	hook := SetTestHook(func(event string, depth int) bool {
		if event == "level" && depth == 0 {
			during = debug.SetGCPercent(-1)
			debug.SetGCPercent(during)
		}
		return false
	})
	defer hook()
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	Check(m, []Property{p}, opt)
	if during != checkGCPercent {
		t.Errorf("GC percent during the check %d, want %d", during, checkGCPercent)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after the check %d, want 100 back", got)
	}
	debug.SetGCPercent(50)
	Check(m, []Property{p}, opt)
	if during != 50 {
		t.Errorf("GC percent during a check under GOGC=50: %d, want 50 kept", during)
	}
}
