package checker

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSlab: the slices a slab hands out hold what was copied into them,
// do not overlap (an append to one copies instead of writing into the
// next), and after a reset the same blocks serve again.
func TestSlab(t *testing.T) {
	var s slab[uint32]
	var got [][]uint32
	var want [][]uint32
	for n := 0; n < 3*slabBlock; n += 997 {
		src := make([]uint32, n%(slabBlock/3))
		for i := range src {
			src[i] = uint32(n + i)
		}
		got = append(got, s.copyOf(src))
		want = append(want, src)
	}
	for i, g := range got {
		if cap(g) != len(g) {
			t.Fatalf("slice %d: cap %d, len %d; want them equal", i, cap(g), len(g))
		}
		if len(g) > 0 {
			_ = append(g, 0xffffffff) // must not write into the next slice
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("contents (-want +got):\n%s", diff)
	}
	blocks := s.blockBytes(4)
	s.reset()
	for _, w := range want {
		s.copyOf(w)
	}
	if s.blockBytes(4) != blocks {
		t.Errorf("after reset: %d bytes of blocks, want the %d of before", s.blockBytes(4), blocks)
	}
	big := s.take(slabBlock + 1)
	if len(big) != slabBlock+1 || s.blockBytes(4) != blocks {
		t.Errorf("a slice larger than a block: len %d, blocks %d bytes; want %d, %d", len(big), s.blockBytes(4), slabBlock+1, blocks)
	}
}
