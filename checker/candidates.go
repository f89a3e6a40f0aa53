package checker

import "math/bits"

// candidates is what one chunk of the frontier found in a level: the
// successors the seen set did not hold when it was expanded.
type candidates struct {
	fps    []uint64
	base   int     // the frontier position of the chunk's first state
	parent []uint8 // the parent's position in the chunk
	via    []int32
	acc    []bool
	// own[w], with more than one worker and without exact states, lists
	// the candidates whose fingerprints worker w inserts (insert), in
	// order: it visits only those, without testing every fingerprint.
	own    [][]uint32
	win    []uint32 // exact: the value the insert found or stored
	slot   []uint64 // exact: the table slot of an accepted candidate
	states []byte   // exact: the candidates, whole
	// Otherwise each candidate is its difference from its parent (see
	// frontier.go), one after the other.
	enc []byte
	// diffs[i] (a worker's scratch only) is the mask of the 8-byte words
	// in which candidate i differs from its parent (fp.Table.UpdateDiff),
	// or all ones when not known.
	diffs []uint64
	invs  []invHit  // invariants the chunk's new states violate
	viols []pending // step and deadlock violations, in frontier order
	trans int
	sink  uint64 // keeps the prefetch loads alive
	edges chunkEdges
	// out[d%2] is the run of the new states at depth d of this chunk and
	// the chunks after it that the same worker wrote one after the other
	// (empty when the chunk's went into the run of one before it): part
	// of the frontier of depth d+1, while the chunk finds the candidates
	// of depth d+1 and writes out[(d+1)%2].
	out [2]run
}

// trim lets go of the chunk's arrays that hold more than twice what this
// level put in them (plus a little): the chunk of one number expands
// different parts of the frontier from level to level, and would
// otherwise keep the most any level needed, in each of its arrays. (The
// arrays carved from the workers' slabs are the size of what they hold.)
func (c *candidates) trim() {
	c.win = trimmed(c.win)
	c.slot = trimmed(c.slot)
}

// setOwners fills own: the candidates' indexes grouped by the worker
// that inserts them (insertWorker), in order within each group, in one
// array carved from cs.
func (c *candidates) setOwners(workers int, cs *candSlabs) {
	if len(cs.count) < 2*(workers+1) {
		cs.count = make([]int, 2*(workers+1))
	}
	count, pos := cs.count[:workers+1], cs.count[workers+1:2*(workers+1)]
	clear(count)
	for _, fp := range c.fps {
		count[insertWorker(fp, workers)+1]++
	}
	for w := 1; w <= workers; w++ {
		count[w] += count[w-1]
	}
	idx := cs.u32.take(len(c.fps))
	copy(pos, count)
	for i, fp := range c.fps {
		w := insertWorker(fp, workers)
		idx[pos[w]] = uint32(i)
		pos[w]++
	}
	if len(c.own) != workers {
		c.own = make([][]uint32, workers)
	}
	for w := range c.own {
		c.own[w] = idx[count[w]:count[w+1]]
	}
}

func trimmed[T any](s []T) []T {
	if cap(s) > 2*len(s)+64 {
		return nil
	}
	return s
}

// capBytes is the chunk's memory by capacity, without its runs.
func (c *candidates) capBytes() int64 {
	// Not the arrays carved from the workers' slabs (worker.capBytes).
	return int64(cap(c.win))*4 + int64(cap(c.slot))*8 + int64(cap(c.diffs))*8 +
		int64(cap(c.invs))*16 + int64(cap(c.viols))*16 + c.edges.capBytes()
}

type pending struct {
	prop int
	k    uint32 // frontier position of the state where it was found
	id   int32  // the violating transition, -1 for a deadlock
}

// worker is one exploring goroutine's scratch, kept across levels.
type worker struct {
	// ample is the partial-order reduction's ample-set function for this
	// worker (PartialOrder.NewAmple), or nil.
	ample func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool
	nbuf  []byte // the proviso's canonical successor
	// With the cycle check (plan.cycleCheck): the reduced states of the
	// chunk being expanded (bit k-k0) and their fingerprints, and the
	// level's edges out of reduced states.
	reducedMask uint64 // (a chunk has at most 64 states: chunkFitsMask)
	reducedFP   [chunkStates]uint64
	cyc         []uint64 // source and target fingerprints
	cycBack     int64    // edges of cyc back to a level already searched
	buf, cbuf   []byte
	block       []byte // a chunk of the frontier, decoded
	tmp         []byte
	cands       candSet
	lastChunk   int        // the last chunk expanded in the level (-1: none)
	kept        candidates // the chunk's candidates, before they are copied to it
	canon       func(st, dst []byte)
	sc          candidates
	sacts       []int32
	sfault      []bool
	ex          *expander // this worker's callbacks (expandChunk)
	// segs counts the level's candidates this worker kept per segment of
	// the fingerprint set (for the insert phase's reserve).
	segs [fpSegs]int
	// slabs hold the arrays of the candidates of the chunks this worker
	// expanded in the level.
	slabs candSlabs
	// run is where writeRuns writes a run, before copying it to
	// runSlabs[depth%2]: the runs of depth d (the frontier of d+1) live
	// until the level after, while those of d+1 are written.
	run    run
	runFPs []uint64 // the fingerprints of run's states
	// accN[ci] is the number of chunk ci's candidates this worker
	// inserted as new states in the level's insert phase.
	accN []int32
	// What the chunks this worker expanded in the level hold, summed as
	// it expanded them, so that the phases after need not visit every
	// chunk (levelSums): their transitions, step and deadlock
	// violations, and graph edges.
	trans, viols, edges int
	// What writeRuns wrote for the chunks this worker took: the bytes of
	// the runs it closed, and the invariant violations it found.
	enc      int64
	invs     int
	runSlabs [2]struct {
		data slab[byte]
		keys slab[uint32]
		fps  slab[uint64]
	}
}

// resetAccN readies accN, zeroed, for a level of n chunks.
func (w *worker) resetAccN(n int) []int32 {
	w.accN = clear0(growTo(w.accN[:0], n)[:n])
	return w.accN
}

// chunkFitsMask fails to compile unless a chunk's states fit in
// worker.reducedMask's bits.
var chunkFitsMask [64 - chunkStates]struct{}

func (w *worker) capBytes() int64 {
	return int64(cap(w.buf)+cap(w.cbuf)+cap(w.block)+cap(w.tmp)) + w.kept.capBytes() + w.sc.capBytes() + int64(cap(w.sacts))*4 + int64(cap(w.sfault)) + w.slabs.bytes() + int64(cap(w.cyc))*8 + w.cands.bytes() + w.run.capBytes() + int64(cap(w.runFPs))*8 + int64(cap(w.accN))*4
}

// A candSet remembers the fingerprints of candidates a worker kept, to
// keep a state two states lead to once: most states a level finds again
// are of the level itself, found from states near each other in frontier
// order (N=3 family: of 9,973,878 successors, 969,036 are of earlier
// levels, 2,341,897 repeat a candidate of their chunk and 4.6 million one
// of another chunk), which would otherwise each be coded, stored and
// looked up in the fingerprint set by the insert phase.
//
// It is a cache, not a set: one fingerprint per slot, the newest, so a
// state it forgot is kept again and the insert phase, which keeps the
// first in frontier order, drops it. Small enough for a core's L2 cache,
// it costs less than an exact set of the level's candidates that misses
// the caches on each of them (N=3 family, one worker: 2.13-2.16 s against
// 2.28, with 2,972,036 candidates against 2,828,786). What it remembers
// it may remember from a level already committed: every candidate is in
// the fingerprint set after its level, so skipping it again is what the
// insert phase would do.
//
// Its size follows the levels: 2^10 fingerprints (8 KB) for a level
// that expects few candidates, up to 2^16 (512 KB). A set of the largest
// size in every check made a small one pay for it: a check of the N = 1
// family (157 states) took 4.66 ms with it, 2.96 without, the difference
// the sets' clearing and first page faults. The price is on the
// successor loop: the home slot's shift is a field, not a constant,
// about 0.3 ns more per add (a million adds to a 2^16 set, one core:
// 4.6-5.2 ms against 5.0-5.6), some 3 ms of the N = 3 family's 1.2 s.
type candSet struct {
	keys  []uint64
	shift uint8 // 64 less log2(len(keys)): home's shift
	// depth is the level that last added to it: one that did not commit
	// leaves fingerprints that are not in the fingerprint set.
	depth int
}

// candSetMinBits and candSetBits bound a candSet's size: 2^10 to 2^16
// fingerprints, 8 to 512 KB.
const (
	candSetMinBits = 10
	candSetBits    = 16
)

// add adds fp (never 0) and reports whether it was not there.
func (c *candSet) add(fp uint64) bool {
	i := c.home(fp)
	if c.keys[i] == fp {
		return false
	}
	c.keys[i] = fp
	return true
}

func (c *candSet) home(fp uint64) uint64 {
	return fp * 0x9E3779B97F4A7C15 >> c.shift
}

func (c *candSet) bytes() int64 { return int64(cap(c.keys)) * 8 }

// startLevel readies the set for the level of depth d, where its worker
// expects about n candidates: empty, unless what it holds is of levels
// before d, all committed. It grows (and empties) to twice n slots,
// within its bounds; it does not shrink.
func (c *candSet) startLevel(d, n int) {
	k := min(max(bits.Len(uint(2*n)), candSetMinBits), candSetBits)
	if len(c.keys) < 1<<k {
		c.keys = make([]uint64, 1<<k)
		c.shift = uint8(64 - k)
	} else if c.depth >= d {
		c.reset()
	}
	c.depth = d
}

func (c *candSet) reset() { clear(c.keys) }

// clear0 zeroes s and returns it.
func clear0[T any](s []T) []T {
	clear(s)
	return s
}

// nonzero maps fingerprint 0, the empty slot's mark, to 1.
func nonzero(f uint64) uint64 {
	if f == 0 {
		return 1
	}
	return f
}

// chunkOf returns the chunk whose flat candidate numbers hold ref.
func chunkOf(base []int, ref int) int {
	lo, hi := 0, len(base)-2
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if base[mid] <= ref {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
