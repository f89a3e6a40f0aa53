package model

// The swaps of the symmetry reduction (symmetry.go finds the candidates):
// the exchange of two devices as a permutation of state offsets, values,
// watches and transitions, and the check that it is an automorphism of
// the compiled system, transition by transition.

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
