package checker

import "slices"

// The cycle proviso of the partial-order reduction, checked after the
// search instead of during it.
//
// A reduced search must not ignore a transition forever: a state that is
// reduced on a cycle of reduced states could leave a transition outside
// every ample set around the cycle, and a violation behind it would be
// missed. The classic condition (Clarke, Grumberg and Peled's C3, in its
// strong form) is that every cycle of the reduced graph holds a fully
// expanded state. A breadth-first search can enforce it as it goes, by
// expanding fully any state none of whose ample successors is new; but in
// the models here, where one state is reached along paths of different
// lengths (a watch handler that runs after another path reached its
// result, a transaction retried after a conflict), that expands
// many states whose graph has no cycle at all (3.5× more states on the
// benchmark family at N = 3, whose full graph has none).
//
// So the search reduces without the proviso and keeps the edges that
// leave reduced states (their ample edges, as fingerprint pairs, 16 bytes
// each); when it completes, cyclic looks for a cycle among them. A cycle
// of the reduced graph without a fully expanded state uses only such
// edges, so when there is none the condition holds and the verdict
// stands; when there is one, Check searches again with the breadth-first
// proviso. Every cycle of a breadth-first search has an edge back to a
// state found at its source's level or before, so a search with no such
// edge out of a reduced state (cycleEdges.back = 0) skips the check.
//
// Fingerprints stand for states here: two states with one fingerprint
// become one node, which can only add cycles, never hide one, so the
// check stays on the safe side (it may only search again needlessly).

// cycleEdges is what the search keeps for the check: the pairs of
// fingerprints of an edge's source (a reduced state) and target, in
// blocks of at most cycleBlock words, the last one grown by doubling (one
// slice grown by doubling would, at its last growth, hold the old and
// the new array at once: three times the edges), and back, the number of
// edges whose target was found at the source's level or before.
type cycleEdges struct {
	blocks [][]uint64
	back   int64
}

// cycleBlock is the words in a block of cycleEdges: 8 MB, half a
// million edges.
const cycleBlock = 1 << 20

func (c *cycleEdges) bytes() int64 {
	var n int64
	for _, b := range c.blocks {
		n += int64(cap(b)) * 8
	}
	return n
}

// n is the number of edges.
func (c *cycleEdges) n() int {
	if len(c.blocks) == 0 {
		return 0
	}
	return ((len(c.blocks)-1)*cycleBlock + len(c.blocks[len(c.blocks)-1])) / 2
}

// take appends a worker's level of edges (pairs, back of them going back)
// to c and empties them.
func (c *cycleEdges) take(pairs *[]uint64, back *int64) {
	p := *pairs
	for len(p) > 0 {
		if len(c.blocks) == 0 || len(c.blocks[len(c.blocks)-1]) == cycleBlock {
			c.blocks = append(c.blocks, nil)
		}
		last := &c.blocks[len(c.blocks)-1]
		k := min(len(p), cycleBlock-len(*last))
		if len(*last)+k > cap(*last) {
			grown := make([]uint64, len(*last), min(cycleBlock, max(2*cap(*last), len(*last)+k, 1024)))
			copy(grown, *last)
			*last = grown
		}
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	c.back += *back
	*pairs, *back = (*pairs)[:0], 0
}

// growthBytes is what c grows by, at most, when edges more are taken:
// twice the words beyond its capacity (the last block doubles, and its
// old array is garbage until the next collection).
func (c *cycleEdges) growthBytes(edges int) int64 {
	free := int64(0)
	if len(c.blocks) > 0 {
		last := c.blocks[len(c.blocks)-1]
		free = int64(cap(last) - len(last))
	}
	return max(0, 2*int64(edges)-free) * 8 * 2
}

// cycleCheckBytes is what cyclic allocates, at most, for edges edges out
// of reduced reduced states: the table (at most 8/3 slots of 12 bytes per
// node), 12 bytes per edge (sources, targets, adjacency) and 16 per node
// (offsets, in-degrees, fill pointers, queue), and its nine arrays each
// rounded up to the runtime's pages (a large object takes whole pages).
func cycleCheckBytes(edges, reduced int) int64 {
	const arrays, runtimePage = 9, 8 << 10
	return int64(edges)*12 + int64(reduced)*(32+16) + arrays*runtimePage
}

// each calls f with every edge, in the order they were kept.
func (c *cycleEdges) each(f func(src, dst uint64)) {
	for _, b := range c.blocks {
		for i := 0; i+1 < len(b); i += 2 {
			f(b[i], b[i+1])
		}
	}
}

// cyclic returns how many of the sources (the reduced states) lie on a
// cycle of the edges among them, or after one: 0 when there is none.
// Edges to a state that is not a source end at a fully expanded state (or
// one with no successor), which no cycle without a full expansion passes
// through, and are dropped. Kahn's algorithm over a compressed sparse
// row of the rest: what it cannot remove is on a cycle or after one.
//
// Written here rather than with gonum's topo.Sort: that needs a
// graph.Directed, whose simple implementation keeps maps of nodes and
// edges, hundreds of bytes per node where this uses about 50 bytes per
// edge (the states are counted in millions: on the benchmark family at
// N = 6 with symmetry, 2 million edges take 0.17 s).
func cyclic(c *cycleEdges, reduced int) int {
	n := c.n()
	if n == 0 {
		return 0
	}
	// The sources are the nodes, numbered in the order they come, in an
	// open-addressing table keyed by fingerprint (never 0, and already
	// uniform: the low bits are the slot), at most three quarters full
	// (there are as many sources as reduced states).
	size := 1
	for size < reduced+reduced/3+1 {
		size <<= 1
	}
	mask := uint64(size - 1)
	keys := make([]uint64, size)
	ids := make([]int32, size)
	nodes := int32(0)
	slot := func(f uint64) uint64 {
		i := f & mask
		for keys[i] != 0 && keys[i] != f {
			i = (i + 1) & mask
		}
		return i
	}
	src := make([]int32, n)
	e := 0
	full := false
	c.each(func(s, _ uint64) {
		if full {
			return
		}
		i := slot(s)
		if keys[i] == 0 {
			keys[i], ids[i] = s, nodes
			nodes++
		}
		src[e] = ids[i]
		e++
		// More sources than reduced states would be a bug; rather
		// than fill the table, say there may be a cycle (the search
		// is made again with the proviso).
		full = int(nodes) > size*3/4
	})
	if full {
		return int(nodes)
	}
	// Edges between nodes, as node ids, and in-degrees.
	off := make([]int32, nodes+1)
	dst := make([]int32, n)
	indeg := make([]int32, nodes)
	e = 0
	c.each(func(_, t uint64) {
		dst[e] = -1
		if i := slot(t); keys[i] != 0 {
			d := ids[i]
			dst[e] = d
			off[src[e]+1]++
			indeg[d]++
		}
		e++
	})
	keys, ids = nil, nil
	for v := int32(0); v < nodes; v++ {
		off[v+1] += off[v]
	}
	adj := make([]int32, off[nodes])
	fill := slices.Clone(off[:nodes])
	for e := range n {
		if dst[e] >= 0 {
			adj[fill[src[e]]] = dst[e]
			fill[src[e]]++
		}
	}
	src, dst, fill = nil, nil, nil
	queue := make([]int32, 0, nodes)
	for v, d := range indeg {
		if d == 0 {
			queue = append(queue, int32(v))
		}
	}
	for h := 0; h < len(queue); h++ {
		v := queue[h]
		for _, w := range adj[off[v]:off[v+1]] {
			if indeg[w]--; indeg[w] == 0 {
				queue = append(queue, w)
			}
		}
	}
	return int(nodes) - len(queue)
}
