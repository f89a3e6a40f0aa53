package model

import (
	"slices"
	"sort"
	"strings"
)

// Symmetry reduction over interchangeable devices.
//
// Two devices are interchangeable when they are of the same kind between
// the same domains, their actors play the same roles with the same
// transitions, and nothing else in the system refers to either: swapping
// them (their nodes, their actors' locations, variables, watches and open
// transactions, and the values that name their paths) maps every run to a
// run and every property to itself, as every property treats all devices
// alike. Canonical then picks one representative per class of states
// equal up to such swaps: the devices' blocks sorted by content.

type symGroup struct {
	devices []int
	// pos[i] are the state offsets of device i's block; pos[i][k] and
	// pos[j][k] correspond.
	pos [][]int
	// kinds says how to read each block position.
	kinds []uint8
	// toNeutral[i][v] is the device-neutral form of value v for device i
	// (v itself unless v names one of the device's paths), and
	// fromNeutral[i][n-256] the value of neutral form n for device i.
	toNeutral   [][256]uint16
	fromNeutral [][]Value
	// bodyLocal[i] maps a transaction body's id+1 to its index+1 in its
	// actor's transitions, and bodyGlobal[i][k] (k = block position of the
	// low byte) maps back.
	bodyLocal  []map[int]int
	bodyGlobal [][]map[int]int
}

const (
	symRaw    uint8 = iota // a variable, a watch, a conflict flag
	symValue               // a store value: neutral form
	symBodyLo              // the low byte of a transaction body id (with the next position)
	symBodyHi
)

// SymmetryGroups returns the groups of interchangeable devices found (by
// device index); Canonical permutes within each.
func (s *System) SymmetryGroups() [][]int {
	var out [][]int
	for _, g := range s.sym {
		out = append(out, g.devices)
	}
	return out
}

// findSymmetry fills s.sym. Called by Build.
func (s *System) findSymmetry() {
	type cand struct {
		key   string
		dev   int
		pos   []int
		kinds []uint8
		roles []int // actors in role order
	}
	blockOf := map[int]int{} // state offset → device
	var cands []cand
	for di := range s.Devices {
		d := &s.Devices[di]
		if len(d.Actors) == 0 {
			continue
		}
		c := cand{dev: di}
		var keyParts []string
		keyParts = append(keyParts, d.Kind, d.BEKind, itoa(d.FEDom), itoa(d.BEDom))
		type rel struct {
			name string
			p    PathID
		}
		var rels []rel
		for i := range s.Paths {
			for _, root := range []struct {
				tag string
				dir PathID
			}{{"FE", d.FEDir}, {"BE", d.BEDir}, {"LX", d.LibxlDir}} {
				if root.dir == NoPath {
					continue
				}
				rn := s.Paths[root.dir].Name
				if n := s.Paths[i].Name; n == rn || strings.HasPrefix(n, rn+"/") {
					rels = append(rels, rel{root.tag + strings.TrimPrefix(n, rn), PathID(i)})
				}
			}
		}
		sort.Slice(rels, func(a, b int) bool { return rels[a].name < rels[b].name })
		for _, r := range rels {
			keyParts = append(keyParts, r.name)
			c.pos = append(c.pos, int(r.p))
			c.kinds = append(c.kinds, symValue)
		}
		roles := slices.Clone(d.Actors)
		roleName := func(a int) string { return strings.ReplaceAll(s.Actors[a].Name, "("+d.Name+")", "(·)") }
		sort.Slice(roles, func(a, b int) bool { return roleName(roles[a]) < roleName(roles[b]) })
		c.roles = roles
		for _, ai := range roles {
			a := &s.Actors[ai]
			keyParts = append(keyParts, roleName(ai), itoa(len(a.Trans)), itoa(len(a.Watches)), itoa(a.txnReads))
			var vars []int
			for v := range s.Vars {
				if s.Vars[v].Actor == ai {
					vars = append(vars, v)
				}
			}
			sort.Slice(vars, func(x, y int) bool {
				return strings.TrimPrefix(s.Vars[vars[x]].Name, a.Name) < strings.TrimPrefix(s.Vars[vars[y]].Name, a.Name)
			})
			for _, v := range vars {
				keyParts = append(keyParts, strings.TrimPrefix(s.Vars[v].Name, a.Name))
				c.pos = append(c.pos, s.varBase+v)
				c.kinds = append(c.kinds, symRaw)
			}
			for _, w := range a.Watches {
				c.pos = append(c.pos, s.watchOff+int(w))
				c.kinds = append(c.kinds, symRaw)
			}
			if a.txnSlot >= 0 {
				c.pos = append(c.pos, a.txnSlot, a.txnSlot+1, a.txnSlot+2)
				c.kinds = append(c.kinds, symBodyLo, symBodyHi, symRaw)
				for k := 0; k < a.txnReads; k++ {
					c.pos = append(c.pos, a.txnSlot+3+k)
					c.kinds = append(c.kinds, symValue)
				}
			}
		}
		c.key = strings.Join(keyParts, "|")
		for _, p := range c.pos {
			blockOf[p] = di
		}
		cands = append(cands, c)
	}
	// A device whose block another actor touches is not interchangeable.
	tainted := map[int]bool{}
	owner := map[int]int{} // actor → device
	for _, c := range cands {
		for _, a := range c.roles {
			owner[a] = c.dev
		}
	}
	touch := func(actor int, off int) {
		if d, ok := blockOf[off]; ok {
			if od, mine := owner[actor]; !mine || od != d {
				tainted[d] = true
			}
		}
	}
	for ai := range s.Actors {
		for _, ti := range s.Actors[ai].Trans {
			t := &s.Trans[ti]
			for _, c := range t.Guard {
				switch c.Kind {
				case CondPresent, CondAbsent, CondEq, CondNe, CondIn:
					touch(ai, int(c.Path))
				case CondVarEq, CondVarNe, CondVarIn:
					touch(ai, s.varBase+int(c.Var))
				}
			}
			for _, op := range t.Ops {
				switch op.Kind {
				case OpWatch, OpUnwatch:
					touch(ai, s.watchOff+int(op.Watch))
				case OpSignal, OpTxnStart, OpTxnCommit, OpTxnAbort:
				case OpDomainGone:
					for p := range s.Paths {
						if s.Paths[p].Owner == op.Dom {
							touch(ai, p)
						}
					}
				default:
					touch(ai, int(op.Path))
					if op.Kind == OpSwitchState {
						touch(ai, s.varBase+int(op.Var))
					}
				}
			}
			for _, st := range t.Sets {
				touch(ai, s.varBase+int(st.Var))
			}
		}
	}
	// Group the untainted candidates by key.
	byKey := map[string][]cand{}
	var keys []string
	for _, c := range cands {
		if tainted[c.dev] {
			continue
		}
		if _, ok := byKey[c.key]; !ok {
			keys = append(keys, c.key)
		}
		byKey[c.key] = append(byKey[c.key], c)
	}
	for _, k := range keys {
		cs := byKey[k]
		if len(cs) < 2 {
			continue
		}
		g := symGroup{kinds: cs[0].kinds}
		var templates [][]string
		ok := true
		for _, c := range cs {
			d := &s.Devices[c.dev]
			var tn [256]uint16
			for v := range tn {
				tn[v] = uint16(v)
			}
			tmpl := map[string]Value{}
			for v := 2; v < len(s.Values); v++ {
				t := s.Values[v]
				for _, r := range []struct {
					tag string
					dir PathID
				}{{"{FE}", d.FEDir}, {"{BE}", d.BEDir}, {"{LX}", d.LibxlDir}} {
					if r.dir != NoPath {
						t = strings.ReplaceAll(t, s.Paths[r.dir].Name, r.tag)
					}
				}
				if t != s.Values[v] {
					tmpl[t] = Value(v)
				}
			}
			var names []string
			for t := range tmpl {
				names = append(names, t)
			}
			sort.Strings(names)
			templates = append(templates, names)
			from := make([]Value, len(names))
			for n, t := range names {
				tn[tmpl[t]] = uint16(256 + n)
				from[n] = tmpl[t]
			}
			g.devices = append(g.devices, c.dev)
			g.pos = append(g.pos, c.pos)
			g.toNeutral = append(g.toNeutral, tn)
			g.fromNeutral = append(g.fromNeutral, from)
			// Transaction bodies by index within their actor.
			local, global := map[int]int{}, make([]map[int]int, len(c.pos))
			for k, kind := range c.kinds {
				if kind != symBodyLo {
					continue
				}
				// The actor whose slot this is.
				for _, ai := range c.roles {
					if s.Actors[ai].txnSlot == c.pos[k] {
						global[k] = map[int]int{}
						for li, ti := range s.Actors[ai].Trans {
							local[ti+1] = li + 1
							global[k][li+1] = ti + 1
						}
					}
				}
			}
			g.bodyLocal = append(g.bodyLocal, local)
			g.bodyGlobal = append(g.bodyGlobal, global)
		}
		for i := 1; i < len(templates); i++ {
			if !slices.Equal(templates[i], templates[0]) {
				ok = false
			}
		}
		if ok {
			s.sym = append(s.sym, g)
		}
	}
}

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
// interchangeable devices. It is the checker's optional symmetry hook.
func (s *System) SymmetryCanonicalizer() func(st, dst []byte) {
	c := s.NewCanonicalizer()
	if c == nil {
		return nil
	}
	return c.Canonical
}
