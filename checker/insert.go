package checker

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// insert is phase 2: worker w inserts the candidates whose fingerprint is
// w modulo the number of workers, in frontier order, so the first
// occurrence of a state in frontier order is the one kept, as in the
// sequential search; it checks invariants on the new states. False when
// the seen set's growth would pass the memory budget.
func (b *bfs) insert(lv *levelWork) bool {
	s, size, workers := b.s, b.size, b.workers
	chunks := lv.chunks
	lv.candBase = make([]int, len(chunks)+1)
	var aux int64 // what the insert phase adds to the chunks
	for ci, c := range chunks {
		lv.candBase[ci] = lv.ncand
		n := len(c.fps)
		lv.ncand += n
		aux += growBytes(c.acc[:0], n, 1)
		if s.sset != nil {
			aux += growBytes(c.win[:0], n, 4) + growBytes(c.slot[:0], n, 8)
		}
	}
	lv.candBase[len(chunks)] = lv.ncand
	if b.ctl.budget != nil {
		var table int64
		if s.sset != nil {
			table = s.sset.growthBytes(lv.ncand)
		} else {
			table = s.fset.growthBytes(lv.ncand)
		}
		// The old table and the new one are both held while it grows.
		if need := b.held() + aux + table; need > b.ctl.budget.limit {
			b.stop(b.overBudget(need))
			return false
		}
	}
	for _, c := range chunks {
		n := len(c.fps)
		c.acc = clear0(growTo(c.acc[:0], n)[:n])
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
	} else {
		s.fset.reserve(lv.ncand, workers)
	}
	lv.invFound = make([][]invHit, workers)
	sinks := make([]uint64, workers)
	mine := func(fp uint64, w int) bool { return workers == 1 || int(fp%uint64(workers)) == w }
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if s.sset == nil {
				var sink uint64
				n := uint64(len(s.fset.keys))
				for _, c := range chunks {
					for _, fp := range c.fps {
						if mine(fp, w) {
							hi, _ := bits.Mul64(fp, n)
							sink += atomic.LoadUint64(&s.fset.keys[hi])
						}
					}
				}
				sinks[w] = sink
			}
			for ci, c := range chunks {
				for i, fp := range c.fps {
					if !mine(fp, w) {
						continue
					}
					st := c.states[i*size : (i+1)*size]
					if s.sset != nil {
						v, added, slot := s.sset.insert(fp, st, uint32(lv.candBase[ci]+i))
						c.win[i], c.slot[i] = v, slot
						if !added {
							continue
						}
					} else if !s.fset.insert(fp) {
						continue
					}
					c.acc[i] = true
					for _, pi := range b.inv {
						if !b.props[pi].State(st) {
							lv.invFound[w] = append(lv.invFound[w], invHit{pi, ci, i})
						}
					}
				}
			}
		}(w)
	}
	wg.Wait()
	for _, c := range chunks {
		for _, a := range c.acc {
			lv.nextN += b2i(a)
		}
		lv.edges += len(c.edges.dst)
	}
	return true
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
	if s.wide {
		kept += growBytes(s.via32, nextN, 4)
	} else {
		kept += growBytes(s.via16, nextN, 2)
	}
	kept += growBytes(s.parents.words, (nextN+curN)/64+2, 8) + growBytes(s.parents.blockOnes, (nextN+curN)/blockBits+2, 4)
	if s.sset != nil {
		kept += s.sset.pageBytes(nextN)
		extra += int64(lv.ncand) * 4 // candIndex
	}
	if g != nil {
		kept += g.growthBytes(curN, lv.edges)
	}
	if cap(b.spare) < nextN*b.size {
		extra += int64(nextN * b.size)
	}
	need := b.held() + kept + extra
	if g != nil {
		if after := s.bytes() + kept + int64(s.total+nextN)*analysisBytesPerState; after > need {
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
	for _, c := range lv.chunks {
		s.transitions += c.trans
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
	s, g, size, nextN, curN := b.s, b.g, b.size, lv.nextN, b.s.curN
	chunks := lv.chunks
	if s.wide {
		s.via32 = growTo(s.via32, nextN)
	} else {
		s.via16 = growTo(s.via16, nextN)
	}
	s.parents.words = growTo(s.parents.words, (nextN+curN)/64+2)
	s.parents.blockOnes = growTo(s.parents.blockOnes, (nextN+curN)/blockBits+2)
	if g != nil {
		g.grow(curN, lv.edges)
	}
	nextI := 0
	closed := 0 // frontier states whose unary parent code is written
	newIndex := map[[2]int]uint32{}
	wantInv := map[[2]int]bool{}
	for _, l := range lv.invFound {
		for _, f := range l {
			wantInv[[2]int{f.ci, f.i}] = true
		}
	}
	var candIndex []uint32 // exact: flat candidate → state index
	if s.sset != nil {
		candIndex = make([]uint32, lv.ncand)
	}
	chunkBase := make([]int, len(chunks)+1)
	for ci, c := range chunks {
		chunkBase[ci] = nextI
		for i := range c.fps {
			if !c.acc[i] {
				continue
			}
			for closed < int(c.parent[i]) {
				s.parents.push(false)
				closed++
			}
			s.parents.push(true)
			s.addVia(c.via[i])
			if wantInv[[2]int{ci, i}] {
				newIndex[[2]int{ci, i}] = uint32(s.total + nextI)
			}
			if s.sset != nil {
				candIndex[lv.candBase[ci]+i] = s.sset.commit(c.slot[i], c.states[i*size:(i+1)*size])
			}
			nextI++
		}
	}
	chunkBase[len(chunks)] = nextN
	if g != nil {
		// The level's edges, with candidates resolved to indexes.
		for _, c := range chunks {
			g.appendChunk(&c.edges, func(local uint32) uint32 {
				w := c.win[local]
				if w&pendingBit != 0 {
					return candIndex[w&^pendingBit]
				}
				return w
			})
		}
	}
	// Copy the new states into the next frontier, chunks in parallel.
	if cap(b.spare) < nextN*size {
		b.spare = nil // garbage before the new one is made
		b.spare = make([]byte, nextN*size)
	}
	next := b.spare[:nextN*size]
	var nextCopy atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < b.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ci := int(nextCopy.Add(1) - 1)
				if ci >= len(chunks) {
					return
				}
				c, o := chunks[ci], chunkBase[ci]*size
				for i := range c.fps {
					if c.acc[i] {
						copy(next[o:o+size], c.states[i*size:(i+1)*size])
						o += size
					}
				}
			}
		}()
	}
	wg.Wait()
	for closed < curN {
		s.parents.push(false)
		closed++
	}
	lv.next = next
	for pi := range b.props {
		if b.props[pi].Kind != Invariant || s.found[pi] != nil {
			continue
		}
		best := -1
		for _, l := range lv.invFound {
			for _, f := range l {
				if f.prop == pi {
					if g := int(newIndex[[2]int{f.ci, f.i}]); best < 0 || g < best {
						best = g
					}
				}
			}
		}
		if best >= 0 {
			b.report(pi, s.pathTo(uint32(best)))
		}
	}
}
