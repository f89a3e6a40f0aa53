package fingerprint

import (
	"math/rand/v2"
	"testing"
)

func TestDistinguishes(t *testing.T) {
	seen := map[uint64][]byte{}
	for n := 0; n < 20; n++ {
		for i := 0; i < n; i++ {
			for v := 0; v < 4; v++ {
				st := make([]byte, n)
				st[i] = byte(v)
				fp := Of(st)
				if prev, ok := seen[fp]; ok && string(prev) != string(st) {
					t.Fatalf("%v and %v share fingerprint %x", prev, st, fp)
				}
				seen[fp] = st
			}
		}
	}
	if Of([]byte{1, 2, 3}) != Of([]byte{1, 2, 3}) {
		t.Error("not deterministic")
	}
}

func TestNoAllocation(t *testing.T) {
	st := make([]byte, 200)
	if a := testing.AllocsPerRun(100, func() { Of(st) }); a != 0 {
		t.Errorf("%v allocations per call; want 0", a)
	}
}

// TestSeeds: seed 0 is Of, and another seed gives other fingerprints.
func TestSeeds(t *testing.T) {
	st := []byte("a state of some bytes")
	if OfSeed(st, 0) != Of(st) {
		t.Error("seed 0 differs from Of")
	}
	if OfSeed(st, 1) == Of(st) || OfSeed(st, 1) == OfSeed(st, 2) {
		t.Error("seeds do not change the fingerprint")
	}
}

// TestTableUpdate: updating a parent's fingerprint by the bytes that
// differ gives the child's fingerprint from scratch, for changes at
// every position (both ends of a word, the tail past the last whole
// word) and for several changes at once; and so does UpdateMasked, given
// a mask that holds the words that differ.
func TestTableUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 7, 8, 9, 136, 141, 512, 513, 600} {
		tab := NewTable(size, 7)
		for trial := 0; trial < 2000; trial++ {
			from := make([]byte, size)
			for i := range from {
				from[i] = byte(rng.IntN(6))
			}
			to := append([]byte(nil), from...)
			for k := rng.IntN(5); k >= 0; k-- {
				to[rng.IntN(size)] = byte(rng.IntN(256))
			}
			if got, want := tab.Update(tab.Of(from), from, to), tab.Of(to); got != want {
				t.Fatalf("size %d: Update(%v → %v) = %x; Of = %x", size, from, to, got, want)
			}
			got, mask := tab.UpdateDiff(tab.Of(from), from, to)
			if want := tab.Of(to); got != want {
				t.Fatalf("size %d: UpdateDiff(%v → %v) = %x; Of = %x", size, from, to, got, want)
			}
			if wantMask := diffMask(from, to); size <= 8*MaxDiffWords && mask != wantMask || mask&wantMask != wantMask {
				t.Fatalf("size %d: UpdateDiff(%v → %v) mask %b; want %b", size, from, to, mask, wantMask)
			}
			if size <= 8*MaxDiffWords {
				if got, want := DiffWords(from, to), diffMask(from, to); got != want {
					t.Fatalf("size %d: DiffWords(%v, %v) = %b; want %b", size, from, to, got, want)
				}
				// UpdateMasked, told the words that differ and some
				// others that do not, gives the same.
				may := diffMask(from, to) | rng.Uint64()
				got, mask := tab.UpdateMasked(tab.Of(from), from, to, may)
				if want, wantMask := tab.Of(to), diffMask(from, to); got != want || mask != wantMask {
					t.Fatalf("size %d: UpdateMasked(%v → %v, %b) = %x, %b; want %x, %b", size, from, to, may, got, mask, want, wantMask)
				}
			}
		}
	}
}

// TestTableDistinguishes: states that differ in one byte, or in two,
// have different fingerprints, and seeds draw different words.
func TestTableDistinguishes(t *testing.T) {
	const size = 40
	tab := NewTable(size, 0)
	seen := map[uint64][]byte{}
	for i := 0; i < size; i++ {
		for j := i; j < size; j++ {
			for v := 0; v < 8; v++ {
				st := make([]byte, size)
				st[i], st[j] = byte(v), byte(v*3)
				fp := tab.Of(st)
				if prev, ok := seen[fp]; ok && string(prev) != string(st) {
					t.Fatalf("%v and %v share fingerprint %x", prev, st, fp)
				}
				seen[fp] = st
			}
		}
	}
	st := make([]byte, size)
	if NewTable(size, 1).Of(st) == tab.Of(st) {
		t.Error("seeds do not change the fingerprint")
	}
	if a := testing.AllocsPerRun(100, func() { tab.Update(tab.Of(st), st, st) }); a != 0 {
		t.Errorf("%v allocations per call; want 0", a)
	}
}

// diffMask is the mask of the words in which a and b differ, byte by byte
// (all ones past MaxDiffWords).
func diffMask(a, b []byte) uint64 {
	var m uint64
	for i := range a {
		if a[i] != b[i] {
			if i/8 >= MaxDiffWords {
				return ^uint64(0)
			}
			m |= 1 << (i / 8)
		}
	}
	return m
}

// BenchmarkUpdateDiff: a successor of a 146-byte state (the benchmark
// family's at N=3) that differs in two words.
func BenchmarkUpdateDiff(b *testing.B) {
	const size = 146
	tab := NewTable(size, 1)
	from := make([]byte, size)
	for i := range from {
		from[i] = byte(i % 7)
	}
	to := append([]byte(nil), from...)
	to[17], to[140] = 9, 9
	h := tab.Of(from)
	var sink uint64
	for b.Loop() {
		f, m := tab.UpdateDiff(h, from, to)
		sink += f ^ m
	}
	_ = sink
}
