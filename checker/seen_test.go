package checker

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestExactSetComparesStates: two different states with the same
// fingerprint are both kept by the exact set (a fingerprint set would
// take the second for the first), and an equal state is found.
func TestExactSetComparesStates(t *testing.T) {
	s := newStateSet(2)
	s.reserve(3)
	a, b := []byte{1, 2}, []byte{3, 4}
	const fp = 42 // the same for both, as in a collision
	cands := [][]byte{a, b}
	s.pending = func(ref uint32) []byte { return cands[ref] }
	if _, added, slot := s.insert(fp, a, 0); !added {
		t.Fatal("first state not added")
	} else {
		s.commit(slot, a)
	}
	v, added, slot := s.insert(fp, b, 1)
	if !added {
		t.Fatalf("a different state with the same fingerprint was taken as seen (value %d)", v)
	}
	s.commit(slot, b)
	if g, ok := s.lookup(fp, []byte{3, 4}); !ok || g != 1 {
		t.Errorf("lookup of the second state: %d, %v; want index 1", g, ok)
	}
	if _, ok := s.lookup(fp, []byte{5, 6}); ok {
		t.Error("a state never inserted was found")
	}
}

// TestUndoRestoresTheSet: inserting a level's candidates and undoing them
// gives back exactly the table before the level (the same slots), for
// fingerprints and for full states, with collisions and wrap-around.
func TestUndoRestoresTheSet(t *testing.T) {
	const n = 3000
	fps := make([]uint64, 2*n)
	x := uint64(12345)
	for i := range fps {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fps[i] = x | 1
		if i%7 == 0 {
			fps[i] = 0xffff_ffff_ffff_ff00 + uint64(i%5) // crowd the table's last slots: probes wrap around
		}
	}
	// The level: the second half, with a duplicate of an old fingerprint
	// (not accepted) and of a new one (accepted once).
	level := append(append([]uint64(nil), fps[n:]...), fps[0], fps[n+1])
	fs := newFPSet(16, nil)
	var counts [fpSegs]int
	segCounts(&counts, fps[:n])
	fs.reserve(&counts, 0, fpSegs)
	for _, f := range fps[:n] {
		fs.insert(f)
	}
	counts = [fpSegs]int{}
	segCounts(&counts, level)
	fs.reserve(&counts, 0, fpSegs)
	before := fs.allKeys()
	c := &candidates{fps: append([]uint64(nil), level...)}
	for _, f := range level {
		c.acc = append(c.acc, fs.insert(f))
	}
	fs.undo([]*candidates{c})
	if string(u64bytes(before)) != string(u64bytes(fs.allKeys())) || fs.len() != countNonZero(before) {
		t.Error("fingerprint set differs from before the level after undo")
	}

	ss := newStateSet(8)
	st := func(f uint64) []byte { return u64bytes([]uint64{f}) }
	ss.reserve(n)
	for _, f := range fps[:n] {
		_, added, slot := ss.insert(f, st(f), 0)
		if added {
			ss.commit(slot, st(f))
		}
	}
	ss.reserve(len(level))
	keys, vals := append([]uint64(nil), ss.keys...), append([]uint32(nil), ss.vals...)
	cs := &candidates{}
	ss.pending = func(ref uint32) []byte { return st(level[ref]) }
	for i, f := range level {
		_, added, slot := ss.insert(f, st(f), uint32(i))
		cs.acc, cs.slot = append(cs.acc, added), append(cs.slot, slot)
	}
	ss.undo([]*candidates{cs})
	if string(u64bytes(keys)) != string(u64bytes(ss.keys)) || fmt.Sprint(vals) != fmt.Sprint(ss.vals) || ss.n.Load() != int64(countNonZero(keys)) {
		t.Error("state set differs from before the level after undo")
	}
}

func u64bytes(s []uint64) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func countNonZero(s []uint64) int {
	n := 0
	for _, v := range s {
		if v != 0 {
			n++
		}
	}
	return n
}

// allKeys returns every segment's table, in order.
func (s *fpset) allKeys() []uint64 {
	var out []uint64
	for i := range s.segs {
		out = append(out, s.segs[i].keys...)
	}
	return out
}

// TestGrowShared: the insert workers growing the segments together
// (growShared, each taking the next one left) grow every segment that
// reserve grows, once, to the same table, under the race detector too;
// and every worker returns only when all have grown.
func TestGrowShared(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, workers := range []int{2, 3, 8} {
		mem := newArena(64 << 20)
		one, many := newFPSet(16, mem), newFPSet(16, mem)
		total := 0 // segments grown, over the levels
		for level := range 12 {
			fps := make([]uint64, 1+r.IntN(20000))
			for i := range fps {
				fps[i] = r.Uint64()
			}
			var counts [fpSegs]int
			segCounts(&counts, fps)
			list := many.growing(&counts, nil)
			one.reserve(&counts, 0, fpSegs)
			var next, done atomic.Int32
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					many.growShared(&counts, list, &next, &done)
					if int(done.Load()) != len(list) {
						t.Errorf("a worker returned with %d of %d segments grown", done.Load(), len(list))
					}
				}()
			}
			wg.Wait()
			grew := 0
			for i := range one.segs {
				if one.segs[i].homes != many.segs[i].homes {
					t.Fatalf("%d workers, level %d: segment %d has %d home slots, %d grown by reserve", workers, level, i, many.segs[i].homes, one.segs[i].homes)
				}
				if slices.Contains(list, int32(i)) {
					grew++
				}
			}
			if int(done.Load()) != len(list) || grew != len(list) {
				t.Fatalf("%d workers, level %d: %d of %d segments counted grown", workers, level, done.Load(), len(list))
			}
			for _, f := range fps {
				if one.insert(f) != many.insert(f) {
					t.Fatalf("%d workers, level %d: the sets disagree on %#x", workers, level, f)
				}
			}
			if string(u64bytes(one.allKeys())) != string(u64bytes(many.allKeys())) {
				t.Fatalf("%d workers, level %d: the tables differ", workers, level)
			}
			total += len(list)
		}
		if total < fpSegs {
			t.Errorf("%d workers: only %d segments grew: nothing to share", workers, total)
		}
		mem.close()
	}
}
