package model

// Footprints for partial-order reduction: which state bytes a transition
// reads and writes, and how. Two transitions whose footprints do not
// conflict commute and neither enables nor disables the other.
//
// An access is a set of kinds per byte:
//
//   - accEx: reads whether a node exists (not its value);
//   - accRd: reads the byte's value;
//   - accFire: sets a watch byte to pending unless the watch is off, or a
//     transaction's conflict flag to 1: idempotent, so two of them commute;
//   - accEns: creates a node as an empty directory if it is missing (the
//     parents a WRITE creates): idempotent, so two of them commute;
//   - accWv: writes the value of a node that exists before and after
//     (xenbus_switch_state, REPLACE): existence does not change;
//   - accWr: any other write.
//
// footNow computes a transition's footprint in one state, by running its
// effect as apply does and recording what it looks at (the first existing
// ancestor of a WRITE, not every ancestor; the subtree of an RM; the
// watches that fire). It stays the transition's footprint in every state
// reached by steps that write nothing it reads (its behaviour is a
// function of the bytes it reads). footStatic over-approximates a
// transition's footprint in every state: it takes every branch.

const (
	accEx uint8 = 1 << iota
	accRd
	accFire
	accEns
	accWv
	accWr
	accAny = accEx | accRd | accFire | accEns | accWv | accWr
	// accWrites are the kinds that change a byte.
	accWrites = accFire | accEns | accWv | accWr
)

// accConflicts[k] are the kinds that do not commute with kind 1<<k.
var accConflicts = [6]uint8{
	accEns | accWr,                           // ex
	accFire | accEns | accWv | accWr,         // rd
	accRd | accWv | accWr,                    // fire
	accEx | accRd | accWv | accWr,            // ens
	accRd | accFire | accEns | accWv | accWr, // wv
	accAny,                                   // wr
}

// conflicting reports whether accesses a and b to one byte fail to
// commute.
func conflicting(a, b uint8) bool {
	for k := 0; k < 6; k++ {
		if a&(1<<k) != 0 && accConflicts[k]&b != 0 {
			return true
		}
	}
	return false
}

// An access is one byte of a footprint.
type access struct {
	off  int32
	kind uint8
}

// foot accumulates a footprint: the kinds per offset, with the offsets in
// first-access order. While cond is set (static footprints only), the
// accesses go to conds[cond] instead: they happen only when every node of
// the condition is missing (see condAccess).
type foot struct {
	kind  []uint8 // per state offset
	offs  []int32
	cond  []PathID
	conds []*condAccess
}

// A condAccess is a part of a static footprint that happens only when
// every node in absent is missing: the removal of an ancestor by
// libxl__xs_path_cleanup, which needs the ancestor's other children gone.
// A node of absent that exists in a state and that no transition outside
// the stubborn set can remove keeps the accesses from happening.
type condAccess struct {
	absent []PathID
	acc    *foot
}

func newFoot(size int) *foot { return &foot{kind: make([]uint8, size)} }

func (f *foot) add(off int, k uint8) {
	if f.cond != nil {
		c := f.conds[len(f.conds)-1]
		c.acc.add(off, k)
		return
	}
	if f.kind[off] == 0 {
		f.offs = append(f.offs, int32(off))
	}
	f.kind[off] |= k
}

func (f *foot) reset() {
	for _, o := range f.offs {
		f.kind[o] = 0
	}
	f.offs = f.offs[:0]
}

// list returns the footprint as accesses.
func (f *foot) list() []access {
	out := make([]access, 0, len(f.offs))
	for _, o := range f.offs {
		out = append(out, access{o, f.kind[o]})
	}
	return out
}

// stutterReads makes a transition that may leave its location unchanged
// read what it writes: such a step is enabled only when it changes the
// state (a stutter is not a move), which another writer of those bytes
// can change.
func (f *foot) stutterReads() {
	for _, o := range f.offs {
		if f.kind[o]&accWrites != 0 {
			f.kind[o] |= accRd
		}
	}
	for _, c := range f.conds {
		c.acc.stutterReads()
	}
}

// condFoot adds what condition c of actor a reads; body is the open
// transaction body when known, or nil for any body that can be open at
// location from.
func (p *POR) condFoot(a *Actor, c *Cond, f *foot, body *Transition, from LocID) {
	s := p.s
	switch c.Kind {
	case CondPresent, CondAbsent:
		f.add(int(c.Path), accEx)
	case CondEq, CondNe, CondIn:
		f.add(int(c.Path), accRd)
	case CondVarEq, CondVarNe, CondVarIn:
		f.add(s.varBase+int(c.Var), accRd)
	case CondWritable:
		s.permReads(c.Path, func(o int) { f.add(o, accRd) })
	case CondConflict, CondNoConflict:
		if a.txnSlot < 0 {
			return
		}
		for i := 0; i < 3+a.txnReads; i++ {
			f.add(a.txnSlot+i, accRd)
		}
		if s.Conflict == CXenstored {
			return
		}
		// Oxenstored compares the values read with the store.
		if body != nil {
			for _, q := range body.readSet {
				f.add(int(q), accRd)
			}
			return
		}
		for _, b := range p.bodiesAt(a, from) {
			for _, q := range b.readSet {
				f.add(int(q), accRd)
			}
		}
	}
}

// bodiesAt returns actor a's transaction bodies that can be open while it
// is at location l: those that lead there (all of them when l is AnyLoc
// or none leads there).
func (p *POR) bodiesAt(a *Actor, l LocID) []*Transition {
	var all, at []*Transition
	for _, ti := range a.Trans {
		b := &p.s.Trans[ti]
		if b.Kind != TxnBody {
			continue
		}
		all = append(all, b)
		if b.To == l || (b.To == SameLoc && b.From == l) {
			at = append(at, b)
		}
	}
	if l == AnyLoc || len(at) == 0 {
		return all
	}
	return at
}

// touchFoot adds C xenstored's record of a change to node q: the
// conflict flag of every transaction that may have touched it, decided
// by the transaction's record.
func (p *POR) touchFoot(q PathID, f *foot) {
	s := p.s
	if s.Conflict != CXenstored {
		return
	}
	for _, ai := range s.txnReaders[q] {
		a := &s.Actors[ai]
		for i := 0; i < 3+a.txnReads; i++ {
			f.add(a.txnSlot+i, accRd)
		}
		f.add(a.txnSlot+2, accFire)
	}
}

func (p *POR) fireFoot(ws []WatchID, f *foot) {
	for _, w := range ws {
		f.add(p.s.watchOff+int(w), accFire)
	}
}

// footNow records into f transition t's footprint in state st, where t is
// enabled. cur is scratch of the state's size.
func (p *POR) footNow(st, cur State, t *Transition, f *foot) {
	s := p.s
	a := &s.Actors[t.Actor]
	copy(cur, st)
	loc := s.varBase + int(a.Loc)
	f.add(loc, accRd)
	for i := range a.enabled {
		p.condFoot(a, &a.enabled[i], f, nil, AnyLoc)
	}
	for i := range t.Guard {
		p.condFoot(a, &t.Guard[i], f, s.OpenBody(st, t.Actor), AnyLoc)
	}
	if t.Watch != NoWatch {
		w := s.watchOff + int(t.Watch)
		f.add(w, accRd|accWr)
		for _, ci := range a.earlierCases(t) {
			c := &s.Trans[ci]
			for i := range c.Guard {
				p.condFoot(a, &c.Guard[i], f, s.OpenBody(st, t.Actor), AnyLoc)
			}
		}
		cur[w] = watchOn
	}
	switch t.Kind {
	case TxnBody:
		bodyFoot(a, t, f)
	case Commit:
		recFoot(a, accRd|accWr, f)
		body := s.OpenBody(st, t.Actor)
		s.closeTxn(cur, a)
		if body != nil {
			for i := range body.Ops {
				p.opNow(&body.Ops[i], a.Domain, cur, f)
			}
		}
		for i := 1; i < len(t.Ops); i++ {
			p.opNow(&t.Ops[i], a.Domain, cur, f)
		}
	case EAGAIN:
		recFoot(a, accRd|accWr, f)
		s.closeTxn(cur, a)
		for i := range t.Ops {
			p.opNow(&t.Ops[i], a.Domain, cur, f)
		}
	default:
		for i := range t.Ops {
			p.opNow(&t.Ops[i], a.Domain, cur, f)
		}
	}
	for _, set := range t.Sets {
		f.add(s.varBase+int(set.Var), accWr)
	}
	moves := t.To != SameLoc && byte(t.To) != st[loc]
	if t.To != SameLoc {
		f.add(loc, accWr)
	}
	if !moves {
		f.stutterReads()
	}
}

// opNow records op's footprint in cur and applies it to cur, as applyOp
// does for a request of domain dom.
func (p *POR) opNow(op *Op, dom int, cur State, f *foot) {
	s := p.s
	if dom > 0 && p.refusedNow(op, dom, cur, f) {
		return
	}
	switch op.Kind {
	case OpWrite:
		p.writeNow(op.Path, op.Val, accWr, cur, f)
	case OpMkdir:
		f.add(int(op.Path), accEx)
		if cur[op.Path] == byte(Absent) {
			p.writeNow(op.Path, Empty, accWr, cur, f)
		}
	case OpRm:
		p.rmNow(op.Path, cur, f)
	case OpCleanup:
		p.rmNow(op.Path, cur, f)
		for q := s.Paths[op.Path].Parent; q != NoPath && q != 0 && !p.permanent[q]; q = s.Paths[q].Parent {
			f.add(int(q), accRd)
			for _, c := range s.Paths[q].Children {
				f.add(int(c), accEx)
			}
			if cur[q] != byte(Empty) || s.hasChild(cur, q) {
				break
			}
			// Empty: the node alone goes (a child created before the
			// step would show in the reads above).
			f.add(int(q), accWr)
			p.touchFoot(q, f)
			if par := s.Paths[q].Parent; par != NoPath {
				p.touchFoot(par, f)
			}
			p.fireFoot(s.Paths[q].onRemove, f)
			s.rm(cur, q)
		}
	case OpSetPerms:
		f.add(int(op.Path), accEx)
		if cur[op.Path] != byte(Absent) {
			if o := s.Paths[op.Path].aclSlot; o >= 0 {
				f.add(o, accWr) // the SET_PERMS flag (perms.go)
			}
			p.touchFoot(op.Path, f)
			p.fireFoot(s.Paths[op.Path].onWrite, f)
			s.applyOp(cur, op, 0)
		}
	case OpSwitchState:
		v := s.varBase + int(op.Var)
		f.add(v, accRd)
		if cur[v] == byte(op.Val-2) {
			return
		}
		f.add(v, accWr)
		f.add(int(op.Path), accEx)
		if cur[op.Path] != byte(Absent) {
			// An existing node: no parent is created.
			p.writeNow(op.Path, op.Val, accWv, cur, f)
		}
		cur[v] = byte(op.Val - 2)
	case OpReplace:
		f.add(int(op.Path), accRd)
		if cur[op.Path] == byte(op.From) {
			k := accWv
			if op.From == Absent {
				k = accWr
			}
			p.writeNow(op.Path, op.Val, k, cur, f)
		}
	case OpWatch, OpUnwatch:
		f.add(s.watchOff+int(op.Watch), accWr)
		s.applyOp(cur, op, 0)
	case OpDomainGone:
		// The run state is the transition's Sets; the deletion fires
		// watches only under C xenstored (System.DeathFiresWatches), which
		// rmNow's firing over-approximates.
		if s.RemoveOwnedOnDeath {
			for i := range s.Paths {
				q := &s.Paths[i]
				if q.Owner != op.Dom || (q.Parent != NoPath && s.Paths[q.Parent].Owner == op.Dom) {
					continue
				}
				p.rmNow(PathID(i), cur, f)
			}
		}
	}
}

// writeNow is write with its footprint: the missing parents it creates
// (ens), the first existing ancestor (whose existence decides where the
// creation stops), the node (k) and the watches it fires.
func (p *POR) writeNow(q PathID, v Value, k uint8, cur State, f *foot) {
	s := p.s
	cx := s.Conflict == CXenstored
	a := s.Paths[q].Parent
	for ; a != NoPath && cur[a] == byte(Absent); a = s.Paths[a].Parent {
		f.add(int(a), accEns)
		if cx {
			f.add(int(a), accEx)
		}
		p.touchFoot(a, f)
	}
	if a != NoPath && !p.permanent[a] {
		f.add(int(a), accEx)
	}
	if cur[q] == byte(Absent) && a != NoPath {
		p.touchFoot(a, f)
	}
	if k == accWr && cx {
		f.add(int(q), accEx)
	}
	f.add(int(q), k)
	p.touchFoot(q, f)
	p.fireFoot(s.Paths[q].onWrite, f)
	s.write(cur, q, v)
}

// rmNow is rm with its footprint: whether the node exists and, when it
// does, its whole subtree (a missing child could be created before the
// step), its parent's record and the watches that fire.
func (p *POR) rmNow(q PathID, cur State, f *foot) {
	s := p.s
	f.add(int(q), accEx)
	if cur[q] == byte(Absent) {
		return
	}
	p.subtreeFoot(q, f)
	if par := s.Paths[q].Parent; par != NoPath {
		p.touchFoot(par, f)
	}
	p.fireFoot(s.Paths[q].onRemove, f)
	s.rm(cur, q)
}

// recFoot adds actor a's open-transaction record (its body's id, the
// conflict flag, the values read), if it has one, with kind k.
func recFoot(a *Actor, k uint8, f *foot) {
	if a.txnSlot < 0 {
		return
	}
	for i := 0; i < 3+a.txnReads; i++ {
		f.add(a.txnSlot+i, k)
	}
}

// bodyFoot adds what transaction body t does: it writes its actor's
// record and reads the nodes the record keeps.
func bodyFoot(a *Actor, t *Transition, f *foot) {
	recFoot(a, accWr, f)
	for _, q := range t.readSet {
		f.add(int(q), accRd)
	}
}

// subtreeFoot adds the removal of node q and everything below it: each
// node written (and its SET_PERMS flag cleared), with C xenstored's
// record of the change.
func (p *POR) subtreeFoot(q PathID, f *foot) {
	f.add(int(q), accWr)
	if o := p.s.Paths[q].aclSlot; o >= 0 {
		f.add(o, accWr)
	}
	p.touchFoot(q, f)
	for _, c := range p.s.Paths[q].Children {
		p.subtreeFoot(c, f)
	}
}
