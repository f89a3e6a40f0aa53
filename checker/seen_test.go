package checker

import "testing"

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
