package checker

// eventually checks ◇P under weak fairness on the explored graph g (which
// holds the whole reachable state space). A run violates ◇P when P never
// holds on it, so only the states reachable from the initial state through
// ¬P states matter (the ¬P region). A violation is either a ¬P state
// without successors other than faults (faults need not happen, so the
// run may stop there), or a cycle in the ¬P region
// that is fair: every fair actor either takes a step on it or is disabled
// somewhere on it. Faults are assumed to happen finitely often (a commit
// does not fail with EAGAIN forever), so cycles are made of non-fault
// transitions only; faults may still occur on the way to a cycle. A strongly connected component of the ¬P region
// contains a fair cycle exactly when each fair actor has an edge inside it
// or a state in it where it is disabled (a cycle through all its states
// and edges is then fair); so the check runs per component.
//
// The components are found with an iterative Tarjan over the flat edge
// arrays. gonum's topo.TarjanSCC (used for the diagrams) needs a
// graph.Directed of node values and recurses once per state; the checker's
// graphs have millions of states, so it keeps its own array-based version.
func eventually(g *graph, p Property) *Counterexample {
	n := g.n()
	if n <= 0 || p.State(g.state(0)) {
		return nil
	}
	// BFS over the ¬P region from the initial state: distances and parents
	// for the shortest prefix.
	const none = ^uint32(0)
	dist := make([]uint32, n)
	par := make([]uint32, n)
	parEdge := make([]uint32, n)
	for i := range dist {
		dist[i] = none
	}
	inRegion := func(i uint32) bool { return !p.State(g.state(i)) }
	region := make([]bool, n)
	dist[0] = 0
	region[0] = true
	queue := []uint32{0}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if !g.moves(u) {
			// No successor but faults, which need not happen: the run
			// may end here with P never holding.
			return &Counterexample{Path: prefix(g, par, parEdge, u), Loop: int(dist[u])}
		}
		for e := g.edgeOff[u]; e < g.edgeOff[u+1]; e++ {
			v := g.edgeDst[e]
			if dist[v] == none && inRegion(v) {
				dist[v] = dist[u] + 1
				par[v], parEdge[v] = u, e
				region[v] = true
				queue = append(queue, v)
			}
		}
	}
	comp, ncomp := tarjan(g, region)
	// Group states by component, components in the order Tarjan numbered
	// them and states in index order, so that the result depends on the
	// graph only (never on map order).
	start := make([]uint32, ncomp+1)
	for i := 0; i < n; i++ {
		if region[i] {
			start[comp[i]+1]++
		}
	}
	for c := uint32(0); c < ncomp; c++ {
		start[c+1] += start[c]
	}
	members := make([]uint32, start[ncomp])
	fill := append([]uint32(nil), start[:ncomp]...)
	for i := 0; i < n; i++ {
		if region[i] {
			members[fill[comp[i]]] = uint32(i)
			fill[comp[i]]++
		}
	}
	// The fair component with the entry closest to the initial state gives
	// the shortest prefix; ties go to the smallest state index.
	entry, bestDist := none, none
	for c := uint32(0); c < ncomp; c++ {
		ms := members[start[c]:start[c+1]]
		if !fairComponent(g, comp, c, ms) {
			continue
		}
		for _, s := range ms {
			if dist[s] < bestDist || dist[s] == bestDist && s < entry {
				bestDist, entry = dist[s], s
			}
		}
	}
	if entry == none {
		return nil
	}
	path := prefix(g, par, parEdge, entry)
	loop := len(path)
	path = append(path, fairCycle(g, comp, comp[entry], entry)...)
	return &Counterexample{Path: path, Loop: loop}
}

func prefix(g *graph, par, parEdge []uint32, u uint32) []int32 {
	var p []int32
	for u != 0 {
		p = append(p, g.edgeID[parEdge[u]])
		u = par[u]
	}
	for l, r := 0, len(p)-1; l < r; l, r = l+1, r-1 {
		p[l], p[r] = p[r], p[l]
	}
	return p
}

// fairComponent reports whether component c (with states ms) has a cycle
// and, for every fair actor, an edge inside it or a state where the actor
// is disabled.
func fairComponent(g *graph, comp []uint32, c uint32, ms []uint32) bool {
	cyclic := len(ms) > 1
	if !cyclic {
		s := ms[0]
		for e := g.edgeOff[s]; e < g.edgeOff[s+1]; e++ {
			if g.edgeDst[e] == s && !g.edgeFault[e] {
				cyclic = true
			}
		}
	}
	if !cyclic {
		return false
	}
	for a, fair := range g.fair {
		if !fair {
			continue
		}
		ok := false
		for _, s := range ms {
			if !g.isEnabled(s, a) {
				ok = true
				break
			}
			for e := g.edgeOff[s]; e < g.edgeOff[s+1]; e++ {
				if g.edgeAct[e] == int32(a) && comp[g.edgeDst[e]] == c && !g.edgeFault[e] {
					ok = true
					break
				}
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// fairCycle returns the transition ids of a cycle from entry back to entry
// inside component c that is fair: for each fair actor it takes one of the
// actor's edges inside c if there is one, or else passes through a state of
// c where the actor is disabled.
func fairCycle(g *graph, comp []uint32, c uint32, entry uint32) []int32 {
	var cyc []int32
	cur := entry
	for a, fair := range g.fair {
		if !fair {
			continue
		}
		path, end, e, ok := searchIn(g, comp, c, cur, func(s uint32) (uint32, bool) {
			for e := g.edgeOff[s]; e < g.edgeOff[s+1]; e++ {
				if g.edgeAct[e] == int32(a) && comp[g.edgeDst[e]] == c && !g.edgeFault[e] {
					return e, true
				}
			}
			return 0, false
		})
		if ok {
			cyc = append(append(cyc, path...), g.edgeID[e])
			cur = g.edgeDst[e]
			continue
		}
		path, end, _, _ = searchIn(g, comp, c, cur, func(s uint32) (uint32, bool) { return 0, !g.isEnabled(s, a) })
		cyc = append(cyc, path...)
		cur = end
	}
	if len(cyc) == 0 {
		for e := g.edgeOff[cur]; e < g.edgeOff[cur+1]; e++ {
			if comp[g.edgeDst[e]] == c && !g.edgeFault[e] {
				cyc = append(cyc, g.edgeID[e])
				cur = g.edgeDst[e]
				break
			}
		}
	}
	if cur != entry {
		path, _, _, _ := searchIn(g, comp, c, cur, func(s uint32) (uint32, bool) { return 0, s == entry })
		cyc = append(cyc, path...)
	}
	return cyc
}

// searchIn runs a BFS inside component c from src to the first state s for
// which goal(s) holds; it returns the path (transition ids), s, and goal's
// value.
func searchIn(g *graph, comp []uint32, c, src uint32, goal func(s uint32) (uint32, bool)) ([]int32, uint32, uint32, bool) {
	type hop struct{ from, edge uint32 }
	prev := map[uint32]hop{src: {src, ^uint32(0)}}
	queue := []uint32{src}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if x, ok := goal(u); ok {
			var p []int32
			for v := u; v != src; v = prev[v].from {
				p = append(p, g.edgeID[prev[v].edge])
			}
			for l, r := 0, len(p)-1; l < r; l, r = l+1, r-1 {
				p[l], p[r] = p[r], p[l]
			}
			return p, u, x, true
		}
		for e := g.edgeOff[u]; e < g.edgeOff[u+1]; e++ {
			v := g.edgeDst[e]
			if comp[v] != c || g.edgeFault[e] {
				continue
			}
			if _, seen := prev[v]; !seen {
				prev[v] = hop{u, e}
				queue = append(queue, v)
			}
		}
	}
	return nil, src, 0, false
}

// tarjan labels every state of the region with its strongly connected
// component (iterative Tarjan; states outside the region are skipped).
func tarjan(g *graph, region []bool) (comp []uint32, ncomp uint32) {
	n := len(region)
	const none = ^uint32(0)
	index := make([]uint32, n)
	low := make([]uint32, n)
	comp = make([]uint32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = none
		comp[i] = none
	}
	var stack []uint32
	type frame struct{ v, e uint32 }
	var calls []frame
	next := uint32(0)
	for root := 0; root < n; root++ {
		if !region[root] || index[root] != none {
			continue
		}
		calls = append(calls, frame{uint32(root), g.edgeOff[root]})
		index[root], low[root] = next, next
		next++
		stack = append(stack, uint32(root))
		onStack[root] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.v
			if f.e < g.edgeOff[v+1] {
				w := g.edgeDst[f.e]
				fault := g.edgeFault[f.e]
				f.e++
				if !region[w] || fault {
					continue
				}
				if index[w] == none {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{w, g.edgeOff[w]})
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			if low[v] == index[v] {
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = ncomp
					if w == v {
						break
					}
				}
				ncomp++
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				u := calls[len(calls)-1].v
				if low[v] < low[u] {
					low[u] = low[v]
				}
			}
		}
	}
	return comp, ncomp
}
