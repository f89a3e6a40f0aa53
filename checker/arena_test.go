package checker

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestArenaBlocks allocates and frees blocks of random sizes and checks
// that the live blocks never overlap, that each comes zeroed and keeps
// what was written to it, and that the arena's accounts (top, live, the
// free extents) add up; then that a full arena hands out Go heap blocks.
func TestArenaBlocks(t *testing.T) {
	const size = 8 << 20
	a := newArena(size)
	defer a.close()
	if len(a.mem) == 0 {
		t.Skip("no mapping here") // (Linux maps it; other systems use the Go heap)
	}
	r := rand.New(rand.NewPCG(1, 2))
	type block struct {
		b   []byte
		tag byte
	}
	var live []block
	// check sorts the live blocks and the free extents by offset and
	// walks them once: no two may overlap (a span per block, not a byte
	// map, so 2,000 steps take milliseconds, not seconds).
	type span struct {
		off, n int
		block  int // the index in live, or -1 for a free extent
	}
	name := func(s span) string {
		if s.block < 0 {
			return fmt.Sprintf("a free extent [%d, %d)", s.off, s.off+s.n)
		}
		return fmt.Sprintf("block %d [%d, %d)", s.block, s.off, s.off+s.n)
	}
	check := func(step int) {
		t.Helper()
		var spans []span
		sum := 0
		for i, bl := range live {
			off := a.offset(bl.b)
			if off < 0 || off%arenaAlign != 0 {
				t.Fatalf("step %d: block %d at offset %d: not an aligned block of the arena", step, i, off)
			}
			spans = append(spans, span{off, cap(bl.b), i})
			if bytes.Count(bl.b, []byte{bl.tag}) != len(bl.b) {
				j := slices.IndexFunc(bl.b, func(v byte) bool { return v != bl.tag })
				t.Fatalf("step %d: block %d byte %d is %d, want %d", step, i, j, bl.b[j], bl.tag)
			}
			sum += (cap(bl.b) + arenaAlign - 1) &^ (arenaAlign - 1)
		}
		free := 0
		for i, e := range a.free {
			if i > 0 && a.free[i-1].off+a.free[i-1].n >= e.off {
				t.Fatalf("step %d: free extents %v and %v not ordered and apart", step, a.free[i-1], e)
			}
			spans = append(spans, span{e.off, e.n, -1})
			free += e.n
		}
		slices.SortFunc(spans, func(x, y span) int { return cmp.Compare(x.off, y.off) })
		for i := 1; i < len(spans); i++ {
			if p := spans[i-1]; p.off+p.n > spans[i].off {
				t.Fatalf("step %d: %s and %s overlap", step, name(p), name(spans[i]))
			}
		}
		if a.live != sum || a.top != sum+free || a.high < a.top || a.slack() != int64(a.high-sum) {
			t.Fatalf("step %d: live %d top %d high %d slack %d; want live %d top %d slack %d", step, a.live, a.top, a.high, a.slack(), sum, sum+free, a.high-sum)
		}
		if n := len(a.free); n > 0 && a.free[n-1].off+a.free[n-1].n == a.top {
			t.Fatalf("step %d: a free extent ends at top", step)
		}
	}
	for step := 0; step < 2000; step++ {
		if len(live) > 0 && (r.IntN(2) == 0 || len(live) > 100) {
			i := r.IntN(len(live))
			a.release(live[i].b)
			live = append(live[:i], live[i+1:]...)
		} else {
			n := 1 + r.IntN(40000)
			b := a.alloc(n)
			for j, v := range b {
				if v != 0 {
					t.Fatalf("step %d: a new block's byte %d is %d", step, j, v)
				}
			}
			tag := byte(1 + r.IntN(255))
			for j := range b {
				b[j] = tag
			}
			live = append(live, block{b, tag})
		}
		check(step)
	}
	// Full: the Go heap.
	big := a.alloc(size)
	if a.offset(big) >= 0 || len(big) != size {
		t.Fatalf("a block larger than what is left came from the arena (offset %d)", a.offset(big))
	}
	a.release(big) // (ignored)
	check(-1)
}

// TestArenaSpare: a small arena's mapping, once closed, is the next
// arena's, and hands out zeroed blocks over what the first one wrote; a
// large one is unmapped, not kept.
func TestArenaSpare(t *testing.T) {
	const size = 64 << 20
	a := newArena(size)
	if len(a.mem) == 0 {
		t.Skip("no mapping here") // (Linux maps it; other systems use the Go heap)
	}
	// (One of another size, which an earlier test left, stays.)
	a.close()
	a = newArena(size)
	first := a.r
	for i := range 8 {
		b := a.alloc(100 << 10)
		for j := range b {
			b[j] = 0xA5
		}
		if i%2 == 0 {
			a.release(b)
		}
	}
	a.close()
	b := newArena(size)
	if b.r != first {
		t.Fatal("the next arena has a new mapping, not the closed small one's")
	}
	for range 12 {
		blk := b.alloc(100 << 10)
		if i := slices.IndexFunc(blk, func(v byte) bool { return v != 0 }); i >= 0 {
			t.Fatalf("a block over the closed arena's writes: byte %d is %#x, want 0", i, blk[i])
		}
	}
	// Past smallArena: unmapped on close, not kept.
	b.alloc(smallArena)
	r := b.r
	b.close()
	spare.Lock()
	kept := spare.r == r
	spare.Unlock()
	if kept {
		t.Fatal("an arena that handed out more than smallArena was kept as the spare")
	}
}
