package checker

import (
	"sync"
	"sync/atomic"

	fp "github.com/xbcheck/xbcheck/internal/fingerprint"
)

// levelWork is one level's work between its phases.
type levelWork struct {
	chunks   []*candidates
	candBase []int // flat candidate numbering: chunk ci's start
	ncand    int
	invFound [][]invHit // per insert worker
	nextN    int
	edges    int    // the level's graph edges
	next     []byte // the next frontier
}

// invHit is an invariant violated by candidate i of chunk ci.
type invHit struct{ prop, ci, i int }

// expand is phase 1: workers take chunks of the frontier in turn,
// generate successors, check step properties and deadlock, and keep as
// candidates the successors the seen set does not hold yet. False when
// the search stopped (cancelled, or over the memory budget).
func (b *bfs) expand(lv *levelWork) bool {
	b.reduced.Store(0)
	var nextChunk atomic.Int64
	var cancelled, overLimit atomic.Bool
	var grown atomic.Int64 // what the candidates and scratch grew by
	var held0 int64
	if b.ctl.budget != nil {
		held0 = b.held()
	}
	var wg sync.WaitGroup
	for w := 0; w < b.workers; w++ {
		wg.Add(1)
		go func(wk *worker) {
			defer wg.Done()
			for {
				ci := int(nextChunk.Add(1) - 1)
				if ci >= len(lv.chunks) {
					return
				}
				if ci%64 == 0 && b.ctx.Err() != nil {
					cancelled.Store(true)
					return
				}
				if overLimit.Load() {
					return
				}
				c := lv.chunks[ci]
				var before int64
				if b.ctl.budget != nil {
					before = c.capBytes() + wk.capBytes()
				}
				b.expandChunk(wk, c, ci*chunkStates, min((ci+1)*chunkStates, b.s.curN))
				if b.ctl.budget != nil {
					if d := c.capBytes() + wk.capBytes() - before; d > 0 && held0+grown.Add(d) > b.ctl.budget.limit {
						overLimit.Store(true)
						return
					}
				}
			}
		}(b.wks[w])
	}
	wg.Wait()
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

// expandChunk expands frontier states k0 to k1 into chunk c: all their
// successors first, into the worker's scratch (which stays in the cache),
// then one batch of seen-set lookups (prefetched first, so that their
// cache misses overlap), then the unseen ones are copied to the chunk.
func (b *bfs) expandChunk(wk *worker, c *candidates, k0, k1 int) {
	s, g, m, size, props := b.s, b.g, b.m, b.size, b.props
	buf, canon, cbuf := wk.buf, wk.canon, wk.cbuf
	sc := &wk.sc
	c.fps, c.parent, c.via, c.acc, c.states, c.viols, c.trans = c.fps[:0], c.parent[:0], c.via[:0], c.acc[:0], c.states[:0], c.viols[:0], 0
	c.win, c.slot = c.win[:0], c.slot[:0]
	c.edges.reset()
	sc.fps, sc.parent, sc.via, sc.states = sc.fps[:0], sc.parent[:0], sc.via[:0], sc.states[:0]
	sacts, sfault := wk.sacts[:0], wk.sfault[:0]
	for k := k0; k < k1; k++ {
		st := s.cur[k*size : (k+1)*size]
		succ, moves := 0, 0
		yield := func(id, actor int32, fault bool, next []byte) bool {
			succ++
			if !fault {
				moves++
			}
			for _, pi := range b.step {
				if !props[pi].Step(st, id, next) {
					c.viols = append(c.viols, pending{prop: pi, k: uint32(k), id: id})
				}
			}
			if canon != nil {
				canon(next, cbuf)
				next = cbuf
			}
			sc.fps = append(sc.fps, nonzero(fp.OfSeed(next, b.seed)))
			sc.parent = append(sc.parent, uint32(k))
			sc.via = append(sc.via, id)
			sc.states = append(sc.states, next...)
			if g != nil {
				sacts = append(sacts, actor)
				sfault = append(sfault, fault)
			}
			return true
		}
		if b.ample != nil {
			mark, vmark := len(sc.fps), len(c.viols)
			if b.ample.Ample(st, buf, yield) && moves > 0 {
				// Cycle proviso: an ample successor seen already means a
				// full expansion.
				again := false
				for i, f := range sc.fps[mark:] {
					var seen bool
					if s.sset != nil {
						_, seen = s.sset.lookup(f, sc.states[(mark+i)*size:(mark+i+1)*size])
					} else {
						seen = s.fset.contains(f)
					}
					if seen {
						again = true
						break
					}
				}
				if !again {
					b.reduced.Add(1)
					c.trans += succ
					continue
				}
			}
			// Not reducible here (no ample set, one without a move that
			// is not a fault, or the proviso).
			sc.fps, sc.parent, sc.via, sc.states = sc.fps[:mark], sc.parent[:mark], sc.via[:mark], sc.states[:mark*size]
			if g != nil {
				sacts, sfault = sacts[:mark], sfault[:mark]
			}
			c.viols = c.viols[:vmark]
			succ, moves = 0, 0
		}
		mark := len(sc.fps)
		m.Next(st, buf, yield)
		c.trans += succ
		// Faults are optional: a state whose only moves are faults is
		// stuck.
		if moves == 0 && b.deadlock >= 0 && !m.Quiescent(st) {
			c.viols = append(c.viols, pending{prop: b.deadlock, k: uint32(k), id: -1})
		}
		if g != nil {
			c.edges.state(m, sacts[mark:], sfault[mark:])
		}
	}
	if s.sset == nil {
		c.sink += s.fset.prefetch(sc.fps)
	}
	for i, f := range sc.fps {
		st := sc.states[i*size : (i+1)*size]
		if s.sset != nil {
			if v, ok := s.sset.lookup(f, st); ok {
				if g != nil {
					c.edges.add(v, sc.via[i], sacts[i], sfault[i])
				}
				continue
			}
		} else if s.fset.contains(f) {
			continue
		}
		if g != nil {
			c.edges.add(pendingBit|uint32(len(c.fps)), sc.via[i], sacts[i], sfault[i])
		}
		c.fps = append(c.fps, f)
		c.parent = append(c.parent, sc.parent[i])
		c.via = append(c.via, sc.via[i])
		c.states = append(c.states, st...)
	}
	wk.sacts, wk.sfault = sacts, sfault
	if b.ctl.prog != nil {
		b.ctl.prog.expanded.Add(int64(k1 - k0))
	}
}
