package model

import "slices"

// The canonicalization of the symmetry reduction (symmetry.go finds the
// groups): one representative per class of states equal up to permuting
// the devices of each group, the checker's Symmetric interface.

// A Canonicalizer maps states to the representative of their symmetry
// class. It holds scratch space: one per goroutine.
type Canonicalizer struct {
	s     *System
	sigs  [][]uint16
	order []int
}

// NewCanonicalizer returns a Canonicalizer for s, or nil when s has no
// interchangeable devices.
func (s *System) NewCanonicalizer() *Canonicalizer {
	if len(s.sym) == 0 {
		return nil
	}
	c := &Canonicalizer{s: s}
	for _, g := range s.sym {
		for range g.devices {
			c.sigs = append(c.sigs, make([]uint16, len(g.kinds)))
		}
	}
	return c
}

// Canonical writes into dst the representative of st's class: within each
// group of interchangeable devices, the devices' blocks in sorted order.
// States equal up to swapping such devices get the same representative.
func (c *Canonicalizer) Canonical(st, dst []byte) {
	copy(dst, st)
	base := 0
	for gi := range c.s.sym {
		g := &c.s.sym[gi]
		n := len(g.devices)
		sigs := c.sigs[base : base+n]
		base += n
		for i := 0; i < n; i++ {
			sig := sigs[i]
			for k, p := range g.pos[i] {
				switch g.kinds[k] {
				case symValue:
					sig[k] = g.toNeutral[i][st[p]]
				case symBodyLo:
					sig[k] = uint16(g.bodyLocal[i][int(st[p])|int(st[g.pos[i][k+1]])<<8])
				case symBodyHi:
					sig[k] = 0
				default:
					sig[k] = uint16(st[p])
				}
			}
		}
		c.order = c.order[:0]
		for i := 0; i < n; i++ {
			c.order = append(c.order, i)
		}
		for i := 1; i < n; i++ {
			for j := i; j > 0 && slices.Compare(sigs[c.order[j]], sigs[c.order[j-1]]) < 0; j-- {
				c.order[j], c.order[j-1] = c.order[j-1], c.order[j]
			}
		}
		for j := 0; j < n; j++ {
			sig := sigs[c.order[j]]
			for k, p := range g.pos[j] {
				switch g.kinds[k] {
				case symValue:
					if v := sig[k]; v < 256 {
						dst[p] = byte(v)
					} else {
						dst[p] = byte(g.fromNeutral[j][v-256])
					}
				case symBodyLo:
					id := 0
					if sig[k] != 0 {
						id = g.bodyGlobal[j][k][int(sig[k])]
					}
					dst[p], dst[g.pos[j][k+1]] = byte(id), byte(id>>8)
				case symBodyHi:
				default:
					dst[p] = byte(sig[k])
				}
			}
		}
	}
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// SymmetryCanonicalizer returns a fresh canonicalization function (with
// its own scratch space, for one goroutine), or nil when s has no
// interchangeable devices: the checker's Symmetric interface.
func (s *System) SymmetryCanonicalizer() func(st, dst []byte) {
	c := s.NewCanonicalizer()
	if c == nil {
		return nil
	}
	return c.Canonical
}
