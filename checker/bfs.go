package checker

import (
	"context"
	"runtime"
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
// the graph, 13 bytes per edge and the fair actors' enabled bits; the
// partial-order reduction's cycle check, 16 bytes per edge out of a
// reduced state (cycle.go).
//
// Besides, for one or two levels at a time: the frontier and the next,
// each state delta-coded against the one before it (frontier.go: about 22
// bytes for a state of 136 in the benchmark family), and the level's
// candidates, each its fingerprint, transition and parent and its
// difference from the parent (about 22 bytes). The seen set grows a
// segment at a time (fpset.go), the chunks' arrays are sized to what each
// level puts in them, and the collector runs at GOGC=25 during a check
// (memory.go), so the whole process holds about 26 bytes per state on
// the family's N = 3 (2,051,606 states: 51 MB at its peak on one
// worker), against 158 with full states in the frontier and the
// candidates.

// bfs is one run of the explorer: what every level's phases share.
type bfs struct {
	m       Model
	props   []Property
	opt     Options
	ctx     context.Context
	ctl     control
	s       *search
	g       *graph
	workers int // the level's workers: 1 in a level that worker 0 runs alone (level)
	size    int
	seed    uint64
	tab     *fp.Table // the fingerprint function (seeded by seed)
	writes  []uint64  // per transition id, the words it may change (WriteMasker), or nil
	inv     []int     // the properties' indexes, by kind
	step    []int
	// stepOf, when not nil, is per transition id the step invariants
	// that judge it (Property.Judges): the only ones yield calls.
	stepOf   [][]int32
	deadlock int
	newCanon func() func(st, dst []byte)
	ample    PartialOrder
	// cycleCheck: reduce without the breadth-first proviso and keep the
	// reduced states' edges (plan.cycleCheck).
	cycleCheck bool
	reduced    atomic.Int64 // states of the level expanded through an ample set
	res        Result
	nfound     int
	complete   bool
	final      bool    // stopped because every safety property already fails
	perState   float64 // bytes per state of the last level's runs
	// segCounts is the level's candidates per segment of the fingerprint
	// set (insert), here not to be allocated each level.
	segCounts [fpSegs]int
	pool      []*candidates
	wks       []*worker
	crew      *crew // runs the phases on the workers
	// alone is the crew of worker 0 alone, for the levels of fewer than
	// soloChunks chunks per worker (level).
	alone *crew
	// The levels' arrays, kept for the next levels: on a virtual machine
	// a first write to a fresh page of the Go heap costs about 11 µs,
	// and each level allocated these anew (N=3 family, two workers: 30
	// ms of the check, spent between phases with one worker busy).
	candBase []int
	first    []uint32
	grows    []int32 // the segments of the seen set that grow (insert)
	runs     []*run
	// spare[d%2] are the arrays of the frontier the level of depth d
	// built two levels before (newFrontierIn), done with when it builds
	// the next.
	spare [2]struct {
		chunks []frontierChunk
		runs   []*run
	}
}

// chunkStates is the number of frontier states a worker expands at a time.
const chunkStates = 64

// explore runs the breadth-first search of m under pl and checks the
// safety properties of props; with pl.graph it returns the state graph
// for the eventually-properties. With pl.cycleCheck, onCycle is the
// number of reduced states on a cycle of reduced states or after one
// (cycle.go): when it is not 0, the reduction may have missed a
// violation and the search must be made again with the proviso.
func explore(m Model, props []Property, opt Options, pl plan, ctx context.Context, start time.Time, ctl control) (res Result, g *graph, onCycle int) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := m.Size()
	inv, step, ev, deadlock := byKind(props)
	seed := opt.HashSeed
	// Fingerprints by tabulation: a successor's is its parent's updated
	// by the words the step changed (fp.Table, expandChunk).
	tab := fp.NewTable(size, seed)
	hash := func(st []byte) uint64 { return nonzero(tab.Of(st)) }
	s := ctl.resume
	if s == nil {
		s = newSearch(m, props, pl, hash)
	}
	b := &bfs{m: m, props: props, opt: opt, ctx: ctx, ctl: ctl, s: s, g: s.g, workers: workers, size: size, seed: seed, tab: tab, writes: writeWords(m, size),
		inv: inv, step: step, stepOf: stepJudges(m, props, step), deadlock: deadlock, newCanon: pl.newCanon, ample: pl.ample, cycleCheck: pl.checksCycles(), complete: true}
	for _, f := range s.found {
		if f != nil {
			b.nfound++
		}
	}
	stats := &b.res.Stats
	stats.Workers = workers
	stats.Symmetry = pl.newCanon != nil
	stats.Exact = pl.exact
	b.wks = make([]*worker, workers)
	for w := range b.wks {
		wk := &worker{buf: make([]byte, size), block: make([]byte, chunkStates*size), tmp: make([]byte, size)}
		wk.setArena(s.mem)
		if b.newCanon != nil {
			wk.canon, wk.cbuf, wk.nbuf = b.newCanon(), make([]byte, size), make([]byte, size)
		}
		if b.ample != nil {
			wk.ample = b.ample.NewAmple()
		}
		b.wks[w] = wk
	}
	b.crew, b.alone = newCrew(workers), newCrew(1)
	defer b.crew.close()
	safety := len(inv) + len(step) + b2i(deadlock >= 0)
	for s.curN > 0 {
		stats.Depth = s.depth
		stats.States = s.total
		if len(ev) == 0 && b.nfound == safety && b.nfound > 0 {
			b.complete, b.final = false, true // every property already fails
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
				b.res.Err = err
				b.stop("checkpoint failed: " + err.Error())
				break
			}
		}
		if !b.level() {
			break
		}
		stats.States = s.total
		if opt.MaxStates > 0 && s.total >= opt.MaxStates && s.curN > 0 {
			b.stop("state bound reached")
			break
		}
	}
	s.elapsed = time.Since(start)
	if !b.complete && !b.final && b.res.Err == nil && ctl.ck != nil {
		// Stopped by a bound or cancelled: save the search as it stands
		// (at the start of the level it stopped in).
		if err := ctl.ck.write(s); err != nil {
			b.res.Err = err
			b.res.Reason += "; checkpoint failed: " + err.Error()
		}
	}
	if b.cycleCheck && b.complete && s.cyc.back > 0 {
		onCycle = cyclic(&s.cyc, int(s.reduced))
	}
	res, g = b.finish()
	// Nothing of the search is used after it: the seen set, the frontier
	// and the workers' slabs go back to the system.
	s.mem.close()
	return res, g, onCycle
}

// stop ends the search incomplete, for reason.
func (b *bfs) stop(reason string) {
	b.complete = false
	b.res.Reason = reason
}

func (b *bfs) overBudget(need int64) string {
	return b.ctl.budget.overReason(need, b.s.depth, b.s.total)
}

// report records a violation of property pi by path, unless one was found.
func (b *bfs) report(pi int, path []int32) {
	if b.s.found[pi] == nil {
		b.s.found[pi] = &Counterexample{Property: b.props[pi].Name, Kind: b.props[pi].Kind, Path: path, Loop: -1}
		b.nfound++
	}
}

// held is what the explorer holds between phases, by capacity, and the
// memory its arena holds resident beyond that.
func (b *bfs) held() int64 {
	n := b.s.bytes() + b.s.mem.slack()
	for _, c := range b.pool {
		if c == nil {
			continue // (made when its chunk is expanded)
		}
		n += c.capBytes() + c.out[b.s.depth%2].capBytes() // the runs being written
	}
	for _, wk := range b.wks {
		n += wk.capBytes()
	}
	return n
}

// soloChunks is the number of chunks per worker under which a level
// runs on worker 0 alone.
const soloChunks = 4

// level expands the frontier into the next level and commits it; false
// when the search stopped in it (the search is then as at its start).
func (b *bfs) level() bool {
	s := b.s
	nchunks := len(s.front.chunks)
	if len(b.pool) < nchunks {
		// The new chunks' candidates are made by the workers that expand
		// them (expand): made here, one after the other, with their first
		// page faults, they took 4 to 5 ms of the N = 3 family's check
		// (two workers), the other workers waiting.
		b.pool = append(b.pool, make([]*candidates, nchunks-len(b.pool))...)
	}
	lv := &levelWork{chunks: b.pool[:nchunks]}
	if b.workers > 1 && nchunks < soloChunks*b.workers {
		// Worker 0 alone: the others would have a chunk or none each
		// and cost more than they do, in waking for each phase and
		// with states and candidates that move between cores (N = 3
		// family, two workers: levels 0 to 9, 1 to 7 chunks each,
		// took 7.9 ms against 3.4 on one worker).
		workers, team := b.workers, b.crew
		b.workers, b.crew = 1, b.alone
		defer func() { b.workers, b.crew = workers, team }()
	}
	t0 := time.Now()
	ok := b.expand(lv)
	s.expandT += time.Since(t0)
	if !ok {
		return false
	}
	t1 := time.Now()
	ok = b.insert(lv)
	s.insertT += time.Since(t1)
	if !ok {
		return false
	}
	if !b.admit(lv) {
		return false
	}
	b.stepViolations(lv)
	t2 := time.Now()
	b.assemble(lv)
	s.assembleT += time.Since(t2)
	s.levelStart = s.total
	s.total += lv.nextN
	if s.sset != nil {
		// (Only exact states use the arrays trim trims: a loop over the
		// chunks costs a cache miss on each, 5 ms of the N = 3 family's
		// check otherwise.)
		for _, c := range lv.chunks {
			c.trim()
		}
	}
	// The pool's chunks past this level's hold only runs of the frontier
	// just expanded.
	clear(b.pool[len(lv.chunks):])
	b.pool = b.pool[:len(lv.chunks)]
	s.front, s.curN = lv.next, lv.nextN
	s.depth++
	s.reduced += b.reduced.Load()
	for _, wk := range b.wks {
		s.cyc.take(&wk.cyc, &wk.cycBack)
	}
	return true
}

// finish fills in the result from the search.
func (b *bfs) finish() (Result, *graph) {
	s, g, stats := b.s, b.g, &b.res.Stats
	stats.States = s.total
	stats.Transitions = s.transitions
	stats.Complete = b.complete
	stats.Reduced = int(s.reduced)
	if s.sset != nil {
		stats.SeenBytes = s.sset.bytes()
	} else {
		stats.SeenBytes = s.fset.bytes()
	}
	stats.SeenBytes += s.via.lenBytes() + int64(len(s.parents.words))*8 + int64(len(s.parents.blockOnes))*4
	if g != nil {
		stats.SeenBytes += g.bytes()
		g.states = s.sset
	}
	stats.BytesPerState = float64(stats.SeenBytes) / float64(s.total)
	stats.ExpandTime, stats.InsertTime, stats.AssembleTime = s.expandT, s.insertT, s.assembleT
	for _, v := range s.found {
		if v != nil {
			b.res.Violations = append(b.res.Violations, *v)
		}
	}
	return b.res, g
}

// stepJudges is, per transition id of m, the step invariants of step
// that judge it (Property.Judges; those without Judges judge every
// transition); nil when m does not count its transitions or no step
// invariant has Judges, and then every step invariant judges every step.
func stepJudges(m Model, props []Property, step []int) [][]int32 {
	tc, ok := m.(TransitionCounter)
	if !ok {
		return nil
	}
	some := false
	for _, pi := range step {
		some = some || props[pi].Judges != nil
	}
	if !some {
		return nil
	}
	out := make([][]int32, tc.NumTransitions())
	for id := range out {
		for _, pi := range step {
			if j := props[pi].Judges; j == nil || j(int32(id)) {
				out[id] = append(out[id], int32(pi))
			}
		}
	}
	return out
}
