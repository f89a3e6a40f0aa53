package checker

import (
	"math/bits"
)

// An fpset is a set of 64-bit fingerprints: 8 bytes per slot, open
// addressing with linear probing, split into fpSegs segments by the
// fingerprint's top bits. Each segment grows on its own (by growFactor,
// any size: the slot of a fingerprint is fastrange of its low bits), so
// growing the set never holds an old and a new copy of all of it at once,
// only of one segment per worker: the whole set's peak is its size, not
// 2.5 times it. Inserts into one segment come from one goroutine at a
// time (the insert phase gives each worker a range of fingerprints, which
// is a range of segments), so they need no atomic operations and share no
// counter; lookups happen in another phase; growth happens between
// phases. Fingerprint 0 marks an empty slot, so a real 0 is stored as 1.
type fpset struct {
	segs [fpSegs]fpseg
}

type fpseg struct {
	keys []uint64
	n    int
	_    [64 - 24 - 8]byte // one cache line per segment: workers write different ones
}

// len is the number of fingerprints in the set.
func (s *fpset) len() int {
	n := 0
	for i := range s.segs {
		n += s.segs[i].n
	}
	return n
}

const (
	fpSegBits = 8
	fpSegs    = 1 << fpSegBits
)

func newFPSet(capacity int) *fpset {
	s := &fpset{}
	per := max(16, int(float64(capacity)/fpSegs/maxLoad)+1)
	for i := range s.segs {
		s.segs[i].keys = make([]uint64, per)
	}
	return s
}

// segOf returns fp's segment and home slot.
func (s *fpset) segOf(fp uint64) (*fpseg, uint64) {
	g := &s.segs[fp>>(64-fpSegBits)]
	hi, _ := bits.Mul64(fp<<fpSegBits, uint64(len(g.keys)))
	return g, hi
}

// home returns fp as stored (0 as 1), its segment, its home slot and the
// segment's size.
func (s *fpset) home(fp uint64) (uint64, *fpseg, uint64, uint64) {
	fp = nonzero(fp)
	g, i := s.segOf(fp)
	return fp, g, i, uint64(len(g.keys))
}

// contains reports whether fp is in the set. Safe to call concurrently
// with other contains calls, not with insert.
func (s *fpset) contains(fp uint64) bool {
	fp, g, i, n := s.home(fp)
	for {
		switch g.keys[i] {
		case 0:
			return false
		case fp:
			return true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insert adds fp and reports whether it was new. Inserts of fingerprints
// of one segment must not run concurrently; the set must have room.
func (s *fpset) insert(fp uint64) bool {
	fp, g, i, n := s.home(fp)
	for {
		switch g.keys[i] {
		case fp:
			return false
		case 0:
			g.keys[i] = fp
			g.n++
			return true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// prefetch reads the home slot of every fingerprint in fps: independent
// loads that the processor overlaps, so that the probes that follow find
// their cache lines loaded (the set is far larger than the caches).
func (s *fpset) prefetch(fps []uint64) uint64 {
	var sum uint64
	for _, fp := range fps {
		g, i := s.segOf(fp)
		sum += g.keys[i]
	}
	return sum
}

// segCounts counts the fingerprints of fps per segment, into counts.
func segCounts(counts *[fpSegs]int, fps []uint64) {
	for _, fp := range fps {
		counts[fp>>(64-fpSegBits)]++
	}
}

// grownSize is the number of slots segment g needs for extra more
// fingerprints under maxLoad: its size, or that grown by growFactor
// until they fit.
func (g *fpseg) grownSize(extra int) int {
	need := float64(g.n+extra) / maxLoad
	size := float64(len(g.keys))
	if need <= size {
		return len(g.keys)
	}
	for size < need {
		size *= growFactor
	}
	return int(size) + 1
}

// reserve grows segments from..to-1 so that counts[i] more fingerprints
// fit under maxLoad in segment i, one segment at a time. Each insert
// worker grows its own range (insert), so with n workers n segments grow
// at once, each with its old table held until it is done.
func (s *fpset) reserve(counts *[fpSegs]int, from, to int) {
	for i := from; i < to; i++ {
		g := &s.segs[i]
		if size := g.grownSize(counts[i]); size != len(g.keys) {
			g.rehash(size)
		}
	}
}

// rehash moves segment g into a table of size slots.
func (g *fpseg) rehash(size int) {
	keys := make([]uint64, size)
	// The new table's pages first, in order (a write per 4 KiB page):
	// taking their faults in the random order of the moves below was
	// twice as slow with two workers growing their segments at once
	// (N=3 family: insert phase 360 ms against 185).
	for j := 0; j < size; j += 512 {
		keys[j] = 0
	}
	old := g.keys
	g.keys = keys
	n := uint64(size)
	for _, k := range old {
		if k == 0 {
			continue
		}
		hi, _ := bits.Mul64(k<<fpSegBits, n)
		for g.keys[hi] != 0 {
			if hi++; hi == n {
				hi = 0
			}
		}
		g.keys[hi] = k
	}
}

// growthBytes is what the workers' reserve(counts) adds at its peak: the
// segments' growth, and the old tables of the segments being rehashed
// (one per worker), held until they are done.
func (s *fpset) growthBytes(counts *[fpSegs]int, workers int) int64 {
	var grow, old []int64
	for i := range s.segs {
		g := &s.segs[i]
		if size := g.grownSize(counts[i]); size != len(g.keys) {
			grow = append(grow, int64(size-len(g.keys))*8)
			old = append(old, int64(len(g.keys))*8)
		}
	}
	var total, maxOld int64
	for i := range grow {
		total += grow[i]
		maxOld = max(maxOld, old[i])
	}
	return total + maxOld*int64(min(workers, len(grow)))
}

func (s *fpset) bytes() int64 {
	var b int64
	for i := range s.segs {
		b += int64(len(s.segs[i].keys)) * 8
	}
	return b
}

// undo removes the fingerprints of a level's accepted candidates (the
// chunks' acc), inserted since the last reserve: insertion into a linear-
// probing table without deletions only fills empty slots, so clearing the
// slots the level filled gives back the table as it was. The search for a
// fingerprint's slot goes past empty slots (it is in the table), so the
// order of the clearing does not matter.
func (s *fpset) undo(chunks []*candidates) {
	for _, c := range chunks {
		for i, a := range c.acc {
			if !a {
				continue
			}
			fp := c.fps[i]
			g, j := s.segOf(fp)
			n := uint64(len(g.keys))
			for g.keys[j] != fp {
				if j++; j == n {
					j = 0
				}
			}
			g.keys[j] = 0
			g.n--
			c.acc[i] = false
		}
	}
}
