package checker

import (
	"math/bits"
	"sync/atomic"
)

// The explorer's seen sets. An fpset (fpset.go) keeps 64-bit fingerprints only: a
// state whose fingerprint equals a stored one's is taken as seen, which
// misses it if the two differ (Result.CollisionBound bounds the chance).
// A stateSet keeps the states themselves and compares them on a
// fingerprint hit: exact, and it knows each state's index, which the
// graph of the eventually-properties needs.

// maxLoad is the load factor at which a table grows, by growFactor: the
// load stays in [maxLoad/growFactor, maxLoad] = [0.6, 0.9], so a table of
// fingerprints costs 8.9 to 13.3 bytes per state.
const (
	maxLoad    = 0.9
	growFactor = 1.5
)

// pendingBit marks a stateSet value that refers to a candidate of the
// level being inserted rather than to a stored state's index.
const pendingBit = 1 << 31

// A stateSet stores every state (in pages, by index) and maps it to its
// index through an open-addressing table of fingerprints. Lookups (the
// expand phase) may run concurrently with each other; inserts (the insert
// phase) may run concurrently with each other when every fingerprint is
// inserted by one goroutine only (the explorer partitions by fingerprint),
// since only inserts of equal fingerprints read a slot's value. Growth and
// commits happen between phases.
type stateSet struct {
	size  int
	keys  []uint64 // fingerprint (0 empty, a real 0 stored as 1)
	vals  []uint32 // state index, or pendingBit|candidate during a level
	n     atomic.Int64
	pages [][]byte
	count int // states stored in pages
	// pending returns the bytes of candidate ref during the insert phase.
	pending func(ref uint32) []byte
}

const pageStates = 1 << 14

func newStateSet(size int) *stateSet {
	return &stateSet{size: size, keys: make([]uint64, 1024), vals: make([]uint32, 1024)}
}

// state returns stored state g.
func (s *stateSet) state(g uint32) []byte {
	p := s.pages[g/pageStates]
	o := int(g%pageStates) * s.size
	return p[o : o+s.size]
}

func (s *stateSet) bytesOf(v uint32) []byte {
	if v&pendingBit != 0 {
		return s.pending(v &^ pendingBit)
	}
	return s.state(v)
}

func (s *stateSet) slot(fp uint64) uint64 {
	hi, _ := bits.Mul64(fp, uint64(len(s.keys)))
	return hi
}

// lookup returns the index of st (fingerprint fp, never 0) if stored.
func (s *stateSet) lookup(fp uint64, st []byte) (uint32, bool) {
	n := uint64(len(s.keys))
	for i := s.slot(fp); ; {
		switch s.keys[i] {
		case 0:
			return 0, false
		case fp:
			if v := s.vals[i]; string(s.bytesOf(v)) == string(st) {
				return v, true
			}
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insert adds st (fingerprint fp, never 0) as pending candidate ref,
// unless an equal state is there: it returns the value found or stored,
// whether it was added, and the slot, for commit.
func (s *stateSet) insert(fp uint64, st []byte, ref uint32) (v uint32, added bool, slot uint64) {
	n := uint64(len(s.keys))
	for i := s.slot(fp); ; {
		k := atomic.LoadUint64(&s.keys[i])
		if k == 0 {
			if !atomic.CompareAndSwapUint64(&s.keys[i], 0, fp) {
				continue // somebody took the slot: look at it again
			}
			s.vals[i] = pendingBit | ref
			s.n.Add(1)
			return pendingBit | ref, true, i
		}
		if k == fp {
			if v := s.vals[i]; string(s.bytesOf(v)) == string(st) {
				return v, false, i
			}
		}
		if i++; i == n {
			i = 0
		}
	}
}

// commit stores st as the next index and points slot at it.
func (s *stateSet) commit(slot uint64, st []byte) uint32 {
	g := s.count
	if g%pageStates == 0 {
		s.pages = append(s.pages, make([]byte, 0, pageStates*s.size))
	}
	p := &s.pages[len(s.pages)-1]
	*p = append(*p, st...)
	s.vals[slot] = uint32(g)
	s.count++
	return uint32(g)
}

// reserve grows the table so that extra more states fit under maxLoad.
func (s *stateSet) reserve(extra int) {
	need := float64(int(s.n.Load())+extra) / maxLoad
	if need <= float64(len(s.keys)) {
		return
	}
	size := float64(len(s.keys))
	for size < need {
		size *= growFactor
	}
	oldK, oldV := s.keys, s.vals
	s.keys, s.vals = make([]uint64, int(size)+1), make([]uint32, int(size)+1)
	n := uint64(len(s.keys))
	for j, k := range oldK {
		if k == 0 {
			continue
		}
		i := s.slot(k)
		for s.keys[i] != 0 {
			if i++; i == n {
				i = 0
			}
		}
		s.keys[i], s.vals[i] = k, oldV[j]
	}
}

// sizeAfter is the byte size of the table and the pages after reserve
// and commit of extra more states.
func (s *stateSet) sizeAfter(extra int) int64 {
	need := float64(int(s.n.Load())+extra) / maxLoad
	size := float64(len(s.keys))
	for size < need {
		size *= growFactor
	}
	return int64(size)*12 + int64(s.count+extra)*int64(s.size)
}

func (s *stateSet) bytes() int64 {
	return int64(len(s.keys))*12 + int64(len(s.pages))*pageStates*int64(s.size)
}

// growthBytes is the size of the table (keys and values) reserve(extra)
// would make, or 0 when the set has room.
func (s *stateSet) growthBytes(extra int) int64 {
	need := float64(int(s.n.Load())+extra) / maxLoad
	if need <= float64(len(s.keys)) {
		return 0
	}
	size := float64(len(s.keys))
	for size < need {
		size *= growFactor
	}
	return (int64(size) + 1) * 12
}

// pageBytes is what committing extra more states adds in pages.
func (s *stateSet) pageBytes(extra int) int64 {
	have := len(s.pages) * pageStates
	if s.count+extra <= have {
		return 0
	}
	pages := (s.count + extra - have + pageStates - 1) / pageStates
	return int64(pages) * pageStates * int64(s.size)
}

// undo removes a level's accepted candidates, inserted (pending, not
// committed) since the last reserve: insertion into a linear-probing
// table without deletions only fills empty slots, so clearing the slots
// the level filled gives back the table as it was.
func (s *stateSet) undo(chunks []*candidates) {
	for _, c := range chunks {
		for i, a := range c.acc {
			if a {
				s.keys[c.slot[i]], s.vals[c.slot[i]] = 0, 0
				s.n.Add(-1)
				c.acc[i] = false
			}
		}
	}
	s.pending = nil
}
