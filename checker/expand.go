package checker

import "sync/atomic"

// levelWork is one level's work between its phases.
type levelWork struct {
	chunks   []*candidates
	candBase []int // flat candidate numbering: chunk ci's start
	ncand    int
	invFound []invHit // invariants violated by the new states
	nextN    int
	edges    int       // the level's graph edges
	next     *frontier // the next frontier
}

// invHit is invariant prop violated by new state g.
type invHit struct {
	prop int
	g    uint32
}

// expand is phase 1: workers take chunks of the frontier in turn,
// generate successors, check step properties and deadlock, and keep as
// candidates the successors the seen set does not hold yet. False when
// the search stopped (cancelled, or over the memory budget).
func (b *bfs) expand(lv *levelWork) bool {
	b.reduced.Store(0)
	// Worker w takes the chunks of the w-th of as many ranges of the
	// frontier as there are workers, in order, then those left in the
	// others' ranges: a worker's chunks are mostly near each other in
	// frontier order, where the states a level finds twice are found
	// (candSet), and its chunks come in frontier order until it helps
	// another range.
	ranges := chunkRanges(len(lv.chunks), b.workers)
	var cancelled, overLimit atomic.Bool
	var grown atomic.Int64 // what the candidates and scratch grew by
	var held0 int64
	if b.ctl.budget != nil {
		held0 = b.held()
	}
	// Chunk ci's workers note its number of candidates in
	// candBase[ci+1], which insert turns into the chunks' starts.
	b.candBase = clear0(growTo(b.candBase[:0], len(lv.chunks)+1)[:len(lv.chunks)+1])
	lv.candBase = b.candBase
	// A worker's share of the level's successors, about 5 per state on
	// the family (candSet sizes itself by it).
	share := len(lv.chunks) * chunkStates * 5 / b.workers
	for _, wk := range b.wks {
		wk.trans, wk.viols, wk.edges = 0, 0, 0
		wk.cyc, wk.cycBack = wk.cyc[:0], 0 // a level that stopped leaves some
		clear(wk.segs[:])
		wk.cands.startLevel(b.s.depth, share)
		wk.lastChunk = -1
		wk.slabs.reset() // the last level's candidates are done with
	}
	b.crew.run(func(w int) {
		wk := b.wks[w]
		for done := 0; ; done++ {
			ci := takeChunk(ranges, w)
			if ci < 0 {
				return
			}
			if done%64 == 0 && b.ctx.Err() != nil {
				cancelled.Store(true)
				return
			}
			if overLimit.Load() {
				return
			}
			c := lv.chunks[ci]
			if c == nil {
				c = &candidates{}
				lv.chunks[ci] = c // (and in the explorer's pool)
			}
			var before int64
			if b.ctl.budget != nil {
				before = c.capBytes() + wk.capBytes()
			}
			b.expandChunk(wk, ci, c, b.s.front.chunks[ci])
			lv.candBase[ci+1] = len(c.fps)
			wk.trans += c.trans
			wk.viols += len(c.viols)
			wk.edges += len(c.edges.dst)
			if b.ctl.budget != nil {
				if d := c.capBytes() + wk.capBytes() - before; d > 0 && held0+grown.Add(d) > b.ctl.budget.limit {
					overLimit.Store(true)
					return
				}
			}
		}
	})
	if cancelled.Load() {
		b.stop("cancelled: " + b.ctx.Err().Error())
		return false
	}
	if overLimit.Load() {
		b.stop(b.overBudget(0))
		return false
	}
	return true
}

// A chunkRange is a range of a level's chunks, taken in order: next is
// the first not taken yet, end the range's end.
type chunkRange struct {
	next atomic.Int64
	end  int64
	_    [64 - 16]byte // ranges taken by different workers: different cache lines
}

// chunkRanges splits n chunks into as many ranges as there are workers.
func chunkRanges(n, workers int) []chunkRange {
	ranges := make([]chunkRange, workers)
	for w := range ranges {
		ranges[w].next.Store(int64(w * n / workers))
		ranges[w].end = int64((w + 1) * n / workers)
	}
	return ranges
}

// takeChunk returns the next chunk of worker w's range, or when it has
// none left, of the next range after it that has one; -1 when every
// range is done.
func takeChunk(ranges []chunkRange, w int) int {
	for i := range ranges {
		r := &ranges[(w+i)%len(ranges)]
		if r.next.Load() >= r.end {
			continue
		}
		if ci := r.next.Add(1) - 1; ci < r.end {
			return int(ci)
		}
	}
	return -1
}

// expandChunk expands frontier chunk fc, the ci-th, into chunk c. Without
// a reduction, exact states or a graph, each successor not in the
// worker's candidate cache (candSet) is kept as the model yields it
// (expander.keep), as its difference from its parent. Otherwise all the
// states' successors go first into the worker's scratch (which stays in
// the cache), then one batch of seen-set lookups (prefetched first, so
// that their cache misses overlap), then those neither seen nor in the
// candidate cache are added to the chunk: whole with exact states,
// otherwise as their difference from their parent.
func (b *bfs) expandChunk(wk *worker, ci int, c *candidates, fc frontierChunk) {
	s, g, m, size := b.s, b.g, b.m, b.size
	buf, canon := wk.buf, wk.canon
	sc := &wk.sc
	// (The chunk's arrays carved from the slabs are set at the end.)
	c.viols, c.trans, c.win, c.slot, c.base = c.viols[:0], 0, c.win[:0], c.slot[:0], fc.base
	c.edges.reset()
	sc.fps, sc.parent, sc.via, sc.states, sc.diffs = sc.fps[:0], sc.parent[:0], sc.via[:0], sc.states[:0], sc.diffs[:0]
	kc := &wk.kept
	kc.fps, kc.parent, kc.via, kc.states, kc.enc = kc.fps[:0], kc.parent[:0], kc.via[:0], kc.states[:0], kc.enc[:0]
	ex := wk.ex
	if ex == nil {
		ex = newExpander(b, wk)
		wk.ex = ex
	}
	wk.sacts, wk.sfault = wk.sacts[:0], wk.sfault[:0]
	if ci < wk.lastChunk {
		// (A chunk before the last: the candidates of the set are not
		// earlier in frontier order.)
		wk.cands.reset()
	}
	wk.lastChunk = ci
	n := fc.r.decode(fc.j, size, wk.block)
	k0, k1 := fc.base, fc.base+n
	ex.c, ex.k0 = c, k0
	yield, isNew := ex.yieldFn, ex.isNewFn
	// Without a reduction, exact states or a graph, no successor needs the
	// seen set or the scratch: each is taken (keep) as it comes.
	direct := s.sset == nil && wk.ample == nil && g == nil
	if direct {
		yield = ex.keepFn
	}
	cycleCheck := b.cycleCheck
	if cycleCheck {
		isNew = nil // any ample set will do
	}
	wk.reducedMask = 0
	for k := k0; k < k1; k++ {
		st := wk.block[(k-k0)*size : (k-k0+1)*size]
		ex.k, ex.st, ex.succ, ex.moves = k, st, 0, 0
		if canon == nil {
			ex.pfp = b.parentFP(fc, k-k0, st)
		}
		if wk.ample != nil {
			mark, vmark := len(sc.fps), len(c.viols)
			if wk.ample(st, buf, isNew, yield) && ex.moves > 0 && (cycleCheck || ex.someNew(mark)) {
				if cycleCheck {
					// Its edges are kept for the cycle check (cycle.go).
					wk.reducedMask |= 1 << (k - k0)
					if canon == nil {
						wk.reducedFP[k-k0] = nonzero(ex.pfp)
					} else {
						wk.reducedFP[k-k0] = nonzero(b.tab.Of(st))
					}
				}
				b.reduced.Add(1)
				c.trans += ex.succ
				continue
			}
			// Not reducible here (no ample set, one without a move that
			// is not a fault, or the breadth-first proviso).
			sc.fps, sc.parent, sc.via, sc.states, sc.diffs = sc.fps[:mark], sc.parent[:mark], sc.via[:mark], sc.states[:mark*size], sc.diffs[:mark]
			if g != nil {
				wk.sacts, wk.sfault = wk.sacts[:mark], wk.sfault[:mark]
			}
			c.viols = c.viols[:vmark]
			ex.succ, ex.moves = 0, 0
		}
		mark := len(sc.fps)
		m.Next(st, buf, yield)
		c.trans += ex.succ
		// Faults are optional: a state whose only moves are faults is
		// stuck.
		if ex.moves == 0 && b.deadlock >= 0 && !m.Quiescent(st) {
			c.viols = append(c.viols, pending{prop: b.deadlock, k: uint32(k), id: -1})
		}
		if g != nil {
			c.edges.state(m, wk.sacts[mark:], wk.sfault[mark:])
		}
	}
	// Without a reduction, the fingerprint set is not asked here: most
	// successors already found are states of the next level, which only
	// the insert phase knows (N=3 family: of 9,973,878 successors, 969,036
	// are of earlier levels, 2,341,897 repeat one of the chunk's own and
	// 4.6 million one of another chunk's), so that 10 million lookups, one
	// cache miss each, spared the insert phase a tenth of its candidates.
	// With a reduction the cycle check counts the edges back to earlier
	// levels, and the exact set is asked for the graph's edges.
	lookup := s.sset != nil || wk.ample != nil
	if lookup && s.sset == nil {
		c.sink += s.fset.prefetch(sc.fps)
	}
	for i, f := range sc.fps {
		st := sc.states[i*size : (i+1)*size]
		var v uint32
		var old bool
		switch {
		case s.sset != nil:
			v, old = s.sset.lookup(f, st)
		case lookup:
			old = s.fset.contains(f)
		}
		if wk.reducedMask>>sc.parent[i]&1 != 0 {
			wk.cyc = append(wk.cyc, wk.reducedFP[sc.parent[i]], f)
			wk.cycBack += int64(b2i(old))
		}
		if old {
			if g != nil { // (the graph is recorded with exact states only)
				c.edges.add(v, sc.via[i], wk.sacts[i], wk.sfault[i])
			}
			continue
		}
		if s.sset == nil && !wk.cands.add(f) {
			// A candidate of this chunk, of an earlier one this
			// worker expanded in the level already or of an earlier
			// level: a state two states lead to is kept once, the
			// first in frontier order, which the insert phase would
			// keep (a worker's chunks come in frontier order).
			continue
		}
		if g != nil {
			c.edges.add(pendingBit|uint32(len(kc.fps)), sc.via[i], wk.sacts[i], wk.sfault[i])
		}
		kc.fps = append(kc.fps, f)
		kc.parent = append(kc.parent, sc.parent[i])
		kc.via = append(kc.via, sc.via[i])
		if s.sset != nil {
			kc.states = append(kc.states, st...)
		} else {
			p := int(sc.parent[i])
			kc.enc = appendDeltaMask(kc.enc, wk.block[p*size:(p+1)*size], st, sc.diffs[i])
		}
	}
	if s.sset == nil {
		segCounts(&wk.segs, kc.fps)
	}
	// Into the chunk, in arrays carved from the worker's slabs, each of
	// the size it holds.
	cs := &wk.slabs
	c.fps = cs.u64.copyOf(kc.fps)
	c.acc = cs.b.take(len(kc.fps))
	clear(c.acc)
	if s.sset == nil && b.workers > 1 {
		c.setOwners(b.workers, cs)
	}
	c.parent = cs.u8.copyOf(kc.parent)
	c.via = cs.i32.copyOf(kc.via)
	c.states = cs.u8.copyOf(kc.states)
	c.enc = cs.u8.copyOf(kc.enc)
	if b.ctl.prog != nil {
		b.ctl.prog.expanded.Add(int64(k1 - k0))
	}
}

// parentFP is the raw fingerprint of st, the i-th state of frontier chunk
// fc: the one its run keeps, unless that is 1, which nonzero also makes of
// 0 (then, and for a run without them, computed).
func (b *bfs) parentFP(fc frontierChunk, i int, st []byte) uint64 {
	if fps := fc.r.fps; fps != nil {
		if f := fps[fc.j*chunkStates+i]; f != 1 {
			return f
		}
	}
	return b.tab.Of(st)
}

// An expander is one worker's state while it expands a chunk, with the
// callbacks the model and the reduction call: made once per worker (a
// closure per chunk cost allocations per chunk).
type expander struct {
	b  *bfs
	wk *worker
	c  *candidates
	// k is the frontier position of the state being expanded, st the
	// state, pfp its raw fingerprint (which its successors' update,
	// fp.Table); k0 is the chunk's first position; yield counts the
	// successors and the moves that are not faults.
	k0, k       int
	st          []byte
	pfp         uint64
	succ, moves int
	yieldFn     func(id, actor int32, fault bool, next []byte) bool
	keepFn      func(id, actor int32, fault bool, next []byte) bool
	isNewFn     func(next []byte) bool
}

func newExpander(b *bfs, wk *worker) *expander {
	ex := &expander{b: b, wk: wk}
	ex.yieldFn, ex.keepFn, ex.isNewFn = ex.yield, ex.keep, ex.isNew
	return ex
}

// seen reports whether a successor (canonical under symmetry) was found
// before this level.
func (ex *expander) seen(f uint64, st []byte) bool {
	s := ex.b.s
	if s.sset != nil {
		_, ok := s.sset.lookup(f, st)
		return ok
	}
	return s.fset.contains(f)
}

// fpOf is next's fingerprint, next a successor of st by transition id
// (-1: not known), canonical under symmetry (into dst), and the mask of
// the words in which it differs from st (all ones under symmetry).
func (ex *expander) fpOf(next, dst []byte, id int32) ([]byte, uint64, uint64) {
	if canon := ex.wk.canon; canon != nil {
		canon(next, dst)
		return dst, nonzero(ex.b.tab.Of(dst)), ^uint64(0)
	}
	if w := ex.b.writes; w != nil && id >= 0 && int(id) < len(w) {
		f, diff := ex.b.tab.UpdateMasked(ex.pfp, ex.st, next, w[id])
		return next, nonzero(f), diff
	}
	f, diff := ex.b.tab.UpdateDiff(ex.pfp, ex.st, next)
	return next, nonzero(f), diff
}

// someNew is the breadth-first cycle proviso (Options.BFSProviso): some
// ample successor of the state being expanded, those from mark on in the
// worker's scratch, is new (not found at this level or an earlier one).
// A state none of whose ample successors is new is expanded fully; then
// some ample successor of every reduced state is one level deeper, which
// is what the argument needs (see Options.POR).
func (ex *expander) someNew(mark int) bool {
	sc, size := &ex.wk.sc, ex.b.size
	for i, f := range sc.fps[mark:] {
		if !ex.seen(f, sc.states[(mark+i)*size:(mark+i+1)*size]) {
			return true
		}
	}
	return false
}

// isNew is the reduction's view of seen.
func (ex *expander) isNew(next []byte) bool {
	next, f, _ := ex.fpOf(next, ex.wk.nbuf, -1)
	return !ex.seen(f, next)
}

// yield takes a successor of st into the worker's scratch, after the step
// properties.
func (ex *expander) yield(id, actor int32, fault bool, next []byte) bool {
	wk := ex.wk
	sc := &wk.sc
	ex.step(id, fault, next)
	next, f, diff := ex.fpOf(next, wk.cbuf, id)
	sc.fps = append(sc.fps, f)
	sc.diffs = append(sc.diffs, diff)
	sc.parent = append(sc.parent, uint8(ex.k-ex.k0))
	sc.via = append(sc.via, id)
	sc.states = append(sc.states, next...)
	if ex.b.g != nil {
		wk.sacts = append(wk.sacts, actor)
		wk.sfault = append(wk.sfault, fault)
	}
	return true
}

// keep is yield when every successor is kept unless the worker's candSet
// holds it (expandChunk's direct case): it is looked up there at once and,
// when new, coded as its difference from st into the worker's kept
// candidates, without a copy in the scratch. (The set fits a core's L2
// cache: a lookup costs less than a pass over the scratch.) The
// successors come in the order expandChunk's loop over the scratch takes
// them, so the same are kept.
func (ex *expander) keep(id, actor int32, fault bool, next []byte) bool {
	wk := ex.wk
	ex.step(id, fault, next)
	next, f, diff := ex.fpOf(next, wk.cbuf, id)
	if !wk.cands.add(f) {
		return true
	}
	kc := &wk.kept
	kc.fps = append(kc.fps, f)
	kc.parent = append(kc.parent, uint8(ex.k-ex.k0))
	kc.via = append(kc.via, id)
	kc.enc = appendDeltaMask(kc.enc, ex.st, next, diff)
	return true
}

// step counts a successor of st by transition id, and checks the step
// properties on it.
func (ex *expander) step(id int32, fault bool, next []byte) {
	b, c := ex.b, ex.c
	ex.succ++
	if !fault {
		ex.moves++
	}
	if b.stepOf != nil {
		for _, pi := range b.stepOf[id] {
			if !b.props[pi].Step(ex.st, id, next) {
				c.viols = append(c.viols, pending{prop: int(pi), k: uint32(ex.k), id: id})
			}
		}
	} else {
		for _, pi := range b.step {
			if !b.props[pi].Step(ex.st, id, next) {
				c.viols = append(c.viols, pending{prop: pi, k: uint32(ex.k), id: id})
			}
		}
	}
}
