package checker

import (
	"context"
	"fmt"
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
	exact    bool
	graph    bool
}

// explore runs the breadth-first search of m under pl and checks the
// safety properties of props; with pl.graph it returns the state graph
// for the eventually-properties.
func explore(m Model, props []Property, opt Options, pl plan, ctx context.Context, start time.Time) (Result, *graph) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := m.Size()
	inv, step, ev, deadlock := byKind(props)
	wide := true
	if nt, ok := m.(numTransitions); ok && nt.NumTransitions() < 1<<16 {
		wide = false
	}
	var via16 []uint16
	var via32 []int32
	addVia := func(id int32) {
		if wide {
			via32 = append(via32, id)
		} else {
			via16 = append(via16, uint16(id))
		}
	}
	viaOf := func(g uint32) int32 {
		if wide {
			return via32[g]
		}
		return int32(via16[g])
	}
	hash := func(st []byte) uint64 {
		f := fp.OfSeed(st, opt.HashSeed)
		if f == 0 {
			f = 1 // 0 marks an empty slot
		}
		return f
	}
	var parents bitvec
	var fset *fpset
	var sset *stateSet
	if pl.exact {
		sset = newStateSet(size)
	} else {
		fset = newFPSet(1 << 10)
	}
	var g *graph
	if pl.graph {
		g = newGraph(m)
	}
	found := make([]*Counterexample, len(props))
	nfound := 0
	res := Result{}
	stats := &res.Stats
	stats.Workers = workers
	stats.Symmetry = pl.newCanon != nil
	stats.Exact = pl.exact
	newCanon, ample := pl.newCanon, pl.ample
	var reduced atomic.Int64

	pathTo := func(g uint32) []int32 {
		var chain []uint32
		for g != 0 {
			chain = append(chain, g)
			want := map[uint32]uint32{g: 0}
			parents.parents(want)
			g = want[g]
		}
		p := make([]int32, len(chain))
		for i, c := range chain {
			p[len(chain)-1-i] = viaOf(c)
		}
		return p
	}
	report := func(pi int, path []int32) {
		if found[pi] == nil {
			found[pi] = &Counterexample{Property: props[pi].Name, Kind: props[pi].Kind, Path: path, Loop: -1}
			nfound++
		}
	}

	init := m.InitialState()
	if newCanon != nil {
		// The frontier holds representatives, the initial state included.
		c := make([]byte, size)
		newCanon()(init, c)
		init = c
	}
	if pl.exact {
		sset.reserve(1)
		_, _, slot := sset.insert(hash(init), init, 0)
		sset.commit(slot, init)
	} else {
		fset.insert(hash(init))
	}
	addVia(-1)
	for _, pi := range inv {
		if !props[pi].State(init) {
			report(pi, nil)
		}
	}
	cur := append([]byte(nil), init...)
	var spare []byte
	curN := 1
	levelStart := 0 // global index of the frontier's first state
	total := 1
	const chunkStates = 64
	var pool []*candidates
	complete := true
	last := time.Now()
	var expandT, insertT, assembleT time.Duration
	safety := len(inv) + len(step) + b2i(deadlock >= 0)

	for depth := 0; curN > 0; depth++ {
		stats.Depth = depth
		if len(ev) == 0 && nfound == safety && nfound > 0 {
			complete = false // every property already fails
			break
		}
		// Phase 1: expand.
		t0 := time.Now()
		nchunks := (curN + chunkStates - 1) / chunkStates
		for len(pool) < nchunks {
			pool = append(pool, &candidates{})
		}
		chunks := pool[:nchunks]
		var nextChunk atomic.Int64
		var cancelled atomic.Bool
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, size)
				var canon func(st, dst []byte)
				var cbuf []byte
				if newCanon != nil {
					canon, cbuf = newCanon(), make([]byte, size)
				}
				// A chunk's successors go to a scratch that stays in the
				// cache; only the unseen ones are copied to the chunk.
				sc := &candidates{}
				var sacts []int32
				var sfault []bool
				for {
					ci := int(nextChunk.Add(1) - 1)
					if ci >= nchunks {
						return
					}
					if ci%64 == 0 && ctx.Err() != nil {
						cancelled.Store(true)
						return
					}
					c := chunks[ci]
					c.fps, c.parent, c.via, c.acc, c.states, c.viols, c.trans = c.fps[:0], c.parent[:0], c.via[:0], c.acc[:0], c.states[:0], c.viols[:0], 0
					c.win, c.slot = c.win[:0], c.slot[:0]
					c.edges.reset()
					sc.fps, sc.parent, sc.via, sc.states = sc.fps[:0], sc.parent[:0], sc.via[:0], sc.states[:0]
					sacts, sfault = sacts[:0], sfault[:0]
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
						if ample != nil {
							mark, vmark := len(sc.fps), len(c.viols)
							if ample(st, buf, yield) && moves > 0 {
								// Cycle proviso: an ample successor seen
								// already means a full expansion.
								again := false
								for i, f := range sc.fps[mark:] {
									var seen bool
									if sset != nil {
										_, seen = sset.lookup(f, sc.states[(mark+i)*size:(mark+i+1)*size])
									} else {
										seen = fset.contains(f)
									}
									if seen {
										again = true
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
					if sset == nil {
						c.sink += fset.touch(sc.fps)
					}
					for i, f := range sc.fps {
						st := sc.states[i*size : (i+1)*size]
						if sset != nil {
							if v, ok := sset.lookup(f, st); ok {
								if g != nil {
									c.edges.add(v, sc.via[i], sacts[i], sfault[i])
								}
								continue
							}
						} else if fset.contains(f) {
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
				}
			}()
		}
		wg.Wait()
		expandT += time.Since(t0)
		if cancelled.Load() {
			complete = false
			res.Reason = "cancelled: " + ctx.Err().Error()
			break
		}
		// Step and deadlock violations: the first in frontier order.
		for _, c := range chunks {
			stats.Transitions += c.trans
			for _, v := range c.viols {
				if found[v.prop] != nil {
					continue
				}
				p := pathTo(uint32(levelStart) + v.k)
				if v.id >= 0 {
					p = append(p, v.id)
				}
				report(v.prop, p)
			}
		}
		// Phase 2: insert, partitioned by fingerprint.
		t1 := time.Now()
		ncand := 0
		candBase := make([]int, len(chunks)+1) // flat candidate numbering
		for ci, c := range chunks {
			candBase[ci] = ncand
			ncand += len(c.fps)
			c.acc = c.acc[:0]
			for range c.fps {
				c.acc = append(c.acc, false)
			}
			if sset != nil {
				c.win = append(c.win[:0], make([]uint32, len(c.fps))...)
				c.slot = append(c.slot[:0], make([]uint64, len(c.fps))...)
			}
		}
		candBase[len(chunks)] = ncand
		if opt.MemoryBudget > 0 {
			var need int64
			if sset != nil {
				need = sset.sizeAfter(ncand)
			} else {
				need = fset.sizeAfter(ncand)
			}
			need += int64(len(via16))*2 + int64(len(via32))*4 + int64(len(parents.words))*8 +
				int64(len(cur)) + int64(ncand)*int64(size+24)
			if g != nil {
				need += g.bytes()
				for _, c := range chunks {
					need += c.edges.bytes()
				}
			}
			if need > opt.MemoryBudget {
				complete = false
				res.Reason = fmt.Sprintf("memory budget reached (%d bytes needed for depth %d)", need, depth+1)
				break
			}
		}
		if sset != nil {
			sset.reserve(ncand)
			sset.pending = func(ref uint32) []byte {
				ci := chunkOf(candBase, int(ref))
				i := int(ref) - candBase[ci]
				return chunks[ci].states[i*size : (i+1)*size]
			}
		} else {
			fset.reserve(ncand, workers)
		}
		invFound := make([][]struct{ prop, ci, i int }, workers)
		sinks := make([]uint64, workers)
		mine := func(fp uint64, w int) bool { return workers == 1 || int(fp%uint64(workers)) == w }
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				if sset == nil {
					var sink uint64
					n := uint64(len(fset.keys))
					for _, c := range chunks {
						for _, fp := range c.fps {
							if mine(fp, w) {
								hi, _ := bits.Mul64(fp, n)
								sink += atomic.LoadUint64(&fset.keys[hi])
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
						if sset != nil {
							v, added, slot := sset.insert(fp, st, uint32(candBase[ci]+i))
							c.win[i], c.slot[i] = v, slot
							if !added {
								continue
							}
						} else if !fset.insert(fp) {
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
		insertT += time.Since(t1)
		// Phase 3: assemble the next frontier in frontier order.
		t2 := time.Now()
		nextN := 0
		closed := 0 // frontier states whose unary parent code is written
		newIndex := map[[2]int]uint32{}
		wantInv := map[[2]int]bool{}
		for _, l := range invFound {
			for _, f := range l {
				wantInv[[2]int{f.ci, f.i}] = true
			}
		}
		var candIndex []uint32 // exact: flat candidate → state index
		if sset != nil {
			candIndex = make([]uint32, ncand)
		}
		chunkBase := make([]int, len(chunks)+1)
		for ci, c := range chunks {
			chunkBase[ci] = nextN
			for i := range c.fps {
				if !c.acc[i] {
					continue
				}
				for closed < int(c.parent[i]) {
					parents.push(false)
					closed++
				}
				parents.push(true)
				addVia(c.via[i])
				if wantInv[[2]int{ci, i}] {
					newIndex[[2]int{ci, i}] = uint32(total + nextN)
				}
				if sset != nil {
					candIndex[candBase[ci]+i] = sset.commit(c.slot[i], c.states[i*size:(i+1)*size])
				}
				nextN++
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
			parents.push(false)
			closed++
		}
		// Invariant violations: the first new state in frontier order.
		for pi := range props {
			if props[pi].Kind != Invariant || found[pi] != nil {
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
				report(pi, pathTo(uint32(best)))
			}
		}
		assembleT += time.Since(t2)
		levelStart = total
		total += nextN
		spare = cur
		cur, curN = next, nextN
		stats.States = total
		if opt.MaxStates > 0 && total >= opt.MaxStates && curN > 0 {
			complete = false
			res.Reason = "state bound reached"
			break
		}
		if opt.Progress != nil && time.Since(last) >= opt.progressEvery() {
			last = time.Now()
			stats.Elapsed = time.Since(start)
			opt.Progress(*stats)
		}
	}
	stats.States = total
	stats.Complete = complete
	stats.Reduced = int(reduced.Load())
	if sset != nil {
		stats.SeenBytes = sset.bytes()
	} else {
		stats.SeenBytes = fset.bytes()
	}
	stats.SeenBytes += int64(len(via16))*2 + int64(len(via32))*4 + int64(len(parents.words))*8
	if g != nil {
		stats.SeenBytes += g.bytes()
		g.states = sset
	}
	stats.BytesPerState = float64(stats.SeenBytes) / float64(total)
	stats.ExpandTime, stats.InsertTime, stats.AssembleTime = expandT, insertT, assembleT
	for _, v := range found {
		if v != nil {
			res.Violations = append(res.Violations, *v)
		}
	}
	return res, g
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
