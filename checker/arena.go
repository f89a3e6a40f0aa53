package checker

import (
	"runtime"
	"sync"
	"unsafe"
)

// An arena holds the explorer's large arrays without pointers (the seen
// set's segments, the workers' slabs, the transitions that found the
// states and the parent links) in memory of its own, outside the Go
// heap: one anonymous mapping, reserved at its full size but resident
// only where written, which the system is asked to back with transparent
// huge pages (2 MB) past its first 4 MB (smallArena), and there too once
// it hands out more than those (collapseSmall). Why: a search's memory is
// almost all written once, fresh from the system, and a first write to a
// 4 KB page is a page fault. On the machine of docs/performance.md (a
// virtual machine) one costs 11 µs, and the N=3 family's one-worker
// check took 14,200 of them (160 ms of 1.9 s), 10,900 while the seen set
// grew; on a huge page, one fault covers 512 pages (about 1.5 ms there,
// when the host has not backed it yet). With the seen set and the slabs
// in the arena: 4,840 faults, and the insert phase, where the seen set
// grows, took 0.21 s instead of 0.37; with the transitions and the parent
// links too, 3,320. The Go runtime does not ask for huge pages for its heap
// when the system gives them only on request
// (/sys/kernel/mm/transparent_hugepage/enabled is "madvise", the default
// of Debian's kernels).
//
// Blocks are carved first-fit from a list of free extents, which merge
// with their neighbours when freed, so that the table a growing segment
// leaves is reused by the next segments that grow (each grows by 1.5, and
// the tables freed before it add up to more than that). Memory freed stays
// resident, for the next blocks: slack is what the memory budget counts
// for it (bfs.held).
//
// An arena is safe for concurrent use. Where the system refuses the
// mapping (another system than Linux, a bound on the address space), or
// the arena is full, or a is nil, blocks come from the Go heap, and free
// leaves them to the collector. After close, no block it handed out may
// be used: the explorer closes its search's arena when the search ends.
type arena struct {
	mu   sync.Mutex
	mem  []byte // the mapping (empty when refused)
	top  int    // the bytes handed out from the start of mem, or freed since
	high int    // the most top has been
	// dirty is where mem is zero past: high, or what the arena whose
	// mapping it took (spare) wrote, if more.
	dirty int
	live  int      // the bytes in blocks handed out and not freed
	free  []extent // free extents below top, by offset
	// collapseErr is what collapseSmall returned when the arena first
	// handed out memory past smallArena (nil before, or when it did).
	collapseErr error
	r           *region         // what unmaps mem, once
	cleanup     runtime.Cleanup // r's unmapping, should a be dropped unclosed
}

// spare is the mapping of the last small arena closed (one that handed
// out at most smallArena bytes), kept resident for the next newArena of
// its size. A process that runs many small checks (a test suite, a
// simulation, xbcheck on a folder of scenarios) then neither maps nor
// first touches their memory each time: a check of the N = 1 family (157
// states, go test -bench AttachDetach/N=1 ./bench) took 2.96 ms with a
// fresh mapping, 1.31 with the spare, most of the difference page faults
// in its fingerprint set. Between checks the process holds at most
// smallArena bytes resident for it.
var spare struct {
	sync.Mutex
	mem   []byte
	r     *region
	dirty int
}

// smallArena is the start of an arena that stays in 4 KB pages while the
// arena hands out no more (collapseSmall).
const smallArena = 4 << 20

// An arenaElem is a type of the elements of an arena's arrays: one
// without pointers.
type arenaElem interface {
	uint8 | bool | uint16 | int32 | uint32 | uint64
}

// An extent is a free range of an arena: mem[off:off+n].
type extent struct{ off, n int }

// arenaAlign is the alignment of every block: a cache line.
const arenaAlign = 64

// newArena maps an arena of about reserve bytes (address space: only what
// is written becomes resident).
func newArena(reserve int) *arena {
	a := &arena{}
	spare.Lock()
	if spare.r != nil && len(spare.mem) == reserve {
		// Written up to dirty, zero past it, as alloc expects. The
		// memory is resident already: what this arena holds for the
		// memory budget (slack) is still only what it hands out.
		a.mem, a.r, a.dirty = spare.mem, spare.r, spare.dirty
		spare.mem, spare.r, spare.dirty = nil, nil, 0
	}
	spare.Unlock()
	if a.r == nil {
		a.mem, a.r = mapArena(reserve)
	}
	if a.r != nil {
		// An arena dropped without close (a checkpoint that failed to
		// load) is unmapped by the collector; nothing carved from it is
		// reachable then, as everything that holds its blocks holds it.
		a.cleanup = runtime.AddCleanup(a, func(r *region) { r.unmap() }, a.r)
	}
	return a
}

// searchArenaBytes is the address space a search's arena reserves: twice
// the machine's memory (the explorer's arrays cannot outgrow it; past it,
// blocks come from the Go heap), at least 1 GiB.
func searchArenaBytes() int {
	return max(1<<30, 2*int(totalMemory()))
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// alloc returns a zeroed block of n bytes (n > 0), aligned to arenaAlign.
func (a *arena) alloc(n int) []byte {
	if a == nil || len(a.mem) == 0 {
		return make([]byte, n)
	}
	m := (n + arenaAlign - 1) &^ (arenaAlign - 1)
	a.mu.Lock()
	for i, e := range a.free {
		if e.n < m {
			continue
		}
		if e.n == m {
			a.free = append(a.free[:i], a.free[i+1:]...)
		} else {
			a.free[i] = extent{e.off + m, e.n - m}
		}
		a.live += m
		a.mu.Unlock()
		b := a.mem[e.off : e.off+n : e.off+n]
		clear(b) // (freed memory is not zero)
		return b
	}
	if a.top+m > len(a.mem) {
		a.mu.Unlock()
		return make([]byte, n) // full
	}
	off, dirty := a.top, max(0, min(a.dirty-a.top, n))
	a.top += m
	past := a.high <= smallArena && a.top > smallArena // (the first time)
	a.high = max(a.high, a.top)
	a.dirty = max(a.dirty, a.top)
	a.live += m
	a.mu.Unlock()
	if past {
		err := collapseSmall(a.mem)
		a.mu.Lock()
		a.collapseErr = err
		a.mu.Unlock()
	}
	b := a.mem[off : off+n : off+n]
	clear(b[:dirty])
	return b
}

// offset is the offset in the arena of block b (cap(b) > 0), or -1 when b
// is not the arena's.
func (a *arena) offset(b []byte) int {
	if a == nil || len(a.mem) == 0 || cap(b) == 0 {
		return -1
	}
	p, base := addrOf(b), addrOf(a.mem)
	if p < base || p >= base+uintptr(len(a.mem)) {
		return -1
	}
	return int(p - base)
}

// release gives back block b, which alloc returned with its capacity (a
// block from the Go heap is left to the collector).
func (a *arena) release(b []byte) {
	off := a.offset(b)
	if off < 0 {
		return
	}
	m := (cap(b) + arenaAlign - 1) &^ (arenaAlign - 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.live -= m
	i := 0
	for i < len(a.free) && a.free[i].off < off {
		i++
	}
	// Merge with the extents on either side, or insert.
	before := i > 0 && a.free[i-1].off+a.free[i-1].n == off
	after := i < len(a.free) && off+m == a.free[i].off
	switch {
	case before && after:
		a.free[i-1].n += m + a.free[i].n
		a.free = append(a.free[:i], a.free[i+1:]...)
	case before:
		a.free[i-1].n += m
	case after:
		a.free[i] = extent{off, m + a.free[i].n}
	default:
		a.free = append(a.free, extent{})
		copy(a.free[i+1:], a.free[i:])
		a.free[i] = extent{off, m}
	}
	// A free extent that ends at top lowers it.
	if last := len(a.free) - 1; a.free[last].off+a.free[last].n == a.top {
		a.top = a.free[last].off
		a.free = a.free[:last]
	}
}

// slack is the memory the arena holds resident beyond its live blocks:
// all it ever handed out (what was written is resident, and stays so),
// less what is handed out now.
func (a *arena) slack() int64 {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return int64(a.high - a.live)
}

// close unmaps the arena, or keeps a small one as the spare: its blocks
// must not be used after.
func (a *arena) close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.r == nil {
		return
	}
	a.cleanup.Stop()
	drop := a.r
	if a.dirty <= smallArena {
		// The spare before, if any, goes (one of another size, left by
		// a test, would never be taken).
		spare.Lock()
		drop = spare.r
		spare.mem, spare.r, spare.dirty = a.mem, a.r, a.dirty
		spare.Unlock()
	}
	if drop != nil {
		drop.unmap()
	}
	a.mem, a.r, a.free, a.top, a.high, a.dirty, a.live = nil, nil, nil, 0, 0, 0, 0
}

// arenaMake returns n zeroed elements of T from a (see alloc). T must hold
// no pointers: the collector does not look into the arena.
func arenaMake[T arenaElem](a *arena, n int) []T {
	if n == 0 {
		return nil
	}
	var z T
	b := a.alloc(n * int(unsafe.Sizeof(z)))
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// arenaFree gives back s, which arenaMake returned (with its capacity).
func arenaFree[T arenaElem](a *arena, s []T) {
	if cap(s) == 0 {
		return
	}
	a.release(arenaBytes(s))
}

// arenaBytes is the memory of s, to its capacity, as bytes.
func arenaBytes[T arenaElem](s []T) []byte {
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), cap(s)*int(unsafe.Sizeof(z)))
}

// arenaResize returns n elements from a that start with a copy of s
// (the rest zero), and gives s back to a.
func arenaResize[T arenaElem](a *arena, s []T, n int) []T {
	t := arenaMake[T](a, n)
	copy(t, s)
	arenaFree(a, s)
	return t
}

// arenaGrowTo is growTo with the new array from a and the old one given
// back to it.
func arenaGrowTo[T arenaElem](a *arena, s []T, extra int) []T {
	if cap(s)-len(s) >= extra {
		return s
	}
	n := len(s) + extra
	return arenaResize(a, s, n+n/4)[:len(s)]
}
