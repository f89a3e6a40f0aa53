package checker

import "sync/atomic"

// insert is phase 2: worker w inserts the candidates whose fingerprints
// fall in its range (insertWorker), in frontier order, so the first
// occurrence of a state in frontier order is the one kept, as in the
// sequential search. False when the seen set's growth would pass the
// memory budget.
func (b *bfs) insert(lv *levelWork) bool {
	s, size, workers := b.s, b.size, b.workers
	chunks := lv.chunks
	// The chunks' starts in the flat numbering, from their numbers of
	// candidates, which expand noted in candBase[ci+1] (a loop over the
	// chunks themselves would miss the cache on each: N = 3 family, 4
	// ms of the check, with the other workers waiting).
	for ci := range chunks {
		lv.candBase[ci+1] += lv.candBase[ci]
	}
	lv.ncand = lv.candBase[len(chunks)]
	var aux int64 // what the insert phase adds to the chunks
	if s.sset != nil {
		for ci, c := range chunks {
			n := lv.candBase[ci+1] - lv.candBase[ci]
			aux += growBytes(c.win[:0], n, 4) + growBytes(c.slot[:0], n, 8)
		}
	}
	// Candidates per segment of the fingerprint set, counted by the
	// workers as they expanded.
	counts := &b.segCounts
	if s.fset != nil {
		*counts = b.wks[0].segs
		for _, wk := range b.wks[1:] {
			for i := range wk.segs {
				counts[i] += wk.segs[i]
			}
		}
	}
	if b.ctl.budget != nil {
		var table int64
		if s.sset != nil {
			table = s.sset.growthBytes(lv.ncand)
		} else {
			table = s.fset.growthBytes(counts, workers)
		}
		// The old table and the new one are both held while it grows.
		if need := b.held() + aux + table; need > b.ctl.budget.limit {
			b.stop(b.overBudget(need))
			return false
		}
	}
	for _, c := range chunks {
		n := len(c.fps)
		if s.sset != nil {
			c.win = clear0(growTo(c.win[:0], n)[:n])
			c.slot = clear0(growTo(c.slot[:0], n)[:n])
		}
	}
	if s.sset != nil {
		s.sset.reserve(lv.ncand)
		s.sset.pending = func(ref uint32) []byte {
			ci := chunkOf(lv.candBase, int(ref))
			i := int(ref) - lv.candBase[ci]
			return chunks[ci].states[i*size : (i+1)*size]
		}
	}
	var nextGrow, grown atomic.Int32 // (fpset.growShared)
	if s.fset != nil {
		b.grows = s.fset.growing(counts, b.grows[:0])
	}
	sinks := make([]uint64, workers)
	found := make([]int, workers) // the new states each worker found
	// Worker w inserts the fingerprints of the w-th of as many ranges of
	// the fset's segments (chosen by the fingerprint's top bits) as there
	// are workers (insertWorker): each segment has one writer
	// (fpset.insert needs it), and the workers' writes do not share cache
	// lines.
	b.crew.run(func(w int) {
		if s.sset != nil {
			found[w] = b.insertExact(lv, w)
			return
		}
		// The segments grow first (all of them, the workers
		// together: growShared), then this worker takes its
		// candidates, chunk by chunk in frontier order: the home
		// slots of a chunk's fingerprints first (independent loads
		// whose cache misses overlap, few enough that their lines
		// are still cached when the inserts probe them), then the
		// inserts.
		s.fset.growShared(counts, b.grows, &nextGrow, &grown)
		accN := b.wks[w].resetAccN(len(chunks))
		n := 0
		var sink uint64
		for ci, c := range chunks {
			k := 0
			if workers == 1 {
				sink += s.fset.prefetch(c.fps)
				for i, fp := range c.fps {
					if s.fset.insert(fp) {
						c.acc[i] = true
						k++
					}
				}
			} else {
				// The chunk's candidates of this worker, listed when
				// it was expanded (candidates.setOwners).
				own := c.own[w]
				sink += s.fset.prefetchAt(c.fps, own)
				for _, i := range own {
					if s.fset.insert(c.fps[i]) {
						c.acc[i] = true
						k++
					}
				}
			}
			accN[ci] = int32(k)
			n += k
		}
		sinks[w] = sink
		found[w] = n
	})
	for _, n := range found {
		lv.nextN += n
	}
	for _, wk := range b.wks {
		lv.edges += wk.edges
	}
	return true
}

// insertWorker is the worker that inserts fingerprint fp when there are
// workers of them: the w-th of as many ranges of the fingerprint set's
// segments.
func insertWorker(fp uint64, workers int) int {
	return int((fp >> (64 - fpSegBits)) * uint64(workers) >> fpSegBits)
}

// insertExact is insert's work for worker w with exact states: the
// candidates of its range of the fingerprints (insertWorker), in frontier
// order. It returns the number of new states.
func (b *bfs) insertExact(lv *levelWork, w int) int {
	s, size, workers := b.s, b.size, b.workers
	accN := b.wks[w].resetAccN(len(lv.chunks))
	n := 0
	for ci, c := range lv.chunks {
		for i, fp := range c.fps {
			if insertWorker(fp, workers) != w {
				continue
			}
			st := c.states[i*size : (i+1)*size]
			v, added, slot := s.sset.insert(fp, st, uint32(lv.candBase[ci]+i))
			c.win[i], c.slot[i] = v, slot
			if added {
				c.acc[i] = true
				accN[ci]++
				n++
			}
		}
	}
	return n
}

// admit checks, before the level is committed, that what committing it
// adds fits the memory budget: parent links, the new frontier, the stored
// states and the graph's edges; and, with a graph, room for the analysis
// after the search. When it does not, it puts the seen set back as it was
// before the level and returns false.
func (b *bfs) admit(lv *levelWork) bool {
	if b.ctl.budget == nil && testHook == nil {
		return true
	}
	s, g, nextN, curN := b.s, b.g, lv.nextN, b.s.curN
	var extra, kept int64
	kept += s.via.growBytes(nextN)
	kept += s.parents.reserveBytes(curN + nextN)
	if s.sset != nil {
		kept += s.sset.pageBytes(nextN)
		extra += int64(lv.ncand) * 4 // candIndex
	}
	if g != nil {
		kept += g.growthBytes(curN, lv.edges)
	}
	extra += b.runGrowth(lv)
	var edges int // the level's edges out of reduced states
	if b.cycleCheck {
		for _, wk := range b.wks {
			edges += len(wk.cyc) / 2
		}
		kept += s.cyc.growthBytes(edges)
	}
	need := b.held() + kept + extra
	if g != nil {
		if after := s.bytes() + kept + int64(s.total+nextN)*analysisBytesPerState; after > need {
			need = after
		}
	}
	if b.cycleCheck {
		// The cycle check after the search, on the edges so far.
		if after := s.bytes() + kept + cycleCheckBytes(s.cyc.n()+edges, int(s.reduced+b.reduced.Load())); after > need {
			need = after
		}
	}
	forced := testHook != nil && testHook("commit", s.depth)
	if !forced && (b.ctl.budget == nil || need <= b.ctl.budget.limit) {
		return true
	}
	if s.sset != nil {
		s.sset.undo(lv.chunks)
	} else {
		s.fset.undo(lv.chunks)
	}
	if forced {
		b.stop("memory budget reached (forced by a test)")
	} else {
		b.stop(b.overBudget(need))
	}
	return false
}

// stepViolations reports the level's step and deadlock violations: the
// first in frontier order.
func (b *bfs) stepViolations(lv *levelWork) {
	s := b.s
	viols := 0
	for _, wk := range b.wks {
		s.transitions += wk.trans
		viols += wk.viols
	}
	if viols == 0 {
		return
	}
	for _, c := range lv.chunks {
		for _, v := range c.viols {
			if s.found[v.prop] != nil {
				continue
			}
			p := s.pathTo(uint32(s.levelStart) + v.k)
			if v.id >= 0 {
				p = append(p, v.id)
			}
			b.report(v.prop, p)
		}
	}
}

// assemble is phase 3: the new states, in frontier order, get their
// indexes, parent links and transitions and become the next frontier;
// the graph visitor resolves the level's edges to indexes; invariant
// violations are reported, the first new state in frontier order.
func (b *bfs) assemble(lv *levelWork) {
	s, g, nextN, curN := b.s, b.g, lv.nextN, b.s.curN
	s.via.reserve(nextN)
	s.parents.reserve(curN + nextN)
	s.parents.extend(curN + nextN)
	if g != nil {
		g.grow(curN, lv.edges)
	}
	// writeRuns writes the parent links and the transitions, chunk by
	// chunk in parallel: a chunk's place in them follows from the states
	// before it. The exact seen set's commits and the graph's edges go in
	// frontier order, one after the other; with more than one worker
	// beside writeRuns.
	if s.sset != nil && b.workers > 1 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.commitExact(lv)
		}()
		b.writeRuns(lv)
		<-done
	} else {
		if s.sset != nil {
			b.commitExact(lv)
		}
		b.writeRuns(lv)
	}
	s.parents.commit(curN+nextN, nextN)
	s.via.setLen(s.total + nextN)
	b.invariantHits(lv)
}

// commitExact commits the level's new states to the exact seen set in
// frontier order, and adds the level's edges to the graph, with
// candidates resolved to the indexes the commits gave them.
func (b *bfs) commitExact(lv *levelWork) {
	s, g, size := b.s, b.g, b.size
	candIndex := make([]uint32, lv.ncand) // flat candidate → state index
	for ci, c := range lv.chunks {
		for i := range c.fps {
			if c.acc[i] {
				candIndex[lv.candBase[ci]+i] = s.sset.commit(c.slot[i], c.states[i*size:(i+1)*size])
			}
		}
	}
	if g == nil {
		return
	}
	for _, c := range lv.chunks {
		g.appendChunk(&c.edges, func(local uint32) uint32 {
			w := c.win[local]
			if w&pendingBit != 0 {
				return candIndex[w&^pendingBit]
			}
			return w
		})
	}
}

// invariantHits reports the level's invariant violations, the first new
// state in frontier order.
func (b *bfs) invariantHits(lv *levelWork) {
	s, chunks := b.s, lv.chunks
	hits := 0
	for _, wk := range b.wks {
		hits += wk.invs
	}
	if hits == 0 {
		return
	}
	for pi := range b.props {
		if b.props[pi].Kind != Invariant || s.found[pi] != nil {
			continue
		}
		best := -1
		for _, c := range chunks {
			for _, f := range c.invs {
				if f.prop == pi && (best < 0 || int(f.g) < best) {
					best = int(f.g)
				}
			}
		}
		if best >= 0 {
			b.report(pi, s.pathTo(uint32(best)))
		}
	}
}

// accepted is the number of chunk ci's candidates that the insert phase
// found new (worker.accN of the level's workers).
func (b *bfs) accepted(ci int) int {
	n := 0
	for _, wk := range b.wks[:b.workers] {
		n += int(wk.accN[ci])
	}
	return n
}

// writeRuns writes the level's new states, chunk by chunk in parallel,
// into runs, which become the next frontier: each accepted
// candidate, whole or decoded from its parent (the frontier's chunk of
// the same number, decoded again); it checks the invariants on them.
// It also writes each new state's transition and the ones of the parent
// links (after parents.extend, before parents.commit): the links of chunk
// ci start after the states before it and their children, and its
// candidates come in the order of their parents.
func (b *bfs) writeRuns(lv *levelWork) {
	s, size, par := b.s, b.size, b.s.depth%2
	// The index of each chunk's first new state, and past the last.
	b.first = growTo(b.first[:0], len(lv.chunks)+1)[:len(lv.chunks)+1]
	first := b.first
	g := uint32(s.total)
	for ci := range lv.chunks {
		first[ci] = g
		g += uint32(b.accepted(ci))
	}
	first[len(lv.chunks)] = g
	links0 := s.parents.n // the level's first link
	// The states' fingerprints, for their successors' (parentFP), unless
	// they are canonical (symmetry), whose successors' are computed whole.
	keepFPs := b.newCanon == nil
	// Worker w writes the chunks of the w-th range first, as in expand:
	// mostly those it expanded, whose candidates its own core's caches
	// may still hold (N=3 family, two workers: the phase's writing took
	// about 175 ms instead of 200 when any worker took the next chunk).
	ranges := chunkRanges(len(lv.chunks), b.workers)
	// runs[ci] is the run chunk ci opened, nil where it opened none.
	b.runs = clear0(growTo(b.runs[:0], len(lv.chunks))[:len(lv.chunks)])
	runs := b.runs
	for _, wk := range b.wks {
		wk.enc, wk.invs = 0, 0
	}
	b.crew.run(func(w int) {
		wk := b.wks[w]
		// This worker's slabs of this parity held the runs of the
		// frontier before the one being expanded: done with.
		rs := &wk.runSlabs[par]
		rs.data.reset()
		rs.keys.reset()
		rs.fps.reset()
		// The new states of chunks the worker takes one after the other
		// go into one run, kept by the first of them (open): a run per
		// chunk would make the next level's chunks as small as this
		// level's share of new states per chunk (N = 3 family: 17 states
		// a chunk on average, against up to 64), each with its own key
		// state, whole, and its own costs in every phase. A run ends
		// at the first chunk boundary past half a slab block, so that it
		// is carved from the slabs (larger, it would be an array of its
		// own, allocated level after level).
		out, open, last := &wk.run, -1, -1
		flush := func() {
			if open < 0 {
				return
			}
			// Into the run, carved from the slabs.
			r := &lv.chunks[open].out[par]
			r.data, r.keys, r.n, r.last, r.fps = rs.data.copyOf(out.data), rs.keys.copyOf(out.keys), out.n, nil, nil
			if keepFPs {
				r.fps = rs.fps.copyOf(wk.runFPs)
			}
			runs[open] = r
			wk.enc += int64(len(r.data))
			open = -1
		}
		defer flush()
		for {
			ci := takeChunk(ranges, w)
			if ci < 0 {
				return
			}
			c := lv.chunks[ci]
			c.out[par] = run{}
			if ci != last+1 || len(out.data) >= slabBlock/2 {
				flush()
			}
			if open < 0 {
				open = ci
				out.reset()
				wk.runFPs = wk.runFPs[:0]
			}
			last = ci
			fc := s.front.chunks[ci]
			c.invs = c.invs[:0]
			decoded := false
			o := 0 // candidate i's difference is c.enc[o:]
			g := first[ci]
			// The link of the chunk's j-th new state, a child of its
			// p-th state, is bit at+p+j; word holds ones not written
			// yet.
			at := links0 + c.base + int(g) - s.total
			word, ones := -1, uint64(0)
			for i := range c.fps {
				if !c.acc[i] {
					if s.sset == nil {
						o += skipDelta(c.enc[o:])
					}
					continue
				}
				p := int(c.parent[i])
				var st []byte
				if s.sset != nil {
					st = c.states[i*size : (i+1)*size]
				} else {
					if !decoded {
						fc.r.decode(fc.j, size, wk.block)
						decoded = true
					}
					st = wk.tmp
					copy(st, wk.block[p*size:(p+1)*size])
					o += applyDelta(st, c.enc[o:])
				}
				s.via.put(int(g), c.via[i])
				bit := at + p + int(g-first[ci])
				if bit/64 != word {
					if word >= 0 {
						s.parents.setOnes(word, ones)
					}
					word, ones = bit/64, 0
				}
				ones |= 1 << (bit % 64)
				out.add(st)
				if keepFPs {
					wk.runFPs = append(wk.runFPs, c.fps[i])
				}
				for _, pi := range b.inv {
					if !b.props[pi].State(st) {
						c.invs = append(c.invs, invHit{pi, g})
					}
				}
				g++
			}
			if word >= 0 {
				s.parents.setOnes(word, ones)
			}
			wk.invs += len(c.invs)
		}
	})
	var enc int64
	for _, wk := range b.wks {
		enc += wk.enc
	}
	if lv.nextN > 0 {
		b.perState = float64(enc) / float64(lv.nextN)
	}
	sp := &b.spare[par]
	lv.next = newFrontierIn(runs, sp.chunks, sp.runs)
	sp.chunks, sp.runs = lv.next.chunks, lv.next.runs
}

// runGrowth is what writing the level's new states into the chunks' runs
// may add: their number times the bytes per state of the last level (the
// whole state before the first), for the runs that have not the room.
func (b *bfs) runGrowth(lv *levelWork) int64 {
	per := b.perState
	if per == 0 {
		per = float64(b.size)
	}
	var grow int64
	for ci, c := range lv.chunks {
		n := b.accepted(ci)
		out := &c.out[b.s.depth%2]
		if need := int64(float64(n)*per*1.25) + int64(b.size)*2; need > int64(cap(out.data)) {
			grow += need - int64(cap(out.data))
		}
	}
	return grow
}
