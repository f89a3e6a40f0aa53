package checker

// A table maps 64-bit state fingerprints to state indexes: open addressing
// with linear probing in two flat arrays, no pointers for the garbage
// collector to scan. Fingerprint 0 marks an empty slot, so a real 0 is
// stored as 1.
type table struct {
	keys []uint64
	vals []uint32
	n    int
	mask uint64
}

func newTable(capacity int) *table {
	size := 1024
	for size < capacity*2 {
		size *= 2
	}
	return &table{keys: make([]uint64, size), vals: make([]uint32, size), mask: uint64(size - 1)}
}

// insert returns the index stored for fp, or stores idx and returns it with
// added true.
func (t *table) insert(fp uint64, idx uint32) (uint32, bool) {
	if fp == 0 {
		fp = 1
	}
	if t.n*4 >= len(t.keys)*3 {
		t.grow()
	}
	for i := fp & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case 0:
			t.keys[i] = fp
			t.vals[i] = idx
			t.n++
			return idx, true
		case fp:
			return t.vals[i], false
		}
	}
}

func (t *table) grow() {
	old := *t
	size := len(old.keys) * 2
	t.keys, t.vals, t.mask, t.n = make([]uint64, size), make([]uint32, size), uint64(size-1), 0
	for i, k := range old.keys {
		if k != 0 {
			t.insert(k, old.vals[i])
		}
	}
}

// bytes is the memory the table holds.
func (t *table) bytes() int { return len(t.keys) * 12 }
