package checker

import (
	"math/bits"
	"runtime"
	"slices"
	"sync/atomic"
)

// An fpset is a set of 64-bit fingerprints: 8 bytes per slot, open
// addressing with linear probing, split into fpSegs segments by the
// fingerprint's top bits. Each segment grows on its own (by growFactor,
// any size: the home slot of a fingerprint is fastrange of its low bits),
// so growing the set never holds an old and a new copy of all of it at
// once, only of one segment per worker: the whole set's peak is its size,
// not 2.5 times it. Inserts into one segment come from one goroutine at a
// time (the insert phase gives each worker a range of fingerprints, which
// is a range of segments), so they need no atomic operations and share no
// counter; lookups happen in another phase; growth happens between
// phases. Fingerprint 0 marks an empty slot, so a real 0 is stored as 1.
//
// A segment is an ordered hash table (Amble and Knuth, "Ordered hash
// tables", 1974): the home slot grows with the fingerprint (fastrange of
// the bits below the segment's, and every fingerprint of a segment has
// the same top bits), and the table keeps its fingerprints sorted, each
// at or after its home slot: a fingerprint is placed at its home slot or
// just after the one before it in order, whichever is later. A lookup
// stops at the first slot that holds a larger fingerprint or none, so a
// fingerprint that is not in the set costs as few probes as one that is
// (about (1+1/(1-load))/2: 2.5 at load 0.75, against 8.5 for plain linear
// probing, whose misses scan to the end of their cluster: at the N=3
// family's loads, a cache line or two more per new state); an insert
// shifts the larger fingerprints of its cluster one slot up. Probes never
// wrap around: a segment has its home slots, then slack slots that the
// last clusters run into, and always ends in an empty slot, which stops
// every probe; an insert that would fill it first extends the slack.
// Because the layout of a set of fingerprints is unique, growing a
// segment is one merge pass in order (no random writes), and removing the
// fingerprints a level added (undo) gives back the table as it was.
type fpset struct {
	segs [fpSegs]fpseg
	mem  *arena // where the segments' tables live (nil: the Go heap)
}

type fpseg struct {
	keys  []uint64 // homes slots, then slack; keys[len(keys)-1] is 0
	homes uint64   // the number of home slots
	n     int
	_     [64 - 24 - 8 - 8]byte // one cache line per segment: workers write different ones
}

// fpSlack is a segment's slack when it is made or grown: the slots past
// its home slots that the last clusters run into. An insert that reaches
// the last slot doubles it.
const fpSlack = 64

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

func newFPSet(capacity int, mem *arena) *fpset {
	s := &fpset{mem: mem}
	per := max(16, int(float64(capacity)/fpSegs/maxLoad)+1)
	for i := range s.segs {
		s.segs[i].keys = arenaMake[uint64](mem, per+fpSlack)
		s.segs[i].homes = uint64(per)
	}
	return s
}

// homeIn is the home slot of fp (as stored) in a segment of homes home
// slots: monotone in fp among the fingerprints of one segment.
func homeIn(fp, homes uint64) uint64 {
	hi, _ := bits.Mul64(fp<<fpSegBits, homes)
	return hi
}

// segOf returns fp's segment and home slot.
func (s *fpset) segOf(fp uint64) (*fpseg, uint64) {
	g := &s.segs[fp>>(64-fpSegBits)]
	return g, homeIn(fp, g.homes)
}

// find returns the slot of fp (as stored) in g if g holds it, otherwise
// the slot where it goes: the first from its home slot that is empty or
// holds a larger fingerprint. (k-1 < fp-1 is "k is not empty and smaller
// than fp": an empty 0 wraps to the largest value.)
func (g *fpseg) find(fp, home uint64) uint64 {
	i := home
	for g.keys[i]-1 < fp-1 {
		i++
	}
	return i
}

// locate returns fp's segment and the slot find gives for it there.
func (s *fpset) locate(fp uint64) (*fpseg, uint64) {
	g, h := s.segOf(fp)
	return g, g.find(fp, h)
}

// contains reports whether fp is in the set. Safe to call concurrently
// with other contains calls, not with insert.
func (s *fpset) contains(fp uint64) bool {
	fp = nonzero(fp)
	g, i := s.locate(fp)
	return g.keys[i] == fp
}

// insert adds fp and reports whether it was new. Inserts of fingerprints
// of one segment must not run concurrently; the set must have room.
func (s *fpset) insert(fp uint64) bool {
	fp = nonzero(fp)
	g, i := s.locate(fp)
	if g.keys[i] == fp {
		return false
	}
	j := i
	for g.keys[j] != 0 {
		j++
	}
	if j == uint64(len(g.keys))-1 {
		// The shift would fill the last slot: more slack.
		g.keys = arenaResize(s.mem, g.keys, 2*len(g.keys)-int(g.homes))
	}
	copy(g.keys[i+1:j+1], g.keys[i:j])
	g.keys[i] = fp
	g.n++
	return true
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

// prefetchAt is prefetch of the fingerprints fps[i], i in at.
func (s *fpset) prefetchAt(fps []uint64, at []uint32) uint64 {
	var sum uint64
	for _, i := range at {
		g, j := s.segOf(fps[i])
		sum += g.keys[j]
	}
	return sum
}

// segCounts counts the fingerprints of fps per segment, into counts.
func segCounts(counts *[fpSegs]int, fps []uint64) {
	for _, fp := range fps {
		counts[fp>>(64-fpSegBits)]++
	}
}

// grownHomes is the number of home slots segment g needs for extra more
// fingerprints under maxLoad: its number, or that grown by growFactor
// until they fit.
func (g *fpseg) grownHomes(extra int) int {
	need := float64(g.n+extra) / maxLoad
	size := float64(g.homes)
	if need <= size {
		return int(g.homes)
	}
	for size < need {
		size *= growFactor
	}
	return int(size) + 1
}

// growing appends to dst the segments that must grow for counts[i] more
// fingerprints to fit under maxLoad in segment i.
func (s *fpset) growing(counts *[fpSegs]int, dst []int32) []int32 {
	for i := range s.segs {
		if g := &s.segs[i]; g.grownHomes(counts[i]) != int(g.homes) {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// growShared grows the segments of list (growing), the insert workers
// together: a worker takes the next segment no worker took (next) until
// none is left, counting those it grew in done, then waits until every
// one has grown. With n workers, n segments grow at once, each with its
// old table held until it is done (growthBytes). A level's growths come
// in lumps (the segments fill at about the same rate, and cross their
// load limits in the same levels), and a worker that grew only its own
// range waited for the other's lump: on the N = 3 family with two
// workers, 5 to 15% of the insert phases' time.
func (s *fpset) growShared(counts *[fpSegs]int, list []int32, next, done *atomic.Int32) {
	for {
		j := int(next.Add(1)) - 1
		if j >= len(list) {
			break
		}
		i := list[j]
		g := &s.segs[i]
		g.rehash(g.grownHomes(counts[i]), s.mem)
		done.Add(1)
	}
	for int(done.Load()) < len(list) {
		runtime.Gosched()
	}
}

// rehash moves segment g into a table of homes home slots: one pass over
// its fingerprints in order, each placed at its new home slot or just
// after the one before, whichever is later (the ordered table's layout).
// The new table comes from mem, where the old one goes back.
func (g *fpseg) rehash(homes int, mem *arena) {
	keys := arenaMake[uint64](mem, homes+fpSlack)
	h := uint64(homes)
	next := uint64(0) // the first slot after the last placed
	for _, k := range g.keys {
		if k == 0 {
			continue
		}
		i := max(homeIn(k, h), next)
		if i >= uint64(len(keys))-1 {
			keys = arenaResize(mem, keys, len(keys)+fpSlack)
		}
		keys[i] = k
		next = i + 1
	}
	arenaFree(mem, g.keys)
	g.keys, g.homes = keys, h
}

// rebuild lays out keys, read from a checkpoint (written by this version
// or an older one, whose segments were not ordered), as an ordered
// segment with as many home slots as keys has slots.
func (g *fpseg) rebuild(keys []uint64, mem *arena) {
	homes := len(keys)
	ks := slices.DeleteFunc(keys, func(k uint64) bool { return k == 0 })
	slices.Sort(ks)
	g.keys, g.n = ks, len(ks)
	g.rehash(homes, mem)
}

// growthBytes is what the workers' growShared adds at its peak: the
// segments' growth, and the old tables of the segments being rehashed
// (one per worker), held until they are done.
func (s *fpset) growthBytes(counts *[fpSegs]int, workers int) int64 {
	var grow, old []int64
	for i := range s.segs {
		g := &s.segs[i]
		if homes := g.grownHomes(counts[i]); homes != int(g.homes) {
			grow = append(grow, int64(homes+fpSlack-len(g.keys))*8)
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
// chunks' acc), inserted since the segments last grew. Each removal shifts down
// the fingerprints after it in its cluster that are past their home slot
// (the inverse of insert's shift): the ordered layout of a set is unique,
// so the table is again exactly as it was before the level, whatever the
// order of the removals.
func (s *fpset) undo(chunks []*candidates) {
	for _, c := range chunks {
		for i, a := range c.acc {
			if !a {
				continue
			}
			fp := nonzero(c.fps[i])
			g, j := s.locate(fp)
			for {
				k := g.keys[j+1]
				if k == 0 || homeIn(k, g.homes) > j {
					break
				}
				g.keys[j] = k
				j++
			}
			g.keys[j] = 0
			g.n--
			c.acc[i] = false
		}
	}
}
