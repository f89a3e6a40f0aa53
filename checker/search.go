package checker

import "time"

// plan is what one exploration does: the reductions, the seen set, and
// whether the graph is recorded.
type plan struct {
	newCanon func() func(st, dst []byte) // symmetry, or nil
	ample    PartialOrder                // partial-order reduction, or nil
	exact    bool
	graph    bool
	// cycleCheck, with ample, reduces without the breadth-first cycle
	// proviso and checks the reduced graph for cycles after the search
	// (cycle.go); otherwise the proviso is applied as the search goes.
	cycleCheck bool
}

// reduces reports whether the plan uses partial-order reduction.
func (pl plan) reduces() bool { return pl.ample != nil }

// checksCycles reports whether the plan reduces and checks its cycle
// proviso after the search.
func (pl plan) checksCycles() bool { return pl.ample != nil && pl.cycleCheck }

// search is the explorer's state at the start of a level: everything a
// checkpoint saves (checkpoint.go) and a resumed search starts from.
type search struct {
	depth      int       // the level of the frontier
	levelStart int       // the index of the frontier's first state
	total      int       // the states found, numbered in breadth-first order
	front      *frontier // the frontier: curN states (representatives under symmetry)
	curN       int
	via        vias // the transition that found each state
	// parents links every state to the one that found it.
	parents parentLinks
	fset    *fpset    // the seen set: fingerprints,
	sset    *stateSet // or full states (exact)
	// mem holds the seen set's segments and the workers' slabs; explore
	// closes it when the search ends.
	mem *arena
	g   *graph // the state graph, for the eventually-properties
	// found holds, per property, the violation found so far.
	found       []*Counterexample
	transitions int
	reduced     int64
	// cyc is, with plan.cycleCheck, the edges out of the reduced states
	// found so far (cycle.go).
	cyc cycleEdges
	// elapsed is the time spent up to the last level boundary, earlier
	// runs of a resumed search included; the others split it by phase.
	elapsed, expandT, insertT, assembleT time.Duration
}

// pathTo returns the transitions from the initial state to state g.
func (s *search) pathTo(g uint32) []int32 {
	var chain []uint32
	for g != 0 {
		chain = append(chain, g)
		g = s.parents.parent(g)
	}
	p := make([]int32, len(chain))
	for i, c := range chain {
		p[len(chain)-1-i] = s.via.at(int(c))
	}
	return p
}

// setArena makes mem the search's arena, where its transitions' pages and
// parent links grow from now on (the seen set takes it when made).
func (s *search) setArena(mem *arena) {
	s.mem = mem
	s.via.setArena(mem)
	s.parents.mem = mem
}

// bytes is the memory the search holds between levels, by capacity.
func (s *search) bytes() int64 {
	b := s.front.bytes() + s.via.capBytes() + s.parents.bytes()
	if s.fset != nil {
		b += s.fset.bytes()
	}
	if s.sset != nil {
		b += s.sset.bytes()
	}
	if s.g != nil {
		b += s.g.capBytes()
	}
	return b + s.cyc.bytes()
}

// newSearch starts a search at m's initial state (its representative,
// under symmetry).
func newSearch(m Model, props []Property, pl plan, hash func([]byte) uint64) *search {
	size := m.Size()
	s := &search{via: vias{wide: !narrowIDs(m)}, found: make([]*Counterexample, len(props)), curN: 1, total: 1}
	s.setArena(newArena(searchArenaBytes()))
	if pl.exact {
		s.sset = newStateSet(size)
	} else {
		s.fset = newFPSet(1<<10, s.mem)
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
	s.via.add(-1)
	for pi, p := range props {
		if p.Kind == Invariant && !p.State(init) {
			s.found[pi] = &Counterexample{Property: p.Name, Kind: p.Kind, Loop: -1}
		}
	}
	s.front = frontierOf(init, size)
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
