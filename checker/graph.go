package checker

// graph is the explored state graph, recorded for the eventually-
// properties by the explorer's graph visitor: states by index (the exact
// seen set holds them, in breadth-first order), and their out-edges in
// the order the model yields them.
type graph struct {
	states  *stateSet
	edgeOff []uint32 // state i's edges are edges[edgeOff[i]:edgeOff[i+1]]
	edgeDst []uint32
	edgeAct []int32
	edgeID  []int32
	// edgeFault marks fault transitions: liveness assumes every fault
	// happens finitely often, so cycles never use them, and a state whose
	// only edges are faults may end a run.
	edgeFault []bool
	// enabled[i*words:(i+1)*words] is the bitset of fair actors with an
	// enabled non-fault transition in state i.
	enabled []uint64
	words   int
	fair    []bool
}

func newGraph(m Model) *graph {
	g := &graph{words: (m.NumActors() + 63) / 64, edgeOff: []uint32{0}}
	for a := 0; a < m.NumActors(); a++ {
		g.fair = append(g.fair, m.ActorFair(a))
	}
	return g
}

func (g *graph) state(i uint32) []byte { return g.states.state(i) }

// n is the number of expanded states.
func (g *graph) n() int { return len(g.edgeOff) - 1 }

func (g *graph) bytes() int64 {
	return int64(len(g.edgeOff))*4 + int64(len(g.edgeDst))*13 + int64(len(g.enabled))*8
}

// chunkEdges is what the visitor records for one chunk of the frontier in
// the expand phase: per state its number of edges and enabled bits, and
// the edges, whose destinations are state indexes or, with pendingBit, a
// candidate of the chunk resolved at assembly.
type chunkEdges struct {
	count   []uint32
	enabled []uint64
	dst     []uint32
	act     []int32
	id      []int32
	fault   []bool
}

func (c *chunkEdges) reset() {
	c.count, c.enabled, c.dst, c.act, c.id, c.fault = c.count[:0], c.enabled[:0], c.dst[:0], c.act[:0], c.id[:0], c.fault[:0]
}

// state records a frontier state whose successors were made by acts,
// faults[i] telling whether the i-th is a fault.
func (c *chunkEdges) state(m Model, acts []int32, faults []bool) {
	c.count = append(c.count, uint32(len(acts)))
	words := (m.NumActors() + 63) / 64
	base := len(c.enabled)
	for w := 0; w < words; w++ {
		c.enabled = append(c.enabled, 0)
	}
	for i, a := range acts {
		if !faults[i] && m.ActorFair(int(a)) {
			c.enabled[base+int(a)/64] |= 1 << (a % 64)
		}
	}
}

func (c *chunkEdges) add(dst uint32, id, act int32, fault bool) {
	c.dst = append(c.dst, dst)
	c.id = append(c.id, id)
	c.act = append(c.act, act)
	c.fault = append(c.fault, fault)
}

func (c *chunkEdges) bytes() int64 {
	return int64(len(c.dst))*13 + int64(len(c.count))*4 + int64(len(c.enabled))*8
}

// appendChunk adds a chunk's states and edges, in order; resolve maps a
// candidate of the chunk to its state index.
func (g *graph) appendChunk(c *chunkEdges, resolve func(local uint32) uint32) {
	e := 0
	for _, n := range c.count {
		for j := 0; j < int(n); j++ {
			d := c.dst[e]
			if d&pendingBit != 0 {
				d = resolve(d &^ pendingBit)
			}
			g.edgeDst = append(g.edgeDst, d)
			g.edgeAct = append(g.edgeAct, c.act[e])
			g.edgeID = append(g.edgeID, c.id[e])
			g.edgeFault = append(g.edgeFault, c.fault[e])
			e++
		}
		g.edgeOff = append(g.edgeOff, uint32(len(g.edgeDst)))
	}
	g.enabled = append(g.enabled, c.enabled...)
}

// moves reports whether state s has a successor other than by a fault.
func (g *graph) moves(s uint32) bool {
	for e := g.edgeOff[s]; e < g.edgeOff[s+1]; e++ {
		if !g.edgeFault[e] {
			return true
		}
	}
	return false
}

func (g *graph) isEnabled(s uint32, a int) bool {
	return g.enabled[int(s)*g.words+a/64]&(1<<(a%64)) != 0
}

// capBytes is the graph's memory by capacity.
func (g *graph) capBytes() int64 {
	return int64(cap(g.edgeOff))*4 + int64(cap(g.edgeDst))*4 + int64(cap(g.edgeAct))*4 + int64(cap(g.edgeID))*4 +
		int64(cap(g.edgeFault)) + int64(cap(g.enabled))*8
}

// growthBytes is what grow(states, edges) allocates.
func (g *graph) growthBytes(states, edges int) int64 {
	return growBytes(g.edgeOff, states, 4) + growBytes(g.edgeDst, edges, 4) + growBytes(g.edgeAct, edges, 4) +
		growBytes(g.edgeID, edges, 4) + growBytes(g.edgeFault, edges, 1) + growBytes(g.enabled, states*g.words, 8)
}

// grow makes room for states more states with edges more edges.
func (g *graph) grow(states, edges int) {
	g.edgeOff = growTo(g.edgeOff, states)
	g.edgeDst = growTo(g.edgeDst, edges)
	g.edgeAct = growTo(g.edgeAct, edges)
	g.edgeID = growTo(g.edgeID, edges)
	g.edgeFault = growTo(g.edgeFault, edges)
	g.enabled = growTo(g.enabled, states*g.words)
}

func (c *chunkEdges) capBytes() int64 {
	return int64(cap(c.count))*4 + int64(cap(c.enabled))*8 + int64(cap(c.dst))*4 + int64(cap(c.act))*4 + int64(cap(c.id))*4 + int64(cap(c.fault))
}
