package checker

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
	sink   uint64 // keeps the prefetch loads alive
	edges  chunkEdges
}

// capBytes is the chunk's memory by capacity.
func (c *candidates) capBytes() int64 {
	return int64(cap(c.fps))*8 + int64(cap(c.parent))*4 + int64(cap(c.via))*4 + int64(cap(c.acc)) +
		int64(cap(c.win))*4 + int64(cap(c.slot))*8 + int64(cap(c.states)) + int64(cap(c.viols))*16 + c.edges.capBytes()
}

type pending struct {
	prop int
	k    uint32 // frontier position of the state where it was found
	id   int32  // the violating transition, -1 for a deadlock
}

// worker is one exploring goroutine's scratch, kept across levels.
type worker struct {
	buf, cbuf []byte
	canon     func(st, dst []byte)
	sc        candidates
	sacts     []int32
	sfault    []bool
}

func (w *worker) capBytes() int64 {
	return int64(cap(w.buf)+cap(w.cbuf)) + w.sc.capBytes() + int64(cap(w.sacts))*4 + int64(cap(w.sfault))
}

// clear0 zeroes s and returns it.
func clear0[T any](s []T) []T {
	clear(s)
	return s
}

// nonzero maps fingerprint 0, the empty slot's mark, to 1.
func nonzero(f uint64) uint64 {
	if f == 0 {
		return 1
	}
	return f
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
