package checker

import (
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCyclic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edges [][2]uint64
		want  int // reduced states on or after a cycle
	}{
		{"none", nil, 0},
		{"chain", [][2]uint64{{1, 2}, {2, 3}, {3, 4}}, 0},
		{"diamond", [][2]uint64{{1, 2}, {1, 3}, {2, 4}, {3, 4}, {4, 5}}, 0},
		{"self-loop", [][2]uint64{{1, 2}, {2, 2}}, 1},
		{"two-cycle after a chain", [][2]uint64{{1, 2}, {2, 3}, {3, 2}, {3, 4}, {4, 5}}, 3},
		{"the same edge twice", [][2]uint64{{1, 2}, {1, 2}, {2, 3}}, 0},
		// 2 → 9 → 1 closes no cycle of reduced states: 9 is not a
		// source (expanded fully), so its edges were not kept.
		{"through a full expansion", [][2]uint64{{1, 2}, {2, 9}}, 0},
		{"long cycle, sources out of order", [][2]uint64{{50, 7}, {7, 300}, {300, 4}, {4, 50}, {4, 8}}, 4},
	} {
		var pairs []uint64
		sources := map[uint64]bool{}
		for _, e := range tc.edges {
			pairs = append(pairs, e[0], e[1])
			sources[e[0]] = true
		}
		var c cycleEdges
		var back int64
		c.take(&pairs, &back)
		if n := cyclic(&c, len(sources)); n != tc.want {
			t.Errorf("%s: cyclic = %d; want %d", tc.name, n, tc.want)
		}
	}
	// A chain longer than a block, taken in two levels, open and then
	// closed by an edge back to its start.
	const long = cycleBlock/2 + 1000
	var c cycleEdges
	var back int64
	for _, r := range [][2]uint64{{1, long / 3}, {long / 3, long}} {
		var pairs []uint64
		for i := r[0]; i < r[1]; i++ {
			pairs = append(pairs, i, i+1)
		}
		c.take(&pairs, &back)
	}
	if len(c.blocks) != 2 || c.n() != long-1 {
		t.Fatalf("chain: %d blocks, %d edges; want 2, %d", len(c.blocks), c.n(), long-1)
	}
	if n := cyclic(&c, long-1); n != 0 {
		t.Errorf("chain: cyclic = %d; want 0", n)
	}
	closing := []uint64{long, 1}
	c.take(&closing, &back)
	if n := cyclic(&c, long); n != long {
		t.Errorf("closed chain: cyclic = %d; want %d", n, long)
	}
}

// actorAmple is a partial-order reduction whose ample set is actor a's
// transitions wherever one is enabled. On a toy, actors touch only their
// own counters, so the set is persistent, and it is invisible to a
// property that reads other counters.
type actorAmple struct {
	m Model
	a int32
}

func (p actorAmple) NewAmple() func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	type succ struct {
		id    int32
		fault bool
		st    []byte
	}
	return func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
		var set []succ
		p.m.Next(st, next, func(id, actor int32, fault bool, n []byte) bool {
			if actor == p.a {
				set = append(set, succ{id, fault, append([]byte(nil), n...)})
			}
			return true
		})
		someNew := isNew == nil
		for _, s := range set {
			someNew = someNew || isNew(s.st)
		}
		if len(set) == 0 || !someNew {
			return false
		}
		for _, s := range set {
			copy(next, s.st)
			if !yield(s.id, p.a, s.fault, next) {
				break
			}
		}
		return true
	}
}

// TestReducedCycleSearchedAgain is the ignoring problem: actor 0 counts
// 0, 1, 0, ... for ever, and its transitions alone form an ample set in
// every state, so a reduction without a cycle proviso never moves actor
// 1, whose first step violates the invariant. The cycle check must find
// the cycle of reduced states and search again with the proviso, which
// finds the violation (and the search again without reduction its
// shortest run: actor 1's step, id 2).
func TestReducedCycleSearchedAgain(t *testing.T) {
	m := newToy(1, 1)
	m.loop[0] = true
	props := []Property{{Name: "actor-1-idle", Kind: Invariant, State: func(st []byte) bool { return st[1] == 0 }}}
	por := actorAmple{m: m, a: 0}
	for _, bfsProviso := range []bool{false, true} {
		res := Check(m, props, Options{POR: por, BFSProviso: bfsProviso})
		if res.Verdict != Violation || len(res.Violations[0].Path) != 1 || res.Violations[0].Path[0] != 2 {
			t.Errorf("BFSProviso %v: %s %v; want the violation by the path [2]", bfsProviso, res.Verdict, res.Violations)
		}
		again := strings.Contains(strings.Join(res.Notes, "\n"), "searched again with the breadth-first cycle proviso")
		if again == bfsProviso {
			t.Errorf("BFSProviso %v: notes %q; want a search again with the proviso %v", bfsProviso, res.Notes, !bfsProviso)
		}
	}
	// Without the loop there is no cycle: the reduced search stands, and
	// reaches the violation once actor 0 is done.
	m.loop[0] = false
	res := Check(m, props, Options{POR: por, ReducedCounterexamples: true})
	if res.Verdict != Violation || len(res.Notes) != 0 || res.Stats.Reduced == 0 {
		t.Errorf("without the loop: %s, notes %q, %d states reduced; want the violation, no notes, some reduced", res.Verdict, res.Notes, res.Stats.Reduced)
	}
}

// TestReducedCycleAcrossResume: the reduced states' edges found before a
// checkpoint count in the cycle check of the resumed search. The toy's
// cycle has one edge on each side of the stop (level 0: (0,0) → (1,0);
// level 1: (1,0) → (0,0)); without the first, the resumed search would
// see no cycle and call the invariant ok. A resume with the other
// proviso is refused.
func TestReducedCycleAcrossResume(t *testing.T) {
	m := newToy(1, 1)
	m.loop[0] = true
	props := []Property{{Name: "actor-1-idle", Kind: Invariant, State: func(st []byte) bool { return st[1] == 0 }}}
	file := filepath.Join(t.TempDir(), "toy.xbckpt")
	first := Options{POR: actorAmple{m: m, a: 0}, Checkpoint: file, MaxStates: 2}
	if r := Check(m, props, first); r.Checkpoint == nil || r.Checkpoint.Depth != 1 {
		t.Fatalf("first part: %s (%s), checkpoint %+v; want a stop with a checkpoint at depth 1", r.Verdict, r.Reason, r.Checkpoint)
	}
	next := Options{POR: actorAmple{m: m, a: 0}, Resume: file}
	res := Check(m, props, next)
	if res.Verdict != Violation || !strings.Contains(strings.Join(res.Notes, "\n"), "searched again with the breadth-first cycle proviso") {
		t.Errorf("resumed: %s, notes %q; want the violation, found by the search again with the proviso", res.Verdict, res.Notes)
	}
	next.BFSProviso = true
	if r := Check(m, props, next); r.Err == nil || !strings.Contains(r.Err.Error(), "made with the breadth-first cycle proviso off, this check has it on") {
		t.Errorf("resumed with the breadth-first proviso: %v; want the checkpoint refused", r.Err)
	}
}

// TestCyclicWithinItsEstimate checks that cyclic allocates no more than
// cycleCheckBytes, which the search counts against --memory before it
// keeps a level's edges (admit): an estimate below what the check takes
// would let a run that fits its budget during the search pass it after.
// The reduced states are just past three quarters of a power of two, so
// the table is at its largest per node, and there are more edges than
// nodes, some to states that are not sources.
func TestCyclicWithinItsEstimate(t *testing.T) {
	const reduced = 3*(1<<14) + 1
	const edges = 4 * reduced
	// Fingerprints of the reduced states, then of a quarter as many
	// more that are not sources (a fifth of the targets).
	r := rand.New(rand.NewPCG(7, 8))
	fps := make([]uint64, reduced+reduced/4)
	for i := range fps {
		fps[i] = r.Uint64() | 1
	}
	var pairs []uint64
	for i := range edges {
		pairs = append(pairs, fps[i%reduced], fps[r.IntN(len(fps))])
	}
	var c cycleEdges
	var back int64
	c.take(&pairs, &back)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cyclic(&c, reduced)
	runtime.ReadMemStats(&after)
	got, est := int64(after.TotalAlloc-before.TotalAlloc), cycleCheckBytes(edges, reduced)
	if got > est {
		t.Errorf("cyclic allocated %d bytes for %d edges out of %d reduced states; cycleCheckBytes says at most %d", got, edges, reduced, est)
	}
	t.Logf("cyclic allocated %d bytes; cycleCheckBytes %d", got, est)
}
