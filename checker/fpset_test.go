package checker

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// checkOrdered fails t unless every segment of s is an ordered table:
// its fingerprints increasing with their slots, each at or after its home
// slot, with no empty slot between its home slot and it (a probe from
// the home slot reaches it), the last slot empty, and n its count.
func checkOrdered(t *testing.T, s *fpset) {
	t.Helper()
	for si := range s.segs {
		g := &s.segs[si]
		if len(g.keys) == 0 || g.keys[len(g.keys)-1] != 0 {
			t.Fatalf("segment %d: last slot not empty", si)
		}
		n, last := 0, uint64(0)
		for i, k := range g.keys {
			if k == 0 {
				continue
			}
			n++
			if k>>(64-fpSegBits) != uint64(si) {
				t.Fatalf("segment %d holds %#x of segment %d", si, k, k>>(64-fpSegBits))
			}
			if k <= last {
				t.Fatalf("segment %d: %#x at slot %d after %#x", si, k, i, last)
			}
			last = k
			h := homeIn(k, g.homes)
			if h > uint64(i) {
				t.Fatalf("segment %d: %#x at slot %d before its home slot %d", si, k, i, h)
			}
			for j := h; j < uint64(i); j++ {
				if g.keys[j] == 0 {
					t.Fatalf("segment %d: empty slot %d between %#x's home slot %d and its slot %d", si, j, k, h, i)
				}
			}
		}
		if n != g.n {
			t.Fatalf("segment %d: %d fingerprints, n = %d", si, n, g.n)
		}
	}
}

// TestFPSetAgainstMap drives an fpset and a map with the same inserts,
// lookups, growths and undos, with fingerprints crowded at the ends of
// small segments (so that clusters run into the slack and past it), and
// checks after each level that they agree and that the table is ordered.
// The segments' tables come from the Go heap, then from an arena (which
// reuses the tables that segments leave as they grow).
func TestFPSetAgainstMap(t *testing.T) {
	t.Run("heap", func(t *testing.T) { testFPSetAgainstMap(t, nil) })
	t.Run("arena", func(t *testing.T) {
		mem := newArena(64 << 20)
		defer mem.close()
		testFPSetAgainstMap(t, mem)
	})
}

func testFPSetAgainstMap(t *testing.T, mem *arena) {
	r := rand.New(rand.NewPCG(9, 10))
	draw := func() uint64 {
		seg := uint64(r.IntN(4)) << (64 - fpSegBits) // few segments: long clusters
		switch r.IntN(4) {
		case 0: // the segment's last home slots
			return seg | (1<<(64-fpSegBits) - 1 - uint64(r.IntN(1<<12)))
		case 1: // its first
			return seg | uint64(r.IntN(1<<12))
		default:
			return seg | r.Uint64()>>fpSegBits
		}
	}
	s := newFPSet(16, mem)
	in := map[uint64]bool{}
	var all []uint64
	for level := 0; level < 60; level++ {
		fps := make([]uint64, r.IntN(400))
		for i := range fps {
			if len(all) > 0 && r.IntN(3) == 0 {
				fps[i] = all[r.IntN(len(all))] // seen before
			} else {
				fps[i] = draw()
			}
		}
		var counts [fpSegs]int
		segCounts(&counts, fps)
		s.reserve(&counts, 0, fpSegs)
		before := s.allKeys()
		lens := s.lens()
		c := &candidates{fps: fps}
		for _, f := range fps {
			c.acc = append(c.acc, s.insert(f))
		}
		checkOrdered(t, s)
		if level%5 == 4 {
			s.undo([]*candidates{c})
			// (An insert that extended a segment's slack leaves it
			// extended: the slots before are as they were.)
			if string(u64bytes(before)) != string(u64bytes(s.allKeysUpTo(lens))) {
				t.Fatalf("level %d: the table after undo differs from before the level", level)
			}
			continue
		}
		for i, f := range fps {
			if c.acc[i] == in[nonzero(f)] {
				t.Fatalf("level %d: insert(%#x) = %v, the map had it: %v", level, f, c.acc[i], in[nonzero(f)])
			}
			in[nonzero(f)] = true
			all = append(all, f)
		}
		for range 200 {
			f := draw()
			if len(all) > 0 && r.IntN(2) == 0 {
				f = all[r.IntN(len(all))]
			}
			if got := s.contains(f); got != in[nonzero(f)] {
				t.Fatalf("level %d: contains(%#x) = %v, want %v", level, f, got, in[nonzero(f)])
			}
		}
		if s.len() != len(in) {
			t.Fatalf("level %d: %d fingerprints, want %d", level, s.len(), len(in))
		}
	}
	if mem != nil {
		for i := range s.segs {
			if mem.offset(arenaBytes(s.segs[i].keys)) < 0 {
				t.Fatalf("segment %d's table is not in the arena", i)
			}
		}
	}
	// A checkpoint's segments, laid out again (rebuild): the same set.
	re := fpset{mem: mem}
	for i := range s.segs {
		re.segs[i].rebuild(slices.Clone(s.segs[i].keys), mem)
	}
	checkOrdered(t, &re)
	for f := range in {
		if !re.contains(f) {
			t.Fatalf("rebuilt set lacks %#x", f)
		}
	}
	if re.len() != len(in) {
		t.Fatalf("rebuilt set has %d fingerprints, want %d", re.len(), len(in))
	}
}

func (s *fpset) lens() []int {
	var out []int
	for i := range s.segs {
		out = append(out, len(s.segs[i].keys))
	}
	return out
}

// allKeysUpTo is allKeys with segment i cut to lens[i] slots, and nothing
// past them.
func (s *fpset) allKeysUpTo(lens []int) []uint64 {
	var out []uint64
	for i := range s.segs {
		keys := s.segs[i].keys
		if len(keys) < lens[i] || countNonZero(keys[lens[i]:]) != 0 {
			return nil
		}
		out = append(out, keys[:lens[i]]...)
	}
	return out
}

// reserve grows segments from..to-1 so that counts[i] more fingerprints
// fit under maxLoad in segment i, one segment at a time: the plain growth
// that growShared is checked against (TestGrowShared).
func (s *fpset) reserve(counts *[fpSegs]int, from, to int) {
	for i := from; i < to; i++ {
		g := &s.segs[i]
		if homes := g.grownHomes(counts[i]); homes != int(g.homes) {
			g.rehash(homes, s.mem)
		}
	}
}
