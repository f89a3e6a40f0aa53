package checker

import (
	"context"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	fp "github.com/xbcheck/xbcheck/internal/fingerprint"
)

// This file is the checker's one explorer: a level-synchronous
// breadth-first search on all cores that gives exactly the result of the
// sequential search, whatever the number of workers. Every property kind
// goes through it; the eventually-properties add a visitor that records
// the state graph (graph.go), which they are judged on afterwards.
//
// Each level runs in three phases:
//
//  1. Expand (parallel): workers take chunks of the frontier in turn,
//     generate successors, check step properties and deadlock, and keep as
//     candidates the successors the seen set does not hold yet (it is
//     read-only in this phase).
//  2. Insert (parallel): worker w inserts the candidates whose fingerprint
//     is w modulo the number of workers, in frontier order, so the first
//     occurrence of a state in frontier order is the one kept, as in the
//     sequential search; it checks invariants on the new states.
//  3. Assemble: the new states, in frontier order, get their indexes and
//     become the next frontier; the graph visitor resolves the level's
//     edges to indexes.
//
// Memory per distinct state with fingerprints: the seen set (8-byte
// fingerprints at load 0.6 to 0.9: 8.9 to 13.3 bytes), the transition that
// discovered the state (2 bytes, 4 for models with more than 65535
// transitions) and its parent: states are numbered in breadth-first order
// and expanded in that order, so parents are non-decreasing and are kept
// as a unary code of the number of children of each expanded state (2
// bits per state). A counterexample is rebuilt by following parents and
// replaying. The exact set adds the state itself and 4 bytes of index;
// the graph, 13 bytes per edge and the fair actors' enabled bits.

// numTransitions is implemented by models that can say how many
// transition ids they use (*model.System does); the explorer then stores
// ids in 16 bits when they fit.
type numTransitions interface{ NumTransitions() int }

type candidates struct {
	fps    []uint64
	parent []uint32 // frontier position of the parent
	via    []int32
	acc    []bool
	win    []uint32 // exact: the value the insert found or stored
	slot   []uint64 // exact: the table slot of an accepted candidate
	states []byte
	viols  []pending // step and deadlock violations, in frontier order
	trans  int
	sink   uint64 // keeps the touch loads alive
	edges  chunkEdges
}

// capBytes is the chunk's memory by capacity.
func (c *candidates) capBytes() int64 {
	return int64(cap(c.fps))*8 + int64(cap(c.parent))*4 + int64(cap(c.via))*4 + int64(cap(c.acc)) +
		int64(cap(c.win))*4 + int64(cap(c.slot))*8 + int64(cap(c.states)) + int64(cap(c.viols))*16 + c.edges.capBytes()
}

type pending struct {
	prop int
	k    uint32 // frontier position of the state where it was found
	id   int32  // the violating transition, -1 for a deadlock
}

// bitvec is an append-only bit vector with rank-select for parents.
type bitvec struct {
	words []uint64
	n     int
}

func (b *bitvec) push(one bool) {
	if b.n%64 == 0 {
		b.words = append(b.words, 0)
	}
	if one {
		b.words[b.n/64] |= 1 << (b.n % 64)
	}
	b.n++
}

// parents returns the parent of every child index in want (each >= 1):
// the parent of child g is the number of zeros before the g-th one.
func (b *bitvec) parents(want map[uint32]uint32) {
	ones, zeros := uint32(0), uint32(0)
	left := len(want)
	for i := 0; i < b.n && left > 0; i++ {
		if b.words[i/64]&(1<<(i%64)) != 0 {
			ones++
			if _, ok := want[ones]; ok {
				want[ones] = zeros
				left--
			}
		} else {
			zeros++
		}
	}
}

// plan is what one exploration does: the reductions, the seen set, and
// whether the graph is recorded.
type plan struct {
	newCanon func() func(st, dst []byte) // symmetry, or nil
	ample    func(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool
	// newAmple, when set, is used instead of ample (Options.NewAmple).
	newAmple func() func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool
	exact    bool
	graph    bool
}

// reduces reports whether the plan uses partial-order reduction.
func (pl plan) reduces() bool { return pl.ample != nil || pl.newAmple != nil }

// search is the explorer's state at the start of a level: everything a
// checkpoint saves (checkpoint.go) and a resumed search starts from.
type search struct {
	depth      int    // the level of the frontier
	levelStart int    // the index of the frontier's first state
	total      int    // the states found, numbered in breadth-first order
	cur        []byte // the frontier: curN states (representatives under symmetry)
	curN       int
	// The transition that found each state (-1 for the initial state), in
	// 16 bits when the model's ids fit (wide is false).
	wide  bool
	via16 []uint16
	via32 []int32
	// parents is the unary code of every expanded state's children.
	parents bitvec
	fset    *fpset    // the seen set: fingerprints,
	sset    *stateSet // or full states (exact)
	g       *graph    // the state graph, for the eventually-properties
	// found holds, per property, the violation found so far.
	found       []*Counterexample
	transitions int
	reduced     int64
	// elapsed is the time spent up to the last level boundary, earlier
	// runs of a resumed search included; the others split it by phase.
	elapsed, expandT, insertT, assembleT time.Duration
}

func (s *search) addVia(id int32) {
	if s.wide {
		s.via32 = append(s.via32, id)
	} else {
		s.via16 = append(s.via16, uint16(id))
	}
}

func (s *search) viaOf(g uint32) int32 {
	if s.wide {
		return s.via32[g]
	}
	return int32(s.via16[g])
}

// pathTo returns the transitions from the initial state to state g.
func (s *search) pathTo(g uint32) []int32 {
	var chain []uint32
	for g != 0 {
		chain = append(chain, g)
		want := map[uint32]uint32{g: 0}
		s.parents.parents(want)
		g = want[g]
	}
	p := make([]int32, len(chain))
	for i, c := range chain {
		p[len(chain)-1-i] = s.viaOf(c)
	}
	return p
}

// bytes is the memory the search holds between levels, by capacity.
func (s *search) bytes() int64 {
	b := int64(cap(s.cur)) + int64(cap(s.via16))*2 + int64(cap(s.via32))*4 + int64(cap(s.parents.words))*8
	if s.fset != nil {
		b += s.fset.bytes()
	}
	if s.sset != nil {
		b += s.sset.bytes()
	}
	if s.g != nil {
		b += s.g.capBytes()
	}
	return b
}

// newSearch starts a search at m's initial state (its representative,
// under symmetry).
func newSearch(m Model, props []Property, pl plan, hash func([]byte) uint64) *search {
	size := m.Size()
	s := &search{wide: true, found: make([]*Counterexample, len(props)), curN: 1, total: 1}
	if nt, ok := m.(numTransitions); ok && nt.NumTransitions() < 1<<16 {
		s.wide = false
	}
	if pl.exact {
		s.sset = newStateSet(size)
	} else {
		s.fset = newFPSet(1 << 10)
	}
	if pl.graph {
		s.g = newGraph(m)
	}
	init := m.InitialState()
	if pl.newCanon != nil {
		// The frontier holds representatives, the initial state included.
		c := make([]byte, size)
		pl.newCanon()(init, c)
		init = c
	}
	if pl.exact {
		s.sset.reserve(1)
		_, _, slot := s.sset.insert(hash(init), init, 0)
		s.sset.commit(slot, init)
	} else {
		s.fset.insert(hash(init))
	}
	s.addVia(-1)
	for pi, p := range props {
		if p.Kind == Invariant && !p.State(init) {
			s.found[pi] = &Counterexample{Property: p.Name, Kind: p.Kind, Loop: -1}
		}
	}
	s.cur = append([]byte(nil), init...)
	return s
}

// control is what a check puts around its explorations: the memory
// budget, the checkpoints, the search to resume and the progress reports.
type control struct {
	budget *budget
	ck     *checkpointer // nil: no checkpoints
	resume *search
	prog   *progress
}

// testHook, set by tests, is called at every level boundary ("level")
// and where the memory budget is checked before a level is committed
// ("commit", when the budget is set or the hook is): returning true
// there stops the search as over budget, so tests can reach the undo.
var testHook func(event string, depth int) bool

// worker is one exploring goroutine's scratch, kept across levels.
type worker struct {
	ample     func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool
	buf, cbuf []byte
	nbuf      []byte // the proviso's canonical successor
	canon     func(st, dst []byte)
	sc        candidates
	sacts     []int32
	sfault    []bool
}

func (w *worker) capBytes() int64 {
	return int64(cap(w.buf)+cap(w.cbuf)) + w.sc.capBytes() + int64(cap(w.sacts))*4 + int64(cap(w.sfault))
}

// explore runs the breadth-first search of m under pl and checks the
// safety properties of props; with pl.graph it returns the state graph
// for the eventually-properties.
func explore(m Model, props []Property, opt Options, pl plan, ctx context.Context, start time.Time, ctl control) (Result, *graph) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := m.Size()
	inv, step, ev, deadlock := byKind(props)
	hash := func(st []byte) uint64 {
		f := fp.OfSeed(st, opt.HashSeed)
		if f == 0 {
			f = 1 // 0 marks an empty slot
		}
		return f
	}
	s := ctl.resume
	if s == nil {
		s = newSearch(m, props, pl, hash)
	}
	g := s.g
	nfound := 0
	for _, f := range s.found {
		if f != nil {
			nfound++
		}
	}
	res := Result{}
	stats := &res.Stats
	stats.Workers = workers
	stats.Symmetry = pl.newCanon != nil
	stats.Exact = pl.exact
	newCanon, ample, newAmple := pl.newCanon, pl.ample, pl.newAmple
	if newAmple != nil {
		ample = nil
	}
	var reduced atomic.Int64 // states of the level expanded through an ample set
	report := func(pi int, path []int32) {
		if s.found[pi] == nil {
			s.found[pi] = &Counterexample{Property: props[pi].Name, Kind: props[pi].Kind, Path: path, Loop: -1}
			nfound++
		}
	}

	var spare []byte
	const chunkStates = 64
	var pool []*candidates
	wks := make([]*worker, workers)
	for w := range wks {
		wk := &worker{buf: make([]byte, size)}
		if newCanon != nil {
			wk.canon, wk.cbuf, wk.nbuf = newCanon(), make([]byte, size), make([]byte, size)
		}
		if newAmple != nil {
			wk.ample = newAmple()
		}
		wks[w] = wk
	}
	// held is what the explorer holds between phases, by capacity.
	held := func() int64 {
		b := s.bytes() + int64(cap(spare))
		for _, c := range pool {
			b += c.capBytes()
		}
		for _, wk := range wks {
			b += wk.capBytes()
		}
		return b
	}
	complete := true
	final := false // stopped because every safety property already fails
	safety := len(inv) + len(step) + b2i(deadlock >= 0)
	stop := func(reason string) {
		complete = false
		res.Reason = reason
	}
	overBudget := func(need int64) string { return ctl.budget.overReason(need, s.depth, s.total) }

	for s.curN > 0 {
		stats.Depth = s.depth
		stats.States = s.total
		if len(ev) == 0 && nfound == safety && nfound > 0 {
			complete, final = false, true // every property already fails
			break
		}
		s.elapsed = time.Since(start)
		if ctl.prog != nil {
			ctl.prog.level(s, stats)
		}
		if testHook != nil {
			testHook("level", s.depth)
		}
		if ctl.ck != nil && ctl.ck.due() {
			if err := ctl.ck.write(s); err != nil {
				res.Err = err
				stop("checkpoint failed: " + err.Error())
				break
			}
		}
		cur, curN := s.cur, s.curN
		// Phase 1: expand.
		t0 := time.Now()
		nchunks := (curN + chunkStates - 1) / chunkStates
		for len(pool) < nchunks {
			pool = append(pool, &candidates{})
		}
		chunks := pool[:nchunks]
		var nextChunk atomic.Int64
		reduced.Store(0)
		var cancelled, overLimit atomic.Bool
		var grown atomic.Int64 // what the candidates and scratch grew by
		var held0 int64
		if ctl.budget != nil {
			held0 = held()
		}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(wk *worker) {
				defer wg.Done()
				buf, canon, cbuf := wk.buf, wk.canon, wk.cbuf
				// seen reports whether a successor (canonicalized under
				// symmetry) was found before this level.
				seen := func(f uint64, st []byte) bool {
					if s.sset != nil {
						_, ok := s.sset.lookup(f, st)
						return ok
					}
					return s.fset.contains(f)
				}
				isNew := func(next []byte) bool {
					if canon != nil {
						canon(next, wk.nbuf)
						next = wk.nbuf
					}
					return !seen(hash(next), next)
				}
				expandAmple := ample
				if newAmple != nil {
					wa := wk.ample
					expandAmple = func(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool {
						return wa(st, next, isNew, yield)
					}
				}
				// A chunk's successors go to a scratch that stays in the
				// cache; only the unseen ones are copied to the chunk.
				sc := &wk.sc
				for {
					ci := int(nextChunk.Add(1) - 1)
					if ci >= nchunks {
						return
					}
					if ci%64 == 0 && ctx.Err() != nil {
						cancelled.Store(true)
						return
					}
					if overLimit.Load() {
						return
					}
					c := chunks[ci]
					var before int64
					if ctl.budget != nil {
						before = c.capBytes() + wk.capBytes()
					}
					c.fps, c.parent, c.via, c.acc, c.states, c.viols, c.trans = c.fps[:0], c.parent[:0], c.via[:0], c.acc[:0], c.states[:0], c.viols[:0], 0
					c.win, c.slot = c.win[:0], c.slot[:0]
					c.edges.reset()
					sc.fps, sc.parent, sc.via, sc.states = sc.fps[:0], sc.parent[:0], sc.via[:0], sc.states[:0]
					sacts, sfault := wk.sacts[:0], wk.sfault[:0]
					k0, k1 := ci*chunkStates, min((ci+1)*chunkStates, curN)
					// All successors of the chunk first, then one batch of
					// seen-set lookups (touched first, so that their cache
					// misses overlap), then the filter.
					for k := k0; k < k1; k++ {
						st := cur[k*size : (k+1)*size]
						succ, moves := 0, 0
						yield := func(id, actor int32, fault bool, next []byte) bool {
							succ++
							if !fault {
								moves++
							}
							for _, pi := range step {
								if !props[pi].Step(st, id, next) {
									c.viols = append(c.viols, pending{prop: pi, k: uint32(k), id: id})
								}
							}
							if canon != nil {
								canon(next, cbuf)
								next = cbuf
							}
							sc.fps = append(sc.fps, hash(next))
							sc.parent = append(sc.parent, uint32(k))
							sc.via = append(sc.via, id)
							sc.states = append(sc.states, next...)
							if g != nil {
								sacts = append(sacts, actor)
								sfault = append(sfault, fault)
							}
							return true
						}
						if expandAmple != nil {
							mark, vmark := len(sc.fps), len(c.viols)
							if expandAmple(st, buf, yield) && moves > 0 {
								// Cycle proviso for a breadth-first search:
								// a state none of whose ample successors is
								// new (each was found at this level or an
								// earlier one) is expanded fully. Then some
								// ample successor of every reduced state is
								// one level deeper, which is what the
								// argument needs (see Options.Ample).
								again := true
								for i, f := range sc.fps[mark:] {
									if !seen(f, sc.states[(mark+i)*size:(mark+i+1)*size]) {
										again = false
										break
									}
								}
								if !again {
									reduced.Add(1)
									c.trans += succ
									continue
								}
							}
							// Not reducible here (no ample set, one without
							// a move that is not a fault, or the proviso).
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
						// Faults are optional: a state whose only moves
						// are faults is stuck.
						if moves == 0 && deadlock >= 0 && !m.Quiescent(st) {
							c.viols = append(c.viols, pending{prop: deadlock, k: uint32(k), id: -1})
						}
						if g != nil {
							c.edges.state(m, sacts[mark:], sfault[mark:])
						}
					}
					if s.sset == nil {
						c.sink += s.fset.touch(sc.fps)
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
					if ctl.prog != nil {
						ctl.prog.expanded.Add(int64(k1 - k0))
					}
					if ctl.budget != nil {
						if d := c.capBytes() + wk.capBytes() - before; d > 0 && held0+grown.Add(d) > ctl.budget.limit {
							overLimit.Store(true)
							return
						}
					}
				}
			}(wks[w])
		}
		wg.Wait()
		s.expandT += time.Since(t0)
		if cancelled.Load() {
			stop("cancelled: " + ctx.Err().Error())
			break
		}
		if overLimit.Load() {
			stop(overBudget(0))
			break
		}
		// Phase 2: insert, partitioned by fingerprint.
		t1 := time.Now()
		ncand := 0
		candBase := make([]int, len(chunks)+1) // flat candidate numbering
		var aux int64                          // what the insert phase adds to the chunks
		for ci, c := range chunks {
			candBase[ci] = ncand
			n := len(c.fps)
			ncand += n
			aux += growBytes(c.acc[:0], n, 1)
			if s.sset != nil {
				aux += growBytes(c.win[:0], n, 4) + growBytes(c.slot[:0], n, 8)
			}
		}
		candBase[len(chunks)] = ncand
		if ctl.budget != nil {
			var table int64
			if s.sset != nil {
				table = s.sset.growthBytes(ncand)
			} else {
				table = s.fset.growthBytes(ncand)
			}
			// The old table and the new one are both held while it grows.
			if need := held() + aux + table; need > ctl.budget.limit {
				stop(overBudget(need))
				break
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
			s.sset.reserve(ncand)
			s.sset.pending = func(ref uint32) []byte {
				ci := chunkOf(candBase, int(ref))
				i := int(ref) - candBase[ci]
				return chunks[ci].states[i*size : (i+1)*size]
			}
		} else {
			s.fset.reserve(ncand, workers)
		}
		invFound := make([][]struct{ prop, ci, i int }, workers)
		sinks := make([]uint64, workers)
		mine := func(fp uint64, w int) bool { return workers == 1 || int(fp%uint64(workers)) == w }
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
							v, added, slot := s.sset.insert(fp, st, uint32(candBase[ci]+i))
							c.win[i], c.slot[i] = v, slot
							if !added {
								continue
							}
						} else if !s.fset.insert(fp) {
							continue
						}
						c.acc[i] = true
						for _, pi := range inv {
							if !props[pi].State(st) {
								invFound[w] = append(invFound[w], struct{ prop, ci, i int }{pi, ci, i})
							}
						}
					}
				}
			}(w)
		}
		wg.Wait()
		s.insertT += time.Since(t1)
		nextN, levelEdges := 0, 0
		for _, c := range chunks {
			for _, a := range c.acc {
				nextN += b2i(a)
			}
			levelEdges += len(c.edges.dst)
		}
		if ctl.budget != nil || testHook != nil {
			// What committing the level adds: parent links, the new
			// frontier, the stored states and the graph's edges; and,
			// with a graph, room for the analysis after the search.
			var extra, kept int64
			if s.wide {
				kept += growBytes(s.via32, nextN, 4)
			} else {
				kept += growBytes(s.via16, nextN, 2)
			}
			kept += growBytes(s.parents.words, (nextN+curN)/64+2, 8)
			if s.sset != nil {
				kept += s.sset.pageBytes(nextN)
				extra += int64(ncand) * 4 // candIndex
			}
			if g != nil {
				kept += g.growthBytes(curN, levelEdges)
			}
			if cap(spare) < nextN*size {
				extra += int64(nextN * size)
			}
			need := held() + kept + extra
			if g != nil {
				if after := s.bytes() + kept + int64(s.total+nextN)*analysisBytesPerState; after > need {
					need = after
				}
			}
			forced := testHook != nil && testHook("commit", s.depth)
			if forced || ctl.budget != nil && need > ctl.budget.limit {
				// Put the seen set back as it was before the level.
				if s.sset != nil {
					s.sset.undo(chunks)
				} else {
					s.fset.undo(chunks)
				}
				if forced {
					stop("memory budget reached (forced by a test)")
				} else {
					stop(overBudget(need))
				}
				break
			}
		}
		// Step and deadlock violations: the first in frontier order.
		for _, c := range chunks {
			s.transitions += c.trans
			for _, v := range c.viols {
				if s.found[v.prop] != nil {
					continue
				}
				p := s.pathTo(uint32(s.levelStart) + v.k)
				if v.id >= 0 {
					p = append(p, v.id)
				}
				report(v.prop, p)
			}
		}
		// Phase 3: assemble the next frontier in frontier order.
		t2 := time.Now()
		if s.wide {
			s.via32 = growTo(s.via32, nextN)
		} else {
			s.via16 = growTo(s.via16, nextN)
		}
		s.parents.words = growTo(s.parents.words, (nextN+curN)/64+2)
		if g != nil {
			g.grow(curN, levelEdges)
		}
		nextI := 0
		closed := 0 // frontier states whose unary parent code is written
		newIndex := map[[2]int]uint32{}
		wantInv := map[[2]int]bool{}
		for _, l := range invFound {
			for _, f := range l {
				wantInv[[2]int{f.ci, f.i}] = true
			}
		}
		var candIndex []uint32 // exact: flat candidate → state index
		if s.sset != nil {
			candIndex = make([]uint32, ncand)
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
					candIndex[candBase[ci]+i] = s.sset.commit(c.slot[i], c.states[i*size:(i+1)*size])
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
		if cap(spare) < nextN*size {
			spare = nil // garbage before the new one is made
			spare = make([]byte, nextN*size)
		}
		next := spare[:nextN*size]
		var nextCopy atomic.Int64
		for w := 0; w < workers; w++ {
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
		// Invariant violations: the first new state in frontier order.
		for pi := range props {
			if props[pi].Kind != Invariant || s.found[pi] != nil {
				continue
			}
			best := -1
			for _, l := range invFound {
				for _, f := range l {
					if f.prop == pi {
						if g := int(newIndex[[2]int{f.ci, f.i}]); best < 0 || g < best {
							best = g
						}
					}
				}
			}
			if best >= 0 {
				report(pi, s.pathTo(uint32(best)))
			}
		}
		s.assembleT += time.Since(t2)
		s.levelStart = s.total
		s.total += nextN
		spare = s.cur
		s.cur, s.curN = next, nextN
		s.depth++
		s.reduced += reduced.Load()
		stats.States = s.total
		if opt.MaxStates > 0 && s.total >= opt.MaxStates && s.curN > 0 {
			stop("state bound reached")
			break
		}
	}
	s.elapsed = time.Since(start)
	if !complete && !final && res.Err == nil && ctl.ck != nil {
		// Stopped by a bound or cancelled: save the search as it stands
		// (at the start of the level it stopped in).
		if err := ctl.ck.write(s); err != nil {
			res.Err = err
			res.Reason += "; checkpoint failed: " + err.Error()
		}
	}
	stats.States = s.total
	stats.Transitions = s.transitions
	stats.Complete = complete
	stats.Reduced = int(s.reduced)
	if s.sset != nil {
		stats.SeenBytes = s.sset.bytes()
	} else {
		stats.SeenBytes = s.fset.bytes()
	}
	stats.SeenBytes += int64(len(s.via16))*2 + int64(len(s.via32))*4 + int64(len(s.parents.words))*8
	if g != nil {
		stats.SeenBytes += g.bytes()
		g.states = s.sset
	}
	stats.BytesPerState = float64(stats.SeenBytes) / float64(s.total)
	stats.ExpandTime, stats.InsertTime, stats.AssembleTime = s.expandT, s.insertT, s.assembleT
	for _, v := range s.found {
		if v != nil {
			res.Violations = append(res.Violations, *v)
		}
	}
	return res, g
}

// clear0 zeroes s and returns it.
func clear0[T any](s []T) []T {
	clear(s)
	return s
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
