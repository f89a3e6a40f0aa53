package checker

import (
	"math/bits"
	"sort"
	"sync/atomic"
)

// parentLinks records the parent of every state found, in about 2 bits per
// state. States are numbered in breadth-first order and expanded in that
// order, so parents are non-decreasing: the links are a unary code, for
// each expanded state in order, of its children (a one for each, then a
// zero). The parent of state g (g >= 1) is the number of zeros before the
// g-th one. A directory of the ones before each 512-bit block makes
// finding the g-th one (select) a binary search and at most eight
// popcounts, so rebuilding a path of depth d costs O(d log n), not a scan
// of every link per step.
type parentLinks struct {
	words []uint64 // from mem
	mem   *arena
	n     int // bits
	ones  int
	// blockOnes[b] is the number of ones before bit b*blockBits.
	blockOnes []uint32
}

const (
	blockBits  = 512
	blockWords = blockBits / 64
)

// reindex rebuilds the directory from words and n (after a checkpoint is
// read).
func (b *parentLinks) reindex() {
	b.ones, b.blockOnes = 0, b.blockOnes[:0]
	for i, w := range b.words {
		if i%blockWords == 0 {
			b.blockOnes = append(b.blockOnes, uint32(b.ones))
		}
		b.ones += bits.OnesCount64(w)
	}
}

// parent returns the parent of state g >= 1, which must have been pushed.
func (b *parentLinks) parent(g uint32) uint32 {
	// The block holding the g-th one: the last whose ones-before is < g.
	blk := sort.Search(len(b.blockOnes), func(i int) bool { return b.blockOnes[i] >= g }) - 1
	r := int(g - b.blockOnes[blk]) // the g-th one is the r-th of the block
	for wi := blk * blockWords; ; wi++ {
		w := b.words[wi]
		if c := bits.OnesCount64(w); r > c {
			r -= c
			continue
		}
		for ; r > 1; r-- {
			w &= w - 1 // drop the lowest one
		}
		pos := wi*64 + bits.TrailingZeros64(w)
		return uint32(pos - int(g-1)) // zeros before it
	}
}

// bytes is the links' memory by capacity.
func (b *parentLinks) bytes() int64 {
	return int64(cap(b.words))*8 + int64(cap(b.blockOnes))*4
}

// The links are written a level at a time, in parallel (bfs.writeRuns):
// extend makes room for the level's bits, zeroed; workers set its ones
// where they fall (setOnes, atomically, since chunks share words at their
// ends); commit counts them in.

// reserve makes room for nbits more bits (and their block counts). The
// words grow to twice their capacity at least: each growth copies them
// into memory the process has not touched yet, one worker working while
// the others wait (assemble), and at a quarter more a time, the N = 3
// family's run spent 5 ms of its 1.2 s there, most of it in page faults.
func (b *parentLinks) reserve(nbits int) {
	if n := b.grownWords(nbits); n > 0 {
		b.words = arenaResize(b.mem, b.words, n)[:len(b.words)]
	}
	b.blockOnes = growTo(b.blockOnes, b.moreBlocks(nbits))
}

// reserveBytes is what reserve(nbits) allocates.
func (b *parentLinks) reserveBytes(nbits int) int64 {
	return int64(b.grownWords(nbits))*8 + growBytes(b.blockOnes, b.moreBlocks(nbits), 4)
}

// moreBlocks is the number of block counts nbits more bits may need.
func (b *parentLinks) moreBlocks(nbits int) int {
	return (b.n+nbits)/blockBits + 2 - len(b.blockOnes)
}

// grownWords is the capacity reserve(nbits) gives the words, 0 when
// they have room.
func (b *parentLinks) grownWords(nbits int) int {
	need := (b.n+nbits+63)/64 + 1
	if need <= cap(b.words) {
		return 0
	}
	return max(need+need/4, 2*cap(b.words))
}

// extend appends nbits zero bits' worth of words, without counting them.
func (b *parentLinks) extend(nbits int) {
	if need := (b.n + nbits + 63) / 64; need > len(b.words) {
		n := len(b.words)
		b.words = arenaGrowTo(b.mem, b.words, need-n)[:need]
		clear(b.words[n:])
	}
}

// setOnes ors word w's ones into the links (after extend, before commit):
// safe to call concurrently.
func (b *parentLinks) setOnes(w int, ones uint64) {
	if ones != 0 {
		atomic.OrUint64(&b.words[w], ones)
	}
}

// commit counts in nbits bits that extend made room for, ones of them
// set: the links are as if they had been pushed.
func (b *parentLinks) commit(nbits, ones int) {
	n := b.n + nbits
	for blk := len(b.blockOnes); blk*blockBits < n; blk++ {
		before := 0
		if blk > 0 {
			before = int(b.blockOnes[blk-1])
			for _, w := range b.words[(blk-1)*blockWords : blk*blockWords] {
				before += bits.OnesCount64(w)
			}
		}
		b.blockOnes = append(b.blockOnes, uint32(before))
	}
	b.n, b.ones = n, b.ones+ones
}
