package checker

// A slab hands out slices carved from large blocks that it keeps from
// level to level: the candidates of a level live until the level is
// committed, so each worker carves its chunks' arrays from its own slabs
// and empties them when the next level starts. Carving instead of
// allocating an array of each chunk's size (which changes from level to
// level) keeps the garbage collector from running for them. On the N=3
// benchmark family (two workers) the check allocated 409 MB before and
// 115 MB after (with the expander's callbacks made once per worker), the
// collector ran 35 times instead of 94, and the check took 1.70 s
// instead of 2.16 (one worker: 3.10 s instead of 3.62).
type slab[T arenaElem] struct {
	blocks [][]T
	cur    int    // the block being carved
	off    int    // the next free element in it
	mem    *arena // where the blocks come from (nil: the Go heap)
}

// slabBlock is the number of elements of a block: small enough that the
// last block's unused part costs little beside the levels that need
// slabs, large enough that a chunk's arrays seldom need a new one.
const slabBlock = 16 << 10

// reset makes every block free again (the slices handed out before must
// not be used any more).
func (s *slab[T]) reset() { s.cur, s.off = 0, 0 }

// take returns a slice of n elements (their values are what the block
// held: not zeroed), with capacity n, so that an append to it copies.
func (s *slab[T]) take(n int) []T {
	if n > slabBlock {
		return make([]T, n) // larger than a block: an array of its own
	}
	if s.cur < len(s.blocks) && s.off+n > len(s.blocks[s.cur]) {
		s.cur, s.off = s.cur+1, 0
	}
	if s.cur == len(s.blocks) {
		s.blocks = append(s.blocks, arenaMake[T](s.mem, slabBlock))
	}
	b := s.blocks[s.cur][s.off : s.off+n : s.off+n]
	s.off += n
	return b
}

// copyOf returns a copy of src carved from the slab.
func (s *slab[T]) copyOf(src []T) []T {
	dst := s.take(len(src))
	copy(dst, src)
	return dst
}

// blockBytes is the memory of the slab's blocks, given the size of an
// element.
func (s *slab[T]) blockBytes(elem int) int64 {
	return int64(len(s.blocks)) * slabBlock * int64(elem)
}

// candSlabs are one worker's slabs for the candidates of the chunks it
// expands.
type candSlabs struct {
	u64 slab[uint64]
	i32 slab[int32]
	u32 slab[uint32]
	u8  slab[uint8]
	b   slab[bool]
	// count is setOwners' scratch.
	count []int
}

// setArena makes the worker's slabs take their next blocks from mem.
func (w *worker) setArena(mem *arena) {
	w.slabs.setArena(mem)
	for i := range w.runSlabs {
		rs := &w.runSlabs[i]
		rs.data.mem, rs.keys.mem, rs.fps.mem = mem, mem, mem
	}
}

// setArena makes the slabs' next blocks come from mem.
func (c *candSlabs) setArena(mem *arena) {
	c.u64.mem, c.i32.mem, c.u32.mem, c.u8.mem, c.b.mem = mem, mem, mem, mem, mem
}

func (c *candSlabs) reset() {
	c.u64.reset()
	c.i32.reset()
	c.u32.reset()
	c.u8.reset()
	c.b.reset()
}

func (c *candSlabs) bytes() int64 {
	return c.u64.blockBytes(8) + c.i32.blockBytes(4) + c.u32.blockBytes(4) + c.u8.blockBytes(1) + c.b.blockBytes(1)
}
