package model

// Partial-order reduction.
//
// A POR picks, in a state, an ample set: all the moves of one actor, when
// that is enough to preserve the safety properties. The actor qualifies
// at its current location when
//
//   - every transition it has there (enabled or not, handler cases
//     included) is independent of every transition of every other actor:
//     their static footprints over the state's bytes do not conflict (one
//     writes what the other reads or writes), so the others can neither
//     enable nor disable its moves, nor be affected by them;
//   - every such transition is invisible: it writes no byte a property
//     reads and carries no mark a property inspects;
//   - it has an enabled move that holds LastResort timers back (fair, not
//     a fault, not slow), so no timer can fire before it moves: timers are
//     left out of the independence check.
//
// The checker adds the cycle proviso: it expands a state fully when an
// ample successor has been seen already (every cycle of the reduced graph
// then has a fully expanded state). Deadlocks, invariants and step
// invariants over the visible bytes are preserved.
type POR struct {
	s *System
	// safe[a][loc] says actor a qualifies at location loc.
	safe [][]bool
	// permanent nodes exist in every reachable state (no operation can
	// remove them), so writes below them never create them.
	permanent []bool
}

// footprint is the set of state offsets a transition may read and write.
type footprint struct{ r, w map[int]bool }

func (p *POR) footprintOf(a *Actor, t *Transition) footprint {
	f := footprint{r: map[int]bool{}, w: map[int]bool{}}
	p.addFootprint(a, t, &f)
	return f
}

func (p *POR) addFootprint(a *Actor, t *Transition, f *footprint) {
	s := p.s
	r := func(i int) { f.r[i] = true }
	w := func(i int) { f.w[i] = true }
	r(s.varBase + int(a.Loc))
	w(s.varBase + int(a.Loc))
	for _, c := range a.enabled {
		s.condReads(a, c, r)
	}
	for _, c := range t.Guard {
		s.condReads(a, c, r)
	}
	if t.Watch != NoWatch {
		r(s.watchOff + int(t.Watch))
		w(s.watchOff + int(t.Watch))
	}
	if a.txnSlot >= 0 && (t.Kind == TxnBody || t.Kind == Commit || t.Kind == EAGAIN) {
		for i := 0; i < 3+a.txnReads; i++ {
			r(a.txnSlot + i)
			w(a.txnSlot + i)
		}
	}
	if t.Kind == TxnBody {
		for _, p := range t.readSet {
			r(int(p))
		}
	}
	ops := t.Ops
	if t.Kind == Commit || t.Kind == TxnBody {
		// A commit applies whichever body is open.
		for _, ti := range a.Trans {
			if b := &s.Trans[ti]; b.Kind == TxnBody {
				for i := range b.Ops {
					p.opFootprint(&b.Ops[i], r, w)
				}
			}
		}
	}
	for i := range ops {
		p.opFootprint(&ops[i], r, w)
	}
	for _, st := range t.Sets {
		w(s.varBase + int(st.Var))
	}
}

func (s *System) condReads(a *Actor, c Cond, r func(int)) {
	switch c.Kind {
	case CondPresent, CondAbsent, CondEq, CondNe, CondIn:
		r(int(c.Path))
	case CondVarEq, CondVarNe, CondVarIn:
		r(s.varBase + int(c.Var))
	case CondConflict, CondNoConflict:
		if a.txnSlot >= 0 {
			for i := 0; i < 3+a.txnReads; i++ {
				r(a.txnSlot + i)
			}
		}
		for _, ti := range a.Trans {
			if b := &s.Trans[ti]; b.Kind == TxnBody {
				for _, p := range b.readSet {
					r(int(p))
				}
			}
		}
	}
}

// opFootprint adds what op may read and write: a node, the parents a write
// may create, the subtree a removal clears, the watches it may fire, and
// the conflict flags of transactions that read what it changes.
func (p *POR) opFootprint(op *Op, r, w func(int)) {
	s := p.s
	touch := func(p PathID) {
		r(int(p))
		w(int(p))
		for _, ai := range s.txnReaders[p] {
			a := &s.Actors[ai]
			for i := 0; i < 3+a.txnReads; i++ {
				r(a.txnSlot + i)
				w(a.txnSlot + i)
			}
		}
	}
	fire := func(ws []WatchID) {
		for _, x := range ws {
			r(s.watchOff + int(x))
			w(s.watchOff + int(x))
		}
	}
	var subtree func(p PathID)
	subtree = func(p PathID) {
		touch(p)
		for _, c := range s.Paths[p].Children {
			subtree(c)
		}
	}
	ancestors := func(n PathID) {
		for q := s.Paths[n].Parent; q != NoPath && !p.permanent[q]; q = s.Paths[q].Parent {
			touch(q)
		}
	}
	// Under C xenstored a node's creation or removal also changes its
	// parent's record, permanent or not (see System.touch): the
	// conflict flags of the transactions that touched an ancestor.
	bump := func(n PathID) {
		if s.Conflict != CXenstored {
			return
		}
		for q := s.Paths[n].Parent; q != NoPath; q = s.Paths[q].Parent {
			for _, ai := range s.txnReaders[q] {
				a := &s.Actors[ai]
				for i := 0; i < 3+a.txnReads; i++ {
					r(a.txnSlot + i)
					w(a.txnSlot + i)
				}
			}
		}
	}
	switch op.Kind {
	case OpRead, OpDirectory, OpSignal, OpTxnStart, OpTxnCommit, OpTxnAbort:
	case OpReplace:
		touch(op.Path)
		fire(s.Paths[op.Path].onWrite)
	case OpWrite, OpMkdir:
		touch(op.Path)
		ancestors(op.Path)
		bump(op.Path)
		fire(s.Paths[op.Path].onWrite)
	case OpSwitchState:
		// Writes only an existing node: no parent is created.
		touch(op.Path)
		fire(s.Paths[op.Path].onWrite)
		r(s.varBase + int(op.Var))
		w(s.varBase + int(op.Var))
	case OpSetPerms:
		touch(op.Path)
		fire(s.Paths[op.Path].onWrite)
	case OpRm:
		subtree(op.Path)
		ancestors(op.Path) // an RM reads whether the parents exist
		bump(op.Path)
		fire(s.Paths[op.Path].onRemove)
	case OpCleanup:
		subtree(op.Path)
		bump(op.Path)
		fire(s.Paths[op.Path].onRemove)
		for q := s.Paths[op.Path].Parent; q != NoPath && !p.permanent[q]; q = s.Paths[q].Parent {
			subtree(q) // whether it is empty, and its removal
			fire(s.Paths[q].onRemove)
		}
	case OpWatch, OpUnwatch:
		r(s.watchOff + int(op.Watch))
		w(s.watchOff + int(op.Watch))
	case OpDomainGone:
		if v, ok := s.Domains[op.Dom]; ok {
			w(s.varBase + int(v))
		}
		for i := range s.Paths {
			if s.Paths[i].Owner == op.Dom {
				subtree(PathID(i))
				bump(PathID(i))
				fire(s.Paths[i].onRemove)
			}
		}
	}
}

func conflicts(a, b footprint) bool {
	for i := range a.w {
		if b.r[i] || b.w[i] {
			return true
		}
	}
	for i := range b.w {
		if a.r[i] {
			return true
		}
	}
	return false
}

// NewPOR prepares partial-order reduction for properties that read the
// state offsets in visible (see VisibleOffsets) and, when marks is true,
// inspect transitions' marks.
func (s *System) NewPOR(visible map[int]bool, marks bool) *POR {
	p := &POR{s: s, safe: make([][]bool, len(s.Actors)), permanent: s.permanentPaths()}
	fps := make([]footprint, len(s.Trans))
	for ti := range s.Trans {
		t := &s.Trans[ti]
		fps[ti] = p.footprintOf(&s.Actors[t.Actor], t)
	}
	reg := s.mayBeRegistered()
	for ai := range s.Actors {
		a := &s.Actors[ai]
		p.safe[ai] = make([]bool, len(a.Locs))
		for l := range a.Locs {
			ok := a.Fair
			for _, ti := range a.Trans {
				t := &s.Trans[ti]
				if !ok {
					break
				}
				if t.From != LocID(l) && t.From != AnyLoc {
					continue
				}
				if t.Watch != NoWatch && !reg[ai][l][t.Watch] {
					continue // the watch cannot be registered here, so the case never runs
				}
				if marks && len(t.Marks) > 0 {
					ok = false
					break
				}
				for i := range fps[ti].w {
					if visible[i] {
						ok = false
						break
					}
				}
				if t.Timeout > 0 {
					continue
				}
				for tj := range s.Trans {
					u := &s.Trans[tj]
					if u.Actor == ai || u.Timeout > 0 {
						continue
					}
					if conflicts(fps[ti], fps[tj]) {
						ok = false
						break
					}
				}
			}
			p.safe[ai][l] = ok
		}
	}
	return p
}

// Ample yields the moves of the first actor that qualifies in st and has
// an enabled move that holds timers back, and reports whether it found
// one; when it returns false the caller expands st fully.
func (p *POR) Ample(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	s := p.s
	noop := func(*Transition, State) bool { return true }
	for ai := range s.Actors {
		if !p.safe[ai][st[s.varBase+int(s.Actors[ai].Loc)]] {
			continue
		}
		if urgent, _ := s.actorMoves(st, next, ai, noop); !urgent {
			continue
		}
		s.actorMoves(st, next, ai, func(t *Transition, n State) bool {
			return yield(int32(t.ID), int32(ai), t.Fault != "", n)
		})
		return true
	}
	return false
}

// Safe reports how many (actor, location) pairs qualify, for statistics.
func (p *POR) Safe() (safe, total int) {
	for _, locs := range p.safe {
		for _, ok := range locs {
			total++
			if ok {
				safe++
			}
		}
	}
	return safe, total
}

// PathOffset, VarOffset and LocOffset give the state offsets of a node, a
// variable and an actor's location, for properties declaring what they
// read.
func (s *System) PathOffset(p PathID) int { return int(p) }

// VarOffset is the state offset of variable v.
func (s *System) VarOffset(v VarID) int { return s.varBase + int(v) }

// permanentPaths finds the nodes that exist initially and that no
// operation of any transition can remove.
func (s *System) permanentPaths() []bool {
	removable := make([]bool, len(s.Paths))
	var sub func(p PathID)
	sub = func(p PathID) {
		removable[p] = true
		for _, c := range s.Paths[p].Children {
			sub(c)
		}
	}
	var cleanups []PathID
	for ti := range s.Trans {
		for _, op := range s.Trans[ti].Ops {
			switch op.Kind {
			case OpRm:
				sub(op.Path)
			case OpCleanup:
				sub(op.Path)
				cleanups = append(cleanups, op.Path)
			case OpDomainGone:
				if s.RemoveOwnedOnDeath {
					for i := range s.Paths {
						if s.Paths[i].Owner == op.Dom {
							sub(PathID(i))
						}
					}
				}
			}
		}
	}
	permanent := func(p PathID) bool { return s.init[p] != byte(Absent) && !removable[p] }
	// path_cleanup removes an ancestor only once it is empty: never when it
	// keeps a permanent child. Two passes settle ancestors whose children
	// became removable in the first.
	for pass := 0; pass < 2; pass++ {
		for _, t := range cleanups {
			child := t
			for q := s.Paths[t].Parent; q != NoPath; child, q = q, s.Paths[q].Parent {
				keeps := false
				for _, c := range s.Paths[q].Children {
					if c != child && permanent(c) {
						keeps = true
					}
				}
				if keeps || q == 0 {
					break
				}
				removable[q] = true
			}
		}
	}
	out := make([]bool, len(s.Paths))
	for i := range out {
		out[i] = permanent(PathID(i))
	}
	return out
}

// mayBeRegistered computes, per actor and location, the watches that may
// be registered while the actor is there (a fixpoint over the actor's
// transitions from its initial registrations).
func (s *System) mayBeRegistered() [][]map[WatchID]bool {
	out := make([][]map[WatchID]bool, len(s.Actors))
	for ai := range s.Actors {
		a := &s.Actors[ai]
		sets := make([]map[WatchID]bool, len(a.Locs))
		for l := range sets {
			sets[l] = map[WatchID]bool{}
		}
		start := LocID(s.init[s.varBase+int(a.Loc)])
		for _, w := range a.Watches {
			if s.init[s.watchOff+int(w)] != watchOff {
				sets[start][w] = true
			}
		}
		for changed := true; changed; {
			changed = false
			for _, ti := range a.Trans {
				t := &s.Trans[ti]
				for l := range sets {
					if t.From != AnyLoc && t.From != LocID(l) {
						continue
					}
					if t.Watch != NoWatch && !sets[l][t.Watch] {
						continue
					}
					to := LocID(l)
					if t.To != SameLoc {
						to = t.To
					}
					next := map[WatchID]bool{}
					for w := range sets[l] {
						next[w] = true
					}
					ops := t.Ops
					for _, op := range ops {
						switch op.Kind {
						case OpWatch:
							next[op.Watch] = true
						case OpUnwatch:
							delete(next, op.Watch)
						}
					}
					for w := range next {
						if !sets[to][w] {
							sets[to][w] = true
							changed = true
						}
					}
				}
			}
		}
		out[ai] = sets
	}
	return out
}
