// Package fingerprint hashes packed states to 64 bits, without allocating.
// The model (for its users) and the checker (which depends on no model)
// share it.
package fingerprint

import "math/bits"

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
