package model

import (
	"slices"
	"sort"
	"strings"
)

// Symmetry reduction over interchangeable devices.
//
// Candidates are devices of the same kind between the same domains whose
// nodes, actors, variables, watches and transaction records line up
// (the same relative paths, roles, counts). That is only a guess: each
// candidate swap is then checked to be an automorphism of the compiled
// system, transition by transition (checkSwap): the swap of the two
// devices' blocks of state bytes, with the values that name their paths
// renamed, must map every path's parent, owner and watches, every watch,
// variable and actor, every device record, the initial state, and every
// transition (guard, operations, assignments, marks, locations, kind,
// timer, fault, in declaration order) onto the system's own. Swaps that
// pass generate the group of permutations of their devices, so every run
// maps to a run and every property that treats devices alike to itself.
// Canonical then picks one representative per class of states equal up to
// such permutations: the devices' blocks sorted by content.

// cand is a device that may be interchangeable with others: its block of
// state offsets, how to read each, and its actors in role order.
type cand struct {
	key   string
	dev   int
	pos   []int
	kinds []uint8
	roles []int
}

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
	// roles[i] are device i's actors in role order.
	roles [][]int
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
			if o := s.Paths[r.p].aclSlot; o >= 0 {
				// The node's SET_PERMS flag (perms.go) goes with it.
				keyParts = append(keyParts, "acl")
				c.pos = append(c.pos, o)
				c.kinds = append(c.kinds, symRaw)
			}
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
		cands = append(cands, c)
	}
	// Group the candidates by key; the automorphism check decides.
	byKey := map[string][]cand{}
	var keys []string
	for _, c := range cands {
		if _, ok := byKey[c.key]; !ok {
			keys = append(keys, c.key)
		}
		byKey[c.key] = append(byKey[c.key], c)
	}
	for _, k := range keys {
		for rest := byKey[k]; len(rest) >= 2; {
			// The candidates whose swap with the first is an automorphism.
			var cs, others []cand
			cs = append(cs, rest[0])
			for _, c := range rest[1:] {
				if s.buildGroup([]cand{rest[0], c}, nil) {
					cs = append(cs, c)
				} else {
					others = append(others, c)
				}
			}
			rest = others
			if len(cs) >= 2 {
				s.buildGroup(cs, &s.sym)
			}
		}
	}
}

// buildGroup builds the group of the candidates cs (the value renaming
// and transaction-body maps of each), checks that swapping the first
// with each other one is an automorphism of s, and, when out is not nil,
// appends the group to it. It reports whether the checks passed.
func (s *System) buildGroup(cs []cand, out *[]symGroup) bool {
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
	for i := 1; ok && i < len(cs); i++ {
		sw := s.newSwap(&g, cs, 0, i)
		ok = sw != nil && s.checkSwap(sw)
	}
	if ok && out != nil {
		*out = append(*out, g)
	}
	return ok
}
