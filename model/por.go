package model

// Partial-order reduction.
//
// A POR picks, in a state, an ample set: all the moves of one actor a at
// its location l, when that is enough to preserve deadlocks and the safety
// properties. a qualifies in state st when
//
//   - every transition it has at l (enabled or not, handler cases whose
//     watch may be registered there included; its timers too under
//     AnyTime timers) is independent of every transition any other actor
//     b can still take from its current location in st (the transitions
//     of b at the locations reachable from it in b's control graph):
//     their static footprints over the state's bytes do not conflict (one
//     writes what the other reads or writes), so the others can neither
//     enable nor disable a's moves, nor be affected by them;
//   - every such transition is invisible: it writes no byte a property
//     reads and carries no mark a property inspects;
//   - a has an enabled move that is fair, not a fault and not slow. It
//     stays enabled until a moves (independence), so every run from st
//     that is stuck, or violates a property, moves a first up to
//     reordering with independent steps; and under LastResort timers no
//     timer of another actor can fire before a moves, so their timers
//     need no independence check. Under AnyTime timers they can, so they
//     are checked like any transition, and a's own timers at l are part
//     of the ample set.
//
// The checker adds the cycle proviso: it expands a state fully when an
// ample successor has been seen already (every cycle of the reduced graph
// then has a fully expanded state). Deadlocks (states without moves other
// than faults), invariants and step invariants over the visible bytes are
// preserved.
type POR struct {
	s *System
	// local[a][l] says a's transitions at l are invisible and a is fair.
	local [][]bool
	// blocks[a][l][b][lb]: a transition of a at l conflicts with one that
	// actor b can take from its location lb on.
	blocks [][][][]bool
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
	if a.Domain > 0 {
		// An unprivileged request reads the permissions of its node.
		s.permFootprint(a, t, r)
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
	case CondWritable:
		s.permReads(c.Path, r)
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
		if o := s.Paths[p].aclSlot; o >= 0 {
			r(o) // SET_PERMS sets the flag, a removal clears it
			w(o)
		}
		if s.Conflict != CXenstored {
			return // oxenstored: a commit compares what it read with p itself
		}
		for _, ai := range s.txnReaders[p] {
			// C xenstored: the write sets the reader's conflict flag.
			r(s.Actors[ai].txnSlot + 2)
			w(s.Actors[ai].txnSlot + 2)
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
			// An ancestor is removed only when it is empty: the step reads
			// whether its children exist, and removes it alone.
			touch(q)
			for _, c := range s.Paths[q].Children {
				r(int(c))
			}
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
	p := &POR{s: s, permanent: s.permanentPaths()}
	fps := make([]footprint, len(s.Trans))
	for ti := range s.Trans {
		t := &s.Trans[ti]
		fps[ti] = p.footprintOf(&s.Actors[t.Actor], t)
	}
	reg := s.mayBeRegistered()
	anyTime := s.Timers == AnyTime
	// at[a][l]: a's transitions that can fire while a is at l.
	at := make([][][]int, len(s.Actors))
	for ai := range s.Actors {
		a := &s.Actors[ai]
		at[ai] = make([][]int, len(a.Locs))
		for l := range a.Locs {
			for _, ti := range a.Trans {
				t := &s.Trans[ti]
				if t.From != LocID(l) && t.From != AnyLoc {
					continue
				}
				if t.Watch != NoWatch && !reg[ai][l][t.Watch] {
					continue // the watch cannot be registered here, so the case never runs
				}
				at[ai][l] = append(at[ai][l], ti)
			}
		}
	}
	// ahead[b][lb]: the transitions b may take from lb on (timers left out
	// under LastResort: none fires while the ample actor has a move).
	ahead := make([][][]int, len(s.Actors))
	for bi := range s.Actors {
		b := &s.Actors[bi]
		ahead[bi] = make([][]int, len(b.Locs))
		for lb := range b.Locs {
			seen := map[int]bool{lb: true}
			todo := []int{lb}
			in := map[int]bool{}
			for len(todo) > 0 {
				l := todo[len(todo)-1]
				todo = todo[:len(todo)-1]
				for _, ti := range at[bi][l] {
					t := &s.Trans[ti]
					if t.Timeout > 0 && !anyTime {
						continue
					}
					in[ti] = true
					if t.To != SameLoc && !seen[int(t.To)] {
						seen[int(t.To)] = true
						todo = append(todo, int(t.To))
					}
				}
			}
			for ti := range in {
				ahead[bi][lb] = append(ahead[bi][lb], ti)
			}
		}
	}
	p.local = make([][]bool, len(s.Actors))
	p.blocks = make([][][][]bool, len(s.Actors))
	for ai := range s.Actors {
		a := &s.Actors[ai]
		p.local[ai] = make([]bool, len(a.Locs))
		p.blocks[ai] = make([][][]bool, len(a.Locs))
		for l := range a.Locs {
			ok := a.Fair
			var mine []int // a's transitions at l that take part
			for _, ti := range at[ai][l] {
				t := &s.Trans[ti]
				if t.Timeout > 0 && !anyTime {
					continue // disabled while a has a move (see POR)
				}
				mine = append(mine, ti)
				if marks && len(t.Marks) > 0 {
					ok = false
				}
				for i := range fps[ti].w {
					if visible[i] {
						ok = false
					}
				}
			}
			p.local[ai][l] = ok
			if !ok {
				continue
			}
			p.blocks[ai][l] = make([][]bool, len(s.Actors))
			for bi := range s.Actors {
				if bi == ai {
					continue
				}
				p.blocks[ai][l][bi] = make([]bool, len(s.Actors[bi].Locs))
				for lb := range s.Actors[bi].Locs {
				check:
					for _, tj := range ahead[bi][lb] {
						for _, ti := range mine {
							if conflicts(fps[ti], fps[tj]) {
								p.blocks[ai][l][bi][lb] = true
								break check
							}
						}
					}
				}
			}
		}
	}
	return p
}

// qualifies reports whether actor ai's moves in st may form an ample set
// (before the check for an urgent move).
func (p *POR) qualifies(st []byte, ai int) bool {
	s := p.s
	l := st[s.varBase+int(s.Actors[ai].Loc)]
	if !p.local[ai][l] {
		return false
	}
	for bi, locs := range p.blocks[ai][l] {
		if bi != ai && locs[st[s.varBase+int(s.Actors[bi].Loc)]] {
			return false
		}
	}
	return true
}

// Ample yields the moves of the first actor that qualifies in st and has
// an enabled move that is fair, not a fault and not slow, and reports
// whether it found one; when it returns false the caller expands st
// fully.
func (p *POR) Ample(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	s := p.s
	noop := func(*Transition, State) bool { return true }
	for ai := range s.Actors {
		if !p.qualifies(st, ai) {
			continue
		}
		if urgent, _ := s.actorMoves(st, next, ai, noop); !urgent {
			continue
		}
		y := func(t *Transition, n State) bool {
			return yield(int32(t.ID), int32(ai), t.Fault != "", n)
		}
		if _, stop := s.actorMoves(st, next, ai, y); !stop && s.Timers == AnyTime {
			s.actorTimers(st, next, ai, y)
		}
		return true
	}
	return false
}

// Safe reports how many (actor, location) pairs are invisible and fair,
// the first condition for an ample set (the second, independence, is
// decided per state), for statistics.
func (p *POR) Safe() (safe, total int) {
	for _, locs := range p.local {
		for _, ok := range locs {
			total++
			if ok {
				safe++
			}
		}
	}
	return safe, total
}

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
	// keeps a permanent child. A node found removable can make its parent
	// removable in turn, so the passes go on to a fixpoint.
	for changed := true; changed; {
		changed = false
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
				if !removable[q] {
					removable[q] = true
					changed = true
				}
				// Its subtree goes with it.
				var sub func(p PathID)
				sub = func(p PathID) {
					if !removable[p] {
						removable[p] = true
						changed = true
					}
					for _, c := range s.Paths[p].Children {
						sub(c)
					}
				}
				sub(q)
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
