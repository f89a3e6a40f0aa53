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

// A Swap is a checked automorphism of a System: the exchange of two
// interchangeable devices. Tests use it to check that properties and the
// canonicalization respect the symmetry.
type Swap struct {
	s    *System
	A, B int   // the devices exchanged
	perm []int // state offset → offset
	// side says how to map the byte at an offset: 0 as it is, 1 (block A)
	// and 2 (block B) through the value renaming when kind is symValue,
	// and as a transaction body id when symBodyLo.
	side   []uint8
	kind   []uint8
	a2b    [256]byte
	b2a    [256]byte
	actor  []int
	trans  []int
	device []int
	// named[v] is 1 when value v names a path of device A, 2 of device B;
	// storable[p] the values node p can ever hold.
	named    [256]uint8
	storable [][4]uint64
}

// Swaps returns, for each group of interchangeable devices, the swaps of
// its first device with each other one (they generate the group).
func (s *System) Swaps() []*Swap {
	var out []*Swap
	for gi := range s.sym {
		g := &s.sym[gi]
		for j := 1; j < len(g.devices); j++ {
			out = append(out, s.swapOf(g, 0, j))
		}
	}
	return out
}

// newSwap builds the swap of candidates cs[i] and cs[j] of group g (whose
// renamings are already built), or returns nil when their shapes differ.
func (s *System) newSwap(g *symGroup, cs []cand, i, j int) *Swap {
	ci, cj := cs[i], cs[j]
	if len(ci.pos) != len(cj.pos) || len(ci.roles) != len(cj.roles) {
		return nil
	}
	for k := range ci.roles {
		if len(s.Actors[ci.roles[k]].Trans) != len(s.Actors[cj.roles[k]].Trans) {
			return nil
		}
	}
	g.roles = append(g.roles[:0:0], ci.roles)
	for k := 1; k < len(cs); k++ {
		g.roles = append(g.roles, cs[k].roles)
	}
	return s.swapOf(g, i, j)
}

func (s *System) swapOf(g *symGroup, i, j int) *Swap {
	sw := &Swap{s: s, A: g.devices[i], B: g.devices[j], perm: make([]int, s.size), side: make([]uint8, s.size), kind: make([]uint8, s.size)}
	for o := range sw.perm {
		sw.perm[o] = o
	}
	for k := range g.pos[i] {
		a, b := g.pos[i][k], g.pos[j][k]
		sw.perm[a], sw.perm[b] = b, a
		sw.side[a], sw.side[b] = 1, 2
		sw.kind[a], sw.kind[b] = g.kinds[k], g.kinds[k]
	}
	for v := 0; v < 256; v++ {
		sw.a2b[v], sw.b2a[v] = byte(v), byte(v)
		if n := g.toNeutral[i][v]; n >= 256 {
			sw.a2b[v] = byte(g.fromNeutral[j][n-256])
			sw.named[v] = 1
		}
		if n := g.toNeutral[j][v]; n >= 256 {
			sw.b2a[v] = byte(g.fromNeutral[i][n-256])
			sw.named[v] = 2
		}
	}
	sw.storable = s.storableValues()
	sw.actor = make([]int, len(s.Actors))
	for a := range sw.actor {
		sw.actor[a] = a
	}
	sw.trans = make([]int, len(s.Trans))
	for t := range sw.trans {
		sw.trans[t] = t
	}
	for k := range g.roles[i] {
		a, b := g.roles[i][k], g.roles[j][k]
		sw.actor[a], sw.actor[b] = b, a
		for li := range s.Actors[a].Trans {
			ta, tb := s.Actors[a].Trans[li], s.Actors[b].Trans[li]
			sw.trans[ta], sw.trans[tb] = tb, ta
		}
	}
	sw.device = make([]int, len(s.Devices))
	for d := range sw.device {
		sw.device[d] = d
	}
	sw.device[sw.A], sw.device[sw.B] = sw.B, sw.A
	return sw
}

// State writes into dst the image of st under the swap.
func (sw *Swap) State(st, dst State) {
	for o, b := range st {
		switch {
		case sw.side[o] == 0 || sw.kind[o] == symRaw:
			dst[sw.perm[o]] = b
		case sw.kind[o] == symValue && sw.side[o] == 1:
			dst[sw.perm[o]] = sw.a2b[b]
		case sw.kind[o] == symValue:
			dst[sw.perm[o]] = sw.b2a[b]
		case sw.kind[o] == symBodyLo:
			id := int(b) | int(st[o+1])<<8
			if id != 0 {
				id = sw.trans[id-1] + 1
			}
			dst[sw.perm[o]], dst[sw.perm[o+1]] = byte(id), byte(id>>8)
		}
	}
}

// Transition returns the id of the image of transition id.
func (sw *Swap) Transition(id int) int { return sw.trans[id] }

func (sw *Swap) path(p PathID) PathID {
	if p == NoPath {
		return p
	}
	return PathID(sw.perm[p])
}

func (sw *Swap) vr(v VarID) VarID { return VarID(sw.perm[sw.s.varBase+int(v)] - sw.s.varBase) }
func (sw *Swap) watch(w WatchID) WatchID {
	return WatchID(sw.perm[sw.s.watchOff+int(w)] - sw.s.watchOff)
}

// value maps value v stored at node p.
func (sw *Swap) value(p PathID, v Value) Value {
	switch sw.side[p] {
	case 1:
		return Value(sw.a2b[v])
	case 2:
		return Value(sw.b2a[v])
	}
	return v
}

func (sw *Swap) cond(c Cond) (Cond, bool) {
	switch c.Kind {
	case CondPresent, CondAbsent, CondWritable:
		c.Path = sw.path(c.Path)
	case CondEq, CondNe:
		c.Val = sw.value(c.Path, c.Val)
		c.Path = sw.path(c.Path)
	case CondIn:
		// Only the values the node can hold matter (a mask may be the
		// complement of a few states, holding every other value).
		var m uint64
		for v := 0; v < 64; v++ {
			if c.Mask&(1<<v) != 0 && sw.storable[c.Path][0]&(1<<v) != 0 {
				w := sw.value(c.Path, Value(v))
				if w >= 64 {
					return c, false
				}
				m |= 1 << w
			}
		}
		c.Mask, c.Path = m, sw.path(c.Path)
	case CondVarEq, CondVarNe, CondVarIn:
		c.Var = sw.vr(c.Var)
	}
	return c, true
}

func (sw *Swap) conds(cs []Cond, want []Cond) bool {
	if len(cs) != len(want) {
		return false
	}
	for i, c := range cs {
		w := want[i]
		if w.Kind == CondIn {
			w.Mask &= sw.storable[w.Path][0]
		}
		if m, ok := sw.cond(c); !ok || m != w {
			return false
		}
	}
	return true
}

// storableValues returns, per path, the set of values the node can ever
// hold: absent, empty (an implicitly created parent), its initial value
// and every value an operation writes to it.
func (s *System) storableValues() [][4]uint64 {
	out := make([][4]uint64, len(s.Paths))
	add := func(p PathID, v Value) { out[p][v/64] |= 1 << (v % 64) }
	for p := range s.Paths {
		add(PathID(p), Absent)
		add(PathID(p), Empty)
		add(PathID(p), Value(s.init[p]))
	}
	for ti := range s.Trans {
		for _, op := range s.Trans[ti].Ops {
			switch op.Kind {
			case OpWrite, OpReplace, OpSwitchState:
				add(op.Path, op.Val)
			}
		}
	}
	return out
}

func (sw *Swap) op(op Op) Op {
	op.Note = ""
	switch op.Kind {
	case OpWatch, OpUnwatch:
		op.Watch = sw.watch(op.Watch)
	case OpDomainGone, OpSignal, OpTxnStart, OpTxnCommit, OpTxnAbort:
	default:
		op.Val = sw.value(op.Path, op.Val)
		op.From = sw.value(op.Path, op.From)
		if op.Kind == OpSwitchState {
			op.Var = sw.vr(op.Var)
		}
		op.Path = sw.path(op.Path)
	}
	return op
}

func (sw *Swap) watchSet(ws []WatchID) map[WatchID]bool {
	m := map[WatchID]bool{}
	for _, w := range ws {
		m[sw.watch(w)] = true
	}
	return m
}

func sameSet(m map[WatchID]bool, ws []WatchID) bool {
	if len(m) != len(ws) {
		return false
	}
	for _, w := range ws {
		if !m[w] {
			return false
		}
	}
	return true
}

// checkSwap reports whether sw maps s onto itself: everything the engine
// and the properties read, transition by transition.
func (s *System) checkSwap(sw *Swap) bool {
	// Values naming a device's paths are stored only in its own block, so
	// that renaming them there (as Canonical does) is the whole swap.
	for p := range s.Paths {
		for v := 0; v < 256; v++ {
			if sw.storable[p][v/64]&(1<<(v%64)) == 0 || sw.named[v] == 0 {
				continue
			}
			if sw.side[p] != sw.named[v] {
				return false
			}
		}
	}
	// Paths: tree, owners, the watches each fires.
	for p := range s.Paths {
		q := &s.Paths[sw.perm[p]]
		if sw.path(s.Paths[p].Parent) != q.Parent || s.Paths[p].Owner != q.Owner {
			return false
		}
		if o := s.Paths[p].aclSlot; s.Paths[p].ACL != q.ACL || s.Paths[p].aclOwn != q.aclOwn || (o < 0) != (q.aclSlot < 0) || o >= 0 && sw.perm[o] != q.aclSlot {
			return false
		}
		if !sameSet(sw.watchSet(s.Paths[p].onWrite), q.onWrite) || !sameSet(sw.watchSet(s.Paths[p].onRemove), q.onRemove) {
			return false
		}
	}
	// The initial state.
	img := make(State, s.size)
	sw.State(s.init, img)
	if string(img) != string(s.init) {
		return false
	}
	for w := range s.Watches {
		x, y := &s.Watches[w], &s.Watches[sw.watch(WatchID(w))]
		if sw.path(x.Path) != y.Path || sw.actor[x.Actor] != y.Actor {
			return false
		}
	}
	for v := range s.Vars {
		x, y := &s.Vars[v], &s.Vars[sw.vr(VarID(v))]
		if x.Actor >= 0 && sw.actor[x.Actor] != y.Actor || x.Actor < 0 && y.Actor >= 0 {
			return false
		}
	}
	// Actors, with their transitions in declaration order.
	for ai := range s.Actors {
		a, b := &s.Actors[ai], &s.Actors[sw.actor[ai]]
		if a.Kind != b.Kind || a.Domain != b.Domain || a.Fair != b.Fair || len(a.Locs) != len(b.Locs) ||
			sw.vr(a.Loc) != b.Loc || len(a.Watches) != len(b.Watches) || len(a.Trans) != len(b.Trans) ||
			a.txnReads != b.txnReads || (a.txnSlot < 0) != (b.txnSlot < 0) || a.txnSlot >= 0 && sw.perm[a.txnSlot] != b.txnSlot {
			return false
		}
		for l := range a.Locs {
			if a.Locs[l].Final != b.Locs[l].Final {
				return false
			}
		}
		for k, w := range a.Watches {
			if sw.watch(w) != b.Watches[k] {
				return false
			}
		}
		if !sw.conds(a.enabled, b.enabled) {
			return false
		}
		for li, ti := range a.Trans {
			if sw.trans[ti] != b.Trans[li] || !s.sameTransition(sw, &s.Trans[ti], &s.Trans[b.Trans[li]]) {
				return false
			}
		}
	}
	// Device records, which the properties read.
	for d := range s.Devices {
		x, y := &s.Devices[d], &s.Devices[sw.device[d]]
		if x.Kind != y.Kind || x.BEKind != y.BEKind || x.FEDom != y.FEDom || x.BEDom != y.BEDom ||
			sw.path(x.FEDir) != y.FEDir || sw.path(x.BEDir) != y.BEDir || sw.path(x.FEState) != y.FEState ||
			sw.path(x.BEState) != y.BEState || sw.path(x.LibxlDir) != y.LibxlDir || sw.path(x.Hotplug) != y.Hotplug {
			return false
		}
		if (x.QemuActor < 0) != (y.QemuActor < 0) || x.QemuActor >= 0 && sw.actor[x.QemuActor] != y.QemuActor {
			return false
		}
	}
	return true
}

// sameTransition reports whether the image of t under sw is u.
func (s *System) sameTransition(sw *Swap, t, u *Transition) bool {
	if t.From != u.From || t.To != u.To || t.Kind != u.Kind || t.Timeout != u.Timeout || t.Slow != u.Slow ||
		t.Fault != u.Fault || t.hasWrites != u.hasWrites || t.isHandler != u.isHandler || sw.actor[t.Actor] != u.Actor {
		return false
	}
	if (t.Watch == NoWatch) != (u.Watch == NoWatch) || t.Watch != NoWatch && sw.watch(t.Watch) != u.Watch {
		return false
	}
	if !sw.conds(t.Guard, u.Guard) || len(t.Ops) != len(u.Ops) || len(t.Sets) != len(u.Sets) ||
		len(t.Marks) != len(u.Marks) || len(t.readSet) != len(u.readSet) {
		return false
	}
	for i, op := range t.Ops {
		want := u.Ops[i]
		want.Note = ""
		if sw.op(op) != want {
			return false
		}
	}
	for i, st := range t.Sets {
		if sw.vr(st.Var) != u.Sets[i].Var || st.Val != u.Sets[i].Val {
			return false
		}
	}
	for i, m := range t.Marks {
		n := u.Marks[i]
		if m.Kind != n.Kind || m.Op != n.Op || sw.path(m.Path) != n.Path || (m.Device < 0) != (n.Device < 0) ||
			m.Device >= 0 && sw.device[m.Device] != n.Device {
			return false
		}
		if m.Kind == MarkComplete && sw.vr(m.Var) != n.Var {
			return false
		}
	}
	for i, p := range t.readSet {
		if sw.path(p) != u.readSet[i] {
			return false
		}
	}
	return true
}
