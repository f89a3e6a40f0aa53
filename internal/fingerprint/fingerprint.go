// Package fingerprint hashes packed states to 64 bits, without allocating:
// Of hashes a whole state (wyhash-like), a Table by tabulation, and
// updates a fingerprint by the bytes a transition changed.
// The model (for its users) and the checker (which depends on no model)
// share it.
package fingerprint

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

const (
	m1 = 0xa0761d6478bd642f
	m2 = 0xe7037ed1a0b428db
)

// Of returns the 64-bit fingerprint of st with seed 0.
func Of(st []byte) uint64 { return OfSeed(st, 0) }

// OfSeed returns the 64-bit fingerprint of st under seed: eight bytes at a
// time through a 64x64→128-bit multiply folded, as wyhash does, starting
// from the length and the seed (wyhash seeds the same way, by xor). Seed 0
// gives Of.
func OfSeed(st []byte, seed uint64) uint64 {
	h := uint64(len(st))*m1 ^ seed
	i := 0
	for ; i+8 <= len(st); i += 8 {
		w := uint64(st[i]) | uint64(st[i+1])<<8 | uint64(st[i+2])<<16 | uint64(st[i+3])<<24 |
			uint64(st[i+4])<<32 | uint64(st[i+5])<<40 | uint64(st[i+6])<<48 | uint64(st[i+7])<<56
		h = mix(h^w, m2)
	}
	var w uint64
	for j := 0; i < len(st); i, j = i+1, j+8 {
		w |= uint64(st[i]) << j
	}
	h = mix(h^w, m1)
	h ^= h >> 29
	h *= m2
	h ^= h >> 32
	return h
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// A Table fingerprints states of one length by tabulation over 8-byte
// words: the fingerprint is the xor, over the words j of the state
// (zero-padded at its end), of g(j, word j), where g mixes the word
// with a key drawn for position j (murmur3's fmix64 of their sum, a
// bijection with full avalanche). A successor's fingerprint is then its
// parent's, xored with g of the old and the new value of each word that
// differs (Update): a comparison of the two states and two mixes per
// changed word, instead of hashing the whole state.
//
// If g behaves as a random function, as the whole-state hash Of is
// assumed to, this is simple tabulation hashing with 64-bit characters:
// two distinct states differ in some word j, and g(j, a) xor g(j, b) is
// uniform and independent of the other words' terms, so the two share
// a fingerprint with probability 2^-64, and n states collide with
// probability at most n(n-1)/2 · 2^-64: the bound the checker reports
// (checker.CollisionBound) holds under the same assumption as before.
type Table struct {
	size int
	keys []uint64 // per word
}

// NewTable draws the keys for states of size bytes under seed
// (splitmix64 from the seed).
func NewTable(size int, seed uint64) *Table {
	t := &Table{size: size, keys: make([]uint64, (size+7)/8)}
	x := seed ^ 0x5851f42d4c957f2d
	for i := range t.keys {
		x += 0x9e3779b97f4a7c15
		t.keys[i] = fmix(x)
	}
	return t
}

// fmix is murmur3's 64-bit finaliser.
func fmix(z uint64) uint64 {
	z ^= z >> 33
	z *= 0xff51afd7ed558ccd
	z ^= z >> 33
	z *= 0xc4ceb9fe1a85ec53
	z ^= z >> 33
	return z
}

// word returns the j-th 8-byte word of st, zero-padded.
func word(st []byte, j int) uint64 {
	if i := j * 8; i+8 <= len(st) {
		return binary.LittleEndian.Uint64(st[i:])
	}
	var w uint64
	for i, k := j*8, 0; i < len(st); i, k = i+1, k+8 {
		w |= uint64(st[i]) << k
	}
	return w
}

// Of returns the fingerprint of st, which must have the table's length.
func (t *Table) Of(st []byte) uint64 {
	st = st[:t.size]
	var h uint64
	full := len(st) / 8
	p := unsafe.Pointer(unsafe.SliceData(st))
	for j, k := range t.keys[:full] {
		h ^= fmix(load64(st, p, j) + k)
	}
	if j := full; j < len(t.keys) {
		h ^= fmix(word(st, j) + t.keys[j])
	}
	return h
}

// Update returns the fingerprint of to, given h, the fingerprint of from
// (both of the table's length).
func (t *Table) Update(h uint64, from, to []byte) uint64 {
	n := t.size
	from, to = from[:n], to[:n]
	j := 0
	for ; j*8+8 <= n; j++ {
		a, b := binary.LittleEndian.Uint64(from[j*8:]), binary.LittleEndian.Uint64(to[j*8:])
		if a != b {
			h ^= fmix(a+t.keys[j]) ^ fmix(b+t.keys[j])
		}
	}
	if j < len(t.keys) {
		if a, b := word(from, j), word(to, j); a != b {
			h ^= fmix(a+t.keys[j]) ^ fmix(b+t.keys[j])
		}
	}
	return h
}

// MaxDiffWords is the largest state, in 8-byte words, whose differences
// UpdateDiff reports as a mask.
const MaxDiffWords = 64

// DiffWords is the mask of the 8-byte words in which a and b, of the same
// length and at most MaxDiffWords words, differ (bit j for bytes 8j to
// 8j+7), as UpdateDiff gives it.
func DiffWords(a, b []byte) uint64 {
	n := len(b)
	a = a[:n]
	full := n / 8
	var mask uint64
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	for j := 0; j < full; j++ {
		if load64(a, pa, j) != load64(b, pb, j) {
			mask |= 1 << j
		}
	}
	if n%8 != 0 && string(a[full*8:]) != string(b[full*8:]) {
		mask |= 1 << full
	}
	return mask
}

// UpdateDiff is Update that also returns the mask of the 8-byte words in
// which from and to differ (bit j for bytes 8j to 8j+7), for states of at
// most MaxDiffWords words; for larger ones the mask is all ones.
func (t *Table) UpdateDiff(h uint64, from, to []byte) (uint64, uint64) {
	if len(t.keys) > MaxDiffWords {
		return t.Update(h, from, to), ^uint64(0)
	}
	n := t.size
	from, to = from[:n], to[:n]
	full := n / 8
	keys := t.keys[:full]
	var mask uint64
	pf, pt := unsafe.Pointer(unsafe.SliceData(from)), unsafe.Pointer(unsafe.SliceData(to))
	for j := range keys { // (from and to hold 8*len(keys) bytes at least)
		a, b := load64(from, pf, j), load64(to, pt, j)
		if a != b {
			h ^= fmix(a+keys[j]) ^ fmix(b+keys[j])
			mask |= 1 << j
		}
	}
	if r := n % 8; r != 0 {
		// The last, partial word: at the top of an 8-byte load that
		// ends with the state when there is one, zero-padded.
		var a, b uint64
		if n >= 8 {
			a = binary.LittleEndian.Uint64(from[n-8:]) >> (64 - 8*r)
			b = binary.LittleEndian.Uint64(to[n-8:]) >> (64 - 8*r)
		} else {
			a, b = word(from, full), word(to, full)
		}
		if a != b {
			k := t.keys[full]
			h ^= fmix(a+k) ^ fmix(b+k)
			mask |= 1 << full
		}
	}
	return h, mask
}

// UpdateMasked is UpdateDiff when from and to can differ only in the
// words of may (bit j for bytes 8j to 8j+7): it looks at those words
// only. For states of at most MaxDiffWords words.
func (t *Table) UpdateMasked(h uint64, from, to []byte, may uint64) (uint64, uint64) {
	n := t.size
	from, to = from[:n], to[:n]
	full := n / 8
	keys := t.keys[:full]
	var mask uint64
	pf, pt := unsafe.Pointer(unsafe.SliceData(from)), unsafe.Pointer(unsafe.SliceData(to))
	m := may
	if full < 64 {
		m &= 1<<full - 1
	}
	for ; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		a, b := load64(from, pf, j), load64(to, pt, j)
		if a != b {
			k := keys[j]
			h ^= fmix(a+k) ^ fmix(b+k)
			mask |= 1 << j
		}
	}
	if r := n % 8; r != 0 && may&(1<<full) != 0 {
		// (UpdateDiff's last word, written again: as a function the
		// two share, not inlined, it cost 2.5 ns a call, 14.9 ns
		// against 12.4 in BenchmarkUpdateDiff.)
		var a, b uint64
		if n >= 8 {
			a = binary.LittleEndian.Uint64(from[n-8:]) >> (64 - 8*r)
			b = binary.LittleEndian.Uint64(to[n-8:]) >> (64 - 8*r)
		} else {
			a, b = word(from, full), word(to, full)
		}
		if a != b {
			k := t.keys[full]
			h ^= fmix(a+k) ^ fmix(b+k)
			mask |= 1 << full
		}
	}
	return h, mask
}
