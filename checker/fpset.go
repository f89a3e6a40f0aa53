package checker

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// An fpset is the seen set of the safety explorer: 64-bit fingerprints in
// one flat array, open addressing with linear probing, any size (the slot
// of a fingerprint is fastrange(fp, size), so the table can grow by 1.5
// instead of 2). Insert is lock-free (a compare-and-swap on an empty
// slot); growth happens between exploration phases, never concurrently.
// Fingerprint 0 marks an empty slot, so a real 0 is stored as 1.
type fpset struct {
	keys []uint64
	n    atomic.Int64
}

// maxLoad is the load factor at which the set grows, by growFactor: the
// load stays in [maxLoad/growFactor, maxLoad] = [0.6, 0.9], so the set
// costs 8.9 to 13.3 bytes per state.
const (
	maxLoad    = 0.9
	growFactor = 1.5
)

func newFPSet(capacity int) *fpset {
	s := &fpset{}
	s.keys = make([]uint64, max(1024, int(float64(capacity)/maxLoad)+1))
	return s
}

func (s *fpset) slot(fp uint64) uint64 {
	hi, _ := bits.Mul64(fp, uint64(len(s.keys)))
	return hi
}

// contains reports whether fp is in the set. Safe to call concurrently
// with other contains calls, not with insert.
func (s *fpset) contains(fp uint64) bool {
	if fp == 0 {
		fp = 1
	}
	n := uint64(len(s.keys))
	for i := s.slot(fp); ; {
		switch s.keys[i] {
		case 0:
			return false
		case fp:
			return true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insert adds fp and reports whether it was new. Safe for concurrent
// inserts (of any fingerprints) as long as the set has room.
func (s *fpset) insert(fp uint64) bool {
	if fp == 0 {
		fp = 1
	}
	n := uint64(len(s.keys))
	for i := s.slot(fp); ; {
		k := atomic.LoadUint64(&s.keys[i])
		if k == fp {
			return false
		}
		if k == 0 {
			if atomic.CompareAndSwapUint64(&s.keys[i], 0, fp) {
				s.n.Add(1)
				return true
			}
			continue // somebody took the slot: look at it again
		}
		if i++; i == n {
			i = 0
		}
	}
}

// reserve grows the set so that extra more fingerprints fit under
// maxLoad, rehashing with the given number of goroutines.
func (s *fpset) reserve(extra, workers int) {
	need := float64(int(s.n.Load())+extra) / maxLoad
	if need <= float64(len(s.keys)) {
		return
	}
	size := float64(len(s.keys))
	for size < need {
		size *= growFactor
	}
	old := s.keys
	s.keys = make([]uint64, int(size)+1)
	s.n.Store(0)
	if workers <= 1 || len(old) < 1<<16 {
		for _, k := range old {
			if k != 0 {
				s.insertNew(k)
			}
		}
		return
	}
	var wg sync.WaitGroup
	part := (len(old) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for _, k := range old[lo:hi] {
				if k != 0 {
					s.insert(k)
				}
			}
		}(w*part, min((w+1)*part, len(old)))
	}
	wg.Wait()
}

// sizeAfter is the byte size the set would have after reserve(extra).
func (s *fpset) sizeAfter(extra int) int64 {
	need := float64(int(s.n.Load())+extra) / maxLoad
	size := float64(len(s.keys))
	for size < need {
		size *= growFactor
	}
	return int64(size) * 8
}

// insertNew inserts a fingerprint known to be absent, without atomics.
func (s *fpset) insertNew(fp uint64) {
	n := uint64(len(s.keys))
	i := s.slot(fp)
	for s.keys[i] != 0 {
		if i++; i == n {
			i = 0
		}
	}
	s.keys[i] = fp
	s.n.Add(1)
}

func (s *fpset) bytes() int64 { return int64(len(s.keys)) * 8 }

// touch reads the home slot of every fingerprint in fps: independent loads
// that the processor overlaps, so that the probes that follow find their
// cache lines loaded (the set is far larger than the caches).
func (s *fpset) touch(fps []uint64) uint64 {
	var sum uint64
	n := uint64(len(s.keys))
	for _, fp := range fps {
		hi, _ := bits.Mul64(fp, n)
		sum += s.keys[hi]
	}
	return sum
}

// touchAtomic is touch for the insert phase, where other workers may be
// writing slots: the loads are atomic (plain loads on amd64).
func (s *fpset) touchAtomic(fps []uint64) uint64 {
	var sum uint64
	n := uint64(len(s.keys))
	for _, fp := range fps {
		hi, _ := bits.Mul64(fp, n)
		sum += atomic.LoadUint64(&s.keys[hi])
	}
	return sum
}
