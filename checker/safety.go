package checker

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the explorer for safety properties (invariants, step
// invariants, deadlock): a level-synchronous breadth-first search on all
// cores that gives exactly the result of the sequential search, whatever
// the number of workers.
//
// Each level runs in three phases:
//
//  1. Expand (parallel): workers take chunks of the frontier in turn,
//     generate successors, check step properties and deadlock, and keep as
//     candidates the successors whose fingerprint the seen set does not
//     hold yet (it is read-only in this phase).
//  2. Insert (parallel): worker w inserts the candidates whose fingerprint
//     is w modulo the number of workers, in frontier order, so the first
//     occurrence of a state in frontier order is the one kept, as in the
//     sequential search; it checks invariants on the new states.
//  3. Assemble (sequential): the new states, in frontier order, become
//     the next frontier.
//
// Memory per distinct state: the seen set (8-byte fingerprints at load
// 0.6 to 0.9: 8.9 to 13.3 bytes), the transition that discovered the state
// (2 bytes, 4 for models with more than 65535 transitions) and its parent:
// states are numbered in breadth-first order and expanded in that order,
// so parents are non-decreasing and are kept as a unary code of the
// number of children of each expanded state (2 bits per state). A
// counterexample is rebuilt by following parents and replaying.

// NumTransitions is implemented by models that can say how many
// transition ids they use (*model.System does); the explorer then stores
// ids in 16 bits when they fit.
type numTransitions interface{ NumTransitions() int }

type candidates struct {
	fps    []uint64
	parent []uint32 // frontier position of the parent
	via    []int32
	acc    []bool
	states []byte
	viols  []pending // step and deadlock violations, in frontier order
	trans  int
	sink   uint64 // keeps the touch loads alive
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

func checkSafety(m Model, props []Property, opt Options, ctx context.Context, start time.Time) Result {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := m.Size()
	inv, step, _, deadlock := byKind(props)
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
	var parents bitvec
	seen := newFPSet(1 << 10)
	found := make([]*Counterexample, len(props))
	nfound := 0
	res := Result{}
	stats := &res.Stats
	stats.Workers = workers
	var newCanon func() func(st, dst []byte)
	if sm, ok := m.(symmetric); ok && opt.Symmetry && sm.SymmetryCanonicalizer() != nil {
		newCanon = sm.SymmetryCanonicalizer
		stats.Symmetry = true
	}
	ample := opt.Ample
	if newCanon != nil {
		ample = nil
	}
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
	seen.insert(fingerprint(init))
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

explore:
	for depth := 0; curN > 0; depth++ {
		stats.Depth = depth
		if nfound == len(inv)+len(step)+b2i(deadlock >= 0) && nfound > 0 {
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
					sc.fps, sc.parent, sc.via, sc.states = sc.fps[:0], sc.parent[:0], sc.via[:0], sc.states[:0]
					k0, k1 := ci*chunkStates, min((ci+1)*chunkStates, curN)
					// All successors of the chunk first, then one batch of
					// seen-set lookups (touched first, so that their cache
					// misses overlap), then the filter.
					for k := k0; k < k1; k++ {
						st := cur[k*size : (k+1)*size]
						succ, moves := 0, 0
						yield := func(id, _ int32, fault bool, next []byte) bool {
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
							sc.fps = append(sc.fps, fingerprint(next))
							sc.parent = append(sc.parent, uint32(k))
							sc.via = append(sc.via, id)
							sc.states = append(sc.states, next...)
							return true
						}
						if ample != nil {
							mark, vmark := len(sc.fps), len(c.viols)
							if ample(st, buf, yield) {
								// Cycle proviso: an ample successor seen
								// already means a full expansion.
								again := false
								for _, fp := range sc.fps[mark:] {
									if seen.contains(fp) {
										again = true
										break
									}
								}
								if !again {
									reduced.Add(1)
									c.trans += succ
									continue
								}
								sc.fps, sc.parent, sc.via, sc.states = sc.fps[:mark], sc.parent[:mark], sc.via[:mark], sc.states[:mark*size]
								c.viols = c.viols[:vmark]
								succ, moves = 0, 0
							}
						}
						m.Next(st, buf, yield)
						c.trans += succ
						// Faults are optional: a state whose only moves are
						// faults is stuck.
						if moves == 0 && deadlock >= 0 && !m.Quiescent(st) {
							c.viols = append(c.viols, pending{prop: deadlock, k: uint32(k), id: -1})
						}
					}
					c.sink += seen.touch(sc.fps)
					for i, fp := range sc.fps {
						if seen.contains(fp) {
							continue
						}
						c.fps = append(c.fps, fp)
						c.parent = append(c.parent, sc.parent[i])
						c.via = append(c.via, sc.via[i])
						c.states = append(c.states, sc.states[i*size:(i+1)*size]...)
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
		for _, c := range chunks {
			ncand += len(c.fps)
			c.acc = c.acc[:0]
			for range c.fps {
				c.acc = append(c.acc, false)
			}
		}
		if opt.MemoryBudget > 0 {
			need := seen.sizeAfter(ncand) + int64(len(via16))*2 + int64(len(via32))*4 + int64(len(parents.words))*8 +
				int64(len(cur)) + int64(ncand)*int64(size+24)
			if need > opt.MemoryBudget {
				complete = false
				res.Reason = fmt.Sprintf("memory budget reached (%d bytes needed for depth %d)", need, depth+1)
				break
			}
		}
		seen.reserve(ncand, workers)
		invFound := make([][]struct{ prop, ci, i int }, workers)
		sinks := make([]uint64, workers)
		mine := func(fp uint64, w int) bool { return workers == 1 || int(fp%uint64(workers)) == w }
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				var sink uint64
				n := uint64(len(seen.keys))
				for _, c := range chunks {
					for _, fp := range c.fps {
						if mine(fp, w) {
							hi, _ := bits.Mul64(fp, n)
							sink += atomic.LoadUint64(&seen.keys[hi])
						}
					}
				}
				sinks[w] = sink
				for ci, c := range chunks {
					for i, fp := range c.fps {
						if !mine(fp, w) || !seen.insert(fp) {
							continue
						}
						c.acc[i] = true
						st := c.states[i*size : (i+1)*size]
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
				nextN++
			}
		}
		chunkBase[len(chunks)] = nextN
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
			break explore
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
	stats.SeenBytes = seen.bytes() + int64(len(via16))*2 + int64(len(via32))*4 + int64(len(parents.words))*8
	stats.BytesPerState = float64(stats.SeenBytes) / float64(total)
	stats.ExpandTime, stats.InsertTime, stats.AssembleTime = expandT, insertT, assembleT
	for pi, v := range found {
		if v == nil {
			continue
		}
		if newCanon != nil {
			var last func(pre []byte, id int32, post []byte) bool
			if props[pi].Kind == StepInvariant {
				last = props[pi].Step
			}
			v.Path = realize(m, newCanon(), v.Path, last)
		}
		res.Violations = append(res.Violations, *v)
	}
	return res
}

// realize turns a path of the symmetry-reduced search (each step taken
// from a representative, its result canonicalized) into a run of the
// model: at each step it takes, from the real state, a transition whose
// result has the same representative (one exists, by symmetry). When last
// is set, the final step must also violate it.
func realize(m Model, canon func(st, dst []byte), ids []int32, last func(pre []byte, id int32, post []byte) bool) []int32 {
	size := m.Size()
	init := m.InitialState()
	c := make([]byte, size)
	canon(init, c)
	r := init
	buf, want, got := make([]byte, size), make([]byte, size), make([]byte, size)
	out := make([]int32, 0, len(ids))
	for k, id := range ids {
		// The representative after this step.
		var post []byte
		m.Next(c, buf, func(tid, _ int32, _ bool, next []byte) bool {
			if tid == id {
				post = append([]byte(nil), next...)
				canon(next, want)
				return false
			}
			return true
		})
		if post == nil {
			return ids // cannot happen; keep the reduced path
		}
		var nr []byte
		final := k == len(ids)-1 && last != nil
		m.Next(r, buf, func(tid, _ int32, _ bool, next []byte) bool {
			canon(next, got)
			if string(got) != string(want) {
				return true
			}
			if final && last(r, tid, next) {
				return true
			}
			out = append(out, tid)
			nr = append([]byte(nil), next...)
			return false
		})
		if nr == nil {
			return ids
		}
		r = nr
		copy(c, want)
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
