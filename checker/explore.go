package checker

import (
	"context"
	"fmt"
	"time"

	fp "github.com/xbcheck/xbcheck/internal/fingerprint"
)

// fingerprint hashes a packed state (the model's hash too).
func fingerprint(st []byte) uint64 { return fp.Of(st) }

// graph is the explored state graph, kept when an eventually-property is
// checked: states in BFS order, and their out-edges.
type graph struct {
	size    int
	states  []byte   // every state, size bytes each
	edgeOff []uint32 // state i's edges are edges[edgeOff[i]:edgeOff[i+1]]
	edgeDst []uint32
	edgeAct []int32
	edgeID  []int32
	// edgeFault marks fault transitions: liveness assumes every fault
	// happens finitely often, so cycles never use them.
	edgeFault []bool
	// enabled[i*words:(i+1)*words] is the bitset of fair actors with an
	// enabled non-fault transition in state i.
	enabled []uint64
	words   int
}

func (g *graph) state(i uint32) []byte { return g.states[int(i)*g.size : int(i+1)*g.size] }

// Check explores m and checks props.
func Check(m Model, props []Property, opt Options) Result {
	start := time.Now()
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	every := opt.ProgressEvery
	if every == 0 {
		every = 2 * time.Second
	}
	size := m.Size()
	inv, step, ev, deadlock := byKind(props)
	keepGraph := len(ev) > 0
	if !keepGraph {
		res := checkSafety(m, props, opt, ctx, start)
		if len(res.Violations) > 0 && opt.Ample != nil && res.Stats.Reduced > 0 {
			// The reduced graph keeps the verdict, not the shortest runs.
			full := opt
			full.Ample = nil
			res = checkSafety(m, props, full, ctx, start)
		}
		return finish(res, start)
	}
	found := make([]*Counterexample, len(props))
	nfound := 0
	safety := len(props) - len(ev)

	seen := newTable(1 << 16)
	var parent []uint32
	var via []int32
	var g graph
	g.size = size
	if keepGraph {
		g.words = (m.NumActors() + 63) / 64
	}
	// The current and next BFS levels as packed states with their indexes.
	cur := make([]byte, 0, size*1024)
	var curIdx []uint32
	nxt := make([]byte, 0, size*1024)
	var nxtIdx []uint32

	res := Result{}
	stats := &res.Stats
	init := m.InitialState()
	seen.insert(fingerprint(init), 0)
	parent = append(parent, 0)
	via = append(via, -1)
	cur = append(cur, init...)
	curIdx = append(curIdx, 0)
	if keepGraph {
		g.states = append(g.states, init...)
	}
	stats.States = 1

	pathTo := func(i uint32) []int32 {
		var p []int32
		for i != 0 {
			p = append(p, via[i])
			i = parent[i]
		}
		for l, r := 0, len(p)-1; l < r; l, r = l+1, r-1 {
			p[l], p[r] = p[r], p[l]
		}
		return p
	}
	report := func(pi int, path []int32) {
		if found[pi] != nil {
			return
		}
		found[pi] = &Counterexample{Property: props[pi].Name, Kind: props[pi].Kind, Path: path, Loop: -1}
		nfound++
	}
	checkState := func(st []byte, idx uint32) {
		for _, pi := range inv {
			if found[pi] == nil && !props[pi].State(st) {
				report(pi, pathTo(idx))
			}
		}
	}
	checkState(init, 0)

	buf := make([]byte, size)
	var pre []byte
	var preIdx uint32
	var succs, moves int
	var edges []uint32
	var edgeActs []int32
	var edgeIDs []int32
	var edgeFaults []bool
	var enabled []uint64
	yield := func(id, actor int32, fault bool, next []byte) bool {
		succs++
		if !fault {
			moves++
		}
		stats.Transitions++
		for _, pi := range step {
			if found[pi] == nil && !props[pi].Step(pre, id, next) {
				report(pi, append(pathTo(preIdx), id))
			}
		}
		idx, added := seen.insert(fingerprint(next), uint32(len(parent)))
		if added {
			parent = append(parent, preIdx)
			via = append(via, id)
			nxt = append(nxt, next...)
			nxtIdx = append(nxtIdx, idx)
			if keepGraph {
				g.states = append(g.states, next...)
			}
			checkState(next, idx)
		}
		if keepGraph {
			edges = append(edges, idx)
			edgeActs = append(edgeActs, actor)
			edgeIDs = append(edgeIDs, id)
			edgeFaults = append(edgeFaults, fault)
			if !fault && m.ActorFair(int(actor)) {
				enabled[int(actor)/64] |= 1 << (actor % 64)
			}
		}
		return true
	}
	if keepGraph {
		enabled = make([]uint64, g.words)
		g.edgeOff = append(g.edgeOff, 0)
	}
	last := time.Now()
	complete := true
explore:
	for depth := 0; len(curIdx) > 0; depth++ {
		stats.Depth = depth
		for k, idx := range curIdx {
			pre = cur[k*size : (k+1)*size]
			preIdx = idx
			succs, moves = 0, 0
			if keepGraph {
				for w := range enabled {
					enabled[w] = 0
				}
				// States are expanded in index order, so edges of state idx
				// are appended right after those of idx-1.
				edges, edgeActs, edgeIDs, edgeFaults = g.edgeDst, g.edgeAct, g.edgeID, g.edgeFault
			}
			m.Next(pre, buf, yield)
			if keepGraph {
				g.edgeDst, g.edgeAct, g.edgeID, g.edgeFault = edges, edgeActs, edgeIDs, edgeFaults
				g.edgeOff = append(g.edgeOff, uint32(len(g.edgeDst)))
				g.enabled = append(g.enabled, enabled...)
			}
			// Faults are optional: a state whose only moves are faults
			// is stuck.
			if moves == 0 && deadlock >= 0 && found[deadlock] == nil && !m.Quiescent(pre) {
				report(deadlock, pathTo(idx))
			}
			if nfound == safety && len(ev) == 0 {
				complete = false // every property already fails: stop early
				break explore
			}
			if opt.MaxStates > 0 && stats.States >= opt.MaxStates {
				complete = false
				res.Reason = "state bound reached"
				break explore
			}
			if opt.MemoryBudget > 0 {
				used := int64(len(g.states)+len(cur)+len(nxt)) + int64(len(g.edgeDst))*13 + int64(seen.bytes()) + int64(len(parent))*8
				if used > opt.MemoryBudget {
					complete = false
					res.Reason = fmt.Sprintf("memory budget reached (%d bytes in use)", used)
					break explore
				}
			}
			stats.States = len(parent)
			if stats.States%4096 == 0 {
				if ctx.Err() != nil {
					complete = false
					res.Reason = "cancelled: " + ctx.Err().Error()
					break explore
				}
				if opt.Progress != nil && time.Since(last) >= every {
					last = time.Now()
					stats.Elapsed = time.Since(start)
					opt.Progress(*stats)
				}
			}
		}
		stats.States = len(parent)
		cur, nxt = nxt, cur[:0]
		curIdx, nxtIdx = nxtIdx, curIdx[:0]
	}
	stats.States = len(parent)
	stats.Complete = complete
	if complete && len(ev) > 0 {
		for _, pi := range ev {
			if v := eventually(&g, m, props[pi]); v != nil {
				v.Property, v.Kind = props[pi].Name, Eventually
				found[pi] = v
				nfound++
			}
		}
	}
	for _, v := range found {
		if v != nil {
			res.Violations = append(res.Violations, *v)
		}
	}
	stats.Workers = 1
	return finish(res, start)
}

// finish sets the verdict and the elapsed time.
func finish(res Result, start time.Time) Result {
	stats := &res.Stats
	stats.Elapsed = time.Since(start)
	switch {
	case len(res.Violations) > 0:
		res.Verdict = Violation
	case !stats.Complete:
		res.Verdict = Unknown
		if res.Reason == "" {
			res.Reason = "exploration incomplete"
		}
	default:
		res.Verdict = Ok
	}
	return res
}

// byKind splits the properties' indexes by kind; deadlock is -1 when not
// checked.
func byKind(props []Property) (inv, step, ev []int, deadlock int) {
	deadlock = -1
	for i, p := range props {
		switch p.Kind {
		case Invariant:
			inv = append(inv, i)
		case StepInvariant:
			step = append(step, i)
		case Deadlock:
			deadlock = i
		case Eventually:
			ev = append(ev, i)
		}
	}
	return inv, step, ev, deadlock
}
