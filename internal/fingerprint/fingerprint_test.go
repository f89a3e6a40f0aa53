package fingerprint

import "testing"

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
