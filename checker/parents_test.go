package checker

import (
	"math/rand/v2"
	"testing"
)

// TestParentLinks: the parent of every state, found by select over the
// block directory, is the one a plain scan of the unary code gives, over
// many 512-bit blocks and runs of states without children, the bits
// written in batches of random sizes as levels write them (extend,
// setOnes, commit); and again after the directory is rebuilt as a
// checkpoint's reader does.
func TestParentLinks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var b parentLinks
	var level []bool // bits not committed yet
	flush := func() {
		b.extend(len(level))
		ones := 0
		for i, one := range level {
			if one {
				pos := b.n + i
				b.setOnes(pos/64, 1<<(pos%64))
				ones++
			}
		}
		b.commit(len(level), ones)
		level = level[:0]
	}
	push := func(one bool) {
		level = append(level, one)
		if r.IntN(300) == 0 {
			flush()
		}
	}
	var want []uint32 // want[g] is state g's parent
	want = append(want, 0)
	for expanded := uint32(0); len(want) < 20000; expanded++ {
		kids := r.IntN(6)
		if r.IntN(10) == 0 {
			kids = 0
		}
		for k := 0; k < kids; k++ {
			push(true)
			want = append(want, expanded)
		}
		push(false)
	}
	flush()
	check := func(what string) {
		for g := 1; g < len(want); g++ {
			if got := b.parent(uint32(g)); got != want[g] {
				t.Fatalf("%s: parent(%d) = %d, want %d", what, g, got, want[g])
			}
		}
	}
	check("pushed")
	b.blockOnes = nil
	b.reindex()
	check("reindexed")
}
